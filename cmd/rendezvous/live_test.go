package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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

// nextChange returns the next "change" event of the stream, as the page's script reads it.
func nextChange(t *testing.T, events <-chan sseEvent, where string) (appointmentID, event string) {
	t.Helper()
	const within = 60 * time.Second // a bound on the wait, not a measurement
	timeout := time.After(within)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("%s: the event stream ended", where)
			}
			if ev.name != "change" {
				continue // a resync asks for a refresh; the change itself is still to come
			}
			var c struct{ AppointmentID, Event string }
			if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
				t.Fatalf("%s: change %q: %v", where, ev.data, err)
			}
			return c.AppointmentID, c.Event
		case <-timeout:
			t.Fatalf("%s: no change within %s", where, within)
		}
	}
}

// TestLiveUpdatesReachEveryInstance runs two instances of the service through run on one
// PostgreSQL database, as the supported multi-instance setup does, with a supervisor's
// live-updates stream open on each. A booking made through instance A's API, and its
// cancellation, reach both streams, whichever instance ran the events' jobs, each change
// once and in order (issue 10: a page served by B missed what A processed).
func TestLiveUpdatesReachEveryInstance(t *testing.T) {
	key, err := secret.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"RENDEZVOUS_DATABASE_URL", storetest.URL(t, store.Postgres), "RENDEZVOUS_SECRET_KEY", secret.KeyText(key)}
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
	booked := call("POST", "/api/v1/appointments", fmt.Sprintf(`{"start": %q, "durationMinutes": 30,
		"timeZone": "Europe/Berlin", "title": "Live review", "agentUserId": %q,
		"customers": [{"name": "Lena Vogel", "email": "lena@example.com"}]}`, start.Format(time.RFC3339), sandbox.Demo.Agents[0].ID))
	id, _ := booked["id"].(string)
	if id == "" {
		t.Fatalf("booking has no id: %v", booked)
	}
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
}
