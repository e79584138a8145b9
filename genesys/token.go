package genesys

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"rendezvous/clock"
)

// tokenSource fetches client-credentials tokens with golang.org/x/oauth2/clientcredentials
// and caches them itself. It does not use oauth2.ReuseTokenSource because that cache reads
// the wall clock (so expiry could not follow the injected clock) and cannot be told to drop
// a token that the API has just rejected with 401.
type tokenSource struct {
	cfg   clientcredentials.Config
	hc    *http.Client
	clock clock.Clock

	sem chan struct{} // one fetch at a time; a channel so waiters can give up on ctx

	mu    sync.Mutex
	token string
	renew time.Time // when to fetch a new one (before expiry)
}

func newTokenSource(e Endpoints, id, secret string, hc *http.Client, clk clock.Clock) *tokenSource {
	return &tokenSource{
		cfg: clientcredentials.Config{
			ClientID:     id,
			ClientSecret: secret,
			TokenURL:     strings.TrimSuffix(e.Login, "/") + "/oauth/token",
			// Genesys wants HTTP Basic; fixing the style avoids the library's
			// auto-detection sending the secret a second time in the body.
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		hc:    hc,
		clock: clk,
		sem:   make(chan struct{}, 1),
	}
}

// renewMargin is how long before expiry a token is replaced: a tenth of its lifetime,
// at most five minutes, so that a request never leaves with a token about to lapse.
func renewMargin(lifetime time.Duration) time.Duration {
	return min(lifetime/10, 5*time.Minute)
}

func (ts *tokenSource) cached() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.token != "" && ts.clock.Now().Before(ts.renew) {
		return ts.token
	}
	return ""
}

// get returns a valid access token, fetching one when none is cached or the cached one is
// due for renewal.
func (ts *tokenSource) get(ctx context.Context) (string, error) {
	if t := ts.cached(); t != "" {
		return t, nil
	}
	select {
	case ts.sem <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("genesys: wait for oauth token: %w", ctx.Err())
	}
	defer func() { <-ts.sem }()
	if t := ts.cached(); t != "" { // another caller fetched it while we waited
		return t, nil
	}
	tok, err := ts.cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, ts.hc))
	if err != nil {
		return "", oauthError(err)
	}
	now := ts.clock.Now()
	lifetime := time.Duration(tok.ExpiresIn) * time.Second
	if lifetime <= 0 {
		lifetime = time.Hour // Genesys always sends expires_in; be careful if it does not
	}
	ts.mu.Lock()
	ts.token = tok.AccessToken
	ts.renew = now.Add(lifetime - renewMargin(lifetime))
	ts.mu.Unlock()
	return tok.AccessToken, nil
}

// invalidate drops token if it is still the cached one (after the API answered 401).
func (ts *tokenSource) invalidate(token string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.token == token {
		ts.token = ""
	}
}

// forget drops the cached token, whatever it is, so the next get fetches a new one.
func (ts *tokenSource) forget() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.token = ""
}

// oauthError turns an oauth2 failure into *OAuthError (token endpoint answered) or
// *TransportError (it did not). A token request never carries a message, so it is
// always safe to retry; Sent stays false for that reason.
func oauthError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		oe := &OAuthError{Code: re.ErrorCode, Description: re.ErrorDescription}
		if re.Response != nil {
			oe.Status = re.Response.StatusCode
			oe.CorrelationID = re.Response.Header.Get("Inin-Correlation-Id")
		}
		oe.temporaryFailure = oe.Status == http.StatusTooManyRequests || (oe.Status >= 500 && oe.Status != http.StatusNotImplemented)
		if oe.Description == "" && oe.Code == "" {
			oe.Description = strings.TrimSpace(string(re.Body))
		}
		return oe
	}
	return &TransportError{Op: "oauth token", Err: err}
}

// UserToken is the result of a user's sign-in (authorization code with PKCE).
type UserToken struct {
	AccessToken string
	TokenType   string
	// Expiry is when the token lapses, on the wall clock of the token endpoint's answer.
	Expiry time.Time
}

// UserAuth signs users in to Genesys Cloud with the authorization code grant and PKCE
// (S256). One UserAuth serves one OAuth client of type "Code Authorization" or "PKCE".
type UserAuth struct {
	cfg oauth2.Config
	hc  *http.Client
}

// NewUserAuth prepares user sign-in against the login host of e. clientSecret may be empty
// for a PKCE-only client, in which case the client id travels in the form body.
func NewUserAuth(e Endpoints, clientID, clientSecret, redirectURL string, hc *http.Client) *UserAuth {
	if hc == nil {
		hc = http.DefaultClient
	}
	login := strings.TrimSuffix(e.Login, "/")
	style := oauth2.AuthStyleInHeader
	if clientSecret == "" {
		style = oauth2.AuthStyleInParams
	}
	return &UserAuth{
		cfg: oauth2.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			RedirectURL:  redirectURL,
			Endpoint: oauth2.Endpoint{
				AuthURL:   login + "/oauth/authorize",
				TokenURL:  login + "/oauth/token",
				AuthStyle: style,
			},
		},
		hc: hc,
	}
}

// NewPKCEVerifier returns a fresh random code verifier; keep it (server-side, bound to
// state) until the code comes back.
func NewPKCEVerifier() string { return oauth2.GenerateVerifier() }

// AuthorizeURL returns where to send the user's browser: /oauth/authorize with
// response_type=code, client_id, redirect_uri, state and the S256 challenge of verifier.
func (a *UserAuth) AuthorizeURL(state, verifier string) string {
	return a.cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
}

// Exchange trades the authorization code for the user's access token, proving possession
// of verifier. Failures are *OAuthError (for example invalid_grant) or *TransportError.
func (a *UserAuth) Exchange(ctx context.Context, code, verifier string) (UserToken, error) {
	tok, err := a.cfg.Exchange(context.WithValue(ctx, oauth2.HTTPClient, a.hc), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return UserToken{}, fmt.Errorf("genesys: exchange authorization code: %w", oauthError(err))
	}
	return UserToken{AccessToken: tok.AccessToken, TokenType: tok.TokenType, Expiry: tok.Expiry}, nil
}
