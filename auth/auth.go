// Package auth signs staff (agents, supervisors, administrators) in to Rendezvous with
// their Genesys Cloud account and keeps them signed in.
//
// Sign-in is OAuth 2.0 authorization code with PKCE (S256) against the login host of the
// organization's Genesys Cloud region. The organization is recognised by the Genesys Cloud
// organization id of the signed-in user (GET /api/v2/users/me?expand=organization); an
// organization Rendezvous does not know is refused. The Genesys user becomes a Rendezvous
// staff user of that organization (the first one its administrator; a configured Genesys
// Cloud role name can grant supervisor or administrator).
//
// Sessions live on the server (store.StaffSession): the browser holds only a random
// secret in an HttpOnly, SameSite cookie (Secure over HTTPS), the database its hash. A
// session ends after an idle period, after an absolute lifetime, at sign-out, or when
// Genesys Cloud no longer accepts the person's token (checked every few minutes): a person
// Genesys no longer knows is signed out. Every state-changing request must come from this
// origin and carry the session's CSRF token.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/genesys"
	"rendezvous/store"
)

// Connection is what signing in to one organization needs: its Genesys Cloud endpoints
// (login and API hosts of its region), its Genesys Cloud organization id, and the OAuth
// client (authorization code or PKCE grant) its staff sign in with.
type Connection struct {
	OrgID        string
	GenesysOrgID string
	Endpoints    genesys.Endpoints
	ClientID     string
	// ClientSecret is empty for a PKCE-only client.
	ClientSecret string
}

// Connections finds organizations' sign-in connections. It is the small part of the
// organization store that sign-in needs.
type Connections interface {
	// SignInConnection returns the connection of the Rendezvous organization orgID, or an
	// error matching rendezvous.ErrNotFound.
	SignInConnection(ctx context.Context, orgID string) (Connection, error)
	// OrgByGenesysOrgID returns the id of the Rendezvous organization connected to the
	// Genesys Cloud organization genesysOrgID, or an error matching rendezvous.ErrNotFound.
	OrgByGenesysOrgID(ctx context.Context, genesysOrgID string) (string, error)
}

// Options configure Auth.
type Options struct {
	Store       *store.Store
	Connections Connections
	// Key signs the short-lived sign-in cookie (state, PKCE verifier); derive it from the
	// secrets key.
	Key    []byte
	Clock  clock.Clock
	Logger *slog.Logger
	// PublicURL is the base URL people reach Rendezvous on; the OAuth redirect URI is
	// PublicURL + CallbackPath. Empty means the request's own scheme and host.
	PublicURL string
	// IdleTimeout ends a session unused for this long; 0 means 2 hours.
	IdleTimeout time.Duration
	// MaxAge ends every session this long after sign-in; 0 means 12 hours (a shift).
	MaxAge time.Duration
	// RecheckEvery is how often Genesys Cloud is asked whether it still knows the person;
	// 0 means 5 minutes.
	RecheckEvery time.Duration
	// SupervisorRole and AdminRole are names of Genesys Cloud roles that grant supervisor
	// or administrator at sign-in; empty grants nothing.
	SupervisorRole string
	AdminRole      string
	// HTTPClient talks to Genesys Cloud; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
}

// Paths of the sign-in flow, served by the staff pages.
const (
	SignInPath   = "/signin"
	CallbackPath = "/signin/callback"
	SignOutPath  = "/signout"
)

// Cookie names. The session cookie is host-only and on every path.
const (
	sessionCookie = "rdv_session"
	signinCookie  = "rdv_signin"
)

// CSRFField is the form field that carries the session's CSRF token; scripts send the same
// value in the X-CSRF-Token header.
const CSRFField = "csrf"

