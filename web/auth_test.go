package web_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"rendezvous"
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
