package notify_test

import (
	"testing"
	"time"

	"rendezvous"
	"rendezvous/notify"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// TestMessagesBehindABacklogAreEnqueuedForTheirSlots books behind a backlog of sends on
// one OAuth client: the messages planned then are enqueued for their own slots at once,
// never claimed only to be deferred (no attempt, no deferral note), and all go out in the
// end, each once.
func TestMessagesBehindABacklogAreEnqueuedForTheirSlots(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d)
			e.reopen(func(o *notify.Options) { o.RequestsPerMinute = 60 })
			e.seed()
			e.start()
			phone := func(i int) string { return "+491511234570" + string(rune('0'+i)) }
			// The first message goes at once and tells the service its client's pace.
			e.book(t0.Add(72*time.Hour), "Europe/Berlin", rendezvous.Customer{Name: "X", Phone: phone(0)})
			e.settle()
			if n := len(e.outbox(phone(0))); n != 1 {
				t.Fatalf("first message: %d sent", n)
			}
			const n = 8
			for i := 1; i < n; i++ {
				e.book(t0.Add(72*time.Hour+time.Duration(i)*time.Hour), "Europe/Berlin", rendezvous.Customer{Name: "X", Phone: phone(i)})
			}
			e.settle()
			js, err := e.st.Jobs(e.ctx, e.org, notify.SendJobKind)
			if err != nil {
				t.Fatal(err)
			}
			planned, slots := 0, map[time.Time]bool{}
			for _, j := range js {
				if j.State != store.JobPending {
					continue
				}
				if j.Attempt != 0 || j.LastError != "" || !j.RunAt.After(e.clk.Now()) {
					t.Errorf("job %d: attempt %d, %q, run at %s (now %s); want enqueued for a later slot, never claimed",
						j.ID, j.Attempt, j.LastError, j.RunAt, e.clk.Now())
				}
				if slots[j.RunAt] {
					t.Errorf("two messages share the slot %s", j.RunAt)
				}
				slots[j.RunAt] = true
				planned++
			}
			if planned < n-3 {
				t.Fatalf("%d of %d messages enqueued for later slots", planned, n-1)
			}
			sent := func() int {
				c := 0
				for i := range n {
					c += len(e.outbox(phone(i)))
				}
				return c
			}
			e.drain("every SMS sent", 250*time.Millisecond, func() bool { return sent() == n })
			e.settle()
			if got := sent(); got != n {
				t.Fatalf("%d messages sent, want %d", got, n)
			}
		})
	}
}
