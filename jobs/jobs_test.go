package jobs_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/jobs"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

var t0 = time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)

type env struct {
	st    *store.Store
	clock *clock.Fake
	r     *jobs.Runner
	ctx   context.Context
	url   string
}

// start opens a store on a fresh database of dialect d with a fake clock and a runner
// that polls only once an hour, so anything that runs sooner was woken.
func start(t *testing.T, d string, register func(r *jobs.Runner)) *env {
	t.Helper()
	return startWith(t, d, jobs.RunnerOptions{}, register)
}

// startWith is start with the runner options o, which take start's where they are zero.
func startWith(t *testing.T, d string, o jobs.RunnerOptions, register func(r *jobs.Runner)) *env {
	t.Helper()
	fc := clock.NewFake(t0)
	u := storetest.URL(t, d)
	st, err := store.Open(context.Background(), u, store.Options{Clock: fc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.EnsureOrg(context.Background(), rendezvous.Org{ID: "org-a"}); err != nil {
		t.Fatal(err)
	}
	if w, ok := o.Clock.(interface{ wrap(*clock.Fake) }); ok {
		w.wrap(fc) // a test's clock that watches the runner's timers on the store's fake clock
	}
	o.PollInterval = cmp.Or(o.PollInterval, time.Hour)
	o.BaseBackoff = cmp.Or(o.BaseBackoff, time.Minute)
	o.MaxBackoff = cmp.Or(o.MaxBackoff, time.Hour)
	r := jobs.NewRunner(st, o)
	register(r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &env{st: st, clock: fc, r: r, ctx: context.Background(), url: u}
}

func (e *env) enqueue(t *testing.T, j store.Job) int64 {
	t.Helper()
	if err := e.st.InTx(e.ctx, func(tx *store.Tx) error { return tx.Enqueue(e.ctx, j) }); err != nil {
		t.Fatal(err)
	}
	all, err := e.st.Jobs(e.ctx, j.OrgID, j.Kind)
	if err != nil || len(all) == 0 {
		t.Fatalf("jobs after enqueue: %v, %v", all, err)
	}
	return all[len(all)-1].ID
}

// waitState polls the job until it reaches state, for up to 10 seconds.
func (e *env) waitState(t *testing.T, id int64, state string) *store.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := e.st.JobByID(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == state {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s (attempt %d, %q), want %s", id, j.State, j.Attempt, j.LastError, state)
		}
		time.Sleep(5 * time.Millisecond) // polling a real database, not waiting for the fake clock
	}
}

func eachDialect(t *testing.T, f func(t *testing.T, d string)) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			f(t, d)
		})
	}
}

func TestEnqueuedJobRunsAtOnceAndOnlyOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, d string) {
		ran := make(chan string, 10)
		e := start(t, d, func(r *jobs.Runner) {
			r.Handle("greet", func(ctx context.Context, j *store.Job) error {
				var args struct{ Name string }
				if err := j.Decode(&args); err != nil {
					return err
				}
				ran <- args.Name
				return nil
			})
		})
		id := e.enqueue(t, store.Job{OrgID: "org-a", Kind: "greet", Args: map[string]string{"Name": "Ada"}})
		if got := <-ran; got != "Ada" {
			t.Fatalf("handler got %q", got)
		}
		j := e.waitState(t, id, store.JobDone)
		if j.Attempt != 1 {
			t.Fatalf("attempts = %d", j.Attempt)
		}
		select {
		case again := <-ran:
			t.Fatalf("ran twice: %s", again)
		default:
		}
	})
}

