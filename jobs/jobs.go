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
// the database's fsyncs per booking. The price is that we maintain about 1,300 lines of
// queue (this package and store/jobs.go); there is no dashboard, no periodic jobs and no
// workflow features, which Rendezvous does not need.
//
// Faults cost seconds: a lease is short (30 s) and renewed every third of it while the job
// runs, so a job may take as long as it needs while the jobs of a runner that died are due
// again within one lease; an instance restarted under the same name (Instance) takes back
// its own leases at once; an outcome that cannot be recorded (the database is briefly out
// of reach) is tried again until it is, and a claim whose answer was lost is given back.
// A job that cannot go yet (its rate limit's next slot) is deferred (Defer) to the time it
// can, without spending an attempt, rather than holding a worker; and time-critical kinds
// (Critical) have reserved workers, so a backlog of other work never holds them up. When
// Run's context ends, running jobs finish on a context of their own (for up to StopGrace)
// and record their outcomes.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"rendezvous/clock"
	"rendezvous/store"
)

// Handler does one job. A nil return marks it done; an error schedules a retry (see Retry,
// Permanent and Defer). Its context ends when the job's lease is lost (the database was
// out of reach for longer than the lease, so another runner may take the job) or when
// the runner is stopping and its grace period has run out; not when the runner is merely
// asked to stop: a running job is finished.
type Handler func(ctx context.Context, j *store.Job) error

// RunnerOptions configures a Runner. Zero values take the defaults.
type RunnerOptions struct {
	Clock  clock.Clock  // default: the store's clock
	Logger *slog.Logger // default: discard
	// Workers is how many jobs run at once in this process (default 4), besides the
	// reserved lane (Critical).
	Workers int
	// Critical lists the time-critical job kinds (the customer's interaction, the video
	// room's deadlines, a reminder due now). Besides taking their turn with every other
	// kind, they have CriticalWorkers (default 2) of their own that run nothing else, so
	// a backlog of other work never holds them up.
	Critical        []string
	CriticalWorkers int
	// Busy, when set, reports that the process's interactive work (API requests) needs
	// the cores. While it does, at most BusyWorkers jobs (default 1) run at a time: the
	// queue takes the burst and works through it as the requests allow, instead of
	// taking an equal share of the cores from the requests. Workers resume in full as
	// soon as Busy reports false. The reserved lane is not held back.
	Busy        func() bool
	BusyWorkers int
	// PollInterval is how often the runner looks for due jobs enqueued by other
	// processes (default 2s). Jobs enqueued through the same Store, and jobs scheduled
	// for later, do not wait for it.
	PollInterval time.Duration
	// Lease is how long a claimed job is reserved for this runner without news from it
	// (default 30 s). The runner renews the leases of its running jobs every third of
	// it, so a job may run for as long as it needs, while the jobs of a runner that died
	// are due again within one Lease.
	Lease time.Duration
	// Instance names this process on the leases it takes. Give an instance the same
	// name when it restarts (and never two live instances the same one): Run then starts
	// by taking back at once the jobs the previous run left running, instead of waiting
	// for their leases to expire. Empty: leases are unnamed.
	Instance string
	// StopGrace is how long running jobs may go on once Run's context ends (default
	// 20 s); after it their contexts are cancelled and their jobs given back.
	StopGrace time.Duration
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
	normal   *lane
	critical *lane       // nil without Critical kinds
	busy     atomic.Bool // Busy said so when last asked

	// running holds the jobs whose leases this runner renews, by job id.
	runMu   sync.Mutex
	running map[int64]*running
	// orphans are lease tokens of claims whose answer was lost: the claim may have
	// committed, so their jobs are given back (store.ReleaseClaim) once the database
	// answers again.
	orphans []string
}

// lane is a set of workers and the kinds they claim (none: any).
type lane struct {
	name     string
	kinds    []string
	inflight atomic.Int64
}