// Errors of sign-in, for the pages to explain.
var (
	// ErrUnknownOrg: the person's Genesys Cloud organization is not connected to Rendezvous.
	ErrUnknownOrg = errors.New("organization not connected to Rendezvous")
	// ErrSignInFailed: Genesys Cloud refused or the sign-in round trip was broken (state
	// mismatch, expired, a denied consent).
	ErrSignInFailed = errors.New("sign-in failed")
	// ErrCrossOrigin: a state-changing request from another origin, or without this
	// session's CSRF token.
	ErrCrossOrigin = errors.New("cross-origin or forged request")
)

// UnknownOrgError says which Genesys Cloud organization was not recognised.
type UnknownOrgError struct {
	GenesysOrgID   string
	GenesysOrgName string
}

func (e *UnknownOrgError) Error() string {
	return fmt.Sprintf("Genesys Cloud organization %s (%s) is not connected to Rendezvous", e.GenesysOrgID, e.GenesysOrgName)
}

// Unwrap makes the error match ErrUnknownOrg.
func (e *UnknownOrgError) Unwrap() error { return ErrUnknownOrg }

// Session is a signed-in person and their session's CSRF token.
type Session struct {
	User rendezvous.StaffUser
	CSRF string
	// Token is the person's Genesys Cloud access token (for calls made as them, such as
	// the Interaction Widget's conversation lookup). Never show or log it.
	Token  string
	idHash string
}

// Auth signs people in and out and loads their sessions. Create it with New.
type Auth struct {
	o   Options
	log *slog.Logger
	hc  *http.Client
}

// New returns an Auth for o.
func New(o Options) *Auth {
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 2 * time.Hour
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 12 * time.Hour
	}
	if o.RecheckEvery <= 0 {
		o.RecheckEvery = 5 * time.Minute
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Auth{o: o, log: o.Logger.With("component", "auth"), hc: hc}
}

// pending is what the sign-in cookie carries between the redirect to Genesys Cloud and
// the way back: bound to this browser and signed, so that neither a forged callback nor a
// code intercepted elsewhere can complete it.
type pending struct {
	State    string `json:"s"`
	Verifier string `json:"v"`
	OrgID    string `json:"o"`
	Next     string `json:"n"`
	Expires  int64  `json:"e"`
}

// signinLifetime bounds the time a person may spend on the Genesys Cloud login page.
const signinLifetime = 10 * time.Minute

// Begin starts signing in to orgID: it remembers state and a PKCE verifier in a signed
// cookie and redirects to the organization's Genesys Cloud login. next is where to go
// afterwards (a path on this site). An unknown organization is an error matching
// rendezvous.ErrNotFound.
func (a *Auth) Begin(w http.ResponseWriter, r *http.Request, orgID, next string) error {
	conn, err := a.o.Connections.SignInConnection(r.Context(), orgID)
	if err != nil {
		return fmt.Errorf("sign in to %s: %w", orgID, err)
	}
	p := pending{State: randomString(24), Verifier: genesys.NewPKCEVerifier(), OrgID: orgID, Next: SafeNext(next),
		Expires: a.o.Clock.Now().Add(signinLifetime).Unix()}
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: a.sign(p), Path: SignInPath, HttpOnly: true,
		Secure: a.secure(r), SameSite: http.SameSiteLaxMode, MaxAge: int(signinLifetime / time.Second)})
	ua := genesys.NewUserAuth(conn.Endpoints, conn.ClientID, conn.ClientSecret, a.callbackURL(r), a.hc)
	http.Redirect(w, r, ua.AuthorizeURL(p.State, p.Verifier), http.StatusFound)
	return nil
}

