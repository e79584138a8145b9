package app

import (
	"context"
	"time"
)

// queueTTL is how long the organization's queue list is reused: queues change rarely, and
// the form should not wait for Genesys Cloud every time it opens.
const queueTTL = 5 * time.Minute

// queueNames returns the organization's Genesys Cloud queues, cached; none when they
// cannot be read (the form then takes a typed name, checked on save).
func (a *App) queueNames(ctx context.Context, orgID string) []string {
	if a.o.Queues == nil {
		return nil
	}
	now := a.clock.Now()
	a.queueMu.Lock()
	c, ok := a.queueCache[orgID]
	a.queueMu.Unlock()
	if ok && now.Sub(c.at) < queueTTL {
		return c.names
	}
	names, err := a.o.Queues.QueueNames(ctx, orgID)
	if err != nil {
		a.log.WarnContext(ctx, "list Genesys Cloud queues", "org_id", orgID, "error", err)
		return c.names
	}
	a.queueMu.Lock()
	a.queueCache[orgID] = cachedQueues{names: names, at: now}
	a.queueMu.Unlock()
	return names
}
