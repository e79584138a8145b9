// Package linkguard slows down whoever walks the space of link tokens (the customer's
// link, its .ics file, the room links of both sides) without ever refusing a valid link.
//
// Only misses count: a client address gets Burst unknown links at once, then one more
// each Every; past that its misses are answered "too many requests" with the time to wait.
// A link that resolves is always served, whatever its address guessed before, so that
// customers who share an address with a guesser (a company network, a mobile carrier's
// NAT, or every customer at once behind a reverse proxy that is not declared trusted) are
// never locked out. Tokens carry 256 random bits (128 for the agent's MAC), so guessing
// is hopeless either way; the limit bounds the work and the noise a guesser causes.
//
// The client address is the connection's peer, unless that peer is a trusted proxy: then
// it is the nearest address in Forwarded (RFC 7239) or X-Forwarded-For that is not itself
// a trusted proxy. Headers from anyone else are ignored, since anybody can send them.
package linkguard

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of Options.
const (
	DefaultBurst = 20
	DefaultEvery = 6 * time.Second
)

// maxTracked caps the memory kept per address; past it, addresses that have not missed
// for a while (their budget is full again) are forgotten.
const maxTracked = 100_000

// Options configures a Guard.
type Options struct {
	// Burst is how many unknown links one client may try at once (default DefaultBurst).
	Burst int
	// Every is how often one more try is granted after the burst (default DefaultEvery).
	Every time.Duration
	// TrustedProxies are the addresses whose Forwarded / X-Forwarded-For headers are
	// believed (ParseTrustedProxies). Empty believes no one.
	TrustedProxies []netip.Prefix
}

// Guard counts misses per client address. It is safe for concurrent use; one Guard is
// shared by every route that takes a link token, so a guesser's budget is the same
// whatever route it tries.
type Guard struct {
	burst   int
	every   time.Duration
	trusted []netip.Prefix

	mu      sync.Mutex
	clients map[netip.Prefix]*rate.Limiter
}

// New returns a Guard.
func New(o Options) *Guard {
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.Every <= 0 {
		o.Every = DefaultEvery
	}
	return &Guard{burst: o.Burst, every: o.Every, trusted: o.TrustedProxies, clients: map[netip.Prefix]*rate.Limiter{}}
}

// ParseTrustedProxies reads a comma-separated list of IP addresses and CIDR prefixes
// ("10.0.0.0/8, 192.0.2.7, fd00::/8"), as the -trusted-proxies setting takes it.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.Contains(part, "/") {
			p, err := netip.ParsePrefix(part)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or a CIDR prefix such as 10.0.0.0/8", part)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or a CIDR prefix such as 10.0.0.0/8", part)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Miss records that the client of r asked for a link that does not exist, at now. It
// reports whether the client is over its budget, and then how long until it may try again.
func (g *Guard) Miss(r *http.Request, now time.Time) (blocked bool, retry time.Duration) {
	return g.miss(clientKey(g.ClientIP(r)), now)
}

func (g *Guard) miss(key netip.Prefix, now time.Time) (bool, time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	l := g.clients[key]
	if l == nil {
		if len(g.clients) >= maxTracked {
			for k, v := range g.clients {
				if v.TokensAt(now) >= float64(g.burst) {
					delete(g.clients, k)
				}
			}
		}
		l = rate.NewLimiter(rate.Every(g.every), g.burst)
		g.clients[key] = l
	}
	if l.AllowN(now, 1) {
		return false, 0
	}
	res := l.ReserveN(now, 1)
	d := res.DelayFrom(now)
	res.CancelAt(now)
	return true, d
}

// RetryAfter renders a wait as the whole seconds of a Retry-After header, at least 1.
func RetryAfter(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return fmt.Sprint(s)
}

// clientKey is what a client's budget is kept under: its IPv4 address, or its IPv6 /64
// (one subscriber is usually given a whole /64, so counting single IPv6 addresses would
// give one person 2^64 budgets).
func clientKey(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p
	}
	return netip.PrefixFrom(a, a.BitLen())
}

// ClientIP returns the address of the client that made r: the connection's peer, or, when
// the peer is a trusted proxy, the nearest forwarded address that is not one. An address
// that cannot be read is the zero Addr (all such requests then share one budget).
func (g *Guard) ClientIP(r *http.Request) netip.Addr {
	peer := parseHostPort(r.RemoteAddr)
	if !g.isTrusted(peer) {
		return peer
	}
	// Forwarded (RFC 7239) is preferred when the proxy writes it; otherwise the de facto
	// X-Forwarded-For. Each proxy appends the address it received from, so the list is read
	// from the right, past every trusted proxy, to the first address a trusted proxy saw.
	chain := forwardedFor(r.Header.Values("Forwarded"))
	if len(chain) == 0 {
		for _, v := range r.Header.Values("X-Forwarded-For") {
			for _, part := range strings.Split(v, ",") {
				chain = append(chain, parseHostPort(strings.TrimSpace(part)))
			}
		}
	}
	client := peer
	for i := len(chain) - 1; i >= 0; i-- {
		if !chain[i].IsValid() {
			break // an unreadable entry: trust nothing further left of it
		}
		client = chain[i]
		if !g.isTrusted(client) {
			break
		}
	}
	return client
}

func (g *Guard) isTrusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, p := range g.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor returns the for= addresses of Forwarded header values, in order.
func forwardedFor(values []string) []netip.Addr {
	var out []netip.Addr
	for _, v := range values {
		for _, elem := range strings.Split(v, ",") {
			found := false
			for _, pair := range strings.Split(elem, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if !ok || !strings.EqualFold(k, "for") {
					continue
				}
				found = true
				out = append(out, parseHostPort(strings.Trim(val, `"`)))
			}
			if !found {
				out = append(out, netip.Addr{}) // an element without for=: unknown hop
			}
		}
	}
	return out
}

// parseHostPort reads "1.2.3.4", "1.2.3.4:5", "[::1]:5" or "::1"; anything else (such as
// Forwarded's obfuscated "_hidden" or "unknown") is the zero Addr.
func parseHostPort(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}
