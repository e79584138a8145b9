package store_test

import (
	"errors"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/store"
)

func TestEnqueueInRolledBackTransactionLeavesNothing(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		boom := errors.New("boom")
		err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
			if err := tx.Enqueue(e.ctx, store.Job{OrgID: "org-a", Kind: "notify.sms"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v", err)
		}
		// A failed booking (overlap) leaves no event either.
		e.create(t, "org-a", "agent-1", t0.Add(time.Hour), 30)
		if _, _, err := e.st.CreateAppointment(e.ctx, e.appt(t, "org-a", "agent-1", t0.Add(time.Hour), 30), store.Idempotency{}); !errors.Is(err, rendezvous.ErrConflict) {
			t.Fatal(err)
		}
		all, err := e.st.Jobs(e.ctx, "org-a", "")
		if err != nil || len(all) != 1 || all[0].Kind != store.EventJobKind {
			t.Fatalf("jobs = %v, %v; want only the one created event", all, err)
		}
	})
}

func TestUniqueKeyAndCancelJobs(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		enqueue := func(org, key string, at time.Time) {
			t.Helper()
			if err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
				return tx.Enqueue(e.ctx, store.Job{OrgID: org, Kind: "reminder", UniqueKey: key, RunAt: at})
			}); err != nil {
				t.Fatal(err)
			}
		}
		at := t0.Add(time.Hour)
		enqueue("org-a", "reminder/a1/24h", at)
		enqueue("org-a", "reminder/a1/24h", at) // duplicate while pending: no-op
		enqueue("org-a", "reminder/a1/15m", at)
		enqueue("org-a", "reminder/a10/15m", at) // shares the text prefix "reminder/a1"
		enqueue("org-b", "reminder/a1/24h", at)  // other organization
		enqueue("org-a", "", at)
		enqueue("org-a", "", at) // no key: never deduplicated
		if all, _ := e.st.Jobs(e.ctx, "org-a", "reminder"); len(all) != 5 {
			t.Fatalf("org-a has %d jobs, want 5", len(all))
		}
		var n int
		err := e.st.InTx(e.ctx, func(tx *store.Tx) (err error) {
			n, err = tx.CancelJobs(e.ctx, "org-a", "reminder/a1/")
			return err
		})
		if err != nil || n != 2 {
			t.Fatalf("CancelJobs = %d, %v; want 2", n, err)
		}
		states := map[string]string{}
		for _, j := range mustJobs(t, e, "org-a") {
			states[j.UniqueKey] += j.State + " "
		}
		if states["reminder/a1/24h"] != "cancelled " || states["reminder/a10/15m"] != "pending " {
			t.Fatalf("states = %v", states)
		}
		if j := mustJobs(t, e, "org-b"); len(j) != 1 || j[0].State != store.JobPending {
			t.Fatalf("org-b jobs touched: %+v", j)
		}
		// Once cancelled, the key is free again.
		enqueue("org-a", "reminder/a1/24h", at.Add(time.Hour))
		if all := mustJobs(t, e, "org-a"); len(all) != 6 {
			t.Fatalf("re-enqueue after cancel: %d jobs", len(all))
		}
		if err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
			_, err := tx.CancelJobs(e.ctx, "org-a", "")
			return err
		}); err == nil {
			t.Fatal("CancelJobs with an empty prefix was allowed")
		}
	})
}

func mustJobs(t *testing.T, e *env, org string) []*store.Job {
	t.Helper()
	all, err := e.st.Jobs(e.ctx, org, "")
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func TestClaimLeaseAndQueueDepth(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		for _, at := range []time.Time{t0, t0, t0.Add(time.Hour)} {
			if err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
				return tx.Enqueue(e.ctx, store.Job{OrgID: "org-a", Kind: "k", RunAt: at, MaxAttempts: 2})
			}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := e.st.JobQueueDepth(e.ctx); err != nil || n != 2 {
			t.Fatalf("depth = %d, %v; want 2 (the future job does not count)", n, err)
		}
		e.clock.Advance(90 * time.Second)
		if lag, err := e.st.JobQueueLag(e.ctx); err != nil || lag != 90*time.Second {
			t.Fatalf("lag = %v, %v; want the 90 s the oldest due job has waited", lag, err)
		}
		e.clock.Set(t0)
		next, ok, err := e.st.NextJobAt(e.ctx)
		if err != nil || !ok || !next.Equal(t0) {
			t.Fatalf("NextJobAt = %v %v %v", next, ok, err)
		}
		first, err := e.st.ClaimJobs(e.ctx, 10, time.Minute)
		if err != nil || len(first) != 2 || first[0].Attempt != 1 {
			t.Fatalf("claim = %v, %v", first, err)
		}
		if again, _ := e.st.ClaimJobs(e.ctx, 10, time.Minute); len(again) != 0 {
			t.Fatalf("leased jobs claimed again: %v", again)
		}
		if err := e.st.CompleteJob(e.ctx, first[0]); err != nil {
			t.Fatal(err)
		}
		// The second runner dies; after its lease the job is due again.
		e.clock.Advance(time.Minute)
		second, err := e.st.ClaimJobs(e.ctx, 10, time.Minute)
		if err != nil || len(second) != 1 || second[0].ID != first[1].ID || second[0].Attempt != 2 || second[0].LastError != "lease expired" {
			t.Fatalf("reclaim = %+v, %v", second, err)
		}
		// The runner that lost the lease cannot record an outcome any more.
		if err := e.st.CompleteJob(e.ctx, first[1]); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("complete with lost lease: %v", err)
		}
		// Out of attempts when the lease runs out again: failed for good.
		e.clock.Advance(time.Minute)
		if got, _ := e.st.ClaimJobs(e.ctx, 10, time.Minute); len(got) != 0 {
			t.Fatalf("exhausted job claimed: %v", got)
		}
		if j, _ := e.st.JobByID(e.ctx, first[1].ID); j.State != store.JobFailed {
			t.Fatalf("state = %s, want failed", j.State)
		}
		if n, _ := e.st.JobQueueDepth(e.ctx); n != 0 {
			t.Fatalf("depth = %d, want 0", n)
		}
		if lag, err := e.st.JobQueueLag(e.ctx); err != nil || lag != 0 {
			t.Fatalf("lag = %v, %v; want 0 with nothing due (the future job waits for its time)", lag, err)
		}
	})
}

