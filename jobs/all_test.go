package jobs_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"rendezvous/jobs"
	"rendezvous/store"
)

func TestAllRunsEveryPartAndRetriesUnlessEveryFailureIsPermanent(t *testing.T) {
	eachDialect(t, func(t *testing.T, d string) {
		var first, second, third atomic.Int32
		e := start(t, d, func(r *jobs.Runner) {
			r.Handle("event", jobs.All(
				func(ctx context.Context, j *store.Job) error { first.Add(1); return nil },
				func(ctx context.Context, j *store.Job) error {
					second.Add(1)
					return jobs.Permanent(errors.New("template is broken"))
				},
				func(ctx context.Context, j *store.Job) error {
					if third.Add(1) == 1 {
						return jobs.RetryAfter(30*time.Second, errors.New("database restarting"))
					}
					return nil
				},
			))
			r.Handle("hopeless", jobs.All(
				func(ctx context.Context, j *store.Job) error { return jobs.Permanent(errors.New("400 bad request")) },
				func(ctx context.Context, j *store.Job) error { return jobs.Permanent(errors.New("404 not found")) },
			))
			r.Handle("panicky", jobs.All(
				func(ctx context.Context, j *store.Job) error { return jobs.Permanent(errors.New("400 bad request")) },
				func(ctx context.Context, j *store.Job) error { panic("boom") },
			))
		})

		// One part failing for good does not stop the retry another part's passing
		// failure asks for, and every part runs on every attempt.
		id := e.enqueue(t, store.Job{OrgID: "org-a", Kind: "event"})
		j := waitAttempt(t, e, id, 1)
		if !j.RunAt.Equal(t0.Add(30 * time.Second)) {
			t.Fatalf("retry at %v, want the Retry-After a part asked for", j.RunAt)
		}
		for _, want := range []string{"template is broken", "database restarting"} {
			if !strings.Contains(j.LastError, want) {
				t.Fatalf("last error %q does not name %q", j.LastError, want)
			}
		}
		e.clock.Advance(30 * time.Second)
		j = e.waitState(t, id, store.JobFailed)
		if j.Attempt != 2 || first.Load() != 2 || second.Load() != 2 || third.Load() != 2 {
			t.Fatalf("attempt %d; parts ran %d, %d, %d times, want 2 each", j.Attempt, first.Load(), second.Load(), third.Load())
		}
		if j.LastError != "template is broken" {
			t.Fatalf("last error %q, want only the permanent failure left", j.LastError)
		}

		// Only permanent failures: failed for good at once, naming both.
		h := e.enqueue(t, store.Job{OrgID: "org-a", Kind: "hopeless", MaxAttempts: 3})
		j = e.waitState(t, h, store.JobFailed)
		if j.Attempt != 1 || !strings.Contains(j.LastError, "400 bad request") || !strings.Contains(j.LastError, "404 not found") {
			t.Fatalf("only permanent failures: attempt %d, %q", j.Attempt, j.LastError)
		}

		// A panic is not a permanent failure: beside one, the job is retried.
		p := e.enqueue(t, store.Job{OrgID: "org-a", Kind: "panicky", MaxAttempts: 3})
		j = waitAttempt(t, e, p, 1)
		if j.State != store.JobPending || !strings.Contains(j.LastError, "boom") || !strings.Contains(j.LastError, "400 bad request") {
			t.Fatalf("after a panic and a permanent failure: %s, %q", j.State, j.LastError)
		}
	})
}
