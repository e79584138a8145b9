package app

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"rendezvous"
	"rendezvous/auth"
	"rendezvous/notify"
	"rendezvous/room"
	"rendezvous/store"
)

// showData is the detail page's own data.
type showData struct {
	A            *rendezvous.Appointment
	CustomerLink string
	AgentName    string
	RoomLink     string
	RoomOpen     bool
	RoomOpens    time.Time
	History      []store.HistoryEntry
	Interaction  string
	Deliveries   []notify.DeliveryView
	CanEdit      bool
	CanReassign  bool
	People       []rendezvous.StaffUser
	CustomerZone *time.Location
	Retryable    []string
}

// CanRetry reports whether a delivery may be sent again by hand.
func (d showData) CanRetry(outcome string) bool {
	return d.CanEdit && slices.Contains(d.Retryable, outcome)
}

// loadVisible reads the appointment of the path if s may see it; otherwise it answers 404
// (the same for another agent's appointment as for none) and returns nil.
func (a *App) loadVisible(w http.ResponseWriter, r *http.Request, s *auth.Session) *rendezvous.Appointment {
	ap, err := a.o.Store.Appointment(r.Context(), s.User.OrgID, r.PathValue("id"))
	if errors.Is(err, rendezvous.ErrNotFound) || (err == nil && !rendezvous.CanView(s.User, ap)) {
		a.notFound(w, r, s)
		return nil
	}
	if err != nil {
		a.fail(w, r, err)
		return nil
	}
	return ap
}

// handleShow serves GET /app/appointments/{id}: everything about one appointment.
func (a *App) handleShow(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	ap := a.loadVisible(w, r, s)
	if ap == nil {
		return
	}
	v := a.newView(r, s, "")
	v.Live = "appointment:" + ap.ID
	d, err := a.showData(r, s, v, ap)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v.Title = title(v.tr, ap)
	v.Data = d
	a.render(w, r, http.StatusOK, "show", v)
}

// title names an appointment: its title, else its first customer.
func title(t *tr, ap *rendezvous.Appointment) string {
	if ap.Title != "" {
		return ap.Title
	}
	if len(ap.Customers) > 0 {
		return t.T("Appointment with %s", ap.Customers[0].Name)
	}
	return t.T("Appointment")
}

func (a *App) showData(r *http.Request, s *auth.Session, v *view, ap *rendezvous.Appointment) (*showData, error) {
	ctx := r.Context()
	d := &showData{A: ap, CanEdit: rendezvous.CanEdit(s.User, ap), CanReassign: rendezvous.CanReassign(s.User, ap),
		CustomerZone: ap.Location(), Retryable: []string{notify.OutcomeFailed, notify.OutcomeSkipped, notify.OutcomeUnknown}}
	names, people, err := a.people(ctx, s.User.OrgID)
	if err != nil {
		return nil, err
	}
	d.AgentName = agentName(names, ap.AgentUserID)
	if d.CanReassign {
		d.People = people
	}
	if ap.LinkToken != "" {
		d.CustomerLink = a.publicURL(r) + "/a/" + ap.LinkToken
	}
	if a.o.Rooms != nil && ap.AgentUserID != "" && (ap.Status == rendezvous.StatusScheduled || ap.Status == rendezvous.StatusInProgress) {
		d.RoomLink = a.o.Rooms.AgentLink(ap)
		d.RoomOpens = a.o.Rooms.Opens(ap, room.Agent)
		d.RoomOpen = !a.clock.Now().Before(d.RoomOpens)
	}
	if d.History, err = a.o.Store.AppointmentHistory(ctx, ap.OrgID, ap.ID); err != nil {
		return nil, err
	}
	d.History = withLifecycle(d.History, ap)
	it, err := a.o.Store.JourneyInteractionOf(ctx, ap.ID)
	switch {
	case err == nil:
		switch it.Progress {
		case "connecting":
			d.Interaction = v.T("The customer opened the link; Genesys Cloud is being asked for the interaction.")
		case "waiting_agent":
			d.Interaction = v.T("The customer is waiting; the interaction is being routed to the agent.")
		case "agent_joined":
			d.Interaction = v.T("The agent answered the interaction.")
		default:
			d.Interaction = it.Progress
		}
		if it.LastError != "" && it.Progress != "agent_joined" {
			d.Interaction += " " + v.T("Last problem reported by Genesys Cloud: %s", it.LastError)
		}
	case errors.Is(err, rendezvous.ErrNotFound):
		d.Interaction = v.T("Not created yet: Genesys Cloud gets the interaction when the customer opens their link at the appointment time.")
	default:
		return nil, err
	}
	if a.o.Notifications != nil {
		if d.Deliveries, err = a.o.Notifications.Deliveries(ctx, ap.OrgID, ap.ID); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// withLifecycle adds what the appointment itself records (created, started, ended,
// cancelled) where the staff history has no entry for it, so that bookings through the
// API and the customer's own actions show too, then orders by time.
func withLifecycle(h []store.HistoryEntry, ap *rendezvous.Appointment) []store.HistoryEntry {
	has := func(action string) bool {
		return slices.ContainsFunc(h, func(e store.HistoryEntry) bool { return e.Action == action })
	}
	add := func(at time.Time, action, detail string) {
		if !at.IsZero() && !has(action) {
			h = append(h, store.HistoryEntry{At: at, Action: action, Detail: detail})
		}
	}
	add(ap.CreatedAt, "created", "")
	add(ap.StartedAt, "started", "")
	if ap.Status == rendezvous.StatusCompleted {
		add(ap.EndedAt, "completed", "")
	}
	if ap.Status == rendezvous.StatusNoShow {
		add(ap.EndedAt, "no_show", "")
	}
	add(ap.CancelledAt, "cancelled", ap.CancelReason)
	slices.SortStableFunc(h, func(x, y store.HistoryEntry) int { return x.At.Compare(y.At) })
	return h
}

// Action names a history action in the page's language.
func (t *tr) Action(action string) string {
	switch action {
	case "created":
		return t.T("Booked")
	case "rescheduled":
		return t.T("Rescheduled")
	case "updated":
		return t.T("Changed")
	case "reassigned":
		return t.T("Reassigned")
	case "cancelled":
		return t.T("Cancelled")
	case "started":
		return t.T("Call started")
	case "completed":
		return t.T("Completed")
	case "no_show":
		return t.T("Customer did not come")
	case "retried":
		return t.T("Message sent again")
	}
	return action
}

// publicURL is the base of customers' links.
func (a *App) publicURL(r *http.Request) string {
	if a.o.PublicURL != "" {
		return a.o.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
