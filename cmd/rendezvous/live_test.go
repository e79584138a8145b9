package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"rendezvous/genesys/sandbox"
	"rendezvous/secret"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// sseEvent is one Server-Sent Event as a browser's EventSource hands it to the page.
type sseEvent struct {
	name string
	data string
}

// openEvents opens the live-updates stream the staff pages use (/app/events) with the
// signed-in client's session, and returns its events, the "connected" comment first
// having been read, so the stream is subscribed when it returns. The stream closes when
// the test ends.
func openEvents(t *testing.T, signedIn *http.Client, base string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	// The sign-in client has an overall timeout, which would cut a long-lived stream.
	client := &http.Client{Jar: signedIn.Jar}
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/app/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET /app/events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() && lines.Text() != ": connected" {
	}
	events := make(chan sseEvent, 64)
	go func() {
		defer close(events)
		var ev sseEvent
		for lines.Scan() {
			line := lines.Text()
			switch {
			case line == "":
				if ev.name != "" || ev.data != "" {
					events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return events
}

// next returns the data of the next event of the stream with the name, skipping others.
func next(t *testing.T, events <-chan sseEvent, where, name string) string {
	t.Helper()
	const within = 60 * time.Second // a bound on the wait, not a measurement
	timeout := time.After(within)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("%s: the event stream ended", where)
			}
			if ev.name == name {
				return ev.data
			}
		case <-timeout:
			t.Fatalf("%s: no %s event within %s", where, name, within)
		}
	}
}

// nextChange returns the next "change" event of the stream, as the page's script reads
// it. A "resync" before it only asks the page to refresh; the change is still to come.
func nextChange(t *testing.T, events <-chan sseEvent, where string) (appointmentID, event string) {
	t.Helper()
	data := next(t, events, where, "change")
	var c struct{ AppointmentID, Event string }
	if err := json.Unmarshal([]byte(data), &c); err != nil {
		t.Fatalf("%s: change %q: %v", where, data, err)
	}
	return c.AppointmentID, c.Event
}

// TestLiveUpdatesReachEveryInstance runs two instances of the service through run on one
// PostgreSQL database, as the supported multi-instance setup does, with a supervisor's
// live-updates stream open on each. A booking made through instance A's API, and its
// cancellation, reach both streams, whichever instance ran the events' jobs, each change
// once and in order (issue 10: a page served by B missed what A processed). When the
// instances' listening connections are cut, each stream is told to resync, and the next
// booking still reaches both.
func TestLiveUpdatesReachEveryInstance(t *testing.T) {
	key, err := secret.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	// application_name tells this test's connections apart from other tests' on the same
	// server, for pg_terminate_backend.
	dbURL, err := url.Parse(storetest.URL(t, store.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	q := dbURL.Query()
	appName := "rdv_live_" + q.Get("search_path")
	q.Set("application_name", appName)
	dbURL.RawQuery = q.Encode()
	env := []string{"RENDEZVOUS_DATABASE_URL", dbURL.String(), "RENDEZVOUS_SECRET_KEY", secret.KeyText(key)}
	a := startService(t, env...)
	b := startService(t, env...)

	streams := map[string]<-chan sseEvent{
		"instance A": openEvents(t, signInHTTP(t, a, sandbox.Demo.Supervisor.ID), a.base),
		"instance B": openEvents(t, signInHTTP(t, b, sandbox.Demo.Supervisor.ID), b.base),
	}

	call := func(method, path, body string, hdr ...string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, a.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+a.key)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
		return m
	}
	start := time.Now().Add(48 * time.Hour).Truncate(time.Hour).UTC()
	book := func(at time.Time) string {
		t.Helper()
		booked := call("POST", "/api/v1/appointments", fmt.Sprintf(`{"start": %q, "durationMinutes": 30,
			"timeZone": "Europe/Berlin", "title": "Live review", "agentUserId": %q,
			"customers": [{"name": "Lena Vogel", "email": "lena@example.com"}]}`, at.Format(time.RFC3339), sandbox.Demo.Agents[0].ID))
		id, _ := booked["id"].(string)
		if id == "" {
			t.Fatalf("booking has no id: %v", booked)
		}
		return id
	}
	id := book(start)
	for where, events := range streams {
		if got, ev := nextChange(t, events, where); got != id || ev != "created" {
			t.Fatalf("%s: first change %s %q, want %s created", where, got, ev, id)
		}
	}
	// The cancellation is announced after the booking's change was heard everywhere, so
	// it comes after it on every stream: a second copy of the booking's change (an
	// instance telling its own pages and the database both) would come in between.
	call("POST", "/api/v1/appointments/"+id+"/cancel", `{"reason": "customer asked"}`, "If-Match", `"1"`)
	for where, events := range streams {
		if got, ev := nextChange(t, events, where); got != id || ev != "cancelled" {
			t.Fatalf("%s: change after the booking's %s %q, want %s cancelled", where, got, ev, id)
		}
	}

	// Cut both instances' listening connections, as a failover would: each listens again,
	// tells its pages to read their data afresh, and the next booking reaches them.
	killer, err := sql.Open("pgx", dbURL.String())
	if err != nil {
		t.Fatal(err)
	}
	defer killer.Close()
	var cut int
	if err := killer.QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND query = 'LISTEN rendezvous_changes'`, appName).Scan(&cut); err != nil {
		t.Fatal(err)
	}
	if cut != 2 {
		t.Fatalf("cut %d listening connections, want one for each instance", cut)
	}
	for where, events := range streams {
		next(t, events, where, "resync")
	}
	id = book(start.Add(time.Hour))
	for where, events := range streams {
		if got, ev := nextChange(t, events, where); got != id || ev != "created" {
			t.Fatalf("%s: change after the cut %s %q, want %s created", where, got, ev, id)
		}
	}
}
