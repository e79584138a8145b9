package app

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"rendezvous"
	"rendezvous/auth"
)

// An agent's live-updates stream carries their own appointments' changes and every
// resync (which concerns everyone), never another agent's changes.
func TestEventStreamOfAnAgent(t *testing.T) {
	a := &App{hub: newHub()}
	agent := &auth.Session{User: rendezvous.StaffUser{OrgID: "org-1", ID: "agent-1", Role: rendezvous.RoleAgent}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.handleEvents(w, r, agent) }))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() && lines.Text() != ": connected" {
	}

	a.hub.publish(change{OrgID: "org-1", AppointmentID: "theirs", AgentUserID: "agent-2", Event: "created"})
	a.hub.publish(change{OrgID: "org-2", AppointmentID: "other-org", AgentUserID: "agent-1", Event: "created"})
	a.hub.resyncAll()
	a.hub.publish(change{OrgID: "org-1", AppointmentID: "mine", AgentUserID: "agent-1", Event: "cancelled"})

	var got []string
	for len(got) < 4 && lines.Scan() {
		if l := lines.Text(); l != "" && !strings.HasPrefix(l, ":") {
			got = append(got, l)
		}
	}
	want := []string{"event: resync", "data: {}", "event: change", `data: {"appointmentId":"mine","event":"cancelled"}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stream:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
