package sandbox

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// token is an issued access token.
type token struct {
	value    string
	clientID string
	userID   string // set for authorization-code tokens
	expires  time.Time
}

// authCode is an authorization code waiting to be exchanged.
type authCode struct {
	clientID, userID, redirectURI string
	challenge                     string // PKCE S256 challenge; empty when PKCE was not used
	expires                       time.Time
}

// codeLifetime is how long an authorization code may wait for its exchange.
const codeLifetime = 5 * time.Minute

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenResponse is the login host's token body.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// handleToken serves POST /oauth/token: client_credentials and authorization_code grants.
func (s *Sandbox) handleToken() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
			return
		}
		if err := r.ParseForm(); err != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
			return
		}
		switch gt := r.PostForm.Get("grant_type"); gt {
		case GrantClientCredentials:
			s.clientCredentials(w, r)
		case GrantAuthorizationCode:
			s.exchangeCode(w, r)
		case "":
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
		default:
			writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type "+gt+" is not supported")
		}
	})
}

// authenticateClient checks HTTP Basic client credentials. It writes the error itself.
func (s *Sandbox) authenticateClient(w http.ResponseWriter, r *http.Request) (*oauthClient, bool) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="sandbox"`)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication with HTTP Basic is required")
		return nil, false
	}
	s.mu.Lock()
	c := s.clients[id]
	s.mu.Unlock()
	if c == nil || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		s.log.Info("sandbox oauth: bad client credentials")
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return nil, false
	}
	return c, true
}

func (s *Sandbox) clientCredentials(w http.ResponseWriter, r *http.Request) {
	c, ok := s.authenticateClient(w, r)
	if !ok {
		return
	}
	if c.GrantType != GrantClientCredentials {
		writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", "this client may not use the client_credentials grant")
		return
	}
	s.issueToken(w, c.ID, "")
}

func (s *Sandbox) issueToken(w http.ResponseWriter, clientID, userID string) {
	s.mu.Lock()
	now := s.clock.Now()
	if len(s.tokens) >= 1024 {
		// Forget lapsed tokens (and their rate windows) so that a long load run does not
		// grow without bound; an unknown token and a lapsed one both answer 401.
		for v, t := range s.tokens {
			if !now.Before(t.expires) {
				delete(s.tokens, v)
				delete(s.limits, v)
			}
		}
	}
	t := &token{value: randomToken(), clientID: clientID, userID: userID, expires: now.Add(s.opts.TokenLifetime)}
	s.tokens[t.value] = t
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: t.value, TokenType: "bearer", ExpiresIn: int(s.opts.TokenLifetime / time.Second)})
}

// exchangeCode finishes the authorization code grant. A confidential client authenticates
// with Basic; a public one sends client_id and must have used PKCE.
func (s *Sandbox) exchangeCode(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	clientID := f.Get("client_id")
	confidential := false
	if _, _, ok := r.BasicAuth(); ok {
		c, ok := s.authenticateClient(w, r)
		if !ok {
			return
		}
		clientID, confidential = c.ID, true
	}
	code, verifier := f.Get("code"), f.Get("code_verifier")
	if clientID == "" || code == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "code and client authentication (Basic or client_id) are required")
		return
	}
	s.mu.Lock()
	ac := s.codes[code]
	delete(s.codes, code) // a code is single use, even when the exchange fails
	now := s.clock.Now()
	s.mu.Unlock()
	switch {
	case ac == nil || now.After(ac.expires):
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "the authorization code is unknown, used or expired")
	case ac.clientID != clientID:
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "the authorization code was issued to another client")
	case ac.redirectURI != f.Get("redirect_uri"):
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
	case ac.challenge == "" && !confidential:
		writeOAuthError(w, http.StatusBadRequest, "invalid_client", "a public client must use PKCE")
	case ac.challenge != "" && verifier == "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier is required")
	case ac.challenge != "" && s256(verifier) != ac.challenge:
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge")
	default:
		s.issueToken(w, clientID, ac.userID)
	}
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

//go:embed templates/authorize.html
var authorizeHTML string

var authorizeTmpl = template.Must(template.New("authorize").Parse(authorizeHTML))

// authorizeRequest is a validated GET/POST /oauth/authorize.
type authorizeRequest struct {
	ClientID, RedirectURI, State, Challenge string
	Params                                  url.Values
}

// parseAuthorize validates an authorization request. Errors that make redirecting unsafe
// (unknown client, bad redirect URI) are answered in place; the others go back to the
// client's redirect URI as error=..., as OAuth wants.
func (s *Sandbox) parseAuthorize(w http.ResponseWriter, r *http.Request, q url.Values) (*authorizeRequest, bool) {
	ar := &authorizeRequest{ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), State: q.Get("state"), Challenge: q.Get("code_challenge")}
	s.mu.Lock()
	c := s.clients[ar.ClientID]
	s.mu.Unlock()
	if c == nil || c.GrantType != GrantAuthorizationCode {
		http.Error(w, "Unknown client_id, or not an authorization code client.", http.StatusBadRequest)
		return nil, false
	}
	u, err := url.Parse(ar.RedirectURI)
	if err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Fragment != "" ||
		(len(c.redirectURIs) > 0 && !slices.Contains(c.redirectURIs, ar.RedirectURI)) {
		http.Error(w, "redirect_uri is missing, not absolute, or not authorized for this client.", http.StatusBadRequest)
		return nil, false
	}
	fail := func(code, desc string) (*authorizeRequest, bool) {
		v := u.Query()
		v.Set("error", code)
		v.Set("error_description", desc)
		if ar.State != "" {
			v.Set("state", ar.State)
		}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
		return nil, false
	}
	if q.Get("response_type") != "code" {
		return fail("unsupported_response_type", "response_type must be code")
	}
	if ar.Challenge != "" && q.Get("code_challenge_method") != "S256" {
		return fail("invalid_request", "code_challenge_method must be S256")
	}
	ar.Params = url.Values{}
	for _, k := range []string{"response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method"} {
		if v := q.Get(k); v != "" {
			ar.Params.Set(k, v)
		}
	}
	return ar, true
}

// handleAuthorize serves GET /oauth/authorize: a page that lists the org's users, since a
// sandbox has no passwords.
func (s *Sandbox) handleAuthorize() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ar, ok := s.parseAuthorize(w, r, r.URL.Query())
		if !ok {
			return
		}
		s.mu.Lock()
		org := s.tenantLocked(s.clients[ar.ClientID].org).spec
		s.mu.Unlock()
		var users []User
		for _, u := range s.Users() {
			if u.OrgID == org.OrgID {
				users = append(users, u)
			}
		}
		data := struct {
			OrgName string
			Users   []User
			Params  url.Values
		}{org.OrgName, users, ar.Params}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := authorizeTmpl.Execute(w, data); err != nil {
			s.log.Error("sandbox authorize page", "err", err)
		}
	})
}

// handleAuthorizeSubmit serves POST /oauth/authorize: the authorization parameters plus
// userId (the user who signs in) as a form; it redirects to redirect_uri with code and
// state. Tests drive the sign-in by posting this form directly.
func (s *Sandbox) handleAuthorizeSubmit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "malformed form", http.StatusBadRequest)
			return
		}
		ar, ok := s.parseAuthorize(w, r, r.PostForm)
		if !ok {
			return
		}
		userID := r.PostForm.Get("userId")
		s.mu.Lock()
		u := s.users[userID]
		if u != nil && u.org != s.clients[ar.ClientID].org {
			u = nil // a user of another organization cannot sign in through this client
		}
		code := randomToken()
		if u != nil {
			s.codes[code] = &authCode{clientID: ar.ClientID, userID: u.id, redirectURI: ar.RedirectURI,
				challenge: ar.Challenge, expires: s.clock.Now().Add(codeLifetime)}
		}
		s.mu.Unlock()
		if u == nil {
			http.Error(w, "Unknown userId.", http.StatusBadRequest)
			return
		}
		dest, _ := url.Parse(ar.RedirectURI)
		v := dest.Query()
		v.Set("code", code)
		if ar.State != "" {
			v.Set("state", ar.State)
		}
		dest.RawQuery = v.Encode()
		http.Redirect(w, r, dest.String(), http.StatusFound)
	})
}

// caller is who an API request runs as.
type caller struct {
	token  *token
	client *oauthClient
	user   *user // nil for client credentials
}

// org is the Genesys organization the caller belongs to: its OAuth client's.
func (c caller) org() string { return c.client.org }

func (c caller) can(perm string) bool {
	if c.user != nil {
		return slices.Contains(c.user.permissions, perm)
	}
	return c.client.has(perm)
}

// apiHandler is a platform API handler that runs after authentication.
type apiHandler func(w http.ResponseWriter, r *http.Request, c caller) error

// api wraps an API handler with what Genesys does before it: bearer authentication (401),
// the per-token rate limit (429 with Retry-After) and the permission check (403, any of
// perms; none means any authenticated caller).
func (s *Sandbox) api(h apiHandler, perms ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authenticate(r)
		if err == nil {
			s.recordCall(r, c)
			err = s.checkRate(w, c)
		}
		if err == nil && len(perms) > 0 && !slices.ContainsFunc(perms, c.can) {
			err = &apiError{status: http.StatusForbidden, code: codeMissingPerms,
				message: fmt.Sprintf("Unable to perform the requested action. You are missing the following permission(s): %s", strings.Join(perms, ", ")),
				params:  map[string]string{"permissions": strings.Join(perms, ", ")}}
		}
		if err == nil {
			err = h(w, r, c)
		}
		if err != nil {
			s.writeAPIError(w, r, err)
		}
	})
}

func (s *Sandbox) authenticate(r *http.Request) (caller, error) {
	h := r.Header.Get("Authorization")
	scheme, value, _ := strings.Cut(h, " ")
	if h == "" || !strings.EqualFold(scheme, "bearer") || value == "" {
		return caller{}, &apiError{status: http.StatusUnauthorized, code: codeAuthRequired,
			message: "No authentication bearer token specified in authorization header."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[value]
	if t == nil || !s.clock.Now().Before(t.expires) {
		return caller{}, &apiError{status: http.StatusUnauthorized, code: codeBadCredentials, message: "Invalid login credentials."}
	}
	c := caller{token: t, client: s.clients[t.clientID]}
	if t.userID != "" {
		c.user = s.users[t.userID]
	}
	return c, nil
}

// APICall is one authenticated platform API request as the sandbox saw it: which
// Genesys organization's token made it, and what it asked for. Tests assert on it that
// one organization's work never reached another's Genesys Cloud.
type APICall struct {
	OrgID    string    `json:"orgId"`
	ClientID string    `json:"clientId"`
	UserID   string    `json:"userId,omitempty"`
	Method   string    `json:"method"`
	Route    string    `json:"route"`
	Path     string    `json:"path"`
	Time     time.Time `json:"time"`
}

// maxCalls bounds the call log; the oldest calls are forgotten first.
const maxCalls = 20_000

func (s *Sandbox) recordCall(r *http.Request, c caller) {
	call := APICall{OrgID: c.org(), ClientID: c.client.ID, Method: r.Method, Route: r.Pattern, Path: r.URL.Path}
	if c.user != nil {
		call.UserID = c.user.id
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	call.Time = s.clock.Now()
	if len(s.calls) >= maxCalls {
		s.calls = slices.Delete(s.calls, 0, len(s.calls)-maxCalls+1)
	}
	s.calls = append(s.calls, call)
}

// APICalls lists the authenticated platform API requests made so far (at most the last
// 20,000), oldest first.
func (s *Sandbox) APICalls() []APICall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *Sandbox) checkRate(w http.ResponseWriter, c caller) error {
	key := c.token.value
	if s.opts.RateLimitPerClient {
		key = "client/" + c.client.ID
	}
	s.mu.Lock()
	wnd := s.limits[key]
	if wnd == nil {
		wnd = &window{}
		s.limits[key] = wnd
	}
	ok, wait := wnd.take(s.clock.Now(), s.opts.RequestsPerMinute, time.Minute)
	s.mu.Unlock()
	if ok {
		return nil
	}
	return &apiError{status: http.StatusTooManyRequests, code: codeTooManyRequests, retryAfter: wait,
		message: fmt.Sprintf("Rate limit exceeded the maximum. [%d] requests for [60] seconds", s.opts.RequestsPerMinute)}
}