// Finish completes sign-in on the callback: it checks state against the cookie, trades the
// code (with the PKCE verifier) for the person's token, asks Genesys Cloud who they are and
// which organization they belong to, records them, and starts their session. It returns
// the session and where to go next. Errors match ErrSignInFailed or ErrUnknownOrg.
func (a *Auth) Finish(w http.ResponseWriter, r *http.Request) (*Session, string, error) {
	ctx := r.Context()
	c, err := r.Cookie(signinCookie)
	if err != nil {
		return nil, "", fmt.Errorf("no sign-in in progress in this browser: %w", ErrSignInFailed)
	}
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: "", Path: SignInPath, HttpOnly: true, Secure: a.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	p, ok := a.verify(c.Value)
	if !ok || a.o.Clock.Now().Unix() > p.Expires {
		return nil, "", fmt.Errorf("sign-in expired or tampered with: %w", ErrSignInFailed)
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(p.State)) != 1 {
		return nil, "", fmt.Errorf("state does not match: %w", ErrSignInFailed)
	}
	if e := q.Get("error"); e != "" {
		return nil, "", fmt.Errorf("Genesys Cloud answered %s (%s): %w", e, q.Get("error_description"), ErrSignInFailed)
	}
	conn, err := a.o.Connections.SignInConnection(ctx, p.OrgID)
	if err != nil {
		return nil, "", fmt.Errorf("connection of %s: %v: %w", p.OrgID, err, ErrSignInFailed)
	}
	ua := genesys.NewUserAuth(conn.Endpoints, conn.ClientID, conn.ClientSecret, a.callbackURL(r), a.hc)
	tok, err := ua.Exchange(ctx, q.Get("code"), p.Verifier)
	if err != nil {
		return nil, "", fmt.Errorf("%v: %w", err, ErrSignInFailed)
	}
	prof, err := a.client(conn).MyProfile(ctx, tok.AccessToken)
	if err != nil {
		return nil, "", fmt.Errorf("who signed in: %v: %w", err, ErrSignInFailed)
	}
	if prof.Organization == nil || prof.Organization.ID == "" {
		return nil, "", fmt.Errorf("Genesys Cloud did not say the user's organization: %w", ErrSignInFailed)
	}
	orgID, err := a.o.Connections.OrgByGenesysOrgID(ctx, prof.Organization.ID)
	if errors.Is(err, rendezvous.ErrNotFound) {
		return nil, "", &UnknownOrgError{GenesysOrgID: prof.Organization.ID, GenesysOrgName: prof.Organization.Name}
	}
	if err != nil {
		return nil, "", fmt.Errorf("find organization: %w", err)
	}
	granted := rendezvous.GrantedRole(prof.RoleNames(), a.o.SupervisorRole, a.o.AdminRole)
	u, err := a.o.Store.SignInStaff(ctx, rendezvous.StaffUser{OrgID: orgID, ID: prof.ID, Name: prof.Name, Email: prof.Email}, granted)
	if err != nil {
		return nil, "", err
	}
	secret := randomString(32)
	now := a.o.Clock.Now()
	ss := store.StaffSession{IDHash: hashSecret(secret), OrgID: orgID, UserID: u.ID, CSRF: randomString(32),
		Token: tok.AccessToken, TokenExpiry: tok.Expiry, CreatedAt: now, SeenAt: now, CheckedAt: now, ExpiresAt: now.Add(a.o.MaxAge)}
	if err := a.o.Store.CreateStaffSession(ctx, ss); err != nil {
		return nil, "", err
	}
	a.setSessionCookie(w, r, secret, a.o.MaxAge)
	a.log.InfoContext(ctx, "staff signed in", "org_id", orgID, "user_id", u.ID, "role", u.Role)
	return &Session{User: u, CSRF: ss.CSRF, Token: ss.Token, idHash: ss.IDHash}, p.Next, nil
}

// ErrNoSession means the request carries no valid session: never signed in, signed out,
// expired, or no longer known to Genesys Cloud.
var ErrNoSession = errors.New("not signed in")

