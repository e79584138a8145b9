package app

import (
	"context"
	"sync"

	"rendezvous/store"
)

// change is one appointment change, as live pages hear of it.
type change struct {
	OrgID         string `json:"-"`
	AppointmentID string `json:"appointmentId"`
	AgentUserID   string `json:"-"`
	Event         string `json:"event"`
}

// hub hands appointment changes to the live pages of this process (events.go).
type hub struct {
	mu   sync.Mutex
	subs map[string]map[chan change]struct{} // by organization
}

func newHub() *hub { return &hub{subs: map[string]map[chan change]struct{}{}} }

// subscribe returns a channel of the organization's changes and a function to stop.
func (h *hub) subscribe(orgID string) (<-chan change, func()) {
	ch := make(chan change, 16)
	h.mu.Lock()
	if h.subs[orgID] == nil {
		h.subs[orgID] = map[chan change]struct{}{}
	}
	h.subs[orgID][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs[orgID], ch)
		if len(h.subs[orgID]) == 0 {
			delete(h.subs, orgID)
		}
		h.mu.Unlock()
	}
}

// publish tells every subscriber of c's organization. A subscriber too slow to keep up
// misses the change rather than holding up the others; its page refreshes on the next.
func (h *hub) publish(c change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[c.OrgID] {
		select {
		case ch <- c:
		default:
		}
	}
}

// HandleAppointmentEvent is the staff app's share of an appointment event job
// (store.EventJobKind): it tells the live pages of this process. Pages on other instances
// hear of it through their own poll (events.go).
func (a *App) HandleAppointmentEvent(ctx context.Context, j *store.Job) error {
	var args store.EventArgs
	if err := j.Decode(&args); err != nil {
		return nil // not ours to fail; the other shares report it
	}
	ap, err := a.o.Store.Appointment(ctx, j.OrgID, args.AppointmentID)
	if err != nil {
		return nil // deleted or erased: nothing to show
	}
	a.hub.publish(change{OrgID: ap.OrgID, AppointmentID: ap.ID, AgentUserID: ap.AgentUserID, Event: args.Event})
	return nil
}
