package store_test

import (
	"fmt"
	"testing"
	"time"

	"rendezvous/store"
)

// A backlog of due sends is found and deferred to its slots in a few statements
// (DueNotifySends, DeferPending), without claiming a job: the sends of one organization
// that are due, never deferred, and still wait to go, in claim order, with their
// channels; a job claimed meanwhile is left alone, and more jobs than one statement
// moves are moved all the same (issue 14).
func TestABacklogOfSendsIsDeferredWithoutClaims(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		const backlog = 1200 // more than one statement of DeferPending moves
		type send struct {
			org, channel, outcome string
			runAt                 time.Time
			deferred              bool // run_at after the delivery's due time
		}
		var sends []send
		for i := range backlog {
			sends = append(sends, send{"org-a", []string{"sms", "email"}[i%2], "scheduled", t0.Add(-time.Duration(backlog-i) * time.Millisecond), false})
		}
		sends = append(sends,
			send{"org-b", "sms", "scheduled", t0.Add(-time.Hour), false},      // another organization's
			send{"org-a", "sms", "sent", t0.Add(-time.Hour), false},           // finished already
			send{"org-a", "email", "retrying", t0.Add(-2 * time.Hour), false}, // first in claim order
			send{"org-a", "sms", "scheduled", t0.Add(time.Second), false},     // not due yet
			send{"org-a", "sms", "scheduled", t0.Add(-time.Hour), true})       // deferred to a slot before
		ids := map[string]int64{}
		if err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
			for i, s := range sends {
				id := fmt.Sprintf("d%05d", i)
				due := s.runAt
				if s.deferred {
					due = due.Add(-time.Hour)
				}
				if _, err := tx.InsertNotifyDelivery(e.ctx, &store.NotifyDelivery{ID: id, OrgID: s.org, AppointmentID: "a1",
					DedupeKey: id, Kind: "message", Event: "created", Channel: s.channel, DueAt: due, Outcome: s.outcome}); err != nil {
					return err
				}
				if err := tx.Enqueue(e.ctx, store.Job{OrgID: s.org, Kind: "notify.send", Args: map[string]string{"deliveryId": id}, RunAt: s.runAt}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		js, err := e.st.Jobs(e.ctx, "org-a", "notify.send")
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range js {
			var a struct{ DeliveryID string }
			if err := j.Decode(&a); err != nil {
				t.Fatal(err)
			}
			ids[a.DeliveryID] = j.ID
		}

		due, err := e.st.DueNotifySends(e.ctx, "org-a", "notify.send", t0, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if len(due) != backlog+1 {
			t.Fatalf("%d due sends, want %d", len(due), backlog+1)
		}
		if first := due[0]; first.DeliveryID != fmt.Sprintf("d%05d", backlog+2) || first.Channel != "email" {
			t.Errorf("first due send %+v, want the retrying email", first)
		}
		for i, x := range due[1:] {
			if want := fmt.Sprintf("d%05d", i); x.DeliveryID != want || x.Channel != sends[i].channel || x.JobID != ids[want] {
				t.Fatalf("due send %d: %+v, want delivery %s (job %d) on %s", i+1, x, want, ids[want], sends[i].channel)
			}
		}
		if few, err := e.st.DueNotifySends(e.ctx, "org-a", "notify.send", t0, 3); err != nil || len(few) != 3 || few[0] != due[0] {
			t.Fatalf("limited to 3: %+v, %v", few, err)
		}

		// One of them is claimed meanwhile, as a worker would.
		claimed, err := e.st.ClaimDue(e.ctx, store.Claim{N: 1, Lease: time.Minute, Kinds: []string{"notify.send"}})
		if err != nil || len(claimed) != 1 || claimed[0].ID != due[0].JobID {
			t.Fatalf("claim: %v, %v", claimed, err)
		}
		slot := func(i int) time.Time { return t0.Add(time.Duration(i+1) * 200 * time.Millisecond) }
		var moves []store.JobAt
		for i, x := range due {
			moves = append(moves, store.JobAt{ID: x.JobID, RunAt: slot(i)})
		}
		moved, err := e.st.DeferPending(e.ctx, moves, t0, "waiting")
		if err != nil {
			t.Fatal(err)
		}
		if moved != backlog {
			t.Errorf("moved %d jobs, want %d (all but the claimed one)", moved, backlog)
		}
		for i, x := range due {
			j, err := e.st.JobByID(e.ctx, x.JobID)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if j.State != store.JobRunning || j.LastError != "" {
					t.Errorf("the claimed job was touched: %s, %q", j.State, j.LastError)
				}
				continue
			}
			if j.State != store.JobPending || !j.RunAt.Equal(slot(i)) || j.Attempt != 0 || j.LastError != "waiting" {
				t.Fatalf("job %d: %s at %s, attempt %d, %q; want pending at %s, no attempt, the note", j.ID, j.State, j.RunAt, j.Attempt, j.LastError, slot(i))
			}
		}
		// Moved already (no longer due at t0): a second call leaves them where they are.
		if moved, err := e.st.DeferPending(e.ctx, moves[1:], t0, "again"); err != nil || moved != 0 {
			t.Errorf("second deferral moved %d, %v", moved, err)
		}
		if left, err := e.st.DueNotifySends(e.ctx, "org-a", "notify.send", t0, 5000); err != nil || len(left) != 0 {
			t.Errorf("due after the deferral: %+v, %v", left, err)
		}
	})
}