// Load returns the request's session, or an error matching ErrNoSession. It enforces the
// idle and absolute expiry, and every RecheckEvery asks Genesys Cloud whether it still
// accepts the person's token: if not (401, 403, 404, or the token lapsed), the session is
// deleted, the person is signed out and a note says why. If Genesys cannot be reached the
// session goes on, to be checked on a later request.
func (a *Auth) Load(w http.ResponseWriter, r *http.Request) (*Session, error) {
	ctx := r.Context()
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, ErrNoSession
	}
	h := hashSecret(c.Value)
	ss, err := a.o.Store.StaffSessionByHash(ctx, h)
	if errors.Is(err, rendezvous.ErrNotFound) {
		a.clearSessionCookie(w, r)
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	now := a.o.Clock.Now()
	end := func(why string) (*Session, error) {
		if err := a.o.Store.DeleteStaffSession(ctx, h); err != nil {
			a.log.WarnContext(ctx, "delete session", "error", err)
		}
		a.clearSessionCookie(w, r)
		a.log.InfoContext(ctx, "staff session ended", "org_id", ss.OrgID, "user_id", ss.UserID, "reason", why)
		return nil, fmt.Errorf("%s: %w", why, ErrNoSession)
	}
	switch {
	case !now.Before(ss.ExpiresAt):
		return end("session reached its maximum age")
	case now.Sub(ss.SeenAt) >= a.o.IdleTimeout:
		return end("session idle too long")
	case !ss.TokenExpiry.IsZero() && !now.Before(ss.TokenExpiry):
		return end("Genesys Cloud token lapsed and cannot be renewed")
	}
	u, err := a.o.Store.StaffUser(ctx, ss.OrgID, ss.UserID)
	if errors.Is(err, rendezvous.ErrNotFound) {
		return end("person removed")
	}
	if err != nil {
		return nil, err
	}
	var checked time.Time
	if now.Sub(ss.CheckedAt) >= a.o.RecheckEvery {
		switch known, err := a.stillKnown(ctx, ss); {
		case err != nil:
			a.log.WarnContext(ctx, "could not ask Genesys Cloud about a session; checking later", "org_id", ss.OrgID, "error", err)
		case !known:
			return end("Genesys Cloud no longer accepts the person")
		default:
			checked = now
		}
	}
	// Writing on every request would make each page a write; a minute's precision is
	// plenty for an idle timeout counted in hours.
	if !checked.IsZero() || now.Sub(ss.SeenAt) >= time.Minute {
		if err := a.o.Store.TouchStaffSession(ctx, h, now, checked); err != nil {
			a.log.WarnContext(ctx, "touch session", "error", err)
		}
	}
	return &Session{User: u, CSRF: ss.CSRF, Token: ss.Token, idHash: h}, nil
}

// stillKnown asks Genesys Cloud who owns the session's token. false means Genesys refused
// (the token was revoked, the user deleted or moved); an error means it could not be asked.
func (a *Auth) stillKnown(ctx context.Context, ss store.StaffSession) (bool, error) {
	conn, err := a.o.Connections.SignInConnection(ctx, ss.OrgID)
	if errors.Is(err, rendezvous.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	prof, err := a.client(conn).MyProfile(ctx, ss.Token)
	var ae *genesys.APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden || ae.Status == http.StatusNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return prof.ID == ss.UserID, nil
}

// SignOut ends the request's session, if any, and clears its cookie.
func (a *Auth) SignOut(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := a.o.Store.DeleteStaffSession(r.Context(), hashSecret(c.Value)); err != nil {
			return err
		}
	}
	a.clearSessionCookie(w, r)
	return nil
}

