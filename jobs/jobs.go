// Package jobs runs the durable background work of Rendezvous: notifications, Genesys
// Cloud calls, no-show deadlines, anything that happens after the request that caused it.
//
// Jobs live in the jobs table of the store and are enqueued with store.Tx.Enqueue in the
// same transaction as the change they follow, so a rolled-back change leaves no job behind
// and a committed one is never lost. A Runner claims due jobs under a lease and calls the
// Handler registered for their kind; a failure is retried with exponential backoff and
// jitter, or after the delay a handler asks for (Retry, for Retry-After), up to the job's
// MaxAttempts; Permanent stops retrying at once. Attempts and the last error are recorded
// on the job.
//
// Why our own small queue rather than River, which was suggested: River's drivers are
// separate per database and its Postgres driver wants a pgx pool of its own, so we would
// have two database APIs, and enqueueing inside a store transaction would mean passing the
// driver-specific transaction through. A queue in our own tables is one store API over
// database/sql for both SQLite and PostgreSQL; Enqueue shares the caller's transaction
// with no adapter; and because the store calls Runner.Wake after every commit that
// enqueued (and a Runner arms a timer for the earliest future job), a job due now — such
// as the Genesys interaction when a customer arrives at the appointment start — runs at
// once instead of waiting for a poll interval. Several instances share one PostgreSQL
// database safely: claims use FOR UPDATE SKIP LOCKED and every outcome is recorded only
// under the lease that claimed the job. On PostgreSQL the queue's own bookkeeping and the
// handlers' transactions commit asynchronously (no WAL flush wait): under at-least-once
// delivery a lost one only means the job runs again, and it keeps the queue from tripling
// the database's fsyncs per booking. The price is that we maintain about 900 lines of
// queue (this package and store/jobs.go); there is no dashboard, no periodic jobs and no
// workflow features, which Rendezvous does not need.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"rendezvous/clock"
	"rendezvous/store"
)

// Handler does one job. A nil return marks it done; an error schedules a retry (see Retry
// and Permanent). The context ends when the lease is about to expire or the runner stops.
type Handler func(ctx context.Context, j *store.Job) error

// RunnerOptions configures a Runner. Zero values take the defaults.
type RunnerOptions struct {
	Clock  clock.Clock  // default: the store's clock
	Logger *slog.Logger // default: discard
	// Workers is how many jobs run at once in this process (default 4).
	Workers int
	// Busy, when set, reports that the process's interactive work (API requests) needs
	// the cores. While it does, at most BusyWorkers jobs (default 1) run at a time: the
	// queue takes the burst and works through it as the requests allow, instead of
	// taking an equal share of the cores from the requests. Workers resume in full as
	// soon as Busy reports false.
	Busy        func() bool
	BusyWorkers int
	// PollInterval is how often the runner looks for due jobs enqueued by other
	// processes (default 2s). Jobs enqueued through the same Store, and jobs scheduled
	// for later, do not wait for it.
	PollInterval time.Duration
	// Lease is how long a claimed job is reserved for this runner (default 5 min). A
	// handler still running at its end has its context cancelled.
	Lease time.Duration
	// BaseBackoff is the delay before the first retry (default 10s); it doubles per
	// attempt up to MaxBackoff (default 1h), with jitter.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
}

// Runner claims due jobs and runs their handlers.
type Runner struct {
	st       *store.Store
	clock    clock.Clock
	log      *slog.Logger
	o        RunnerOptions
	mu       sync.RWMutex
	handlers map[string]Handler
	wake     chan struct{}
	inflight atomic.Int64
	busy     atomic.Bool // Busy said so when last asked
}

// NewRunner returns a runner over st and registers it to be woken after every commit on
// st that enqueued a job.
func NewRunner(st *store.Store, o RunnerOptions) *Runner {
	if o.Clock == nil {
		o.Clock = st.Clock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.BusyWorkers <= 0 {
		o.BusyWorkers = 1
	}
	o.BusyWorkers = min(o.BusyWorkers, o.Workers)
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 5 * time.Minute
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 10 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Hour
	}
	r := &Runner{st: st, clock: o.Clock, log: o.Logger, o: o, handlers: map[string]Handler{}, wake: make(chan struct{}, 1)}
	st.OnJobsEnqueued(r.Wake)
	return r
}

// Handle registers the handler of a job kind. Register every kind before Run; a job of a
// kind with no handler fails permanently.
func (r *Runner) Handle(kind string, h Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handlers[kind] = h
}

// Wake makes the runner look for due jobs now. It never blocks.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run claims and runs due jobs until ctx ends, then waits for running handlers (whose
// context is cancelled) and gives their jobs back. It returns nil on a clean stop.
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		free := int64(r.workers()) - r.inflight.Load()
		claimed := 0
		var claimErr error
		if free > 0 {
			jobs, err := r.st.ClaimJobs(ctx, int(free), r.o.Lease)
			if err != nil && ctx.Err() == nil {
				r.log.Error("claim jobs", "error", err)
				claimErr = err
			}
			claimed = len(jobs)
			for _, j := range jobs {
				r.inflight.Add(1)
				wg.Add(1)
				go func() {
					defer wg.Done()
					// A worker goes on with the jobs its completion claimed (see run),
					// so under a stream of jobs it costs one round trip per job.
					for next := []*store.Job{j}; len(next) > 0; {
						if ctx.Err() != nil && next[0] != j {
							// Stopping: a job claimed with the last completion goes
							// back untouched rather than start now.
							bk, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
							if err := r.st.ReleaseJob(bk, next[0]); err != nil {
								r.log.Error("release job", "job_id", next[0].ID, "error", err)
							}
							cancel()
							break
						}
						next = r.run(ctx, next[0])
					}
					r.inflight.Add(-1)
					r.Wake() // a worker is free again
				}()
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if free > 0 && int64(claimed) == free {
			continue // perhaps more are due
		}
		var t clock.Timer
		switch {
		case free > 0:
			t = r.clock.AfterFunc(r.nextWait(ctx, claimErr != nil), r.Wake)
		case r.busy.Load():
			// Held back for the requests: look again soon, in case they are over while
			// the one running job still takes its time.
			t = r.clock.AfterFunc(busyRecheck, r.Wake)
		}
		// With every worker busy there is no timer: a finishing worker wakes the loop.
		select {
		case <-ctx.Done():
			if t != nil {
				t.Stop()
			}
			return nil
		case <-r.wake:
			if t != nil {
				t.Stop()
			}
		}
	}
}

