package app

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"rendezvous"
	"rendezvous/auth"
)

// handleCancel serves POST /app/appointments/{id}/cancel with a reason, through
// Appointment.Cancel as POST /api/v1/appointments/{id}/cancel does.
func (a *App) handleCancel(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	a.change(w, r, s, "cancelled", nil, func(cur *rendezvous.Appointment) error {
		reason := r.PostFormValue("reason")
		if !storable(reason) {
			return &rendezvous.ValidationError{Problems: []rendezvous.FieldProblem{{Field: "reason", Message: "cannot be stored"}}}
		}
		return cur.Cancel(reason, a.clock.Now())
	})
}

// handleReassign serves POST /app/appointments/{id}/reassign: a supervisor gives the
// appointment to another agent (the store checks that agent's calendar for a clash).
func (a *App) handleReassign(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	// Genesys Cloud is asked before the change, never inside its transaction.
	precheck := func(v *view) string {
		if a.o.Checks == nil {
			return ""
		}
		err := a.o.Checks.CheckAgent(r.Context(), s.User.OrgID, "agentUserId", strings.TrimSpace(r.PostFormValue("agent")))
		var ve *rendezvous.ValidationError
		switch {
		case err == nil:
			return ""
		case errors.As(err, &ve):
			return v.T("Genesys Cloud does not know this agent. Choose another one.")
		}
		return v.T("Genesys Cloud could not be reached to check the agent. Nothing was changed; please try again in a moment.")
	}
	a.change(w, r, s, "reassigned", precheck, func(cur *rendezvous.Appointment) error {
		if !rendezvous.CanReassign(s.User, cur) {
			return rendezvous.ErrNotFound
		}
		to := strings.TrimSpace(r.PostFormValue("agent"))
		if to == "" || to == cur.AgentUserID {
			return &rendezvous.ValidationError{Problems: []rendezvous.FieldProblem{{Field: "agentUserId", Message: "choose another agent"}}}
		}
		return cur.Apply(rendezvous.AppointmentPatch{AgentUserID: &to}, a.clock.Now())
	})
}

// change applies one action to the appointment of the path (with the version the page
// showed) and goes back to its page, saying what happened or why not.
func (a *App) change(w http.ResponseWriter, r *http.Request, s *auth.Session, action string, precheck func(v *view) string,
	do func(cur *rendezvous.Appointment) error) {
	ap := a.loadVisible(w, r, s)
	if ap == nil {
		return
	}
	v := a.newView(r, s, "")
	if precheck != nil {
		if v.Notice = precheck(v); v.Notice != "" {
			a.renderShow(w, r, s, v, ap.ID)
			return
		}
	}
	version, _ := strconv.Atoi(r.PostFormValue("version"))
	saved, err := a.o.Store.UpdateAppointment(r.Context(), s.User.OrgID, ap.ID, version, func(cur *rendezvous.Appointment) (string, error) {
		if !rendezvous.CanEdit(s.User, cur) {
			return "", rendezvous.ErrConflict
		}
		return action, do(cur)
	})
	if err == nil {
		a.announce(saved, action)
		http.Redirect(w, r, "/app/appointments/"+saved.ID+"?done="+action, http.StatusSeeOther)
		return
	}
	var ve *rendezvous.ValidationError
	switch {
	case errors.Is(err, rendezvous.ErrStaleVersion):
		v.Notice = v.T("Someone else changed this appointment a moment ago, so nothing was done. Check the current details below and try again.")
	case errors.Is(err, rendezvous.ErrConflict) && action == "reassigned":
		names, _, _ := a.people(r.Context(), s.User.OrgID)
		moved := *ap
		moved.AgentUserID = r.PostFormValue("agent")
		v.Notice = a.clashMessage(r.Context(), v.tr, v.Zone, &moved, names, err)
	case errors.Is(err, rendezvous.ErrConflict):
		v.Notice = v.T("This appointment can no longer be changed: it has started, ended or been cancelled.")
	case errors.Is(err, rendezvous.ErrNotFound):
		a.notFound(w, r, s)
		return
	case errors.As(err, &ve):
		v.Notice = plainWords(v.tr, ve.Problems[0])
		if ve.Problems[0].Field == "agentUserId" {
			v.Notice = v.T("Choose another agent.")
		}
	default:
		a.fail(w, r, err)
		return
	}
	a.renderShow(w, r, s, v, ap.ID)
}

// renderShow shows the appointment's page again with v's notice (409: nothing changed).
func (a *App) renderShow(w http.ResponseWriter, r *http.Request, s *auth.Session, v *view, id string) {
	cur, err := a.o.Store.Appointment(r.Context(), s.User.OrgID, id)
	if err != nil || !rendezvous.CanView(s.User, cur) {
		a.notFound(w, r, s)
		return
	}
	d, err := a.showData(r, s, v, cur)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v.Title = title(v.tr, cur)
	v.Data = d
	v.Live = "appointment:" + cur.ID
	a.render(w, r, http.StatusConflict, "show", v)
}

// handleRetry serves POST /app/appointments/{id}/deliveries/{deliveryId}/retry: send a
// failed, skipped or uncertain message again.
func (a *App) handleRetry(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	ap := a.loadVisible(w, r, s)
	if ap == nil {
		return
	}
	if a.o.Notifications == nil || !rendezvous.CanEdit(s.User, ap) {
		a.notFound(w, r, s)
		return
	}
	if _, err := a.o.Notifications.Retry(r.Context(), ap.OrgID, ap.ID, r.PathValue("deliveryId")); err != nil {
		if errors.Is(err, rendezvous.ErrNotFound) || errors.Is(err, rendezvous.ErrConflict) {
			http.Redirect(w, r, "/app/appointments/"+ap.ID, http.StatusSeeOther)
			return
		}
		a.fail(w, r, err)
		return
	}
	a.announce(ap, "retried")
	http.Redirect(w, r, "/app/appointments/"+ap.ID+"?done=retried", http.StatusSeeOther)
}
