package web

import (
	"context"
	"crypto/sha256"
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
		if s.APIInFlight != nil {
			s.APIInFlight.Add(1)
			defer s.APIInFlight.Add(-1)
		}
		secret, ok := bearer(r)
		if !ok {
			s.error(w, r, fmt.Errorf("send the API key as Authorization: Bearer <key>: %w", rendezvous.ErrUnauthenticated))
			return
		}
		key, err := s.keys.lookup(r.Context(), secret, s.clock.Now(), s.Store.APIKeyBySecret)
		if err != nil {
			s.error(w, r, fmt.Errorf("API key not accepted: %w", err))
			return
		}
		if !key.HasScope(scope) {
			s.error(w, r, rendezvous.WithDetail(fmt.Errorf("this API key lacks the %s scope: %w", scope, rendezvous.ErrForbidden),
				"This API key lacks the %s scope.", scope))
			return
		}
		if wait := s.limits.reserve(key.ID, s.clock.Now()); wait > 0 {
			s.error(w, r, &retryAfterError{seconds: int(math.Ceil(wait.Seconds())), what: "too many requests for this API key"})
			return
		}
		// Changes made through the key are audited as the key's (store.Tx.Audit).
		ctx := rendezvous.WithActor(context.WithValue(r.Context(), apiKeyKey, key),
			rendezvous.Actor{Kind: rendezvous.ActorAPIKey, ID: key.ID, Name: key.Name})
		h.ServeHTTP(w, r.WithContext(ctx))
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

// keyCache remembers API keys that authenticated recently, so that a busy integrator's
// requests do not each pay a database read before the work they asked for. The price is
// that a revoked key keeps working on an instance for up to ttl; unknown secrets are never
// cached, so a new key works at once.
type keyCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[[sha256.Size]byte]cachedKey // by SHA-256 of the secret: no secrets kept in memory
}

type cachedKey struct {
	key   rendezvous.APIKey
	until time.Time
}

// maxCachedKeys bounds the cache; when full it is emptied, which costs one database read
// per active key and needs no eviction bookkeeping.
const maxCachedKeys = 10000

func newKeyCache(ttl time.Duration) *keyCache {
	return &keyCache{ttl: ttl, m: map[[sha256.Size]byte]cachedKey{}}
}

// forget drops the key with this id, so that a revocation takes effect here at once.
func (c *keyCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.m {
		if e.key.ID == id {
			delete(c.m, h)
		}
	}
}

// lookup returns the key for secret, from the cache while fresh, else from load.
func (c *keyCache) lookup(ctx context.Context, secret string, now time.Time, load func(context.Context, string) (rendezvous.APIKey, error)) (rendezvous.APIKey, error) {
	if c.ttl <= 0 {
		return load(ctx, secret)
	}
	h := sha256.Sum256([]byte(secret))
	c.mu.Lock()
	e, ok := c.m[h]
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.key, nil
	}
	k, err := load(ctx, secret)
	if err != nil {
		return k, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedKeys {
		clear(c.m)
	}
	c.m[h] = cachedKey{key: k, until: now.Add(c.ttl)}
	c.mu.Unlock()
	return k, nil
}
