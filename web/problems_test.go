package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/store"
	"rendezvous/store/storetest"
	"rendezvous/web"
)

// TestProblemDetailsAreWrittenForPeople checks that a refusal's detail is a sentence for
// the API's user, not the chain of Go error context that the log gets.
func TestProblemDetailsAreWrittenForPeople(t *testing.T) {
	e := newEnv(t, envOptions{})
	first := e.do("POST", "/api/v1/appointments", booking("agent-1", 24)).json(t)
	id := first["id"].(string)

	clash := wantProblem(t, e.do("POST", "/api/v1/appointments", booking("agent-1", 24)), http.StatusConflict)
	d := clash["detail"].(string)
	if !strings.Contains(d, "already has an appointment ("+id+") that overlaps") || strings.Contains(d, ": conflict") || strings.Contains(d, "create appointment") {
		t.Errorf("overlap detail %q", d)
	}

	e.do("PATCH", "/api/v1/appointments/"+id, map[string]any{"title": "Renamed"}, "If-Match", `"1"`)
	stale := wantProblem(t, e.do("PATCH", "/api/v1/appointments/"+id, map[string]any{"title": "Again"}, "If-Match", `"1"`), http.StatusPreconditionFailed)
	if d := stale["detail"].(string); d != "If-Match names version 1, but the appointment is at version 2: it changed since you read it. Read it again, then retry your change." {
		t.Errorf("stale detail %q", d)
	}

	e.do("POST", "/api/v1/appointments/"+id+"/cancel", map[string]any{"reason": "asked"})
	gone := wantProblem(t, e.do("PATCH", "/api/v1/appointments/"+id, map[string]any{"title": "Late"}), http.StatusConflict)
	if d := gone["detail"].(string); d != "The appointment is cancelled; only a scheduled appointment can be changed." {
		t.Errorf("detail for a change of a cancelled appointment %q", d)
	}
	missing := wantProblem(t, e.do("GET", "/api/v1/appointments/00000000-0000-0000-0000-000000000000", nil), http.StatusNotFound)
	if d := missing["detail"].(string); d != "Nothing with this id exists in your organization." {
		t.Errorf("not-found detail %q", d)
	}
}

// TestClientHangUpIsNotAServerError serves a request whose client has already hung up
// (its context is cancelled, as net/http does when the connection closes): the store's
// read fails because of it, and the request is counted with status 499 and logged below
// ERROR, not counted as a 500.
func TestClientHangUpIsNotAServerError(t *testing.T) {
	clk := clock.NewFake(now)
	st := storetest.OpenWith(t, store.SQLite, store.Options{Clock: clk})
	ctx := context.Background()
	if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "demo", Name: "Demo"}); err != nil {
		t.Fatal(err)
	}
	_, key, err := st.CreateAPIKey(ctx, "demo", "test", rendezvous.AllScopes())
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h := web.NewServer(web.Deps{Store: st, Clock: clk, PublicURL: "https://meet.example.com",
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})

	gone, cancel := context.WithCancel(ctx)
	cancel()
	req := httptest.NewRequestWithContext(gone, "GET", "/api/v1/appointments?limit=5", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	h.ServeHTTP(httptest.NewRecorder(), req)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	metrics, _ := io.ReadAll(rec.Body)
	if !strings.Contains(string(metrics), `rendezvous_http_requests_total{route="GET /api/v1/appointments",status="499"} 1`) ||
		strings.Contains(string(metrics), `status="500"`) {
		t.Errorf("metrics do not count the hang-up as 499:\n%s", grepLines(string(metrics), "rendezvous_http_requests_total"))
	}
	if strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "client closed the request") {
		t.Errorf("log:\n%s", logs.String())
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
