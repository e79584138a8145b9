package app

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"rendezvous"
	"rendezvous/auth"
)

// handleEdit serves GET /app/appointments/{id}/edit: the form filled with the appointment
// as it is, in the person's zone, remembering its version.
func (a *App) handleEdit(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	ap := a.loadVisible(w, r, s)
	if ap == nil {
		return
	}
	v := a.newView(r, s, "")
	if !rendezvous.CanEdit(s.User, ap) {
		a.renderCannotChange(w, r, v, ap)
		return
	}
	a.renderForm(w, r, s, v, http.StatusOK, formOf(ap, v.Zone), ap)
}

// renderCannotChange explains that an appointment that ended or was cancelled stays as it is.
func (a *App) renderCannotChange(w http.ResponseWriter, r *http.Request, v *view, ap *rendezvous.Appointment) {
	http.Redirect(w, r, "/app/appointments/"+ap.ID, http.StatusSeeOther)
}

// formOf fills the form from an appointment.
func formOf(ap *rendezvous.Appointment, zone *time.Location) *apptForm {
	start := ap.Start.In(zone)
	f := &apptForm{Date: start.Format("2006-01-02"), Time: start.Format("15:04"), TimeZone: ap.TimeZone,
		Duration: strconv.Itoa(int(ap.Duration / time.Minute)), Title: ap.Title, Notes: ap.Notes, Agent: ap.AgentUserID,
		Routing: "flow", Queue: ap.Interaction.Routing.QueueName, Version: strconv.Itoa(ap.Version), Errors: map[string]string{}}
	if ap.Interaction.Routing.Type == rendezvous.RoutingQueue {
		f.Routing = "queue"
	}
	if len(ap.Customers) > 0 {
		c := ap.Customers[0]
		f.Name, f.Phone, f.Email, f.Language = c.Name, c.Phone, c.Email, c.Language
	}
	for k, val := range ap.Interaction.CustomFields {
		f.CustomKeys = append(f.CustomKeys, k)
		f.CustomValues = append(f.CustomValues, val)
	}
	return f
}

// handleUpdate serves POST /app/appointments/{id}/edit: reschedule and edit through
// Appointment.Apply and the store's version check, as PATCH /api/v1/appointments/{id}
// does. A change by someone else meanwhile is explained, with what was typed kept and an
// offer to reload.
func (a *App) handleUpdate(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	ap := a.loadVisible(w, r, s)
	if ap == nil {
		return
	}
	v := a.newView(r, s, "")
	f := readForm(r)
	f.checkText(v.tr)
	start, minutes := f.when(v.tr, v.Zone)
	version, _ := strconv.Atoi(f.Version)
	if len(f.Errors) > 0 {
		a.renderForm(w, r, s, v, http.StatusUnprocessableEntity, f, ap)
		return
	}
	cs := f.customers()
	// Only what changed goes into the patch, so that a time left alone is not checked
	// against now again (Apply's rule for the API too).
	patch := rendezvous.AppointmentPatch{Title: &f.Title, Notes: &f.Notes, Customers: &cs}
	if !start.Equal(ap.Start) {
		patch.Start = &start
	}
	if minutes != int(ap.Duration/time.Minute) {
		patch.DurationMinutes = &minutes
	}
	if f.TimeZone != ap.TimeZone {
		patch.TimeZone = &f.TimeZone
	}
	event := ""
	saved, err := a.o.Store.UpdateAppointment(r.Context(), s.User.OrgID, ap.ID, version, func(cur *rendezvous.Appointment) (string, error) {
		if !rendezvous.CanEdit(s.User, cur) {
			return "", rendezvous.ErrNotFound
		}
		if err := cur.Apply(patch, a.clock.Now()); err != nil {
			return "", err
		}
		event = "updated"
		if patch.Reschedules() {
			event = "rescheduled"
		}
		return event, nil
	})
	switch {
	case err == nil:
	case errors.Is(err, rendezvous.ErrStaleVersion):
		cur, cerr := a.o.Store.Appointment(r.Context(), s.User.OrgID, ap.ID)
		if cerr != nil || !rendezvous.CanView(s.User, cur) {
			a.notFound(w, r, s)
			return
		}
		v.Notice = v.T("Someone else changed this appointment while you were editing it. Your entries are kept below; reload to start from the current version, or save again to replace theirs.")
		f.Version = strconv.Itoa(cur.Version)
		a.renderFormConflict(w, r, s, v, f, cur)
		return
	case errors.Is(err, rendezvous.ErrConflict) && patch.Reschedules():
		names, _, _ := a.people(r.Context(), s.User.OrgID)
		moved := *ap
		moved.Start, moved.Duration = start, time.Duration(minutes)*time.Minute
		f.Errors["time"] = a.clashMessage(r.Context(), v.tr, v.Zone, &moved, names, err)
		a.renderForm(w, r, s, v, http.StatusConflict, f, ap)
		return
	case errors.Is(err, rendezvous.ErrConflict):
		http.Redirect(w, r, "/app/appointments/"+ap.ID, http.StatusSeeOther)
		return
	case errors.Is(err, rendezvous.ErrNotFound):
		a.notFound(w, r, s)
		return
	default:
		if !f.addProblems(v.tr, err) {
			a.fail(w, r, err)
			return
		}
		a.renderForm(w, r, s, v, http.StatusUnprocessableEntity, f, ap)
		return
	}
	a.announce(saved, event)
	http.Redirect(w, r, "/app/appointments/"+saved.ID+"?done=saved", http.StatusSeeOther)
}

// renderFormConflict shows the form again after a version conflict (409).
func (a *App) renderFormConflict(w http.ResponseWriter, r *http.Request, s *auth.Session, v *view, f *apptForm, cur *rendezvous.Appointment) {
	a.renderForm(w, r, s, v, http.StatusConflict, f, cur)
}
