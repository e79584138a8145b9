package wiring_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/cmd/internal/wiring"
	"rendezvous/store"
	"rendezvous/store/storetest"
	"rendezvous/webhook"
)

var t0 = time.Date(2026, 10, 20, 8, 0, 0, 0, time.UTC) // Europe's clocks go back within the period

// The test values: each is searched for in every column of every table.
const (
	oldName   = "Zebediah Quarrington"
	oldPhone  = "+306912345671"
	oldEmail  = "zeb.quarrington@example.org"
	oldNotes  = "Zebediah prefers mornings"
	oldReason = "Zebediah moved abroad"
	newName   = "Yolanda Brightwater"
	newEmail  = "yolanda.brightwater@example.org"
)

// The whole service (journey, room, notifications through the sandbox, webhooks to a
// real receiver) runs for months on a fake clock; after the retention period the
// personal data of the appointments that ended is gone from every table, the recent
// appointment's is still there, and the counts and statuses are as they were.
func TestRetentionErasesPersonalDataEverywhere(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			fc := clock.NewFake(t0)
			st := storetest.OpenWith(t, d, store.Options{Clock: fc})
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			t.Cleanup(func() { cancel(); wg.Wait() })
			if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "demo", Name: "Demo"}); err != nil {
				t.Fatal(err)
			}
			key := make([]byte, 32)
			svc, err := wiring.New(ctx, &wg, wiring.Options{Store: st, Key: key, Clock: fc, Logger: slog.New(slog.DiscardHandler),
				PublicURL: "http://127.0.0.1:1", Genesys: wiring.Genesys{SandboxAddr: "127.0.0.1:0"}, RateLimit: rate.Inf, JobWorkers: 2})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(svc.Close)
			wg.Go(func() { svc.Runner.Run(ctx) })

			var mu sync.Mutex
			received := 0
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				mu.Lock()
				received++
				mu.Unlock()
			}))
			t.Cleanup(recv.Close)
			actx := rendezvous.WithActor(ctx, rendezvous.Actor{Kind: rendezvous.ActorAPIKey, ID: "k", Name: "crm"})
			if _, err := svc.Webhooks.Create(actx, "demo", webhook.Input{URL: recv.URL, Events: rendezvous.WebhookEvents()}); err != nil {
				t.Fatal(err)
			}

			book := func(at time.Time, c rendezvous.Customer, notes string) *rendezvous.Appointment {
				t.Helper()
				a, err := rendezvous.NewAppointment("demo", rendezvous.AppointmentInput{Start: at, DurationMinutes: 30,
					TimeZone: "Europe/Athens", AgentUserID: "agent-1", Title: "Mortgage review", Notes: notes,
					Customers: []rendezvous.Customer{c}}, fc.Now())
				if err != nil {
					t.Fatal(err)
				}
				a.NotificationsEnabled = true // as the API does when the organization's switch is on
				saved, _, err := st.CreateAppointment(actx, a, store.Idempotency{})
				if err != nil {
					t.Fatal(err)
				}
				return saved
			}
			old := rendezvous.Customer{Name: oldName, Phone: oldPhone, Email: oldEmail, Language: "el"}
			kept := book(t0.Add(48*time.Hour), old, oldNotes)
			gone := book(t0.Add(72*time.Hour), old, oldNotes)
			if _, err := st.UpdateAppointment(actx, "demo", gone.ID, 0, func(a *rendezvous.Appointment) (string, error) {
				return "cancelled", a.Cancel(oldReason, fc.Now())
			}); err != nil {
				t.Fatal(err)
			}
			settle(t, st, fc)
			mu.Lock()
			n := received
			mu.Unlock()
			if n < 3 {
				t.Fatalf("the receiver got %d events, want at least 3", n)
			}
			hits, err := storetest.FindText(ctx, st, oldName, oldPhone, oldEmail, oldNotes, oldReason)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) == 0 {
				t.Fatal("the test values are nowhere before retention: the test would prove nothing")
			}

			// 100 days on, a new appointment is booked; the old ones ended long ago.
			fc.Advance(100 * 24 * time.Hour)
			settle(t, st, fc)
			book(fc.Now().Add(24*time.Hour), rendezvous.Customer{Name: newName, Email: newEmail, Language: "de"}, "")
			settle(t, st, fc)
			before := statuses(t, st)

			if err := svc.Retention.SetDays(actx, "demo", 90); err != nil {
				t.Fatal(err)
			}
			settle(t, st, fc)

			hits, err = storetest.FindText(ctx, st, oldName, oldPhone, oldEmail, oldNotes, oldReason)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hits {
				t.Errorf("%q is still in %s", h.Value, h.Where)
			}
			recent, err := storetest.FindText(ctx, st, newName, newEmail)
			if err != nil || len(recent) == 0 {
				t.Errorf("the recent appointment's data went too (%v)", err)
			}
			if after := statuses(t, st); after != before {
				t.Errorf("statuses and counts changed: %s, were %s", after, before)
			}
			a, err := st.Appointment(ctx, "demo", kept.ID)
			if err != nil || len(a.Customers) != 1 || a.Customers[0].Language != "el" || a.Customers[0].Name != "" {
				t.Errorf("erased appointment: %+v, %v", a, err)
			}
			es, _, err := st.AuditLog(ctx, "demo", store.AuditFilter{Action: "retention.erased"})
			if err != nil || len(es) != 1 || es[0].Actor.Kind != rendezvous.ActorSystem {
				t.Errorf("audit of the erasure: %+v, %v", es, err)
			}
		})
	}
}

// settle waits until no job is due or running, stepping the fake clock a little so that
// retries scheduled a few seconds ahead come due.
func settle(t *testing.T, st *store.Store, fc *clock.Fake) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	quiet := 0
	for quiet < 3 {
		if time.Now().After(deadline) {
			jobs, _ := st.Jobs(context.Background(), "demo", "")
			for _, j := range jobs {
				if j.State == store.JobPending || j.State == store.JobRunning {
					t.Logf("job %d %s %s due %s: %s", j.ID, j.Kind, j.State, j.RunAt, j.LastError)
				}
			}
			t.Fatal("jobs did not settle")
		}
		<-time.After(30 * time.Millisecond)
		n, err := st.JobQueueDepth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			quiet++
		} else {
			quiet = 0
			fc.Advance(time.Second)
		}
	}
}

// statuses returns the appointments' count per status, as text.
func statuses(t *testing.T, st *store.Store) string {
	t.Helper()
	rows, err := st.Read(context.Background(), "SELECT status, COUNT(*) FROM appointments GROUP BY status ORDER BY status")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := ""
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out += s + "=" + string(rune('0'+n)) + " "
	}
	return out
}
