package app

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/auth"
	"rendezvous/notify"
	"rendezvous/store"
)

// formData is the appointment form page's own data (new and edit).
type formData struct {
	F           *apptForm
	Appointment *rendezvous.Appointment // nil when creating
	People      []rendezvous.StaffUser
	Queues      []string
	Zones       []string
	Languages   []struct{ Code, Name string }
	Supervisor  bool
	Me          string
	MyZone      string
	// Conflict is set when someone else changed the appointment meanwhile.
	Conflict bool
	Current  int
	Alert    string
}

// commonZones are offered first in the time zone list; any IANA name can be typed.
var commonZones = []string{
	"Europe/Athens", "Europe/Berlin", "Europe/London", "Europe/Paris", "Europe/Madrid", "Europe/Rome", "Europe/Lisbon",
	"Europe/Dublin", "Europe/Amsterdam", "Europe/Vienna", "Europe/Zurich", "Europe/Warsaw", "Europe/Istanbul",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo",
	"America/Mexico_City", "America/Toronto", "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo",
	"Australia/Sydney", "Pacific/Auckland", "Africa/Johannesburg", "UTC",
}

// customerLanguages are offered for the customer's messages.
var customerLanguages = []struct{ Code, Name string }{{"en", "English"}, {"de", "Deutsch"}, {"el", "Ελληνικά"}, {"fr", "Français"}, {"es", "Español"}, {"it", "Italiano"}}

func randomKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// handleNew serves GET /app/appointments/new: an empty form, starting at the next full hour.
func (a *App) handleNew(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.newView(r, s, "new")
	now := a.clock.Now().In(v.Zone)
	next := now.Truncate(time.Hour).Add(time.Hour)
	f := &apptForm{Date: next.Format("2006-01-02"), Time: next.Format("15:04"), TimeZone: v.Zone.String(), Duration: "30",
		Language: v.Lang(), Routing: "flow", SMS: true, EmailOn: true, Idem: randomKey(), Errors: map[string]string{}}
	if !s.User.Supervises() {
		f.Agent = s.User.ID
	}
	if d := r.URL.Query().Get("date"); d != "" {
		if _, ok := parseDate(d, v.Zone); ok {
			f.Date = d
		}
	}
	a.renderForm(w, r, s, v, http.StatusOK, f, nil)
}

