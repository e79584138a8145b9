package rendezvous

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Org is one customer organization: one Genesys Cloud organization. Every record belongs
// to exactly one, and nothing of one is visible to another.
type Org struct {
	ID   string
	Name string
}

// API key scopes. A key holds a subset; the web layer checks them per route.
const (
	ScopeAppointmentsRead  = "appointments:read"
	ScopeAppointmentsWrite = "appointments:write"
	ScopeSettingsAdmin     = "settings:admin"
)

// AllScopes lists every scope, in the order they are shown to administrators.
func AllScopes() []string {
	return []string{ScopeAppointmentsRead, ScopeAppointmentsWrite, ScopeSettingsAdmin}
}

// ValidScope reports whether s is a known scope.
func ValidScope(s string) bool {
	for _, k := range AllScopes() {
		if s == k {
			return true
		}
	}
	return false
}

// APIKey is an integrator's credential. Only a hash of its secret is stored; the secret
// itself is shown once, when the key is created.
type APIKey struct {
	ID        string
	OrgID     string
	Name      string
	Scopes    []string
	CreatedAt time.Time
}

// HasScope reports whether the key grants scope.
func (k APIKey) HasScope(scope string) bool {
	for _, s := range k.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// CheckGrant refuses to let the key granter create a key with scopes it does not hold
// itself, so that settings:admin alone cannot mint a key that writes appointments: a key
// can pass on only what it has. The error wraps ErrForbidden and names the missing scopes.
func CheckGrant(granter APIKey, scopes []string) error {
	var missing []string
	for _, s := range scopes {
		if ValidScope(s) && !granter.HasScope(s) && !slices.Contains(missing, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("this API key cannot grant %s, which it does not hold itself: %w",
			strings.Join(missing, ", "), ErrForbidden)
	}
	return nil
}
