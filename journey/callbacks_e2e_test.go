package journey_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/genesys"
	"rendezvous/genesys/sandbox"
	"rendezvous/jobs"
	"rendezvous/journey"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// callbackWorld is a world on the callbacks channel, with a job runner doing the
// appointment events as the service's wiring does.
func callbackWorld(t *testing.T, dialect string) *world {
	t.Helper()
	w := newWorld(t, dialect, func(o *journey.Options, gc *genesys.Client) { o.Callbacks = gc })
	// The default queue takes agent-owned callbacks (the video queue: agent-owned
	// callbacks on and a preferred-agent rule), as the administrator guide asks.
	set := journey.DefaultSettings(sandbox.Demo.AgentDeploymentID, sandbox.Demo.QueueDeploymentID, sandbox.Demo.VideoQueue.Name)
	set.SchedulingChannel = journey.ChannelCallbacks
	if _, err := w.j.PutSettings(context.Background(), "demo", set); err != nil {
		t.Fatal(err)
	}
	r := jobs.NewRunner(w.st, jobs.RunnerOptions{Clock: w.clk, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	// This store enqueues the default appointment.event job (the wiring has it enqueue
	// journey.appointment_event among others); the journey's handler is all this test
	// needs, so it handles that job directly.
	r.Handle(store.EventJobKind, w.j.HandleAppointmentEvent)
	r.Handle(journey.CallbackJobKind, w.j.HandleCallbackSync)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

func (w *world) api(method, path string, body any, want int) map[string]any {
	w.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, w.srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+w.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		w.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, rb)
	}
	var out map[string]any
	json.Unmarshal(rb, &out)
	return out
}

// customerLink reads the customer's link of an appointment from the API.
func (w *world) customerLink(id string) string {
	w.t.Helper()
	out := w.api("GET", "/api/v1/appointments/"+id, nil, http.StatusOK)
	return out["links"].(map[string]any)["customer"].(string)
}

// bookPhone books through the API for a customer with a phone number.
func (w *world) bookPhone(start time.Time, agent string) string {
	w.t.Helper()
	out := w.api("POST", "/api/v1/appointments", map[string]any{
		"start": start.Format(time.RFC3339), "durationMinutes": 30, "timeZone": "Europe/Berlin",
		"title": "Video consultation", "agentUserId": agent,
		"customers":   []map[string]any{{"name": "Eva", "phone": "+4915123456789", "language": "de"}},
		"interaction": map[string]any{"routing": map[string]any{"type": "GENESYS_CLOUD_FLOW"}, "customFields": map[string]string{"caseId": "K-17"}},
	}, http.StatusCreated)
	return out["id"].(string)
}

func callbacksOf(cs []sandbox.Conversation) []sandbox.Conversation {
	var out []sandbox.Conversation
	for _, c := range cs {
		if c.MediaType == sandbox.MediaCallback {
			out = append(out, c)
		}
	}
	return out
}

// callbackOf waits for the one callback carrying the appointment id to satisfy cond.
func (w *world) callbackOf(id, what string, cond func(c sandbox.Conversation) bool) sandbox.Conversation {
	w.t.Helper()
	var found sandbox.Conversation
	w.waitSandbox(what, func(cs []sandbox.Conversation) bool {
		n := 0
		for _, c := range callbacksOf(cs) {
			if customerAttrs(c)[journey.AppointmentIDAttribute] == id {
				found = c
				n++
			}
		}
		return n == 1 && cond(found)
	})
	return found
}

func TestCallbacksChannel(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			w := callbackWorld(t, d)
			ctx := context.Background()
			agent := sandbox.Demo.Agents[1].ID
			start := w.clk.Now().Add(48 * time.Hour)
			id := w.bookPhone(start, agent)

			// Booking creates one agent-owned scheduled callback at the start.
			c := w.callbackOf(id, "the callback", func(c sandbox.Conversation) bool { return true })
			if c.State != sandbox.StateScheduled || c.Callback == nil || !c.Callback.ScheduledTime.Equal(start) ||
				len(c.Callback.Numbers) != 1 || c.Callback.Numbers[0] != "+4915123456789" || c.Callback.UserName != "Eva" ||
				!c.Callback.AgentOwned || c.Callback.OwnerID != agent || c.QueueID != sandbox.Demo.VideoQueue.ID {
				t.Fatalf("callback %+v %+v", c, c.Callback)
			}
			attrs := customerAttrs(c)
			if attrs["caseId"] != "K-17" || attrs[journey.AgentRoomLinkAttribute] != w.srv.URL+"/r/"+id {
				t.Fatalf("callback data %v", attrs)
			}
			var row store.Callback
			waitStore(t, func() bool {
				var err error
				row, err = w.st.JourneyCallback(ctx, "demo", id)
				return err == nil && row.State == store.CallbackScheduled
			})
			if row.ConversationID != c.ID || row.CallbackID != c.Callback.CallbackID || !row.ScheduledAt.Equal(start) {
				t.Fatalf("stored callback %+v", row)
			}

			// Rescheduling moves it.
			moved := start.Add(90 * time.Minute)
			w.api("PATCH", "/api/v1/appointments/"+id, map[string]any{"start": moved.Format(time.RFC3339)}, http.StatusOK)
			c = w.callbackOf(id, "the moved callback", func(c sandbox.Conversation) bool {
				return c.Callback != nil && c.Callback.ScheduledTime != nil && c.Callback.ScheduledTime.Equal(moved)
			})
			if c.State != sandbox.StateScheduled {
				t.Fatalf("moved callback %+v", c)
			}

			// At its time Genesys offers it to the assigned agent.
			w.clk.Set(moved.Add(-time.Minute))
			if c = w.callbackOf(id, "still scheduled", func(sandbox.Conversation) bool { return true }); c.State != sandbox.StateScheduled {
				t.Fatalf("offered early: %+v", c)
			}
			w.clk.Set(moved)
			w.callbackOf(id, "the offer to the agent", func(c sandbox.Conversation) bool {
				return c.State == sandbox.StateAlerting && c.OfferedAgentID == agent
			})

			// The customer cancelling another appointment from the link disconnects its callback.
			otherAt := w.clk.Now().Add(24 * time.Hour)
			other := w.bookPhone(otherAt, agent)
			w.callbackOf(other, "the second callback", func(c sandbox.Conversation) bool { return c.State == sandbox.StateScheduled })
			link := w.customerLink(other)
			_, page := w.getPage(link+"/cancel", false)
			f := parseForm(t, page)
			if code, page := w.post(link+"/cancel", url.Values{"csrf": {f.csrf}, "version": {f.version}}); code != http.StatusOK {
				t.Fatalf("self-service cancel: %d\n%s", code, page)
			}
			w.callbackOf(other, "the disconnected callback", func(c sandbox.Conversation) bool { return c.State == sandbox.StateDisconnected })
			waitStore(t, func() bool {
				r, err := w.st.JourneyCallback(ctx, "demo", other)
				return err == nil && r.State == store.CallbackCancelled
			})

			// Genesys cannot call a customer without a phone: nothing is sent, the reason is
			// kept on the callback record.
			noPhone, _ := w.book(w.clk.Now().Add(24*time.Hour), agent, map[string]any{"type": "GENESYS_CLOUD_FLOW"})
			waitStore(t, func() bool {
				r, err := w.st.JourneyCallback(ctx, "demo", noPhone)
				return err == nil && r.State == store.CallbackFailed && strings.Contains(r.LastError, "phone")
			})

			// Beyond Genesys' 30-day horizon the callback is created 30 days ahead.
			far := w.clk.Now().Add(40 * 24 * time.Hour)
			farID := w.bookPhone(far, agent)
			// Let the event run: a deferred job appears, and no callback.
			waitStore(t, func() bool {
				at, ok, err := w.st.NextJobAt(ctx)
				return err == nil && ok && at.Equal(far.Add(-genesys.MaxCallbackHorizon).Add(time.Minute))
			})
			if _, err := w.st.JourneyCallback(ctx, "demo", farID); !errors.Is(err, rendezvous.ErrNotFound) {
				t.Fatalf("a callback beyond 30 days was created: %v", err)
			}
			w.clk.Set(far.Add(-genesys.MaxCallbackHorizon).Add(time.Minute))
			w.callbackOf(farID, "the deferred callback", func(c sandbox.Conversation) bool {
				return c.State == sandbox.StateScheduled && c.Callback.ScheduledTime.Equal(far)
			})
		})
	}
}

