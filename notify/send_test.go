package notify_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/genesys/sandbox"
	"rendezvous/notify"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// reopen rebuilds the env's service with adjusted options (before start).
func (e *env) reopen(adjust func(o *notify.Options)) {
	e.t.Helper()
	e.options = adjust
	e.open()
}

// drain moves the fake clock in small steps until cond holds: sends wait for their slots
// (inline up to a second, or deferred) on that clock.
func (e *env) drain(what string, step time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			js, _ := e.st.Jobs(e.ctx, e.org, "")
			for _, j := range js {
				e.t.Logf("job %d %s %s attempt %d run_at %s: %s", j.ID, j.Kind, j.State, j.Attempt, j.RunAt, j.LastError)
			}
			e.t.Fatalf("timed out waiting for %s", what)
		}
		e.clk.Advance(step)
		time.Sleep(3 * time.Millisecond) // let the woken work run before moving on
	}
}

// TestAgentNameIsLookedUpOnceAndOutsideTheWriter makes the agent's name lookup (a Genesys
// request) hang: a booking still commits meanwhile, because the message is rendered
// outside any transaction. Then every message of three bookings with the same agent is
// sent with one lookup in all, and templates without the name cause none.
func TestAgentNameIsLookedUpOnceAndOutsideTheWriter(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d)
			var calls atomic.Int32
			asked := make(chan struct{}, 1)
			release := make(chan struct{})
			e.reopen(func(o *notify.Options) {
				o.AgentName = func(ctx context.Context, orgID, userID string) (string, error) {
					if calls.Add(1) == 1 {
						asked <- struct{}{}
						<-release
					}
					return "Sam Agent", nil
				}
			})
			e.seed()
			e.start()
			start := t0.Add(72 * time.Hour)
			e.book(start, "Europe/Berlin", rendezvous.Customer{Name: "A", Phone: "+4915112345601", Email: "a@example.com"})
			select {
			case <-asked:
			case <-time.After(10 * time.Second):
				t.Fatal("the agent's name was never asked for")
			}
			booked := make(chan struct{})
			go func() {
				e.book(start.Add(time.Hour), "Europe/Berlin", rendezvous.Customer{Name: "B", Phone: "+4915112345602", Email: "b@example.com"})
				close(booked)
			}()
			select {
			case <-booked:
			case <-time.After(10 * time.Second):
				t.Fatal("a booking waited for the agent's name lookup")
			}
			close(release)
			e.book(start.Add(2*time.Hour), "Europe/Berlin", rendezvous.Customer{Name: "C", Phone: "+4915112345603", Email: "c@example.com"})
			e.settle()
			for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
				m := e.outbox(to)
				if len(m) != 1 {
					t.Fatalf("%d emails to %s", len(m), to)
				}
				contains(t, "email", m[0].Body, "with Sam Agent of Acme Bank")
			}
			// Three emails show the name, three SMS do not: one lookup for them all.
			if n := calls.Load(); n != 1 {
				t.Errorf("%d name lookups, want 1", n)
			}
		})
	}
}

