package jobs_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rendezvous/jobs"
	"rendezvous/store"
)

// While the process is busy with requests, one job runs at a time; once it is not, the
// runner goes back to its full number of workers.
func TestBusyProcessRunsOneJobAtATime(t *testing.T) {
	eachDialect(t, func(t *testing.T, d string) {
		var busy atomic.Bool
		busy.Store(true)
		var running, most atomic.Int32
		release := make(chan struct{})
		started := make(chan struct{}, 100)
		e := startWith(t, d, jobs.RunnerOptions{Workers: 4, Busy: busy.Load}, func(r *jobs.Runner) {
			r.Handle("work", func(ctx context.Context, j *store.Job) error {
				n := running.Add(1)
				defer running.Add(-1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				started <- struct{}{}
				<-release
				return nil
			})
		})
		var once sync.Once
		done := func() { once.Do(func() { close(release) }) }
		t.Cleanup(done) // before the runner's own cleanup, which waits for the handlers
		var ids []int64
		for range 8 {
			ids = append(ids, e.enqueue(t, store.Job{OrgID: "org-a", Kind: "work"}))
		}
		// Busy: the first job runs alone, and so does each next one.
		<-started
		for range 3 {
			select {
			case <-started:
				t.Fatalf("a second job started while the process was busy (%d running)", running.Load())
			case <-time.After(50 * time.Millisecond):
			}
			release <- struct{}{}
			<-started
		}
		// No longer busy: the rest run side by side, four at once.
		busy.Store(false)
		release <- struct{}{}
		for range 4 {
			<-started
		}
		if n := running.Load(); n != 4 {
			t.Fatalf("%d jobs running once not busy, want 4", n)
		}
		done()
		for _, id := range ids {
			e.waitState(t, id, store.JobDone)
		}
		if m := most.Load(); m != 4 {
			t.Fatalf("at most %d jobs ran at once, want 4", m)
		}
	})
}
