package jobs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/jobs"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// TestLongJobKeepsItsLeaseAndRecordsItsOutcome runs a job for three leases (on the fake
// clock): the runner renews its lease meanwhile, so a second runner on the same database
// never gets it, and its outcome is recorded when it ends, however long that took (the
// bookkeeping's own timeout starts after the handler).
func TestLongJobKeepsItsLeaseAndRecordsItsOutcome(t *testing.T) {
	eachDialect(t, func(t *testing.T, d string) {
		const lease = 30 * time.Second
		release := make(chan struct{})
		started := make(chan struct{}, 1)
		var runs atomic.Int32
		handler := func(ctx context.Context, j *store.Job) error {
			runs.Add(1)
			started <- struct{}{}
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		e := startWith(t, d, jobs.RunnerOptions{Lease: lease}, func(r *jobs.Runner) { r.Handle("long", handler) })
		id := e.enqueue(t, store.Job{OrgID: "org-a", Kind: "long"})
		<-started
		other, err := store.Open(e.ctx, e.url, store.Options{Clock: e.clock})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		for range 9 { // three leases, a third at a time
			before := leaseUntil(t, e.st, id)
			e.clock.Advance(lease / 3)
			// The heartbeat renews it before the next third passes.
			waitUntil(t, "lease renewed", func() bool { return leaseUntil(t, e.st, id).After(before) })
			if got, err := other.ClaimJobs(e.ctx, 5, lease); err != nil || len(got) > 0 {
				t.Fatalf("another runner claimed %d jobs (%v) while the job ran", len(got), err)
			}
		}
		close(release)
		j := e.waitState(t, id, store.JobDone)
		if j.Attempt != 1 || runs.Load() != 1 {
			t.Errorf("attempt %d, %d runs; want one", j.Attempt, runs.Load())
		}
	})
}

// TestRestartedInstanceTakesBackItsJobsAtOnce leaves jobs running under an instance's
// lease, as a process killed mid-job does, and starts a runner with the same instance
// name: it runs them at once, without waiting for their leases to expire (the fake clock
// never moves). A job leased by another live instance is left alone.
func TestRestartedInstanceTakesBackItsJobsAtOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, d string) {
		ctx := context.Background()
		fc := clock.NewFake(t0)
		st, err := store.Open(ctx, storetest.URL(t, d), store.Options{Clock: fc})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "org-a"}); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"mine", "mine", "theirs"} {
			if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.Enqueue(ctx, store.Job{OrgID: "org-a", Kind: k}) }); err != nil {
				t.Fatal(err)
			}
		}
		// The previous run of "a" claimed its two; the live instance "b" claimed its one.
		if got, err := st.ClaimDue(ctx, store.Claim{N: 2, Lease: time.Minute, Owner: "a", Kinds: []string{"mine"}}); err != nil || len(got) != 2 {
			t.Fatalf("claim: %d, %v", len(got), err)
		}
		if got, err := st.ClaimDue(ctx, store.Claim{N: 1, Lease: time.Minute, Owner: "b"}); err != nil || len(got) != 1 {
			t.Fatalf("claim: %d, %v", len(got), err)
		}
		ran := make(chan string, 3)
		r := jobs.NewRunner(st, jobs.RunnerOptions{Instance: "a", PollInterval: time.Hour})
		r.Handle("mine", func(ctx context.Context, j *store.Job) error { ran <- j.Kind; return nil })
		r.Handle("theirs", func(ctx context.Context, j *store.Job) error { ran <- j.Kind; return nil })
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r.Run(rctx) }()
		defer func() { cancel(); <-done }()
		for range 2 {
			select {
			case k := <-ran:
				if k != "mine" {
					t.Fatalf("ran %s, another live instance's job", k)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the restarted instance did not take back its jobs")
			}
		}
		all, _ := st.Jobs(ctx, "org-a", "mine")
		for _, j := range all {
			waitUntil(t, "job done", func() bool { j2, _ := st.JobByID(ctx, j.ID); return j2.State == store.JobDone })
		}
		theirs, _ := st.Jobs(ctx, "org-a", "theirs")
		if theirs[0].State != store.JobRunning {
			t.Errorf("the other instance's job is %s, want still running under its lease", theirs[0].State)
		}
	})
}

