package app

// Administration / People: the organization's staff and their roles. A role changes
// through store.SetStaffRole, audited in the same transaction; the last administrator
// can be neither demoted nor demote themselves (rendezvous.CheckRoleChange).

import (
	"errors"
	"fmt"
	"net/http"

	"rendezvous"
	"rendezvous/auth"
)

// peoplePage is the page's data.
type peoplePage struct {
	People []rendezvous.StaffUser
	Roles  []rendezvous.Role
	// ErrFor and Err are a refused change: whose, and why.
	ErrFor, Err string
	Me          string
}

func (a *App) handleAdminPeople(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.adminView(r, s, "people", "People")
	a.renderPeople(w, r, s, v, http.StatusOK, "", "")
}

func (a *App) renderPeople(w http.ResponseWriter, r *http.Request, s *auth.Session, v *view, status int, errFor, msg string) {
	people, err := a.o.Store.StaffUsers(r.Context(), s.User.OrgID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v.Data = &peoplePage{People: people, Roles: rendezvous.Roles(), ErrFor: errFor, Err: msg, Me: s.User.ID}
	a.render(w, r, status, "admin_people", v)
}

func (a *App) handleAdminPeopleRole(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.adminView(r, s, "people", "People")
	id := r.PathValue("id")
	role := rendezvous.Role(r.PostFormValue("role"))
	_, err := a.o.Store.SetStaffRole(r.Context(), s.User.OrgID, id, role)
	var ve *rendezvous.ValidationError
	switch {
	case errors.Is(err, rendezvous.ErrNotFound):
		a.notFound(w, r, s)
		return
	case errors.As(err, &ve):
		msg := v.T("Choose agent, supervisor or administrator.")
		if role.Valid() {
			if id == s.User.ID {
				msg = v.T("You are the last administrator, so you cannot give up the role. Make someone else administrator first.")
			} else {
				msg = v.T("This is the last administrator. Make someone else administrator first.")
			}
		}
		a.renderPeople(w, r, s, v, http.StatusUnprocessableEntity, id, msg)
		return
	case err != nil:
		a.fail(w, r, fmt.Errorf("change role: %w", err))
		return
	}
	if id == s.User.ID && role != rendezvous.RoleAdmin {
		// No longer an administrator: the people page is closed to them now.
		http.Redirect(w, r, "/app/calendar", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/app/admin/people?done=role", http.StatusSeeOther)
}