// Client returns a Genesys Cloud client for calls made as a signed-in person of orgID
// (with their token), such as reading a conversation.
func (a *Auth) Client(ctx context.Context, orgID string) (*genesys.Client, error) {
	conn, err := a.o.Connections.SignInConnection(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return a.client(conn), nil
}

func (a *Auth) client(conn Connection) *genesys.Client {
	// Calls made with a user token use neither the client credentials nor their limiter.
	return genesys.New(genesys.Config{Endpoints: conn.Endpoints, HTTPClient: a.hc, Clock: a.o.Clock, Logger: a.log, MaxAttempts: 2})
}

// CheckRequest refuses a state-changing request that did not come from a page of this
// site: the browser's Origin (or, without one, Sec-Fetch-Site) must say same origin, and
// the form field or X-CSRF-Token header must carry the session's token. Safe methods pass.
func (a *Auth) CheckRequest(r *http.Request, s *Session) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	// Pages are served with Referrer-Policy: no-referrer, so browsers send "Origin: null"
	// with their own forms; Sec-Fetch-Site then says where the request came from.
	origin := r.Header.Get("Origin")
	site := r.Header.Get("Sec-Fetch-Site")
	switch {
	case origin != "" && origin != "null" && origin != a.origin(r):
		return fmt.Errorf("request from origin %q: %w", origin, ErrCrossOrigin)
	case site != "" && site != "same-origin":
		return fmt.Errorf("request from a %s page: %w", site, ErrCrossOrigin)
	case origin == "null" && site == "":
		return fmt.Errorf("request from an opaque origin: %w", ErrCrossOrigin)
	}
	if s == nil {
		return nil
	}
	token := r.Header.Get("X-CSRF-Token")
	if token == "" {
		token = r.PostFormValue(CSRFField)
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) != 1 {
		return fmt.Errorf("missing or wrong CSRF token: %w", ErrCrossOrigin)
	}
	return nil
}

// origin is this site's origin as browsers name it in the Origin header.
func (a *Auth) origin(r *http.Request) string {
	if a.o.PublicURL != "" {
		u, err := url.Parse(a.o.PublicURL)
		if err == nil {
			return u.Scheme + "://" + u.Host
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (a *Auth) callbackURL(r *http.Request) string {
	if a.o.PublicURL != "" {
		return strings.TrimSuffix(a.o.PublicURL, "/") + CallbackPath
	}
	return a.origin(r) + CallbackPath
}

// secure reports whether people reach this site over HTTPS, so cookies must be Secure.
func (a *Auth) secure(r *http.Request) bool {
	return strings.HasPrefix(a.origin(r), "https://")
}

func (a *Auth) setSessionCookie(w http.ResponseWriter, r *http.Request, secret string, maxAge time.Duration) {
	c := &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", HttpOnly: true, MaxAge: int(maxAge / time.Second)}
	if a.secure(r) {
		// The Interaction Widget runs in an iframe inside Genesys Cloud, another site: only
		// a SameSite=None cookie reaches it there. Origin and CSRF checks guard the forms.
		c.Secure, c.SameSite = true, http.SameSiteNoneMode
	} else {
		c.SameSite = http.SameSiteLaxMode
	}
	http.SetCookie(w, c)
}

func (a *Auth) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	a.setSessionCookie(w, r, "", -time.Second)
}

// sign encodes p with an HMAC-SHA256 under the key.
func (a *Auth) sign(p pending) string {
	b, _ := json.Marshal(p) // plain strings and a number cannot fail
	body := base64.RawURLEncoding.EncodeToString(b)
	return body + "." + base64.RawURLEncoding.EncodeToString(a.mac(body))
}

func (a *Auth) verify(v string) (pending, bool) {
	var p pending
	body, sig, ok := strings.Cut(v, ".")
	if !ok {
		return p, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, a.mac(body)) {
		return p, false
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || json.Unmarshal(b, &p) != nil {
		return p, false
	}
	return p, true
}

func (a *Auth) mac(body string) []byte {
	m := hmac.New(sha256.New, a.o.Key)
	m.Write([]byte("rendezvous staff sign-in\x00"))
	m.Write([]byte(body))
	return m.Sum(nil)
}

// SafeNext keeps a post-sign-in destination on this site: a path starting with one
// slash; anything else (another host, "//host", a scheme) becomes "".
func SafeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return ""
	}
	return next
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
