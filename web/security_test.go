package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"rendezvous"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// A link that acts (the customer's, which cancels and reschedules and joins the call) is a
// bearer credential: a read-only key sees appointments without it, on every answer that
// shows one.
func TestReadOnlyKeySeesNoActingLinks(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := e.do("POST", "/api/v1/appointments", booking("agent-1", 24))
	wantStatus(t, r, http.StatusCreated)
	id := r.json(t)["id"].(string)
	if r.json(t)["links"].(map[string]any)["customer"] == nil {
		t.Fatal("the writing key that booked got no link")
	}
	read := e.newKey("demo", rendezvous.ScopeAppointmentsRead)
	for _, path := range []string{"/api/v1/appointments/" + id, "/api/v1/appointments?limit=5"} {
		g := e.do("GET", path, nil, "Authorization", "Bearer "+read)
		wantStatus(t, g, http.StatusOK)
		if strings.Contains(string(g.body), "/a/") {
			t.Errorf("%s shows a read-only key a customer link: %s", path, g.body)
		}
	}
	write := e.newKey("demo", rendezvous.ScopeAppointmentsRead, rendezvous.ScopeAppointmentsWrite)
	g := e.do("GET", "/api/v1/appointments/"+id, nil, "Authorization", "Bearer "+write)
	if !strings.Contains(string(g.body), "https://meet.example.com/a/") {
		t.Errorf("a writing key lost the link: %s", g.body)
	}
}

// A key can create keys only with scopes it holds itself.
func TestKeyGrantsOnlyScopesItHolds(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.newKey("demo", rendezvous.ScopeSettingsAdmin)
	for _, scopes := range [][]string{
		{rendezvous.ScopeAppointmentsWrite},
		{rendezvous.ScopeAppointmentsRead},
		{rendezvous.ScopeSettingsAdmin, rendezvous.ScopeAppointmentsRead},
		rendezvous.AllScopes(),
	} {
		r := e.do("POST", "/api/v1/settings/api-keys", map[string]any{"name": "escalate", "scopes": scopes}, "Authorization", "Bearer "+admin)
		m := wantProblem(t, r, http.StatusForbidden)
		if d, _ := m["detail"].(string); !strings.Contains(d, "appointments:") {
			t.Errorf("the refusal does not name the scope: %q", d)
		}
	}
	r := e.do("POST", "/api/v1/settings/api-keys", map[string]any{"name": "peer", "scopes": []string{rendezvous.ScopeSettingsAdmin}}, "Authorization", "Bearer "+admin)
	wantStatus(t, r, http.StatusCreated)
	// The full key may grant any subset.
	r = e.do("POST", "/api/v1/settings/api-keys", map[string]any{"name": "reader", "scopes": []string{rendezvous.ScopeAppointmentsRead}})
	wantStatus(t, r, http.StatusCreated)
}

func TestCheckGrant(t *testing.T) {
	k := rendezvous.APIKey{Scopes: []string{rendezvous.ScopeSettingsAdmin, rendezvous.ScopeAppointmentsRead}}
	if err := rendezvous.CheckGrant(k, []string{rendezvous.ScopeAppointmentsRead}); err != nil {
		t.Error(err)
	}
	err := rendezvous.CheckGrant(k, []string{rendezvous.ScopeAppointmentsWrite, rendezvous.ScopeAppointmentsWrite})
	if err == nil || strings.Count(err.Error(), "appointments:write") != 1 {
		t.Errorf("CheckGrant = %v", err)
	}
}

// An id that cannot exist is answered 404 without the database: with the database closed,
// the answer is still 404, never 500. (The routes of the room and the notifications, which
// this server is not given, are probed on the assembled service by the wiring tests.)
func TestImpossibleIDsNeverReachTheDatabase(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, envOptions{dialect: d})
			r := e.do("POST", "/api/v1/appointments", booking("agent-1", 24))
			wantStatus(t, r, http.StatusCreated)
			real := r.json(t)["id"].(string)
			// Authenticate once so the key is cached, then close the database.
			wantStatus(t, e.do("GET", "/api/v1/appointments/"+real, nil), http.StatusOK)
			e.st.Close()
			for _, bad := range []string{"x", "no-such-id", real + "0", strings.ToUpper(real) + "x", "a\x00b", "%00", "' OR 1=1 --"} {
				p := url.PathEscape(bad)
				for _, c := range []struct{ method, path string }{
					{"GET", "/api/v1/appointments/" + p},
					{"PATCH", "/api/v1/appointments/" + p},
					{"POST", "/api/v1/appointments/" + p + "/cancel"},
					{"DELETE", "/api/v1/settings/api-keys/" + p},
				} {
					var body any
					if c.method != "GET" && c.method != "DELETE" {
						body = map[string]any{"title": "x"}
					}
					r := e.do(c.method, c.path, body)
					if r.status != http.StatusNotFound {
						t.Errorf("%s %s: %d, want 404 without the database\n%s", c.method, c.path, r.status, r.body)
					}
				}
			}
		})
	}
}

// Control characters in a query are refused before anything reads them, naming the
// parameter.
func TestControlCharactersInQueryAre422(t *testing.T) {
	e := newEnv(t, envOptions{dialect: store.Postgres})
	for _, v := range []string{"a\x00b", "x\ny", "\x1b[0m"} {
		r := e.do("GET", "/api/v1/appointments?"+url.Values{"agentUserId": {v}}.Encode(), nil)
		wantProblem(t, r, http.StatusUnprocessableEntity, "agentUserId")
		r = e.do("GET", "/api/v1/appointments?"+url.Values{"cursor": {v}}.Encode(), nil)
		wantProblem(t, r, http.StatusUnprocessableEntity, "cursor")
	}
}

// Every JSON answer and problem says nosniff.
func TestJSONIsNeverSniffed(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, r := range []response{
		e.do("GET", "/api/v1/appointments", nil),
		e.do("GET", "/api/v1/appointments/00000000-0000-4000-8000-000000000000", nil),
		e.do("GET", "/api/v1/openapi.json", nil),
	} {
		if r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%d %s: no nosniff", r.status, r.header.Get("Content-Type"))
		}
	}
}
