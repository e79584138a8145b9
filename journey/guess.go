package journey

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// guessLimiter bounds how many unknown links one client IP may try: a burst, then a slow
// refill. Only misses spend tokens, so a customer reloading a good link is never slowed,
// while someone walking the token space is stopped after a handful of tries.
type guessLimiter struct {
	burst int
	every time.Duration
	mu    sync.Mutex
	ips   map[string]*rate.Limiter
}

// maxTrackedIPs caps the limiter's memory; past it, limiters that are full again (the IP
// has not missed for a while) are dropped.
const maxTrackedIPs = 100_000

func newGuessLimiter(burst int, every time.Duration) *guessLimiter {
	return &guessLimiter{burst: burst, every: every, ips: map[string]*rate.Limiter{}}
}

// blocked reports whether ip has no guesses left at instant now, and how long until it
// has one.
func (g *guessLimiter) blocked(ip string, now time.Time) (bool, time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	l := g.ips[ip]
	if l == nil || l.TokensAt(now) >= 1 {
		return false, 0
	}
	r := l.ReserveN(now, 1)
	d := r.DelayFrom(now)
	r.CancelAt(now)
	return true, d
}

// miss spends one of ip's guesses.
func (g *guessLimiter) miss(ip string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	l := g.ips[ip]
	if l == nil {
		if len(g.ips) >= maxTrackedIPs {
			for k, v := range g.ips {
				if v.TokensAt(now) >= float64(g.burst) {
					delete(g.ips, k)
				}
			}
		}
		l = rate.NewLimiter(rate.Every(g.every), g.burst)
		g.ips[ip] = l
	}
	l.AllowN(now, 1)
}

// clientIP is the address the guess limit is keyed on.
func clientIP(r *http.Request, trustForwarded bool) string {
	if trustForwarded {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			return strings.TrimSpace(parts[len(parts)-1])
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
