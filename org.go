package rendezvous

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Org is one customer organization: one Genesys Cloud organization. Every record belongs
// to exactly one, and nothing of one is visible to another, in Rendezvous or in Genesys
// Cloud: every call to Genesys for an organization uses its own Genesys connection.
type Org struct {
	ID   string
	Name string
	// Genesys is how Rendezvous reaches the organization's Genesys Cloud; its zero value
	// means not connected.
	Genesys GenesysConnection
	// CreatedAt and UpdatedAt are when the organization was created and last changed.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ErrNotConnected means the organization has no Genesys Cloud connection (or not the part
// of it a call needs, such as the API client), so the call cannot be made. It is never
// answered with another organization's connection.
var ErrNotConnected = errors.New("no Genesys Cloud connection")

// GenesysConnection is an organization's Genesys Cloud: its region (or explicit base
// URLs), its Genesys organization id, and the OAuth clients Rendezvous uses. The clients'
// secrets are not part of it: the store keeps them sealed and gives them only to what
// calls Genesys. (The SMS and email OAuth clients and the Messenger deployment keys live
// in the notification and scheduling settings, also per organization.)
type GenesysConnection struct {
	// Region is a Genesys Cloud region name ("eu-west-1") or its domain
	// ("mypurecloud.ie"); it gives the three base URLs. Empty when they are all explicit.
	Region string
	// APIURL, LoginURL and WebMessagingURL override the region's base URLs (the sandbox
	// is reached that way).
	APIURL          string
	LoginURL        string
	WebMessagingURL string
	// OrgID is the Genesys Cloud organization id (GET /api/v2/users/me?expand=organization
	// shows it); no two organizations share one, so staff sign-in recognises the
	// organization by it. Lower case.
	OrgID string
	// APIClientID is the OAuth client (client credentials) for lookups and callbacks;
	// empty means lookups and callbacks are not connected.
	APIClientID string
	// APIClientSecretHint shows which secret is set ("••••abcd"); the secret itself is
	// never returned.
	APIClientSecretHint string
	// SignInClientID is the OAuth client (authorization code with PKCE) staff sign in
	// with; SignInClientSecretHint is its secret's hint, empty for a public PKCE client.
	SignInClientID         string
	SignInClientSecretHint string
	// Version counts changes of the connection, so that a cached Genesys client is
	// rebuilt when it moves on.
	Version int64
}

// Configured reports whether the connection says where Genesys Cloud is.
func (c GenesysConnection) Configured() bool {
	return c.Region != "" || c.APIURL != ""
}

// orgIDPattern is what an organization's own id may look like: it appears in URLs, logs
// and command lines.
var orgIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// genesysOrgIDPattern is a Genesys Cloud organization id: a UUID.
var genesysOrgIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// ValidateOrg checks an organization's id, name and Genesys connection and normalizes
// what it can (trimmed text, a lower-case Genesys organization id). Whether the region
// names a real region is checked by the genesys package (RegionEndpoints), which knows
// them.
func ValidateOrg(o *Org) error {
	var p Problems
	o.ID = strings.TrimSpace(o.ID)
	if !orgIDPattern.MatchString(o.ID) {
		p.Add("id", "must be 1 to 63 lower-case letters, digits and hyphens, starting with a letter or digit")
	}
	o.Name = strings.TrimSpace(o.Name)
	switch {
	case o.Name == "":
		p.Add("name", "is required")
	case len([]rune(o.Name)) > 200:
		p.Add("name", "is longer than 200 characters")
	case hasControl(o.Name):
		p.Add("name", "contains control characters")
	}
	validateConnection(&p, &o.Genesys)
	return p.Err()
}

func validateConnection(p *Problems, c *GenesysConnection) {
	c.Region = strings.TrimSpace(c.Region)
	if len(c.Region) > 100 || hasControl(c.Region) {
		p.Add("genesys.region", "is not a region name or domain")
	}
	for _, u := range []struct {
		field   string
		v       *string
		schemes []string
	}{
		{"genesys.apiUrl", &c.APIURL, []string{"https", "http"}},
		{"genesys.loginUrl", &c.LoginURL, []string{"https", "http"}},
		{"genesys.webMessagingUrl", &c.WebMessagingURL, []string{"wss", "ws"}},
	} {
		*u.v = strings.TrimSuffix(strings.TrimSpace(*u.v), "/")
		if *u.v == "" {
			continue
		}
		parsed, err := url.Parse(*u.v)
		if err != nil || parsed.Host == "" || (parsed.Scheme != u.schemes[0] && parsed.Scheme != u.schemes[1]) || len(*u.v) > 500 {
			p.Add(u.field, "must be an absolute %s:// (or %s://) URL", u.schemes[0], u.schemes[1])
		}
	}
	if c.Region == "" && (c.APIURL != "" || c.LoginURL != "" || c.WebMessagingURL != "") &&
		(c.APIURL == "" || c.LoginURL == "" || c.WebMessagingURL == "") {
		p.Add("genesys.region", "is required unless the API, login and web messaging URLs are all given")
	}
	c.OrgID = strings.ToLower(strings.TrimSpace(c.OrgID))
	if c.OrgID != "" && !genesysOrgIDPattern.MatchString(c.OrgID) {
		p.Add("genesys.orgId", "must be the Genesys Cloud organization id, a UUID such as 7c0f1e2a-5b3d-4c8e-9a10-000000000001")
	}
	for _, id := range []struct{ field, v string }{{"genesys.apiClientId", c.APIClientID}, {"genesys.signInClientId", c.SignInClientID}} {
		if len(id.v) > 200 || hasControl(id.v) || strings.TrimSpace(id.v) != id.v {
			p.Add(id.field, "is not an OAuth client id")
		}
	}
}

// ValidateClientSecret checks an OAuth client secret before it is sealed.
func ValidateClientSecret(field, secret string) error {
	if len(secret) > 500 || hasControl(secret) || strings.TrimSpace(secret) != secret {
		return &ValidationError{Problems: []FieldProblem{{Field: field, Message: "is not an OAuth client secret (control characters, surrounding spaces or over 500 characters)"}}}
	}
	return nil
}

// hasControl reports whether s holds a control character (NUL included), which
// PostgreSQL refuses or a terminal would interpret.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

// NotConnectedError returns ErrNotConnected for an organization, saying what is missing.
func NotConnectedError(orgID, missing string) error {
	return WithDetail(fmt.Errorf("organization %s: %s: %w", orgID, missing, ErrNotConnected),
		"This organization cannot reach Genesys Cloud: %s. An operator connects it with rendezvous org connect.", missing)
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
	// LastUsedAt is when the key last authenticated a request, to the minute (zero:
	// never). Kept by the store when it reads the key for a request.
	LastUsedAt time.Time
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
		return WithDetail(fmt.Errorf("this API key cannot grant %s, which it does not hold itself: %w", strings.Join(missing, ", "), ErrForbidden),
			"This API key cannot grant %s, which it does not hold itself.", strings.Join(missing, ", "))
	}
	return nil
}