// bookQueuePhone books a callback appointment routed to a queue, with no agent.
func (w *world) bookQueuePhone(start time.Time, queue string) string {
	w.t.Helper()
	out := w.api("POST", "/api/v1/appointments", map[string]any{
		"start": start.Format(time.RFC3339), "durationMinutes": 30, "timeZone": "Europe/Berlin", "title": "Video consultation",
		"customers":   []map[string]any{{"name": "Eva", "phone": "+4915123456789", "language": "de"}},
		"interaction": map[string]any{"routing": map[string]any{"type": "GENESYS_CLOUD_QUEUE", "properties": map[string]string{"queueName": queue}}},
	}, http.StatusCreated)
	return out["id"].(string)
}

// TestCallbacksWithoutAgentAndOwnedHorizon: a callback with no agent cannot be moved
// (PatchCallbackRequest requires agentId), so a reschedule disconnects it and creates it
// again; an agent-owned callback waits for its queue's own horizon; a queue that does not
// take owned callbacks gets none, with the reason recorded.
func TestCallbacksWithoutAgentAndOwnedHorizon(t *testing.T) {
	w := callbackWorld(t, store.SQLite)
	ctx := context.Background()
	start := w.clk.Now().Add(48 * time.Hour)
	id := w.bookQueuePhone(start, sandbox.Demo.VideoQueue.Name)
	first := w.callbackOf(id, "the queue callback", func(c sandbox.Conversation) bool { return c.State == sandbox.StateScheduled })
	if first.Callback.AgentOwned {
		t.Fatalf("a callback with no agent is agent-owned: %+v", first.Callback)
	}
	waitStore(t, func() bool {
		r, err := w.st.JourneyCallback(ctx, "demo", id)
		return err == nil && r.State == store.CallbackScheduled
	})

	moved := start.Add(2 * time.Hour)
	w.api("PATCH", "/api/v1/appointments/"+id, map[string]any{"start": moved.Format(time.RFC3339)}, http.StatusOK)
	w.waitSandbox("the callback created again", func(cs []sandbox.Conversation) bool {
		var old, fresh int
		for _, c := range callbacksOf(cs) {
			if customerAttrs(c)[journey.AppointmentIDAttribute] != id {
				continue
			}
			switch {
			case c.ID == first.ID && c.State == sandbox.StateDisconnected:
				old++
			case c.ID != first.ID && c.State == sandbox.StateScheduled && c.Callback.ScheduledTime.Equal(moved):
				fresh++
			}
		}
		return old == 1 && fresh == 1
	})
	waitStore(t, func() bool {
		r, err := w.st.JourneyCallback(ctx, "demo", id)
		return err == nil && r.State == store.CallbackScheduled && r.ConversationID != first.ID && r.ScheduledAt.Equal(moved)
	})

	// The queue allows owned callbacks 24 hours ahead: one 48 hours ahead waits.
	if err := w.sb.SetAgentOwnedRouting(sandbox.Demo.VideoQueue.ID, true, 24); err != nil {
		t.Fatal(err)
	}
	agent := sandbox.Demo.Agents[0].ID
	ownedAt := w.clk.Now().Add(48 * time.Hour)
	owned := w.bookPhone(ownedAt, agent)
	waitStore(t, func() bool {
		at, ok, err := w.st.NextJobAt(ctx)
		return err == nil && ok && at.Equal(ownedAt.Add(-24*time.Hour).Add(time.Minute))
	})
	if _, err := w.st.JourneyCallback(ctx, "demo", owned); !errors.Is(err, rendezvous.ErrNotFound) {
		t.Fatalf("an owned callback beyond the queue's horizon was created: %v", err)
	}

	// A queue without owned callbacks: nothing is sent, and the record says why.
	if err := w.sb.SetAgentOwnedRouting(sandbox.Demo.VideoQueue.ID, false, 24); err != nil {
		t.Fatal(err)
	}
	refused := w.bookPhone(w.clk.Now().Add(3*time.Hour), agent)
	waitStore(t, func() bool {
		r, err := w.st.JourneyCallback(ctx, "demo", refused)
		return err == nil && r.State == store.CallbackFailed && strings.Contains(r.LastError, "agent-owned callbacks")
	})
}

// waitStore polls the store (in real time, for work the job runner does) until cond holds.
func waitStore(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 15 s")
		}
		time.Sleep(10 * time.Millisecond) // polling real work, not waiting for the future
	}
}
