package main

import (
	"context"
	"log/slog"
	"time"

	"rendezvous/clock"
	"rendezvous/store"
)

// Housekeeping keeps the database from growing without bound: finished jobs are kept a
// month as a record of what was attempted, idempotency keys two days (longer than any
// client's retry window). Several instances may prune at once; a DELETE twice is harmless.
const (
	housekeepingEvery = 6 * time.Hour
	keepFinishedJobs  = 30 * 24 * time.Hour
	keepIdempotency   = 48 * time.Hour
)

// housekeep prunes at start and then every housekeepingEvery until ctx ends.
func housekeep(ctx context.Context, st *store.Store, clk clock.Clock, log *slog.Logger) {
	for ctx.Err() == nil {
		now := clk.Now()
		// An error because the service is stopping is no news.
		if n, err := st.PruneJobs(ctx, now.Add(-keepFinishedJobs)); err != nil && ctx.Err() == nil {
			log.Warn("prune finished jobs", "error", err)
		} else if n > 0 {
			log.Info("pruned finished jobs", "count", n)
		}
		if n, err := st.PruneIdempotencyKeys(ctx, now.Add(-keepIdempotency)); err != nil && ctx.Err() == nil {
			log.Warn("prune idempotency keys", "error", err)
		} else if n > 0 {
			log.Info("pruned idempotency keys", "count", n)
		}
		next := make(chan struct{})
		t := clk.AfterFunc(housekeepingEvery, func() { close(next) })
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-next:
		}
	}
}
