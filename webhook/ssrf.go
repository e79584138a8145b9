package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenAddress is returned for a request to an address outside the public
// internet: loopback, private, link-local, shared, multicast or unspecified.
var ErrForbiddenAddress = errors.New("address not allowed: webhooks go to public internet addresses only")

// special are the ranges, beyond what netip classifies, that are not the public internet.
var special = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // shared address space (carrier-grade NAT)
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64 can reach IPv4 private space
	netip.MustParsePrefix("2001:db8::/32"),
}

// Forbidden reports whether ip must not be reached from the server.
func Forbidden(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range special {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// checkURL validates a receiver or token URL: absolute, HTTPS unless allowPrivate (the
// demo), no credentials in it, and not naming a forbidden address outright. Names are
// checked again where it matters, at dial time, against the address they resolve to.
func checkURL(raw string, allowPrivate bool) error {
	if len(raw) > 2000 {
		return errors.New("is longer than 2000 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !u.IsAbs() {
		return errors.New("is not an absolute URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowPrivate:
	default:
		return errors.New("must start with https://")
	}
	if u.User != nil {
		return errors.New("must not contain a user name or password; use the authentication settings")
	}
	if u.Fragment != "" {
		return errors.New("must not contain a fragment (#...)")
	}
	if allowPrivate {
		return nil
	}
	host := strings.TrimSuffix(u.Hostname(), ".")
	if ip, err := netip.ParseAddr(host); err == nil && Forbidden(ip) {
		return fmt.Errorf("points at %s: %w", host, ErrForbiddenAddress)
	}
	if h := strings.ToLower(host); h == "localhost" || strings.HasSuffix(h, ".localhost") || strings.HasSuffix(h, ".internal") {
		return fmt.Errorf("points at %s: %w", host, ErrForbiddenAddress)
	}
	return nil
}

// maxResponse is how much of a receiver's answer is read: only its status matters.
const maxResponse = 4 << 10

// newClient returns the HTTP client of deliveries and token requests. Unless
// allowPrivate, its dialer refuses forbidden addresses after name resolution (so a name
// that resolves to 10.0.0.1, or changes its answer between check and use, is caught at the
// connection itself); it never follows redirects and never uses a proxy from the
// environment.
func newClient(allowPrivate bool, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("dial %s: %w", address, ErrForbiddenAddress)
			}
			if Forbidden(ap.Addr()) {
				return fmt.Errorf("dial %s: %w", ap.Addr(), ErrForbiddenAddress)
			}
			return nil
		}
	}
	tr := &http.Transport{
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect is an answer, not an instruction
		},
	}
}