func TestTxPlaceholdersAndLock(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
			if err := tx.Lock(e.ctx, "anything"); err != nil {
				return err
			}
			var s string
			var n int64
			// The "?" inside the literal must survive the rewrite for PostgreSQL.
			if err := tx.QueryRow(e.ctx, "SELECT 'a?b' || ?, CAST(? AS BIGINT) + 1", "c", 41).Scan(&s, &n); err != nil {
				return err
			}
			if s != "a?bc" || n != 42 || tx.Dialect() == "" || !tx.Now().Equal(t0) {
				t.Errorf("got %q %d", s, n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestPruning(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		k := store.Idempotency{Key: "k1", RequestHash: "h"}
		a, _, err := e.st.CreateAppointment(e.ctx, e.appt(t, "org-a", "agent-1", t0.Add(time.Hour), 30), k)
		if err != nil {
			t.Fatal(err)
		}
		claimed, err := e.st.ClaimJobs(e.ctx, 10, time.Minute)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		if err := e.st.CompleteJob(e.ctx, claimed[0]); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(48 * time.Hour)
		if err := e.st.InTx(e.ctx, func(tx *store.Tx) error { return tx.Enqueue(e.ctx, store.Job{OrgID: "org-a", Kind: "k"}) }); err != nil {
			t.Fatal(err)
		}
		if n, err := e.st.PruneJobs(e.ctx, e.clock.Now().Add(-24*time.Hour)); err != nil || n != 1 {
			t.Fatalf("PruneJobs = %d, %v; want the finished job only", n, err)
		}
		if n, err := e.st.PruneIdempotencyKeys(e.ctx, e.clock.Now().Add(-24*time.Hour)); err != nil || n != 1 {
			t.Fatalf("PruneIdempotencyKeys = %d, %v", n, err)
		}
		// After pruning, the key is free: reusing it creates a new appointment.
		b, replayed, err := e.st.CreateAppointment(e.ctx, e.appt(t, "org-a", "agent-1", t0.Add(49*time.Hour), 30), k)
		if err != nil || replayed || b.ID == a.ID {
			t.Fatalf("reuse after prune: %v, replayed %v", err, replayed)
		}
		if got, _ := e.st.Appointment(e.ctx, "org-a", a.ID); got == nil {
			t.Fatal("pruning removed an appointment")
		}
	})
}

func TestCompleteJobAndClaim(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		for range 2 {
			if err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
				return tx.Enqueue(e.ctx, store.Job{OrgID: "org-a", Kind: "k"})
			}); err != nil {
				t.Fatal(err)
			}
		}
		first, err := e.st.ClaimJobs(e.ctx, 1, time.Minute)
		if err != nil || len(first) != 1 {
			t.Fatalf("claim = %v, %v", first, err)
		}
		next, err := e.st.CompleteJobAndClaim(e.ctx, first[0], 1, time.Minute)
		if err != nil || len(next) != 1 || next[0].ID == first[0].ID || next[0].Attempt != 1 || next[0].State != store.JobRunning {
			t.Fatalf("complete and claim = %+v, %v", next, err)
		}
		if j, _ := e.st.JobByID(e.ctx, first[0].ID); j.State != store.JobDone {
			t.Fatalf("first job is %s, want done", j.State)
		}
		// Nothing left to claim; the completion still counts.
		none, err := e.st.CompleteJobAndClaim(e.ctx, next[0], 1, time.Minute)
		if err != nil || len(none) != 0 {
			t.Fatalf("complete and claim = %v, %v", none, err)
		}
		if j, _ := e.st.JobByID(e.ctx, next[0].ID); j.State != store.JobDone {
			t.Fatalf("second job is %s, want done", j.State)
		}
		// A second completion under the same lease finds it gone.
		if _, err := e.st.CompleteJobAndClaim(e.ctx, next[0], 1, time.Minute); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("repeat completion = %v, want ErrLeaseLost", err)
		}
	})
}
