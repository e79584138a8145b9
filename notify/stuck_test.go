package notify_test

import (
	"errors"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/notify"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// TestStuckSendingDeliveryCanBeRetriedByHand leaves a delivery "sending" with no job left
// to finish it, as when Genesys' answer could never be recorded: while it may still be in
// flight an agent's retry is refused with a clear conflict; once it has been "sending" for
// longer than any run could hold it, the retry is accepted and the message goes out.
func TestStuckSendingDeliveryCanBeRetriedByHand(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d)
			e.seed()
			e.start()
			phone := "+4915112345670"
			a := e.book(t0.Add(72*time.Hour), "Europe/Berlin", rendezvous.Customer{Name: "Jonas", Phone: phone})
			e.settle()
			sent := find(e.deliveries(a.ID), notify.KindMessage, "created", "sms", notify.OutcomeSent)
			if len(sent) != 1 || len(e.outbox(phone)) != 1 {
				t.Fatalf("before: %+v, %d messages", sent, len(e.outbox(phone)))
			}
			// The answer was never recorded: "sending", and its job is over.
			if err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
				_, err := tx.Exec(e.ctx, "UPDATE notify_deliveries SET outcome = 'sending', updated_at = ? WHERE id = ?",
					store.TimeToDB(e.clk.Now()), sent[0].ID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if n, err := e.st.JobQueueDepth(e.ctx); err != nil || n != 0 {
				t.Fatalf("job queue depth %d, %v; want nothing left to finish the delivery", n, err)
			}

			// Perhaps still in flight: refused.
			if _, err := e.svc.Retry(e.ctx, e.org, a.ID, sent[0].ID); !errors.Is(err, rendezvous.ErrConflict) {
				t.Fatalf("retry of a delivery sending a moment ago: %v, want a conflict", err)
			}
			// Stuck for longer than a run can hold it: retried by hand, sent again.
			e.clk.Advance(15 * time.Minute)
			v, err := e.svc.Retry(e.ctx, e.org, a.ID, sent[0].ID)
			if err != nil {
				t.Fatalf("retry of a delivery stuck sending: %v", err)
			}
			if v.Outcome != notify.OutcomeScheduled || !v.Manual {
				t.Fatalf("after the retry: %+v", v)
			}
			e.settle()
			got := find(e.deliveries(a.ID), notify.KindMessage, "created", "sms", "")
			if len(got) != 1 || got[0].Outcome != notify.OutcomeSent || len(got[0].Attempts) != 2 {
				t.Fatalf("after the manual retry: %+v", got)
			}
			if n := len(e.outbox(phone)); n != 2 {
				t.Fatalf("%d messages after the manual retry, want 2", n)
			}
		})
	}
}
