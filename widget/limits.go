package widget

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiters holds a token bucket per key (a client address, an origin). The map is
// emptied when it grows past maxKeys, which at worst forgives some callers once; it
// bounds the memory a flood of addresses can take.
type limiters struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*rate.Limiter
}

const maxKeys = 100_000

func newLimiters(perSecond float64, burst int) *limiters {
	return &limiters{limit: rate.Limit(perSecond), burst: max(burst, 1), m: map[string]*rate.Limiter{}}
}

// reserve takes one token for key at now: zero, or how long until one is available (the
// request is then refused and takes nothing).
func (l *limiters) reserve(key string, now time.Time) time.Duration {
	if l.limit <= 0 {
		return 0
	}
	l.mu.Lock()
	lim, ok := l.m[key]
	if !ok {
		if len(l.m) >= maxKeys {
			clear(l.m)
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.m[key] = lim
	}
	l.mu.Unlock()
	if lim.AllowN(now, 1) {
		return 0
	}
	r := lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	r.CancelAt(now)
	return max(d, time.Second)
}
