package app

import (
	"errors"
	"net/http"

	"rendezvous"
	"rendezvous/auth"
)

// signinData is the sign-in page's own data.
type signinData struct {
	Org       string
	Next      string
	Error     string
	Why       string
	DemoUsers []DemoUser
	Sandbox   string
}

// handleSignIn serves GET /signin: with go=1 it sends the browser straight to the
// organization's Genesys Cloud login; otherwise it shows the sign-in page (why the session
// ended, and in demo mode whom to pick).
func (a *App) handleSignIn(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	org := q.Get("org")
	if org == "" {
		org = a.o.DefaultOrg
	}
	next := auth.SafeNext(q.Get("next"))
	if q.Get("go") == "1" && org != "" {
		err := a.o.Auth.Begin(w, r, org, next)
		if err == nil {
			return
		}
		if !errors.Is(err, rendezvous.ErrNotFound) {
			a.fail(w, r, err)
			return
		}
		v := a.newView(r, nil, "")
		v.Title = v.T("Sign in")
		v.Data = signinData{Org: org, Next: next, Error: v.T("Rendezvous has no organization %q. Check the address you were given, or ask your administrator for the sign-in link.", org)}
		a.render(w, r, http.StatusNotFound, "signin", v)
		return
	}
	v := a.newView(r, nil, "")
	v.Title = v.T("Sign in")
	d := signinData{Org: org, Next: next, DemoUsers: a.o.DemoUsers, Sandbox: a.o.SandboxURL}
	switch q.Get("why") {
	case "genesys":
		d.Why = v.T("You were signed out because Genesys Cloud no longer accepts your sign-in. Sign in again.")
	case "expired":
		d.Why = v.T("Your session ended. Sign in again to continue.")
	case "signedout":
		d.Why = v.T("You are signed out.")
	}
	v.Data = d
	a.render(w, r, http.StatusOK, "signin", v)
}

// unknownOrgData is the page for a Genesys Cloud organization Rendezvous does not know.
type unknownOrgData struct {
	GenesysOrgID, GenesysOrgName string
}

// handleCallback serves GET /signin/callback, where Genesys Cloud sends the browser back
// with the authorization code.
func (a *App) handleCallback(w http.ResponseWriter, r *http.Request) {
	_, next, err := a.o.Auth.Finish(w, r)
	var unknown *auth.UnknownOrgError
	switch {
	case err == nil:
		if next == "" {
			next = "/app/calendar"
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	case errors.As(err, &unknown):
		a.log.InfoContext(r.Context(), "sign-in refused: unknown organization", "genesys_org_id", unknown.GenesysOrgID)
		v := a.newView(r, nil, "")
		v.Title = v.T("Your organization is not set up")
		v.Data = unknownOrgData{GenesysOrgID: unknown.GenesysOrgID, GenesysOrgName: unknown.GenesysOrgName}
		a.render(w, r, http.StatusForbidden, "unknownorg", v)
	case errors.Is(err, auth.ErrSignInFailed):
		a.log.InfoContext(r.Context(), "sign-in failed", "error", err)
		v := a.newView(r, nil, "")
		v.Title = v.T("Sign in")
		v.Data = signinData{Org: a.o.DefaultOrg, DemoUsers: a.o.DemoUsers, Sandbox: a.o.SandboxURL,
			Error: v.T("Signing in with Genesys Cloud did not complete (it may have taken too long, or been cancelled). Please try again.")}
		a.render(w, r, http.StatusBadRequest, "signin", v)
	default:
		a.fail(w, r, err)
	}
}

// handleSignOut serves POST /signout.
func (a *App) handleSignOut(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	if err := a.o.Auth.SignOut(w, r); err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, auth.SignInPath+"?why=signedout", http.StatusSeeOther)
}

// handleSignedInPopup serves GET /signin/done: the end of a sign-in in a pop-up window
// opened by the Interaction Widget; its script tells the widget and closes the window.
func (a *App) handleSignedInPopup(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.newView(r, s, "")
	v.Title = v.T("Signed in")
	a.render(w, r, http.StatusOK, "signedin", v)
}