// TestDeferredJobWaitsInTheTableNotInAWorker defers a job to later: the one worker runs
// other jobs meanwhile, the attempt is not spent, and the job runs when its time comes.
func TestDeferredJobWaitsInTheTableNotInAWorker(t *testing.T) {
	eachDialect(t, func(t *testing.T, d string) {
		ran := make(chan string, 10)
		var deferred atomic.Bool
		e := startWith(t, d, jobs.RunnerOptions{Workers: 1}, func(r *jobs.Runner) {
			r.Handle("paced", func(ctx context.Context, j *store.Job) error {
				if !deferred.Swap(true) {
					return jobs.Defer(j.RunAt.Add(time.Hour), "waiting for a send slot")
				}
				ran <- "paced"
				return nil
			})
			r.Handle("other", func(ctx context.Context, j *store.Job) error { ran <- "other"; return nil })
		})
		id := e.enqueue(t, store.Job{OrgID: "org-a", Kind: "paced", RunAt: t0, MaxAttempts: 1})
		// The handler's flag first, then the row: read the other way round, the row could be the
		// pending one from before the claim.
		waitUntil(t, "deferred", func() bool {
			if !deferred.Load() {
				return false
			}
			j, _ := e.st.JobByID(e.ctx, id)
			return j.State == store.JobPending
		})
		j, _ := e.st.JobByID(e.ctx, id)
		if j.Attempt != 0 || !j.RunAt.Equal(t0.Add(time.Hour)) || j.LastError != "waiting for a send slot" {
			t.Errorf("deferred job: attempts %d, run at %s, last error %q", j.Attempt, j.RunAt, j.LastError)
		}
		e.enqueue(t, store.Job{OrgID: "org-a", Kind: "other"})
		if got := <-ran; got != "other" {
			t.Fatalf("ran %s first", got)
		}
		e.clock.Advance(time.Hour)
		if got := <-ran; got != "paced" {
			t.Fatalf("ran %s", got)
		}
		if j := e.waitState(t, id, store.JobDone); j.Attempt != 1 {
			t.Errorf("attempt %d, want 1 (the deferral spends none, so MaxAttempts 1 is enough)", j.Attempt)
		}
	})
}

// TestCriticalKindsHaveTheirOwnLane fills the only ordinary worker with a long job and a
// backlog behind it: a job of a critical kind still runs at once, in the reserved lane.
func TestCriticalKindsHaveTheirOwnLane(t *testing.T) {
	eachDialect(t, func(t *testing.T, d string) {
		block := make(chan struct{})
		defer close(block)
		started := make(chan struct{}, 100)
		deadline := make(chan struct{}, 1)
		e := startWith(t, d, jobs.RunnerOptions{Workers: 1, Critical: []string{"deadline"}}, func(r *jobs.Runner) {
			r.Handle("bulk", func(ctx context.Context, j *store.Job) error {
				started <- struct{}{}
				<-block
				return nil
			})
			r.Handle("deadline", func(ctx context.Context, j *store.Job) error { deadline <- struct{}{}; return nil })
		})
		for range 20 {
			e.enqueue(t, store.Job{OrgID: "org-a", Kind: "bulk"})
		}
		<-started
		e.enqueue(t, store.Job{OrgID: "org-a", Kind: "deadline"})
		select {
		case <-deadline:
		case <-time.After(10 * time.Second):
			t.Fatal("the critical job waited behind the backlog")
		}
		if len(started) != 0 {
			t.Errorf("%d more bulk jobs started; the reserved lane must run only critical kinds", len(started))
		}
	})
}

// TestLostClaimAnswerGivesTheJobsBack claims under a known token and gives the claim back
// as a runner does when the claim's answer was lost: the jobs are due again, with the
// attempt not spent. (No runner runs here, so nothing else claims the job.)
func TestLostClaimAnswerGivesTheJobsBack(t *testing.T) {
	eachDialect(t, func(t *testing.T, d string) {
		ctx := context.Background()
		st, err := store.Open(ctx, storetest.URL(t, d), store.Options{Clock: clock.NewFake(t0)})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "org-a"}); err != nil {
			t.Fatal(err)
		}
		tok, err := store.NewLeaseToken()
		if err != nil {
			t.Fatal(err)
		}
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.Enqueue(ctx, store.Job{OrgID: "org-a", Kind: "x"}) }); err != nil {
			t.Fatal(err)
		}
		got, err := st.ClaimDue(ctx, store.Claim{N: 5, Lease: time.Hour, Token: tok, Kinds: []string{"x"}})
		if err != nil || len(got) != 1 {
			t.Fatalf("claim: %d, %v", len(got), err)
		}
		n, err := st.ReleaseClaim(ctx, tok)
		if err != nil || n != 1 {
			t.Fatalf("release: %d, %v", n, err)
		}
		j, _ := st.JobByID(ctx, got[0].ID)
		if j.State != store.JobPending || j.Attempt != 0 {
			t.Errorf("released job: %s, attempt %d", j.State, j.Attempt)
		}
	})
}

func leaseUntil(t *testing.T, st *store.Store, id int64) time.Time {
	t.Helper()
	rows, err := st.Read(context.Background(), "SELECT lease_until FROM jobs WHERE id = ?", id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var us int64
	for rows.Next() {
		if err := rows.Scan(&us); err != nil {
			t.Fatal(err)
		}
	}
	return store.TimeFromDB(us)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling work in other goroutines, not waiting for the future
	}
}
