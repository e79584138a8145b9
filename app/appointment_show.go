package app

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
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
	History      []historyEntry
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
	if d.History, err = a.history(ctx, v, ap, names); err != nil {
		return nil, err
	}
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

// historyEntry is one line of an appointment's history.
type historyEntry struct {
	At        time.Time
	ActorName string
	// Action is the audit log's action without "appointment.": "created", "rescheduled", ...
	Action string
	Detail string
}

// maxHistory bounds the history read for one appointment: far more than any has.
const maxHistory = 500

// history is the appointment's history from the audit log, oldest first: every change,
// whoever made it (a person, an API key, the customer, Rendezvous itself), with what
// changed in readable words. The log names personal fields without their values; the
// cancellation's reason is shown from the appointment itself (so retention erases it).
func (a *App) history(ctx context.Context, v *view, ap *rendezvous.Appointment, names map[string]string) ([]historyEntry, error) {
	es, _, err := a.o.Store.AuditLog(ctx, ap.OrgID, store.AuditFilter{TargetType: "appointment", TargetID: ap.ID, Limit: maxHistory})
	if err != nil {
		return nil, err
	}
	out := make([]historyEntry, 0, len(es))
	for i := len(es) - 1; i >= 0; i-- { // the log is newest first
		e := es[i]
		h := historyEntry{At: e.At, ActorName: actorName(v.tr, e.Actor), Action: strings.TrimPrefix(e.Action, "appointment.")}
		if h.Action == e.Action {
			h.Action = strings.ReplaceAll(e.Action, ".", "_") // notification.failed → notification_failed
		}
		var parts []string
		for _, c := range e.Changes {
			if p := changeWords(v, ap, names, c); p != "" {
				parts = append(parts, p)
			}
		}
		if h.Action == "cancelled" && ap.CancelReason != "" {
			parts = append(parts, ap.CancelReason)
		}
		h.Detail = strings.Join(parts, "; ")
		out = append(out, h)
	}
	return out, nil
}

// changeWords describes one changed field of an appointment for its history, in the
// page's language and the person's zone; "" for what the action already says.
func changeWords(v *view, ap *rendezvous.Appointment, names map[string]string, c rendezvous.FieldChange) string {
	when := func(s string) string {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return s
		}
		return v.When(t, v.Zone)
	}
	switch c.Field {
	case "status", "startedAt", "endedAt", "cancelReason":
		return ""
	case "start":
		if c.From == "" {
			return ""
		}
		return v.T("moved from %s to %s", when(c.From), when(c.To))
	case "durationMinutes":
		return v.T("length from %s to %s minutes", c.From, c.To)
	case "agentUserId":
		return v.T("agent from %s to %s", agentName(names, c.From), agentName(names, c.To))
	case "timeZone":
		return v.T("customer's time zone from %s to %s", c.From, c.To)
	case "routing":
		return v.T("routing changed")
	case "title":
		return v.T("title changed")
	case "notes":
		return v.T("notes changed")
	case "customers":
		return v.T("customer details changed")
	case "customFields":
		return v.T("custom fields changed")
	case "notificationsEnabled":
		if c.To == "true" {
			return v.T("messages to the customer switched on")
		}
		return v.T("messages to the customer switched off")
	}
	if c.Redacted {
		return c.Field
	}
	return c.Field + ": " + v.ChangeText(c)
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
	case "retried", "notification_retried":
		return t.T("Message sent again")
	case "customer_waiting":
		return t.T("Customer waiting")
	case "notification_failed":
		return t.T("Message to the customer failed")
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
