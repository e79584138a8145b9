// Package connections gives each organization its own Genesys Cloud connection: the
// endpoints of its region, its API client (client credentials) for lookups and callbacks,
// and its staff sign-in client, read from the store and cached per instance. Every call to
// Genesys for an organization goes through the connection this package returns for that
// organization and no other; an organization without one gets rendezvous.ErrNotConnected.
//
// Calls are paced per OAuth client across every instance on the database (see Pacer and
// store.ReserveGenesysSlot), so N instances together stay within Genesys Cloud's limit of
// 300 requests a minute, and a restarted process does not start with a fresh allowance.
package connections

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/genesys"
	"rendezvous/store"
)

// Default is an organization's connection given on the command line (the -genesys-*
// flags, or the built-in sandbox in the demo): it applies to OrgID while that
// organization has no connection of its own in the database. It is how a
// single-organization deployment is set up.
type Default struct {
	OrgID              string
	Connection         rendezvous.GenesysConnection
	APIClientSecret    string
	SignInClientSecret string
}

// Options configure a Registry.
type Options struct {
	// Store holds the organizations. Required.
	Store *store.Store
	// Clock is the clients' time source; nil means the store's clock.
	Clock clock.Clock
	// Logger receives the clients' retry notes; nil discards them.
	Logger *slog.Logger
	// HTTPClient does the clients' HTTP; nil means the genesys package's default.
	HTTPClient *http.Client
	// Default is the command line's connection, if any.
	Default *Default
	// RequestsPerMinute is each OAuth client's limit; 0 means 300, Genesys' default.
	RequestsPerMinute int
	// LocalPacing paces each OAuth client in this process only, not through the
	// database (for tests of a single process that count nothing across instances).
	LocalPacing bool
	// TTL is how long an instance trusts its copy of an organization's connection; a
	// change saved elsewhere is picked up within it. 0 means 5 s.
	TTL time.Duration
	// UserTTL is how long a Genesys user found by User is remembered (a missing one for a
	// tenth of it); 0 means 5 minutes.
	UserTTL time.Duration
}

// Connection is an organization's resolved Genesys Cloud connection, secrets included:
// hand it only to what calls Genesys, never show or log it.
type Connection struct {
	OrgID string
	// GenesysOrgID is the Genesys Cloud organization id, "" when not recorded.
	GenesysOrgID string
	Endpoints    genesys.Endpoints
	// APIClientID and APIClientSecret are the client-credentials OAuth client for lookups
	// and callbacks; empty when not set.
	APIClientID     string
	APIClientSecret string
	// SignInClientID and SignInClientSecret are the staff sign-in OAuth client
	// (authorization code with PKCE); the secret is empty for a public client.
	SignInClientID     string
	SignInClientSecret string
	// Version moves on whenever the stored connection changes.
	Version int64
}

// Registry hands out each organization's Genesys Cloud connection and API client. It is
// safe for concurrent use.
type Registry struct {
	o     Options
	clock clock.Clock
	log   *slog.Logger

	mu    sync.Mutex
	conns map[string]*entry // by organization id

	usersMu sync.Mutex
	users   map[string]cachedUser // by organization id + "/" + user id
}

type entry struct {
	conn    Connection
	err     error // ErrNotConnected (or not found) as of checked
	checked time.Time
	client  *genesys.Client
}

type cachedUser struct {
	user    genesys.User
	missing bool
	at      time.Time
}