func TestWakeRunsJobEnqueuedElsewhere(t *testing.T) {
	eachDialect(t, func(t *testing.T, d string) {
		ran := make(chan int64, 1)
		e := start(t, d, func(r *jobs.Runner) {
			r.Handle("k", func(ctx context.Context, j *store.Job) error { ran <- j.ID; return nil })
		})
		// Another instance enqueues: this runner is not told, and polls only hourly.
		other, err := store.Open(e.ctx, e.url, store.Options{Clock: e.clock})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if err := other.InTx(e.ctx, func(tx *store.Tx) error { return tx.Enqueue(e.ctx, store.Job{OrgID: "org-a", Kind: "k"}) }); err != nil {
			t.Fatal(err)
		}
		e.r.Wake()
		select {
		case <-ran:
		case <-time.After(10 * time.Second):
			t.Fatal("Wake did not run the due job")
		}
	})
}

func TestFutureJobRunsWhenClockReachesIt(t *testing.T) {
	eachDialect(t, func(t *testing.T, d string) {
		ran := make(chan time.Time, 1)
		var e *env
		e = start(t, d, func(r *jobs.Runner) {
			r.Handle("reminder", func(ctx context.Context, j *store.Job) error { ran <- e.clock.Now(); return nil })
		})
		id := e.enqueue(t, store.Job{OrgID: "org-a", Kind: "reminder", RunAt: t0.Add(15 * time.Minute)})
		e.clock.Advance(14 * time.Minute)
		if j, _ := e.st.JobByID(e.ctx, id); j.State != store.JobPending {
			t.Fatalf("job is %s a minute before it is due", j.State)
		}
		e.clock.Advance(time.Minute)
		select {
		case at := <-ran:
			if at.Before(t0.Add(15 * time.Minute)) {
				t.Fatalf("ran at %v, before it was due", at)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("due job did not run")
		}
		e.waitState(t, id, store.JobDone)
	})
}

func TestFailureRetriesWithBackoffThenSucceeds(t *testing.T) {
	eachDialect(t, func(t *testing.T, d string) {
		var mu sync.Mutex
		calls := 0
		e := start(t, d, func(r *jobs.Runner) {
			r.Handle("flaky", func(ctx context.Context, j *store.Job) error {
				mu.Lock()
				defer mu.Unlock()
				calls++
				if j.Attempt == 1 {
					return errors.New("gateway timeout")
				}
				if j.LastError != "gateway timeout" {
					return jobs.Permanent(fmt.Errorf("last error = %q", j.LastError))
				}
				return nil
			})
		})
		id := e.enqueue(t, store.Job{OrgID: "org-a", Kind: "flaky"})
		j := waitAttempt(t, e, id, 1)
		// Backoff for the first retry is BaseBackoff (1 min) with jitter in its upper half.
		if delay := j.RunAt.Sub(t0); delay < 30*time.Second || delay > time.Minute {
			t.Fatalf("retry due after %v, want 30s..1m", delay)
		}
		if j.LastError != "gateway timeout" {
			t.Fatalf("last error = %q", j.LastError)
		}
		e.clock.Advance(time.Minute)
		j = e.waitState(t, id, store.JobDone)
		if j.Attempt != 2 {
			t.Fatalf("attempts = %d, want 2", j.Attempt)
		}
	})
}

// waitAttempt waits until the job is pending again after its n-th attempt.
func waitAttempt(t *testing.T, e *env, id int64, n int) *store.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := e.st.JobByID(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == store.JobPending && j.Attempt == n {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s after %d attempts, want pending after %d", id, j.State, j.Attempt, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	eachDialect(t, func(t *testing.T, d string) {
		e := start(t, d, func(r *jobs.Runner) {
			r.Handle("limited", func(ctx context.Context, j *store.Job) error {
				if j.Attempt == 1 {
					return jobs.RetryAfter(90*time.Second, errors.New("429 too many requests"))
				}
				return nil
			})
		})
		id := e.enqueue(t, store.Job{OrgID: "org-a", Kind: "limited"})
		j := waitAttempt(t, e, id, 1)
		if !j.RunAt.Equal(t0.Add(90 * time.Second)) {
			t.Fatalf("retry at %v, want exactly Retry-After later", j.RunAt)
		}
		e.clock.Advance(89 * time.Second)
		if j, _ := e.st.JobByID(e.ctx, id); j.State != store.JobPending {
			t.Fatalf("ran before Retry-After: %s", j.State)
		}
		e.clock.Advance(time.Second)
		e.waitState(t, id, store.JobDone)
	})
}

