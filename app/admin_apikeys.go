package app

// Administration / API keys: create (the secret shown once), list, revoke. The same store
// functions as /api/v1/settings/api-keys (web/apikeys.go), so both are audited alike.

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"rendezvous"
	"rendezvous/auth"
	"rendezvous/store"
)

// apiKeysData is the API keys page's own data.
type apiKeysData struct {
	Keys []apiKeyRow
	// Name, Scopes and Errors are the create form as typed.
	Name   string
	Scopes []string
	Errors map[string]string
	// Created is the key just created, and Secret its secret, shown this once.
	Created *rendezvous.APIKey
	Secret  string
}

type apiKeyRow struct {
	rendezvous.APIKey
	CreatedBy string
}

// AllScopes are the scopes offered, each with what it allows.
func (d *apiKeysData) AllScopes() []string { return rendezvous.AllScopes() }

// Has reports whether scope is ticked.
func (d *apiKeysData) Has(scope string) bool { return slices.Contains(d.Scopes, scope) }

// ScopeWords says what a scope allows, in the page's language.
func (t *tr) ScopeWords(scope string) string {
	switch scope {
	case rendezvous.ScopeAppointmentsRead:
		return t.T("Read appointments and availability")
	case rendezvous.ScopeAppointmentsWrite:
		return t.T("Book, change and cancel appointments")
	case rendezvous.ScopeSettingsAdmin:
		return t.T("Change settings, keys, webhooks; read the audit log")
	}
	return scope
}

// handleAPIKeys serves GET /app/admin/api-keys.
func (a *App) handleAPIKeys(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	a.renderAPIKeys(w, r, s, http.StatusOK, &apiKeysData{Scopes: []string{rendezvous.ScopeAppointmentsRead}, Errors: map[string]string{}})
}

func (a *App) renderAPIKeys(w http.ResponseWriter, r *http.Request, s *auth.Session, status int, d *apiKeysData) {
	v := a.adminView(r, s, "api-keys", "API keys")
	ctx := r.Context()
	keys, err := a.o.Store.APIKeys(ctx, s.User.OrgID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// Who created each key is in the audit log.
	by := map[string]string{}
	created, _, err := a.o.Store.AuditLog(ctx, s.User.OrgID, store.AuditFilter{Action: "api_key.created", Limit: store.MaxAuditLimit})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for _, e := range created {
		by[e.TargetID] = actorName(v.tr, e.Actor)
	}
	for _, k := range keys {
		d.Keys = append(d.Keys, apiKeyRow{APIKey: k, CreatedBy: by[k.ID]})
	}
	v.Data = d
	a.render(w, r, status, "admin_apikeys", v)
}

// handleAPIKeyCreate serves POST /app/admin/api-keys: the answer shows the secret once
// (not a redirect: the secret is kept nowhere to show it again).
func (a *App) handleAPIKeyCreate(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	t := newTr(langOf(r, &s.User))
	d := &apiKeysData{Name: strings.TrimSpace(r.PostFormValue("name")), Scopes: r.PostForm["scope"], Errors: map[string]string{}}
	switch {
	case d.Name == "":
		d.Errors["name"] = t.T("Give the key a name that says who uses it, for example “CRM integration”.")
	case !storable(d.Name) || rendezvous.CheckLine(d.Name) != nil:
		d.Errors["name"] = t.T("This contains characters that cannot be stored. Please retype it.")
	case utf8.RuneCountInString(d.Name) > 100:
		d.Errors["name"] = t.T("The name is too long (up to %d characters).", 100)
	}
	if len(d.Scopes) == 0 || slices.ContainsFunc(d.Scopes, func(sc string) bool { return !rendezvous.ValidScope(sc) }) {
		d.Errors["scopes"] = t.T("Choose at least one permission.")
	}
	if len(d.Errors) > 0 {
		a.renderAPIKeys(w, r, s, http.StatusUnprocessableEntity, d)
		return
	}
	k, secret, err := a.o.Store.CreateAPIKey(r.Context(), s.User.OrgID, d.Name, d.Scopes)
	var ve *rendezvous.ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			if strings.HasPrefix(p.Field, "scopes") {
				d.Errors["scopes"] = t.T("Choose at least one permission.")
			} else {
				d.Errors["name"] = t.T("This name cannot be used: %s.", p.Message)
			}
		}
		a.renderAPIKeys(w, r, s, http.StatusUnprocessableEntity, d)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.renderAPIKeys(w, r, s, http.StatusCreated, &apiKeysData{Created: &k, Secret: secret,
		Scopes: []string{rendezvous.ScopeAppointmentsRead}, Errors: map[string]string{}})
}

// handleAPIKeyRevoke serves POST /app/admin/api-keys/{id}/revoke.
func (a *App) handleAPIKeyRevoke(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	err := a.o.Store.RevokeAPIKey(r.Context(), s.User.OrgID, r.PathValue("id"))
	if err != nil && !errors.Is(err, rendezvous.ErrNotFound) {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/app/admin/api-keys?done=key-revoked", http.StatusSeeOther)
}

// actorName says who made a change, for the audit log and an appointment's history.
func actorName(t *tr, a rendezvous.Actor) string {
	switch a.Kind {
	case rendezvous.ActorPerson:
		return a.Name
	case rendezvous.ActorAPIKey:
		return t.T("API key “%s”", a.Name)
	case rendezvous.ActorCustomer:
		return t.T("The customer")
	}
	return t.T("Rendezvous (automatic)")
}