// running is a job in a worker: its lease is renewed until its outcome is recorded.
type running struct {
	token      string
	validUntil time.Time // the lease is surely ours until then
	cancel     context.CancelFunc
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
	if o.CriticalWorkers <= 0 {
		o.CriticalWorkers = 2
	}
	if o.BusyWorkers <= 0 {
		o.BusyWorkers = 1
	}
	o.BusyWorkers = min(o.BusyWorkers, o.Workers)
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 20 * time.Second
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 10 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Hour
	}
	r := &Runner{st: st, clock: o.Clock, log: o.Logger, o: o, handlers: map[string]Handler{}, wake: make(chan struct{}, 1),
		normal: &lane{name: "normal"}, running: map[int64]*running{}}
	if len(o.Critical) > 0 {
		r.critical = &lane{name: "critical", kinds: slices.Clone(o.Critical)}
	}
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

// Run claims and runs due jobs until ctx ends. Then it claims no more, lets the running
// jobs finish (for up to StopGrace, on contexts that ctx does not cancel), records their
// outcomes and returns nil.
func (r *Runner) Run(ctx context.Context) error {
	// Jobs run and record their outcomes on work, which outlives ctx by the grace period.
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	hbDone := make(chan struct{})
	defer func() {
		// Wall-clock time on purpose: the grace is how long the process may take to stop,
		// not a time in the life of an appointment.
		grace := time.AfterFunc(r.o.StopGrace, stopWork)
		wg.Wait()
		grace.Stop()
		stopWork()
		<-hbDone
	}()
	if r.o.Instance != "" {
		r.persist(ctx, "reclaim this instance's jobs", func(bk context.Context) error {
			n, err := r.st.ReclaimOwned(bk, r.o.Instance)
			if n > 0 {
				r.log.Info("took back the jobs the previous run of this instance left running", "jobs", n)
			}
			return err
		})
	}
	go func() { defer close(hbDone); r.heartbeat(work) }()
	for {
		r.releaseOrphans(ctx)
		looked := r.clock.Now()
		claimedFull, claimErr := false, false
		free := int64(r.workers()) - r.normal.inflight.Load()
		if free > 0 {
			full, err := r.claim(ctx, work, &wg, r.normal, int(free))
			claimedFull, claimErr = full, err != nil
		}
		critFree := int64(0)
		if r.critical != nil {
			critFree = int64(r.o.CriticalWorkers) - r.critical.inflight.Load()
			// A claim of any kind that left workers idle found everything due: the
			// reserved lane only needs to look when the others are all taken.
			// And only when one of its kinds is due: asking is a read, a claim a write.
			if critFree > 0 && (free <= 0 || claimedFull) && ctx.Err() == nil && r.criticalDue(ctx) {
				full, err := r.claim(ctx, work, &wg, r.critical, int(critFree))
				claimedFull, claimErr = claimedFull || full, claimErr || err != nil
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if claimedFull {
			continue // perhaps more are due
		}
		// Sleep until the next job a free worker could take is due. With every worker of
		// the normal lane busy, only the reserved lane's kinds count: a backlog of other
		// due work is the busy workers' to take (a finishing worker wakes the loop), and
		// timing the loop by it turned it into a spin that asked the database twice per
		// turn for as long as the backlog lasted (issue 14).
		wait := time.Duration(-1) // no timer
		switch {
		case free > 0:
			wait = r.nextWait(ctx, claimErr, looked, nil)
		case critFree > 0:
			wait = r.nextWait(ctx, claimErr, looked, r.critical.kinds)
		}
		if r.busy.Load() && (wait < 0 || wait > busyRecheck) {
			// Held back for the requests: look again soon, in case they are over while
			// the one running job still takes its time.
			wait = busyRecheck
		}
		var t clock.Timer
		if wait >= 0 {
			t = r.clock.AfterFunc(wait, r.Wake)
		}
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

// claim claims up to n due jobs for lane l and starts a worker for each. It reports
// whether it got all n.
func (r *Runner) claim(ctx, work context.Context, wg *sync.WaitGroup, l *lane, n int) (bool, error) {
	token, err := store.NewLeaseToken()
	if err != nil {
		return false, err
	}
	jobs, err := r.st.ClaimDue(ctx, store.Claim{N: n, Lease: r.o.Lease, Owner: r.o.Instance, Kinds: l.kinds, Token: token})
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("claim jobs", "lane", l.name, "error", err)
		}
		// The claim may have committed without its answer reaching us.
		r.orphan(token)
		return false, err
	}
	for _, j := range jobs {
		r.track(j, token)
		l.inflight.Add(1)
		wg.Go(func() {
			// A worker goes on with the jobs its completion claimed (see run), so under
			// a stream of jobs it costs one round trip per job.
			for next := []*store.Job{j}; len(next) > 0; {
				if ctx.Err() != nil && next[0] != j {
					// Stopping: jobs claimed with the last completion go back untouched
					// rather than start now.
					for _, k := range next {
						r.persist(work, "release job", func(bk context.Context) error { return r.st.ReleaseJob(bk, k) })
						r.untrack(k)
					}
					break
				}
				for _, k := range next[1:] {
					r.persist(work, "release job", func(bk context.Context) error { return r.st.ReleaseJob(bk, k) })
					r.untrack(k)
				}
				next = r.run(ctx, work, l, next[0])
			}
			l.inflight.Add(-1)
			r.Wake() // a worker is free again
		})
	}
	return len(jobs) == n, nil
}

// criticalDue reports whether a job of the reserved lane's kinds is due (true when the
// database cannot tell: the claim then finds out).
func (r *Runner) criticalDue(ctx context.Context) bool {
	due, err := r.st.HasDue(ctx, r.critical.kinds)
	return due || err != nil
}

// busyRecheck is how often a runner held back by Busy asks again while its jobs run.
const busyRecheck = 100 * time.Millisecond

// workers is how many jobs of the normal lane may run at once now: Workers, or
// BusyWorkers while Busy.
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

// nextWait is how long to sleep: until the earliest pending job of kinds (none: any) is
// due, at most the poll interval; a second after a failed claim so a database outage is
// not hammered. A job that was due already when the runner looked (at looked) but was
// not claimed (another instance holds it locked for a moment) is looked at again after
// recheckDue rather than at once, so that the loop does not spin on it.
func (r *Runner) nextWait(ctx context.Context, failed bool, looked time.Time, kinds []string) time.Duration {
	d := r.o.PollInterval
	if failed {
		return min(d, time.Second)
	}
	if at, ok, err := r.st.NextDueAt(ctx, kinds); err == nil && ok {
		if !at.After(looked) {
			return min(d, recheckDue)
		}
		d = min(d, max(at.Sub(r.clock.Now()), 0))
	}
	return d
}

// recheckDue is the least a runner sleeps when the earliest pending job it could take is
// due already although its claim just left it.
const recheckDue = 20 * time.Millisecond

// track starts renewing j's lease.
func (r *Runner) track(j *store.Job, token string) {
	r.runMu.Lock()
	r.running[j.ID] = &running{token: token, validUntil: r.clock.Now().Add(r.o.Lease), cancel: func() {}}
	r.runMu.Unlock()
}

// untrack stops renewing j's lease: its outcome is recorded, or it is someone else's.
func (r *Runner) untrack(j *store.Job) {
	r.runMu.Lock()
	delete(r.running, j.ID)
	r.runMu.Unlock()
}

// heartbeat renews the leases of the running jobs every third of the lease, until the
// runner has stopped (work ends). A job whose lease could not be renewed in time has its
// context cancelled: another runner may have it now.
func (r *Runner) heartbeat(work context.Context) {
	every := r.o.Lease / 3
	arm := func() (chan struct{}, clock.Timer) {
		tick := make(chan struct{})
		return tick, r.clock.AfterFunc(every, func() { close(tick) })
	}
	tick, t := arm()
	for {
		select {
		case <-work.Done():
			t.Stop()
			return
		case <-tick:
		}
		// The next beat is armed before this one's renewal, so a slow renewal does not
		// push the next one later (and a test moving a fake clock after seeing the
		// renewal always finds the next beat armed).
		tick, t = arm()
		r.runMu.Lock()
		tokens := map[string]bool{}
		for _, j := range r.running {
			tokens[j.token] = true
		}
		r.runMu.Unlock()
		if len(tokens) == 0 {
			continue
		}
		now := r.clock.Now()
		bk, cancel := context.WithTimeout(context.WithoutCancel(work), every)
		ids, err := r.st.RenewLeases(bk, slices.Collect(maps.Keys(tokens)), now.Add(r.o.Lease))
		cancel()
		renewed := map[int64]bool{}
		for _, id := range ids {
			renewed[id] = true
		}
		r.runMu.Lock()
		for id, j := range r.running {
			switch {
			case !tokens[j.token]:
				// Claimed after the renewal was sent: its lease is fresh.
			case err == nil && renewed[id]:
				j.validUntil = now.Add(r.o.Lease)
			case err == nil:
				// Not running under our token any more: recorded a moment ago, or the
				// lease was lost. Either way the handler has nothing left to do.
				j.cancel()
			case !now.Add(every + r.o.Lease/10).Before(j.validUntil):
				// The lease may run out before the next try: stop the handler.
				r.log.Warn("job lease could not be renewed; stopping the job", "job_id", id, "error", err)
				j.cancel()
			}
		}
		r.runMu.Unlock()
		if err != nil {
			r.log.Warn("renew job leases", "error", err)
		}
	}
}

// orphan remembers the token of a claim whose answer was lost.
func (r *Runner) orphan(token string) {
	r.runMu.Lock()
	r.orphans = append(r.orphans, token)
	r.runMu.Unlock()
}

// releaseOrphans gives back the jobs of claims whose answer was lost.
func (r *Runner) releaseOrphans(ctx context.Context) {
	r.runMu.Lock()
	tokens := r.orphans
	r.orphans = nil
	r.runMu.Unlock()
	for i, tok := range tokens {
		bk, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		n, err := r.st.ReleaseClaim(bk, tok)
		cancel()
		if err != nil {
			r.runMu.Lock()
			r.orphans = append(r.orphans, tokens[i:]...)
			r.runMu.Unlock()
			return
		}
		if n > 0 {
			r.log.Info("gave back jobs of a claim whose answer was lost", "jobs", n)
		}
	}
}

// persist runs a bookkeeping write until it succeeds, the lease turns out lost, or ctx
// ends (after at least one try): a database that is briefly out of reach must not cost a
// job its recorded outcome. Each try gets its own 10 s, started when the try starts.
func (r *Runner) persist(ctx context.Context, what string, f func(bk context.Context) error) error {
	wait := 50 * time.Millisecond
	for {
		bk, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := f(bk)
		cancel()
		if err == nil || errors.Is(err, store.ErrLeaseLost) {
			return err
		}
		if ctx.Err() != nil {
			r.log.Error(what+"; giving up, the job stays leased until it expires or this instance restarts", "error", err)
			return err
		}
		r.log.Warn(what+"; will try again", "error", err, "wait", wait)
		if sleepOn(ctx, r.clock, wait) != nil {
			continue // ctx ended while waiting: one last try, then the loop gives up
		}
		wait = min(wait*2, 2*time.Second)
	}
}

// sleepOn waits d on clk, or until ctx ends.
func sleepOn(ctx context.Context, clk clock.Clock, d time.Duration) error {
	done := make(chan struct{})
	t := clk.AfterFunc(d, func() { close(done) })
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	}
}

// run does one job and records its outcome. On success it also claims the next due job
// of its lane in the same round trip and returns it for the same worker to run (nil when
// none is due or the runner is stopping).
func (r *Runner) run(ctx, work context.Context, l *lane, j *store.Job) []*store.Job {
	defer r.untrack(j)
	r.mu.RLock()
	h := r.handlers[j.Kind]
	r.mu.RUnlock()
	log := r.log.With("job_id", j.ID, "kind", j.Kind, "attempt", j.Attempt)
	if h == nil {
		log.Error("no handler for job kind")
		r.persist(work, "record job failure", func(bk context.Context) error {
			return r.st.RetryJob(bk, j, "no handler for kind "+j.Kind, time.Time{}, true)
		})
		return nil
	}
	// Handler transactions commit asynchronously on PostgreSQL (see store.AsyncCommit):
	// at least once already allows a lost one, and it spares a WAL flush per job.
	hctx, cancel := context.WithCancel(store.AsyncCommit(work))
	r.runMu.Lock()
	if rj := r.running[j.ID]; rj != nil {
		rj.cancel = cancel
	}
	r.runMu.Unlock()
	err := safeCall(hctx, h, j)
	cancel()
	// The outcome is recorded on work: a runner asked to stop still records it. After a
	// lost lease the store refuses it (ErrLeaseLost), and the job is another runner's.
	if err == nil {
		if ctx.Err() != nil || (l == r.normal && l.inflight.Load() > int64(r.workers())) {
			// Stopping, or more workers run than may now: this one stops here.
			r.persist(work, "record job done", func(bk context.Context) error { return r.st.CompleteJob(bk, j) })
			return nil
		}
		// One job at a time per worker: claiming more would hold leases on jobs that
		// another worker or instance could run now.
		token, terr := store.NewLeaseToken()
		if terr == nil {
			bk, cancel := context.WithTimeout(context.WithoutCancel(work), 10*time.Second)
			next, err := r.st.CompleteAndClaim(bk, j, store.Claim{N: 1, Lease: r.o.Lease, Owner: r.o.Instance, Kinds: l.kinds, Token: token})
			cancel()
			for _, n := range next {
				r.track(n, token)
			}
			if err == nil || errors.Is(err, store.ErrLeaseLost) {
				return next
			}
			// The answer was lost: the completion and the claim may or may not have
			// committed. Give back whatever the claim took, and record the completion
			// on its own (a lost lease then means it was recorded).
			log.Warn("record job done; will try again", "error", err)
			r.orphan(token)
		}
		r.persist(work, "record job done", func(bk context.Context) error { return r.st.CompleteJob(bk, j) })
		return nil
	}
	var de *deferError
	if errors.As(err, &de) {
		r.persist(work, "defer job", func(bk context.Context) error { return r.st.DeferJob(bk, j, de.at, de.note) })
		return nil
	}
	if work.Err() != nil {
		// Stopped after the grace period: give the job back without spending an attempt.
		bk, cancel := context.WithTimeout(context.WithoutCancel(work), 5*time.Second)
		if err := r.st.ReleaseJob(bk, j); err != nil {
			log.Error("release job", "error", err)
		}
		cancel()
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
	r.persist(work, "record job failure", func(bk context.Context) error {
		return r.st.RetryJob(bk, j, err.Error(), at, permanent)
	})
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

type deferError struct {
	at   time.Time
	note string
}

func (e *deferError) Error() string {
	return fmt.Sprintf("deferred to %s: %s", e.at.Format(time.RFC3339), e.note)
}

// Defer returns an error that gives the job back to run at the given instant without
// counting an attempt, for a handler that cannot go yet (its rate limit's next slot, a
// Retry-After): the job then waits in the table rather than in a worker. note, when not
// empty, is recorded as the job's last error.
func Defer(at time.Time, note string) error {
	return &deferError{at: at, note: note}
}

// Permanent wraps err so the job is not retried, for failures another try cannot fix
// (HTTP 400, 401, 403, 404).
func Permanent(err error) error {
	if err == nil {
		err = errors.New("permanent failure")
	}
	return &permanentError{err: err}
}