// busyRecheck is how often a runner held back by Busy asks again while its jobs run.
const busyRecheck = 100 * time.Millisecond

// workers is how many jobs may run at once now: Workers, or BusyWorkers while Busy.
func (r *Runner) workers() int {
	if r.o.Busy != nil && r.o.Busy() {
		r.busy.Store(true)
		return r.o.BusyWorkers
	}
	if r.busy.Swap(false) {
		r.Wake() // the loop may start the workers it held back
	}
	return r.o.Workers
}

// nextWait is how long to sleep: until the earliest pending job is due, at most the poll
// interval; the full interval after a failed claim so a database outage is not hammered.
func (r *Runner) nextWait(ctx context.Context, failed bool) time.Duration {
	d := r.o.PollInterval
	if failed {
		return d
	}
	if at, ok, err := r.st.NextJobAt(ctx); err == nil && ok {
		d = min(d, max(at.Sub(r.clock.Now()), 0))
	}
	return d
}

// run does one job and records its outcome. On success it also claims the next due job
// in the same round trip and returns it for the same worker to run (nil when none is due
// or the runner is stopping).
func (r *Runner) run(ctx context.Context, j *store.Job) []*store.Job {
	r.mu.RLock()
	h := r.handlers[j.Kind]
	r.mu.RUnlock()
	// Bookkeeping must happen even while stopping, so it does not use ctx.
	bk, cancelBK := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelBK()
	log := r.log.With("job_id", j.ID, "kind", j.Kind, "attempt", j.Attempt)
	if h == nil {
		log.Error("no handler for job kind")
		if err := r.st.RetryJob(bk, j, "no handler for kind "+j.Kind, time.Time{}, true); err != nil {
			log.Error("record job failure", "error", err)
		}
		return nil
	}
	// End the handler a little before the lease so its outcome is still ours to record.
	// Handler transactions commit asynchronously on PostgreSQL (see store.AsyncCommit):
	// at least once already allows a lost one, and it spares a WAL flush per job.
	hctx, cancel := context.WithTimeout(store.AsyncCommit(ctx), r.o.Lease-r.o.Lease/10)
	err := safeCall(hctx, h, j)
	cancel()
	if err == nil {
		if ctx.Err() != nil || r.inflight.Load() > int64(r.workers()) {
			// Stopping, or more workers run than may now: this one stops here.
			if err := r.st.CompleteJob(bk, j); err != nil {
				log.Error("record job done", "error", err)
			}
			return nil
		}
		// One job at a time per worker: claiming more would hold leases on jobs that
		// another worker or instance could run now.
		next, err := r.st.CompleteJobAndClaim(bk, j, 1, r.o.Lease)
		if err != nil {
			log.Error("record job done", "error", err)
		}
		return next
	}
	if ctx.Err() != nil {
		// Stopping: give the job back without spending an attempt.
		if err := r.st.ReleaseJob(bk, j); err != nil {
			log.Error("release job", "error", err)
		}
		return nil
	}
	var perm *permanentError
	permanent := errors.As(err, &perm)
	at := r.clock.Now().Add(r.backoff(j.Attempt))
	var re *retryError
	if errors.As(err, &re) {
		at = r.clock.Now().Add(re.after)
	}
	if permanent || j.Attempt >= j.MaxAttempts {
		log.Warn("job failed for good", "error", err)
	} else {
		log.Info("job failed; will retry", "error", err, "retry_at", at)
	}
	if err := r.st.RetryJob(bk, j, err.Error(), at, permanent); err != nil {
		log.Error("record job failure", "error", err)
	}
	return nil
}

func safeCall(ctx context.Context, h Handler, j *store.Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return h(ctx, j)
}

// backoff is BaseBackoff doubled per previous attempt, capped at MaxBackoff, then drawn
// uniformly from its upper half so that jobs failing together do not retry together.
func (r *Runner) backoff(attempt int) time.Duration {
	d := r.o.BaseBackoff
	for i := 1; i < attempt && d < r.o.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.o.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

type retryError struct {
	after time.Duration
	err   error
}

func (e *retryError) Error() string { return fmt.Sprintf("%v (retry after %s)", e.err, e.after) }
func (e *retryError) Unwrap() error { return e.err }

// Retry returns an error that makes the job be tried again after the given delay instead
// of the backoff, typically a server's Retry-After. The attempt still counts toward
// MaxAttempts. RetryAfter does the same and keeps the cause for the job's last error.
func Retry(after time.Duration) error {
	return RetryAfter(after, errors.New("retry requested"))
}

// RetryAfter wraps err so the job is tried again after the given delay.
func RetryAfter(after time.Duration, err error) error {
	if err == nil {
		err = errors.New("retry requested")
	}
	return &retryError{after: max(after, 0), err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so the job is not retried, for failures another try cannot fix
// (HTTP 400, 401, 403, 404).
func Permanent(err error) error {
	if err == nil {
		err = errors.New("permanent failure")
	}
	return &permanentError{err: err}
}
