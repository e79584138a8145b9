package jobs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"rendezvous/clock"
	"rendezvous/jobs"
	"rendezvous/store"
)

// countingClock is the store's fake clock, counting the timers the runner arms.
type countingClock struct {
	*clock.Fake
	timers atomic.Int64
}

func (c *countingClock) wrap(f *clock.Fake) { c.Fake = f }

func (c *countingClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	c.timers.Add(1)
	return c.Fake.AfterFunc(d, f)
}

// With every ordinary worker busy and a backlog due behind them, the runner sleeps until a
// worker is free or a job of its reserved lane is due; it does not go round its loop
// asking the database. It used to time its sleep by the backlog's earliest due job,
// which was due already: a timer of zero, a spin of two queries per turn for as long as
// the backlog lasted, on the cores the workers and the bookings needed (issue 14).
func TestBusyWorkersDoNotSpinOnTheBacklog(t *testing.T) {
	eachDialect(t, func(t *testing.T, d string) {
		block := make(chan struct{})
		defer close(block)
		started := make(chan struct{}, 100)
		deadline := make(chan struct{}, 1)
		clk := &countingClock{}
		e := startWith(t, d, jobs.RunnerOptions{Clock: clk, Workers: 1, Critical: []string{"deadline"}}, func(r *jobs.Runner) {
			r.Handle("bulk", func(ctx context.Context, j *store.Job) error {
				started <- struct{}{}
				<-block
				return nil
			})
			r.Handle("deadline", func(ctx context.Context, j *store.Job) error { deadline <- struct{}{}; return nil })
		})
		e.enqueue(t, store.Job{OrgID: "org-a", Kind: "deadline", RunAt: t0.Add(time.Hour)})
		for range 20 {
			e.enqueue(t, store.Job{OrgID: "org-a", Kind: "bulk"})
		}
		<-started
		// Let the wakes of the enqueues settle, then watch the loop for a while.
		settled := clk.timers.Load()
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond) // watching for a spin: there is nothing to wait for
			now := clk.timers.Load()
			if now == settled {
				break
			}
			settled = now
		}
		before := clk.timers.Load()
		time.Sleep(300 * time.Millisecond) // watching for a spin: there is nothing to wait for
		if n := clk.timers.Load() - before; n > 3 {
			t.Fatalf("the runner armed %d timers in 300 ms with its worker busy and nothing else to do: it spins", n)
		}
		// Its sleep ends when the reserved lane's job is due.
		e.clock.Advance(time.Hour)
		select {
		case <-deadline:
		case <-time.After(10 * time.Second):
			t.Fatal("the reserved lane's job did not run when it fell due")
		}
	})
}
