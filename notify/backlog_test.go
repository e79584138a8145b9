package notify_test

import (
	"fmt"
	"slices"
	"sync/atomic"
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
			sent := func() int { return e.sentTo(n, phone) }
			e.drain("every SMS sent", 250*time.Millisecond, func() bool { return sent() == n })
			e.settle()
			if got := sent(); got != n {
				t.Fatalf("%d messages sent, want %d", got, n)
			}
		})
	}
}

// TestABurstDueTogetherIsDeferredWithoutClaimingEach books a burst of messages that fall
// due together after the coalescing window, planned before any was sent (their pacer saw
// no backlog, so none was given a slot). When they fall due, the first goes, and the rest
// are deferred to their successive slots together: the runner hands the service a few of
// them, not every one only to defer it, which on SQLite's single writer held up the
// messages whose slots had come (issue 14). Then all go out, each once, one per slot.
func TestABurstDueTogetherIsDeferredWithoutClaimingEach(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d)
			e.reopen(func(o *notify.Options) { o.RequestsPerMinute = 60 })
			e.seed()
			set := notify.DefaultSettings()
			set.CoalesceSeconds = 120
			if _, err := e.svc.PutSettings(e.ctx, e.org, set); err != nil {
				t.Fatal(err)
			}
			var handed atomic.Int64
			e.onSend = func(*store.Job) { handed.Add(1) }
			e.start()
			const n = 60
			phone := func(i int) string { return fmt.Sprintf("+4915112345%03d", i) }
			for i := range n {
				e.book(t0.Add(72*time.Hour+time.Duration(i)*time.Hour), "Europe/Berlin", rendezvous.Customer{Name: "X", Phone: phone(i)})
			}
			e.settle()
			if h := handed.Load(); h != 0 {
				t.Fatalf("%d sends handed over before they were due", h)
			}

			e.advanceTo(t0.Add(2 * time.Minute))
			t.Logf("%d of %d sends handed over when they fell due", handed.Load(), n)
			if h := handed.Load(); h > n/4 {
				t.Errorf("%d of %d sends due together were handed to the service to be deferred one by one; want a few", h, n)
			}
			js, err := e.st.Jobs(e.ctx, e.org, notify.SendJobKind)
			if err != nil {
				t.Fatal(err)
			}
			var slots []time.Time
			for _, j := range js {
				if j.State == store.JobPending {
					slots = append(slots, j.RunAt)
				}
			}
			if len(slots) < n-5 {
				t.Fatalf("%d of %d messages wait for later slots", len(slots), n)
			}
			slices.SortFunc(slots, time.Time.Compare)
			for i := 1; i < len(slots); i++ {
				if gap := slots[i].Sub(slots[i-1]); gap < time.Second {
					t.Fatalf("slots %s and %s are %s apart; the pace is one a second", slots[i-1], slots[i], gap)
				}
			}

			sent := func() int { return e.sentTo(n, phone) }
			e.drain("every SMS sent", 250*time.Millisecond, func() bool { return sent() == n })
			e.settle()
			for i := range n {
				if got := len(e.outbox(phone(i))); got != 1 {
					t.Errorf("%s got %d messages, want 1", phone(i), got)
				}
			}
		})
	}
}
