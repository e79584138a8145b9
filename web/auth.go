package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"rendezvous"
)

// apiKey returns the API key that authenticated the request in ctx; api guarantees one
// for every handler it wraps.
func apiKey(ctx context.Context) rendezvous.APIKey {
	k, _ := ctx.Value(apiKeyKey).(rendezvous.APIKey)
	return k
}

// api wraps an /api/v1 handler: it authenticates the bearer API key, checks that the key
// holds scope, and applies the key's rate limit. The key (and so the organization every
// store call is scoped to) is then available through apiKey(r.Context()).
func (s *server) api(scope string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := bearer(r)
		if !ok {
			s.error(w, r, fmt.Errorf("send the API key as Authorization: Bearer <key>: %w", rendezvous.ErrUnauthenticated))
			return
		}
		key, err := s.Store.APIKeyBySecret(r.Context(), secret)
		if err != nil {
			s.error(w, r, fmt.Errorf("API key not accepted: %w", err))
			return
		}
		if !key.HasScope(scope) {
			s.error(w, r, fmt.Errorf("this API key lacks the %s scope: %w", scope, rendezvous.ErrForbidden))
			return
		}
		if wait := s.limits.reserve(key.ID, s.clock.Now()); wait > 0 {
			s.error(w, r, &retryAfterError{seconds: int(math.Ceil(wait.Seconds()))})
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), apiKeyKey, key)))
	})
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// keyLimiters holds one token bucket per API key.
type keyLimiters struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	byKey map[string]*rate.Limiter
}

func newKeyLimiters(limit rate.Limit, burst int) *keyLimiters {
	if burst <= 0 {
		burst = int(math.Max(1, math.Ceil(2*float64(limit))))
	}
	return &keyLimiters{limit: limit, burst: burst, byKey: map[string]*rate.Limiter{}}
}

// reserve takes one token for keyID at now and returns zero, or how long to wait before
// a token is available (the request is then refused and takes nothing).
func (l *keyLimiters) reserve(keyID string, now time.Time) time.Duration {
	if l.limit <= 0 || l.limit == rate.Inf {
		return 0
	}
	l.mu.Lock()
	lim, ok := l.byKey[keyID]
	if !ok {
		// One bucket per key ever used; keys are few (created by administrators), so the
		// map stays small without eviction.
		lim = rate.NewLimiter(l.limit, l.burst)
		l.byKey[keyID] = lim
	}
	l.mu.Unlock()
	if lim.AllowN(now, 1) {
		return 0
	}
	r := lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	r.CancelAt(now)
	return d
}
