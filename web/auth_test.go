package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/store/storetest"
)

// TestRevokedKeyStopsWorkingAfterTheCache checks the promise of Deps.KeyCacheTTL: a
// revoked key is refused at the latest once the cache time has passed.
func TestRevokedKeyStopsWorkingAfterTheCache(t *testing.T) {
	e := newEnv(t, envOptions{})
	wantStatus(t, e.do("GET", "/api/v1/appointments", nil), http.StatusOK)
	keys, err := e.st.APIKeys(context.Background(), "demo")
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys = %v, %v", keys, err)
	}
	if err := e.st.RevokeAPIKey(context.Background(), "demo", keys[0].ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10 * time.Second)
	wantProblem(t, e.do("GET", "/api/v1/appointments", nil), http.StatusUnauthorized)

	// A new key works at once: failures are not cached.
	fresh := e.newKey("demo", rendezvous.ScopeAppointmentsRead)
	wantStatus(t, e.do("GET", "/api/v1/appointments", nil, "Authorization", "Bearer "+fresh), http.StatusOK)
}

func TestAPIKeysAPI(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, envOptions{dialect: d})

			// Create: the secret is in this response and nowhere else.
			r := e.do("POST", "/api/v1/settings/api-keys", map[string]any{"name": "CRM sync", "scopes": []string{"appointments:read", "appointments:read"}})
			wantStatus(t, r, http.StatusCreated)
			created := r.json(t)
			secret, _ := created["key"].(string)
			id, _ := created["id"].(string)
			if !strings.HasPrefix(secret, "rdv_") || id == "" || r.header.Get("Location") != "/api/v1/settings/api-keys/"+id {
				t.Fatalf("created %v, Location %q", created, r.header.Get("Location"))
			}
			if sc := created["scopes"].([]any); len(sc) != 1 || sc[0] != "appointments:read" {
				t.Errorf("scopes %v, want the one scope once", sc)
			}
			// It works, with its scopes only.
			wantStatus(t, e.do("GET", "/api/v1/appointments", nil, "Authorization", "Bearer "+secret), http.StatusOK)
			wantProblem(t, e.do("GET", "/api/v1/settings/api-keys", nil, "Authorization", "Bearer "+secret), http.StatusForbidden)

			// The list shows both keys, no secrets.
			r = e.do("GET", "/api/v1/settings/api-keys", nil)
			wantStatus(t, r, http.StatusOK)
			if strings.Contains(string(r.body), secret) || strings.Contains(string(r.body), `"key"`) {
				t.Fatalf("the list shows a secret: %s", r.body)
			}
			items := r.json(t)["items"].([]any)
			listed := map[string]any{}
			for _, it := range items {
				listed[it.(map[string]any)["id"].(string)] = it.(map[string]any)["name"]
			}
			if len(items) != 2 || listed[id] != "CRM sync" {
				t.Fatalf("list %s", r.body)
			}

			// Every problem is named with its field.
			r = e.do("POST", "/api/v1/settings/api-keys", map[string]any{"name": " ", "scopes": []string{"everything"}})
			wantProblem(t, r, http.StatusUnprocessableEntity, "name", "scopes[0]")
			if !strings.Contains(string(r.body), "settings:admin") {
				t.Errorf("the scope problem does not list the scopes: %s", r.body)
			}
			wantProblem(t, e.do("POST", "/api/v1/settings/api-keys", map[string]any{"name": "x", "scopes": []string{}}),
				http.StatusUnprocessableEntity, "scopes")

			// Revoked: refused at once on this instance, gone from the list, not revocable twice.
			wantStatus(t, e.do("DELETE", "/api/v1/settings/api-keys/"+id, nil), http.StatusNoContent)
			wantProblem(t, e.do("GET", "/api/v1/appointments", nil, "Authorization", "Bearer "+secret), http.StatusUnauthorized)
			if items := e.do("GET", "/api/v1/settings/api-keys", nil).json(t)["items"].([]any); len(items) != 1 {
				t.Errorf("%d keys listed after the revocation, want 1", len(items))
			}
			wantProblem(t, e.do("DELETE", "/api/v1/settings/api-keys/"+id, nil), http.StatusNotFound)

			// Another organization's key cannot be revoked from here.
			other := e.newKey("other-org", rendezvous.ScopeSettingsAdmin)
			keys, err := e.st.APIKeys(context.Background(), "other-org")
			if err != nil || len(keys) != 1 {
				t.Fatalf("other org's keys: %v, %v", keys, err)
			}
			wantProblem(t, e.do("DELETE", "/api/v1/settings/api-keys/"+keys[0].ID, nil), http.StatusNotFound)
			wantStatus(t, e.do("GET", "/api/v1/settings/api-keys", nil, "Authorization", "Bearer "+other), http.StatusOK)
		})
	}
}