// New returns a registry.
func New(o Options) (*Registry, error) {
	if o.Store == nil {
		return nil, errors.New("connections: Options.Store is required")
	}
	if o.Clock == nil {
		o.Clock = o.Store.Clock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RequestsPerMinute <= 0 {
		o.RequestsPerMinute = 300
	}
	if o.TTL <= 0 {
		o.TTL = 5 * time.Second
	}
	if o.UserTTL <= 0 {
		o.UserTTL = 5 * time.Minute
	}
	return &Registry{o: o, clock: o.Clock, log: o.Logger, conns: map[string]*entry{}, users: map[string]cachedUser{}}, nil
}

// EndpointsOf returns the base URLs of a stored connection: its region's, with any
// explicit URL in place of the region's. It is also the check that the region exists.
func EndpointsOf(c rendezvous.GenesysConnection) (genesys.Endpoints, error) {
	var e genesys.Endpoints
	if c.Region != "" {
		var err error
		if e, err = genesys.RegionEndpoints(c.Region); err != nil {
			return e, &rendezvous.ValidationError{Problems: []rendezvous.FieldProblem{{Field: "genesys.region", Message: err.Error()}}}
		}
	}
	if c.APIURL != "" {
		e.API = c.APIURL
	}
	if c.LoginURL != "" {
		e.Login = c.LoginURL
	}
	if c.WebMessagingURL != "" {
		e.WebMessaging = c.WebMessagingURL
	}
	if e.API == "" || e.Login == "" || e.WebMessaging == "" {
		return e, &rendezvous.ValidationError{Problems: []rendezvous.FieldProblem{{Field: "genesys.region",
			Message: "is required unless the API, login and web messaging URLs are all given"}}}
	}
	return e, e.Validate()
}

// Connection returns the organization's connection. An organization whose connection
// says nowhere (no region, no URLs) is rendezvous.ErrNotConnected, as is an unknown
// organization.
func (r *Registry) Connection(ctx context.Context, orgID string) (Connection, error) {
	e, err := r.entry(ctx, orgID)
	if err != nil {
		return Connection{}, err
	}
	return e.conn, nil
}

// Endpoints returns the organization's Genesys Cloud base URLs.
func (r *Registry) Endpoints(ctx context.Context, orgID string) (genesys.Endpoints, error) {
	c, err := r.Connection(ctx, orgID)
	return c.Endpoints, err
}

// Client returns the organization's API client (client credentials), built once per
// version of its connection and shared by every caller, so that they share one token.
// Without an API client it is rendezvous.ErrNotConnected.
func (r *Registry) Client(ctx context.Context, orgID string) (*genesys.Client, error) {
	e, err := r.entry(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if e.client == nil {
		return nil, rendezvous.NotConnectedError(orgID, "no Genesys Cloud API client (client credentials) is set")
	}
	return e.client, nil
}

// OrgByGenesysOrgID returns the organization connected to a Genesys Cloud organization
// (the id staff sign-in reads from GET /api/v2/users/me?expand=organization): the one
// stored with that id, else the command line's default organization when its connection
// names that id. Unknown is rendezvous.ErrNotFound.
func (r *Registry) OrgByGenesysOrgID(ctx context.Context, genesysOrgID string) (rendezvous.Org, error) {
	o, err := r.o.Store.OrgByGenesysOrgID(ctx, genesysOrgID)
	if err == nil || !errors.Is(err, rendezvous.ErrNotFound) || r.o.Default == nil || genesysOrgID == "" ||
		r.o.Default.Connection.OrgID != genesysOrgID {
		return o, err
	}
	d, derr := r.o.Store.Org(ctx, r.o.Default.OrgID)
	if derr != nil || d.Genesys.Configured() {
		return rendezvous.Org{}, err
	}
	return d, nil
}

// NewClient returns a Genesys client for another OAuth client of the organization (the
// SMS and email clients of notifications), on the organization's endpoints and paced like
// every other client.
func (r *Registry) NewClient(ctx context.Context, orgID, clientID, clientSecret string, cfg genesys.Config) (*genesys.Client, error) {
	ep, err := r.Endpoints(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return r.newClient(ep, clientID, clientSecret, cfg), nil
}

func (r *Registry) newClient(ep genesys.Endpoints, clientID, clientSecret string, cfg genesys.Config) *genesys.Client {
	cfg.Endpoints, cfg.ClientID, cfg.ClientSecret = ep, clientID, clientSecret
	if cfg.Clock == nil {
		cfg.Clock = r.clock
	}
	if cfg.Logger == nil {
		cfg.Logger = r.log
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = r.o.HTTPClient
	}
	if cfg.RequestsPerMinute <= 0 {
		cfg.RequestsPerMinute = r.o.RequestsPerMinute
	}
	if !r.o.LocalPacing {
		cfg.Pacer = r.Pacer(ep, clientID)
	}
	return genesys.New(cfg)
}

// entry returns the organization's cached connection, re-reading it once TTL has passed
// and rebuilding the client when its version moved on.
func (r *Registry) entry(ctx context.Context, orgID string) (*entry, error) {
	now := time.Now() // wall clock: a cache's freshness, not appointment time
	r.mu.Lock()
	e := r.conns[orgID]
	r.mu.Unlock()
	if e != nil && now.Sub(e.checked) < r.o.TTL {
		return e, e.err
	}
	conn, err := r.load(ctx, orgID)
	if err != nil && !errors.Is(err, rendezvous.ErrNotConnected) {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.conns[orgID]
	n := &entry{conn: conn, err: err, checked: now}
	if err == nil {
		if old != nil && old.err == nil && old.conn == conn {
			n.client = old.client // same connection: keep its token and pace
		} else if conn.APIClientID != "" {
			n.client = r.newClient(conn.Endpoints, conn.APIClientID, conn.APIClientSecret, genesys.Config{})
		}
	}
	r.conns[orgID] = n
	return n, err
}

// load reads the organization's connection from the store (or the default).
func (r *Registry) load(ctx context.Context, orgID string) (Connection, error) {
	o, err := r.o.Store.Org(ctx, orgID)
	if errors.Is(err, rendezvous.ErrNotFound) {
		return Connection{}, rendezvous.NotConnectedError(orgID, "the organization does not exist")
	}
	if err != nil {
		return Connection{}, err
	}
	if !o.Genesys.Configured() {
		if d := r.o.Default; d != nil && d.OrgID == orgID {
			ep, err := EndpointsOf(d.Connection)
			if err != nil {
				return Connection{}, fmt.Errorf("the command line's Genesys Cloud connection: %w", err)
			}
			return Connection{OrgID: orgID, GenesysOrgID: d.Connection.OrgID, Endpoints: ep,
				APIClientID: d.Connection.APIClientID, APIClientSecret: d.APIClientSecret,
				SignInClientID: d.Connection.SignInClientID, SignInClientSecret: d.SignInClientSecret}, nil
		}
		return Connection{}, rendezvous.NotConnectedError(orgID, "its Genesys Cloud region is not set")
	}
	ep, err := EndpointsOf(o.Genesys)
	if err != nil {
		return Connection{}, rendezvous.NotConnectedError(orgID, "its Genesys Cloud connection is invalid ("+err.Error()+")")
	}
	sec, err := r.o.Store.OrgSecrets(ctx, orgID)
	if err != nil {
		return Connection{}, err
	}
	return Connection{OrgID: orgID, GenesysOrgID: o.Genesys.OrgID, Endpoints: ep,
		APIClientID: o.Genesys.APIClientID, APIClientSecret: sec.APIClientSecret,
		SignInClientID: o.Genesys.SignInClientID, SignInClientSecret: sec.SignInClientSecret,
		Version: o.Genesys.Version}, nil
}

// ErrUnknownUser is wrapped by User when the organization's Genesys Cloud has no such
// user; it matches rendezvous.ErrNotFound.
var ErrUnknownUser = fmt.Errorf("Genesys Cloud user %w", rendezvous.ErrNotFound)

// User returns a user of the organization's Genesys Cloud, remembered for UserTTL (a
// missing one for a tenth of it), so that bookings for one agent ask Genesys once. A
// user Genesys does not know is ErrUnknownUser; any other failure (no connection, no
// answer) is returned as it is and not remembered.
func (r *Registry) User(ctx context.Context, orgID, userID string) (genesys.User, error) {
	key := orgID + "/" + userID
	now := time.Now() // wall clock: a cache's freshness
	r.usersMu.Lock()
	c, ok := r.users[key]
	r.usersMu.Unlock()
	if ok {
		ttl := r.o.UserTTL
		if c.missing {
			ttl /= 10
		}
		if now.Sub(c.at) < ttl {
			if c.missing {
				return genesys.User{}, fmt.Errorf("%s: %w", userID, ErrUnknownUser)
			}
			return c.user, nil
		}
	}
	gc, err := r.Client(ctx, orgID)
	if err != nil {
		return genesys.User{}, err
	}
	u, err := gc.User(ctx, userID)
	missing := false
	if err != nil {
		var ae *genesys.APIError
		// 404, and 400 for an id that is not even a UUID: Genesys knows no such user.
		if !errors.As(err, &ae) || (ae.Status != http.StatusNotFound && ae.Status != http.StatusBadRequest) {
			return genesys.User{}, err
		}
		missing = true
	}
	r.usersMu.Lock()
	if len(r.users) > 100_000 {
		clear(r.users)
	}
	r.users[key] = cachedUser{user: u, missing: missing, at: now}
	r.usersMu.Unlock()
	if missing {
		return genesys.User{}, fmt.Errorf("%s: %w", userID, ErrUnknownUser)
	}
	return u, nil
}

// Pacer returns the pace shared through the database of one OAuth client at the
// registry's rate, for genesys.Config.Pacer.
func (r *Registry) Pacer(ep genesys.Endpoints, clientID string) genesys.Pacer {
	return NewPacer(r.o.Store, ep, clientID, r.o.RequestsPerMinute)
}

// PacingShare is the part of the limit the pace uses. A minute then holds at most
// PacingShare×limit + PacingBurst calls (2% of 300 is 6 left over), and the rest absorbs
// the skew between the instances' clocks and Genesys' window.
const PacingShare = 0.97

// PacingBurst is how many calls may leave at once after a quiet spell.
const PacingBurst = 3

// NewPacer returns the pace of one OAuth client (identified by its login host and id)
// shared through st, at PacingShare of rpm calls a minute.
func NewPacer(st *store.Store, ep genesys.Endpoints, clientID string, rpm int) genesys.Pacer {
	if rpm <= 0 {
		rpm = 300
	}
	sum := sha256.Sum256([]byte(ep.Login + "\x00" + clientID))
	interval := time.Duration(float64(time.Minute) / (float64(rpm) * PacingShare))
	return &pacer{st: st, key: hex.EncodeToString(sum[:16]), interval: interval, tolerance: (PacingBurst - 1) * interval}
}

type pacer struct {
	st                  *store.Store
	key                 string
	interval, tolerance time.Duration
}

func (p *pacer) Reserve(ctx context.Context, now time.Time, maxWait time.Duration) (time.Time, bool, error) {
	return p.st.ReserveGenesysSlot(ctx, p.key, now, p.interval, p.tolerance, maxWait)
}