// TestSendsBeyondTheRateWaitInTheQueueNotInWorkers books more messages than the OAuth
// client may send at once: those that cannot go within a second are deferred to their
// slots (pending jobs, no worker held, no attempt spent), and all go out in the end.
func TestSendsBeyondTheRateWaitInTheQueueNotInWorkers(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d)
			e.reopen(func(o *notify.Options) { o.RequestsPerMinute = 60 })
			e.seed()
			e.start()
			const n = 6
			phones := []string{}
			for i := range n {
				p := "+491511234560" + string(rune('0'+i))
				phones = append(phones, p)
				// No email address: one SMS per booking, all on one OAuth client.
				e.book(t0.Add(72*time.Hour+time.Duration(i)*time.Hour), "Europe/Berlin", rendezvous.Customer{Name: "X", Phone: p})
			}
			e.settle() // nothing due or running: the rest wait in the table
			sent := func() int {
				c := 0
				for _, p := range phones {
					c += len(e.outbox(p))
				}
				return c
			}
			if got := sent(); got >= n {
				t.Fatalf("%d of %d sent at once at 60 per minute", got, n)
			}
			js, err := e.st.Jobs(e.ctx, e.org, notify.SendJobKind)
			if err != nil {
				t.Fatal(err)
			}
			deferred := 0
			for _, j := range js {
				if j.State == store.JobPending {
					if !j.RunAt.After(e.clk.Now()) || j.Attempt != 0 {
						t.Errorf("deferred job %d: run at %s (now %s), %d attempts", j.ID, j.RunAt, e.clk.Now(), j.Attempt)
					}
					deferred++
				}
			}
			if deferred == 0 || deferred+sent() < n {
				t.Fatalf("%d deferred, %d sent, of %d", deferred, sent(), n)
			}
			e.drain("every SMS sent", 250*time.Millisecond, func() bool { return sent() == n })
			e.settle()
			js, _ = e.st.Jobs(e.ctx, e.org, notify.SendJobKind)
			for _, j := range js {
				if j.State == store.JobDone && j.Attempt != 1 {
					t.Errorf("job %d took %d attempts; deferrals must not count", j.ID, j.Attempt)
				}
			}
		})
	}
}

// TestRateLimitedSendIsRetriedAndEveryAnswerLogged makes Genesys answer a send with 429
// five times. The client retries within the attempt and the job queue defers the rest;
// the message goes out once, and the delivery log shows every 429, not just the last.
func TestRateLimitedSendIsRetriedAndEveryAnswerLogged(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d)
			e.seed()
			e.start()
			e.sb.InjectFault(sandbox.Fault{Method: http.MethodPost, PathPrefix: "/api/v2/conversations/messages/agentless",
				Status: http.StatusTooManyRequests, RetryAfter: time.Second, Count: 5})
			phone := "+4915112345699"
			a := e.book(t0.Add(72*time.Hour), "Europe/Berlin", rendezvous.Customer{Name: "R", Phone: phone})
			e.drain("the SMS sent", 250*time.Millisecond, func() bool { return len(e.outbox(phone)) > 0 })
			e.settle()
			if got := len(e.outbox(phone)); got != 1 {
				t.Fatalf("%d SMS sent, want 1", got)
			}
			sms := find(e.deliveries(a.ID), notify.KindMessage, "created", "sms", "")
			if len(sms) != 1 || sms[0].Outcome != notify.OutcomeSent {
				t.Fatalf("delivery: %+v", sms)
			}
			n429 := 0
			for _, at := range sms[0].Attempts {
				if at.Status == http.StatusTooManyRequests {
					n429++
				}
			}
			if n429 != 5 {
				t.Errorf("the log shows %d answers 429, want 5: %+v", n429, sms[0].Attempts)
			}
		})
	}
}

// TestReminderLatenessZeroMeansNoLimit saves reminderMaxLatenessMinutes 0 and lets the
// service be down while a reminder falls due: it still goes out two hours late, since the
// appointment has not started.
func TestReminderLatenessZeroMeansNoLimit(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d)
			e.seed()
			set := notify.DefaultSettings()
			set.ReminderMaxLatenessMinutes = 0
			if _, err := e.svc.PutSettings(e.ctx, e.org, set); err != nil {
				t.Fatal(err)
			}
			e.start()
			phone := "+4915112345688"
			a := e.book(t0.Add(72*time.Hour), "Europe/Berlin", rendezvous.Customer{Name: "L", Phone: phone})
			e.settle()
			e.halt()
			e.clk.Set(a.Start.Add(-22 * time.Hour)) // the 24 h reminder is two hours late
			e.start()
			e.settle()
			if got := len(e.outbox(phone)); got != 2 {
				t.Fatalf("%d SMS, want the confirmation and the late reminder", got)
			}
			r := find(e.deliveries(a.ID), notify.KindReminder, "", "sms", notify.OutcomeSent)
			if len(r) != 1 || r[0].OffsetMinutes != 24*60 {
				t.Errorf("sent reminders: %+v", r)
			}
		})
	}
}
