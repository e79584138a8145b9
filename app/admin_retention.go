package app

// Administration / Data retention: how long customers' personal data is kept after an
// appointment ended, and erasing one customer's data on request. Mirrors the API's
// /api/v1/settings/data-retention: retention.Service.SetDays and RequestErasure, the
// erasure itself being a durable job whose progress the page follows.

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"rendezvous"
	"rendezvous/auth"
	"rendezvous/retention"
	"rendezvous/store"
)

// retentionPage is the page's data.
type retentionPage struct {
	Days  *settingsForm
	Erase *settingsForm
	Max   int
	// Erasure is the request the page follows (after "Erase"), if any.
	Erasure *store.ErasureRequest
}

func (a *App) handleAdminRetention(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.adminView(r, s, "retention", "Data retention")
	days, err := a.o.Store.RetentionDays(r.Context(), s.User.OrgID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	f := newSettingsForm()
	f.V["days"] = strconv.Itoa(days)
	p := &retentionPage{Days: f, Erase: newSettingsForm(), Max: retention.MaxDays}
	if id := r.URL.Query().Get("erasure"); id != "" {
		e, err := a.o.Store.Erasure(r.Context(), s.User.OrgID, id)
		switch {
		case errors.Is(err, rendezvous.ErrNotFound):
		case err != nil:
			a.fail(w, r, err)
			return
		default:
			p.Erasure = e
		}
	}
	v.Data = p
	a.render(w, r, http.StatusOK, "admin_retention", v)
}

func (a *App) handleAdminRetentionSave(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.adminView(r, s, "retention", "Data retention")
	f := readSettingsForm(r, "days")
	days := f.number(v.tr, "days", 0, retention.MaxDays)
	if len(f.Errors) == 0 {
		err := a.o.Admin.Retention.SetDays(r.Context(), s.User.OrgID, days)
		if err != nil && !f.problems(err, func(string) string { return "days" }, func(string) string {
			return v.T("Enter a whole number between %d and %d.", 0, retention.MaxDays)
		}) {
			a.fail(w, r, fmt.Errorf("save retention: %w", err))
			return
		}
	}
	if len(f.Errors) > 0 {
		v.Data = &retentionPage{Days: f, Erase: newSettingsForm(), Max: retention.MaxDays}
		a.render(w, r, http.StatusUnprocessableEntity, "admin_retention", v)
		return
	}
	http.Redirect(w, r, "/app/admin/retention?done=saved", http.StatusSeeOther)
}

func (a *App) handleAdminErasure(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	ctx := r.Context()
	v := a.adminView(r, s, "retention", "Data retention")
	t := v.tr
	f := readSettingsForm(r, "phone", "email", "confirm")
	m := store.CustomerMatch{Phone: f.line(t, "phone", 50), Email: f.line(t, "email", 254)}
	if f.Get("confirm") == "" {
		f.fail("confirm", t.T("Tick the box to confirm: the erasure cannot be undone."))
	}
	if len(f.Errors) == 0 {
		id, err := a.o.Admin.Retention.RequestErasure(ctx, s.User.OrgID, m)
		if err == nil {
			http.Redirect(w, r, "/app/admin/retention?erasure="+urlQueryEscape(id), http.StatusSeeOther)
			return
		}
		if !f.problems(err, func(k string) string { return k }, func(k string) string {
			switch k {
			case "phone":
				if m.Phone == "" && m.Email == "" {
					return t.T("Give the customer's phone number or email address (or both).")
				}
				return t.T("This is not a phone number we can match. Write it with the country code, for example +30 691 234 5678.")
			case "email":
				return t.T("This is not an email address we can match. Check it, for example maria@example.com.")
			}
			return ""
		}) {
			a.fail(w, r, fmt.Errorf("request erasure: %w", err))
			return
		}
	}
	days, err := a.o.Store.RetentionDays(ctx, s.User.OrgID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := newSettingsForm()
	d.V["days"] = strconv.Itoa(days)
	v.Data = &retentionPage{Days: d, Erase: f, Max: retention.MaxDays}
	a.render(w, r, http.StatusUnprocessableEntity, "admin_retention", v)
}
