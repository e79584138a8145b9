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
	// resync, instead of a change, says that changes may have been missed: the page
	// should read its data afresh (events.go sends it as a "resync" event).
	resync bool
}

// hub hands appointment changes to the live pages of this process (events.go). With
// several instances (PostgreSQL), changes travel between them on a ChangeFeed
// (ShareChanges), and the hub hands each page what its own instance heard.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[chan change]struct{} // by organization
	feed ChangeFeed                          // set while ShareChanges runs
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

// publish tells every subscriber of c's organization in this process. A subscriber too
// slow to keep up misses the change rather than holding up the others; its page
// refreshes on the next.
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

// resyncAll tells every subscriber of every organization that changes may have been
// missed. One whose buffer is full has changes pending, which refresh its page anyway.
func (h *hub) resyncAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, subs := range h.subs {
		for ch := range subs {
			select {
			case ch <- change{Event: "resync", resync: true}:
			default:
			}
		}
	}
}

// sharedFeed returns the feed changes are announced on, or nil to tell only this
// process's pages.
func (h *hub) sharedFeed() ChangeFeed {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.feed
}

// ChangeFeed carries appointment changes between the instances of the service: the
// store on PostgreSQL (LISTEN/NOTIFY).
type ChangeFeed interface {
	NotifyChange(ctx context.Context, c store.Change) error
	ListenChanges(ctx context.Context, o store.ListenOptions) error
}

// ShareChanges connects this instance's live pages with every other instance's through
// f, until ctx ends. While it runs, appointment events are announced on f instead of to
// this process's pages alone, and every change f carries (this instance's own included,
// so each reaches a page once) goes to the pages of its organization; after f lost
// changes (its connection broke), every page is told to read its data afresh. listening,
// when set, is called each time f starts to listen: changes are announced on f from the
// moment ShareChanges is called, so run the jobs that announce them only once listening
// has been called, or this instance's pages miss what is announced before. It returns
// f's error when f cannot listen at all (SQLite: keep the in-process hub), and nil when
// ctx ends.
func (a *App) ShareChanges(ctx context.Context, f ChangeFeed, listening func()) error {
	a.hub.mu.Lock()
	a.hub.feed = f
	a.hub.mu.Unlock()
	defer func() {
		a.hub.mu.Lock()
		a.hub.feed = nil
		a.hub.mu.Unlock()
	}()
	return f.ListenChanges(ctx, store.ListenOptions{
		Deliver: func(c store.Change) {
			a.hub.publish(change{OrgID: c.OrgID, AppointmentID: c.AppointmentID, AgentUserID: c.AgentUserID, Event: c.Event})
		},
		Resync: a.hub.resyncAll,
		Listening: func(uint32) {
			if listening != nil {
				listening()
			}
		},
	})
}

// HandleAppointmentEvent is the staff app's share of an appointment event job
// (store.EventJobKind): it tells the live pages, those of every instance when the
// instances share changes (ShareChanges), else those of this process.
func (a *App) HandleAppointmentEvent(ctx context.Context, j *store.Job) error {
	var args store.EventArgs
	if err := j.Decode(&args); err != nil {
		return nil // not ours to fail; the other shares report it
	}
	ap, err := a.o.Store.Appointment(ctx, j.OrgID, args.AppointmentID)
	if err != nil {
		return nil // deleted or erased: nothing to show
	}
	c := change{OrgID: ap.OrgID, AppointmentID: ap.ID, AgentUserID: ap.AgentUserID, Event: args.Event}
	if f := a.hub.sharedFeed(); f != nil {
		err := f.NotifyChange(ctx, store.Change{OrgID: c.OrgID, AppointmentID: c.AppointmentID, AgentUserID: c.AgentUserID, Event: c.Event})
		if err == nil {
			return nil // this instance's pages hear it through the feed, as the others' do
		}
		// Other instances' pages miss this one (they refresh on their next change); not
		// worth retrying the event's other shares for.
		a.log.WarnContext(ctx, "announce an appointment change to the other instances", "appointment_id", c.AppointmentID, "error", err)
	}
	a.hub.publish(c)
	return nil
}
