// Package hostcheck refuses HTTP requests whose Host names a server other than this one,
// which is what DNS rebinding needs: a page on evil.example makes its own name resolve to
// 127.0.0.1, and the browser then lets that page read whatever the local service answers
// to "Host: evil.example". Answering only the names this service is configured under
// (and any IP literal, which no DNS answer can rebind) closes that door.
package hostcheck

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Hosts is a set of allowed host names (without port). The zero value allows every
// host, which is what tests that mount handlers on httptest servers want.
type Hosts struct {
	names map[string]bool
}

// New returns the set of names: each entry may be a bare name ("meet.example.com"),
// a host:port, or a URL ("https://meet.example.com:8443/path"); empty entries are
// skipped. When any name is a loopback address or "localhost", both loopback spellings
// ("localhost", and the IP literals, which are always allowed) are accepted, so the
// demo works whichever one a person types.
func New(entries ...string) Hosts {
	h := Hosts{names: map[string]bool{}}
	for _, e := range entries {
		if name := hostname(e); name != "" {
			h.names[name] = true
			if name == "localhost" || isLoopback(name) {
				h.names["localhost"] = true
			}
		}
	}
	return h
}

// Names returns the allowed names, for a log line.
func (h Hosts) Names() []string {
	out := make([]string, 0, len(h.names))
	for n := range h.names {
		out = append(out, n)
	}
	return out
}

// Allows reports whether a request with this Host header may be served.
func (h Hosts) Allows(host string) bool {
	if h.names == nil {
		return true
	}
	name := hostname(host)
	if name == "" {
		return false
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return true // an IP literal: no name for DNS to rebind
	}
	return h.names[name]
}

// Handler serves next only for allowed Hosts and answers others 421 Misdirected Request
// (RFC 9110: this server is not the one that request was meant for).
func (h Hosts) Handler(next http.Handler) http.Handler {
	if h.names == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.Allows(r.Host) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusMisdirectedRequest)
			w.Write([]byte("This server does not answer for that host name.\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostname extracts the lower-case host name of a Host header, host:port or URL, without
// brackets or a trailing dot.
func hostname(s string) string {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return ""
		}
		s = u.Host
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	return strings.TrimSuffix(strings.ToLower(s), ".")
}

func isLoopback(name string) bool {
	a, err := netip.ParseAddr(name)
	return err == nil && a.IsLoopback()
}