func TestPermanentFailureAndExhaustedAttempts(t *testing.T) {
	eachDialect(t, func(t *testing.T, d string) {
		e := start(t, d, func(r *jobs.Runner) {
			r.Handle("bad-request", func(ctx context.Context, j *store.Job) error {
				return jobs.Permanent(errors.New("400 bad request"))
			})
			r.Handle("always-down", func(ctx context.Context, j *store.Job) error {
				return errors.New("503")
			})
			r.Handle("panics", func(ctx context.Context, j *store.Job) error { panic("boom") })
		})
		perm := e.enqueue(t, store.Job{OrgID: "org-a", Kind: "bad-request", MaxAttempts: 5})
		j := e.waitState(t, perm, store.JobFailed)
		if j.Attempt != 1 || j.LastError != "400 bad request" {
			t.Fatalf("permanent: attempts %d, error %q", j.Attempt, j.LastError)
		}
		down := e.enqueue(t, store.Job{OrgID: "org-a", Kind: "always-down", MaxAttempts: 2})
		waitAttempt(t, e, down, 1)
		e.clock.Advance(time.Minute)
		j = e.waitState(t, down, store.JobFailed)
		if j.Attempt != 2 || j.LastError != "503" {
			t.Fatalf("exhausted: attempts %d, error %q", j.Attempt, j.LastError)
		}
		unknown := e.enqueue(t, store.Job{OrgID: "org-a", Kind: "nobody-handles-this"})
		e.waitState(t, unknown, store.JobFailed)
		p := e.enqueue(t, store.Job{OrgID: "org-a", Kind: "panics", MaxAttempts: 1})
		if j := e.waitState(t, p, store.JobFailed); j.LastError == "" {
			t.Fatal("panic not recorded")
		}
	})
}

func TestTwoRunnersNeverRunTheSameJobTwice(t *testing.T) {
	eachDialect(t, func(t *testing.T, d string) {
		const n = 60
		var mu sync.Mutex
		runs := map[int64]int{}
		done := make(chan struct{}, n*2)
		handler := func(ctx context.Context, j *store.Job) error {
			mu.Lock()
			runs[j.ID]++
			mu.Unlock()
			done <- struct{}{}
			return nil
		}
		e := start(t, d, func(r *jobs.Runner) { r.Handle("work", handler) })
		// A second instance on the same database with its own runner.
		other, err := store.Open(e.ctx, e.url, store.Options{Clock: e.clock})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		r2 := jobs.NewRunner(other, jobs.RunnerOptions{PollInterval: time.Hour, Workers: 3})
		r2.Handle("work", handler)
		ctx, cancel := context.WithCancel(e.ctx)
		stopped := make(chan struct{})
		go func() { r2.Run(ctx); close(stopped) }()
		defer func() { cancel(); <-stopped }()

		for i := range n {
			st := e.st
			if i%2 == 1 {
				st = other
			}
			if err := st.InTx(e.ctx, func(tx *store.Tx) error {
				return tx.Enqueue(e.ctx, store.Job{OrgID: "org-a", Kind: "work", Args: map[string]int{"i": i}})
			}); err != nil {
				t.Fatal(err)
			}
			// Each runner only hears of its own store's commits; wake both so they race.
			e.r.Wake()
			r2.Wake()
		}
		for range n {
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("only some jobs ran: %d", len(runs))
			}
		}
		all, _ := e.st.Jobs(e.ctx, "org-a", "work")
		for _, j := range all {
			e.waitState(t, j.ID, store.JobDone)
		}
		mu.Lock()
		defer mu.Unlock()
		for id, c := range runs {
			if c != 1 {
				t.Errorf("job %d ran %d times", id, c)
			}
		}
		if len(runs) != n {
			t.Fatalf("%d distinct jobs ran, want %d", len(runs), n)
		}
	})
}