// renderForm shows the appointment form (new when ap is nil, else edit).
func (a *App) renderForm(w http.ResponseWriter, r *http.Request, s *auth.Session, v *view, status int, f *apptForm, ap *rendezvous.Appointment) {
	d := &formData{F: f, Appointment: ap, Queues: a.queueNames(r.Context(), s.User.OrgID), Zones: commonZones,
		Languages: customerLanguages, Supervisor: s.User.Supervises(), Me: formAgentLabel(s.User), MyZone: v.Zone.String()}
	if d.Supervisor {
		var err error
		if _, d.People, err = a.people(r.Context(), s.User.OrgID); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if v.Title == "" {
		v.Title = v.T("New appointment")
		if ap != nil {
			v.Title = v.T("Change appointment")
		}
	}
	v.Data = d
	a.render(w, r, status, "form", v)
}

// handleCreate serves POST /app/appointments: the same rules as POST /api/v1/appointments
// (rendezvous.NewAppointment, the queue check, the notification switch, the store's clash
// check and idempotency), with the problems shown beside the fields and everything typed
// kept.
func (a *App) handleCreate(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.newView(r, s, "new")
	f := readForm(r)
	if f.Idem == "" || len(f.Idem) > 64 {
		f.Idem = randomKey()
	}
	f.checkText(v.tr)
	start, minutes := f.when(v.tr, v.Zone)
	agent := strings.TrimSpace(f.Agent)
	if !s.User.Supervises() {
		agent = s.User.ID // an agent books onto their own calendar
	}
	if !rendezvous.CanAssignTo(s.User, agent) && agent != "" {
		f.Errors["agent"] = v.T("Choose the agent who meets the customer.")
	}
	in := rendezvous.AppointmentInput{Start: start, DurationMinutes: minutes, TimeZone: f.TimeZone, Title: f.Title, Notes: f.Notes,
		AgentUserID: agent, Customers: f.customers(), Interaction: rendezvous.Interaction{Routing: rendezvous.Routing{Type: rendezvous.RoutingFlow},
			CustomFields: f.customFields(v.tr)}}
	if f.Routing == "queue" {
		in.Interaction.Routing = rendezvous.Routing{Type: rendezvous.RoutingQueue, QueueName: f.Queue}
	}
	if !f.SMS && !f.EmailOn {
		f.Errors["notify"] = v.T("Choose at least one way to send the customer their link.")
	}
	ap, err := rendezvous.NewAppointment(s.User.OrgID, in, a.clock.Now())
	if err != nil && !f.addProblems(v.tr, err) {
		a.fail(w, r, err)
		return
	}
	if ap != nil && start.IsZero() {
		ap = nil
	}
	if ap != nil && len(f.Errors) == 0 && a.o.Checks != nil {
		a.checkGenesys(r, v, f, ap.OrgID, ap.Interaction.Routing, ap.AgentUserID)
	}
	if len(f.Errors) > 0 {
		a.renderForm(w, r, s, v, http.StatusUnprocessableEntity, f, nil)
		return
	}
	ap.NotificationsEnabled = a.o.Notifications == nil || a.o.Notifications.EnabledForNewBooking(r.Context(), s.User.OrgID)
	sum := sha256.Sum256([]byte(fmt.Sprintf("%q", r.PostForm)))
	saved, replayed, err := a.o.Store.CreateAppointment(r.Context(), ap, store.Idempotency{Key: "staff-form/" + s.User.ID + "/" + f.Idem, RequestHash: hex.EncodeToString(sum[:])})
	switch {
	case errors.Is(err, rendezvous.ErrConflict):
		names, _, _ := a.people(r.Context(), s.User.OrgID)
		f.Errors["time"] = a.clashMessage(r.Context(), v.tr, v.Zone, ap, names, err)
		a.renderForm(w, r, s, v, http.StatusConflict, f, nil)
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	if !replayed {
		if a.o.Notifications != nil && (!f.SMS || !f.EmailOn) {
			if _, err := a.o.Notifications.PutAppointmentChannels(r.Context(), s.User.OrgID, saved.ID, notify.AppointmentChannels{SMS: f.SMS, Email: f.EmailOn}); err != nil {
				a.log.ErrorContext(r.Context(), "appointment channels", "appointment_id", saved.ID, "error", err)
			}
		}
		a.announce(saved, "created")
	}
	http.Redirect(w, r, "/app/appointments/"+saved.ID+"?done=created", http.StatusSeeOther)
}

// announce tells live pages at once that the person changed an appointment (the event
// job tells them too, a moment later, and other instances' pages). Who did what is in
// the audit log, written with the change itself.
func (a *App) announce(ap *rendezvous.Appointment, action string) {
	a.hub.publish(change{OrgID: ap.OrgID, AppointmentID: ap.ID, AgentUserID: ap.AgentUserID, Event: action})
}

// Preview says when the typed time is for the customer, in their zone, so that a
// difference is seen before booking (static/app.js keeps it current while typing).
func (d *formData) Preview(v *view) string {
	t := v.tr
	my, err := rendezvous.LoadZone(d.MyZone)
	if err != nil {
		return ""
	}
	theirs, err := rendezvous.LoadZone(d.F.TimeZone)
	if err != nil {
		return ""
	}
	at, err := time.ParseInLocation("2006-01-02 15:04", d.F.Date+" "+d.F.Time, my)
	if err != nil {
		return ""
	}
	return t.T("For the customer: %s (%s)", t.When(at, theirs), theirs.String())
}

// checkGenesys applies the booking rules that ask Genesys Cloud, as the API does: a queue
// it does not have is refused (an outage lets the booking go ahead: the queue is checked
// again when the customer arrives); an agent it does not know is refused, and an agent that
// cannot be checked now asks the person to try again.
func (a *App) checkGenesys(r *http.Request, v *view, f *apptForm, orgID string, routing rendezvous.Routing, agent string) {
	ctx := r.Context()
	if routing.Type == rendezvous.RoutingQueue {
		err := a.o.Checks.CheckQueue(ctx, orgID, routing.QueueName)
		var ve *rendezvous.ValidationError
		switch {
		case errors.As(err, &ve):
			f.addProblems(v.tr, err)
		case errors.Is(err, rendezvous.ErrNotConnected):
			f.Errors["queue"] = v.T("Your organization is not connected to Genesys Cloud, so the customer cannot be routed to a queue.")
		case err != nil:
			a.log.WarnContext(ctx, "queue not checked; booking anyway", "error", err)
		}
	}
	err := a.o.Checks.CheckAgent(ctx, orgID, "agentUserId", agent)
	var ve *rendezvous.ValidationError
	switch {
	case err == nil:
	case errors.As(err, &ve):
		f.Errors["agent"] = v.T("Genesys Cloud does not know this agent. Choose another one.")
	case errors.Is(err, rendezvous.ErrNotConnected):
		f.Errors["agent"] = v.T("Your organization is not connected to Genesys Cloud, so the agent cannot be checked.")
	default:
		f.Errors["agent"] = v.T("Genesys Cloud could not be reached to check the agent. Nothing was booked; please try again in a moment.")
	}
}
