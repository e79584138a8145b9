package wiring

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"rendezvous/app"
	"rendezvous/store"
)

// listenWait bounds how long New waits for the staff app to listen for the other
// instances' changes before it carries on without.
const listenWait = 10 * time.Second

// shareChanges connects the staff app's live pages with every instance's on the same
// PostgreSQL database (app.App.ShareChanges, over LISTEN/NOTIFY) until ctx ends, tracked
// by wg. It waits, at most listenWait, until the app listens: from the call on, changes
// are announced only on the database, so a change announced before this instance
// listened would not reach its own pages either.
func shareChanges(ctx context.Context, wg *sync.WaitGroup, staff *app.App, st *store.Store, log *slog.Logger) {
	first := make(chan struct{})
	var once sync.Once
	wg.Go(func() {
		if err := staff.ShareChanges(ctx, st, func() { once.Do(func() { close(first) }) }); err != nil {
			log.Error("live updates: cannot hear the other instances' changes", "error", err)
		}
	})
	t := time.NewTimer(listenWait)
	defer t.Stop()
	select {
	case <-first:
	case <-ctx.Done():
	case <-t.C:
		log.Warn("live updates: not yet listening for the instances' changes; starting without, still trying",
			"waited_ms", listenWait.Milliseconds())
	}
}
