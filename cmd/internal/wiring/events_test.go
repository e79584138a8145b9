package wiring_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/cmd/internal/wiring"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// Every share of an appointment's event job (journey, room, notifications, the staff
// app's live updates, webhooks) is registered on the service as assembled: a booking's
// event job succeeds at its first attempt. A share registered before its part existed
// panicked on every event, so each event was retried with backoff ten times and then
// failed, and a backlog of bookings never drained (issue 14).
func TestAppointmentEventSucceedsAtItsFirstAttempt(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			st := storetest.OpenWith(t, d, store.Options{})
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			t.Cleanup(func() { cancel(); wg.Wait() })
			if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "demo", Name: "Demo"}); err != nil {
				t.Fatal(err)
			}
			svc, err := wiring.New(ctx, &wg, wiring.Options{Store: st, Key: make([]byte, 32), Clock: clock.Real(),
				Logger: slog.New(slog.DiscardHandler), PublicURL: "http://127.0.0.1:1",
				Genesys: wiring.Genesys{SandboxAddr: "127.0.0.1:0"}, RateLimit: rate.Inf, JobWorkers: 2})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(svc.Close)
			wg.Go(func() { svc.Runner.Run(ctx) })

			actx := rendezvous.WithActor(ctx, rendezvous.Actor{Kind: rendezvous.ActorAPIKey, ID: "k", Name: "crm"})
			a, err := rendezvous.NewAppointment("demo", rendezvous.AppointmentInput{Start: time.Now().Add(48 * time.Hour),
				DurationMinutes: 30, TimeZone: "Europe/Athens", AgentUserID: "agent-1", Title: "Mortgage review",
				Customers: []rendezvous.Customer{{Name: "Maria Papadopoulou", Phone: "+306912345671", Language: "el"}}}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			a.NotificationsEnabled = true
			if _, _, err := st.CreateAppointment(actx, a, store.Idempotency{}); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				evs, err := st.Jobs(ctx, "demo", store.EventJobKind)
				if err != nil {
					t.Fatal(err)
				}
				if len(evs) != 1 {
					t.Fatalf("%d event jobs, want 1", len(evs))
				}
				ev := evs[0]
				if ev.Attempt > 1 || ev.LastError != "" {
					t.Fatalf("the event job was tried again: attempt %d, state %s, last error %q", ev.Attempt, ev.State, ev.LastError)
				}
				if ev.State == store.JobDone {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the event job is %s after 20 s", ev.State)
				}
				time.Sleep(10 * time.Millisecond) // polling the database for the runner's outcome
			}
		})
	}
}
