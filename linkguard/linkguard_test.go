package linkguard

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func req(remote string, headers ...string) *http.Request {
	r := httptest.NewRequest("GET", "/a/x", nil)
	r.RemoteAddr = remote
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

func mustProxies(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	p, err := ParseTrustedProxies(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClientIP(t *testing.T) {
	g := New(Options{TrustedProxies: mustProxies(t, "10.0.0.0/8, 192.0.2.7, fd00::/8")})
	for _, c := range []struct {
		name string
		r    *http.Request
		want string
	}{
		{"no proxy", req("203.0.113.5:1234"), "203.0.113.5"},
		{"untrusted peer's header is ignored", req("203.0.113.5:1234", "X-Forwarded-For", "198.51.100.1"), "203.0.113.5"},
		{"untrusted peer's Forwarded is ignored", req("203.0.113.5:1234", "Forwarded", "for=198.51.100.1"), "203.0.113.5"},
		{"trusted proxy", req("10.1.2.3:80", "X-Forwarded-For", "198.51.100.1"), "198.51.100.1"},
		{"single trusted address", req("192.0.2.7:80", "X-Forwarded-For", "198.51.100.1"), "198.51.100.1"},
		{"client-supplied entries left of the real one are skipped",
			req("10.1.2.3:80", "X-Forwarded-For", "1.1.1.1, 198.51.100.1"), "198.51.100.1"},
		{"a chain of trusted proxies", req("10.1.2.3:80", "X-Forwarded-For", "198.51.100.1, 10.9.9.9"), "198.51.100.1"},
		{"several header lines", req("10.1.2.3:80", "X-Forwarded-For", "6.6.6.6", "X-Forwarded-For", "198.51.100.1"), "198.51.100.1"},
		{"Forwarded wins over X-Forwarded-For",
			req("10.1.2.3:80", "Forwarded", `for="[2001:db8::1]:4711";proto=https`, "X-Forwarded-For", "6.6.6.6"), "2001:db8::1"},
		{"Forwarded chain", req("10.1.2.3:80", "Forwarded", "for=6.6.6.6, for=198.51.100.1;by=10.1.2.3, for=10.2.2.2"), "198.51.100.1"},
		{"obfuscated hop stops the walk", req("10.1.2.3:80", "Forwarded", "for=6.6.6.6, for=_hidden"), "10.1.2.3"},
		{"garbage stops the walk", req("10.1.2.3:80", "X-Forwarded-For", "6.6.6.6, not-an-ip"), "10.1.2.3"},
		{"trusted proxy without header", req("10.1.2.3:80"), "10.1.2.3"},
		{"IPv6 peer", req("[2001:db8::5]:443"), "2001:db8::5"},
		{"IPv4-mapped trusted proxy", req("[::ffff:10.1.2.3]:80", "X-Forwarded-For", "198.51.100.1"), "198.51.100.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := g.ClientIP(c.r); got.String() != c.want {
				t.Errorf("ClientIP = %s, want %s", got, c.want)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	p, err := ParseTrustedProxies(" 10.0.0.0/8 ,, 192.0.2.7,::1 ")
	if err != nil || len(p) != 3 || p[1].String() != "192.0.2.7/32" || p[2].String() != "::1/128" {
		t.Fatalf("%v %v", p, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestMissBudget(t *testing.T) {
	g := New(Options{Burst: 3, Every: time.Minute, TrustedProxies: mustProxies(t, "10.0.0.1")})
	guesser := func() *http.Request { return req("10.0.0.1:1", "X-Forwarded-For", "198.51.100.1") }
	for i := range 3 {
		if blocked, _ := g.Miss(guesser(), t0); blocked {
			t.Fatalf("blocked after %d misses", i)
		}
	}
	blocked, wait := g.Miss(guesser(), t0)
	if !blocked || wait <= 0 || wait > time.Minute || RetryAfter(wait) == "0" {
		t.Fatalf("after the burst: blocked=%v wait=%s", blocked, wait)
	}
	// Another customer behind the same proxy has a budget of its own.
	if blocked, _ := g.Miss(req("10.0.0.1:1", "X-Forwarded-For", "198.51.100.2"), t0); blocked {
		t.Fatal("a neighbour behind the same proxy was blocked")
	}
	// A guesser cannot escape its budget by forging the header when talking directly.
	direct := New(Options{Burst: 1, Every: time.Minute})
	direct.Miss(req("203.0.113.9:1", "X-Forwarded-For", "1.1.1.1"), t0)
	if blocked, _ := direct.Miss(req("203.0.113.9:2", "X-Forwarded-For", "2.2.2.2"), t0); !blocked {
		t.Fatal("a forged X-Forwarded-For bought a new budget")
	}
	// Nor by walking the addresses of its IPv6 /64.
	v6 := New(Options{Burst: 1, Every: time.Minute})
	v6.Miss(req("[2001:db8:1:2::1]:1"), t0)
	if blocked, _ := v6.Miss(req("[2001:db8:1:2::ffff]:1"), t0); !blocked {
		t.Fatal("another address of the same /64 got a new budget")
	}
	if blocked, _ := v6.Miss(req("[2001:db8:1:3::1]:1"), t0); blocked {
		t.Fatal("another /64 was blocked")
	}
	if blocked, _ := g.Miss(guesser(), t0.Add(time.Minute)); blocked {
		t.Fatal("still blocked after the refill")
	}
}

func TestRetryAfter(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", time.Millisecond: "1", time.Second: "1", 1500 * time.Millisecond: "2", 6 * time.Second: "6"} {
		if got := RetryAfter(d); got != want {
			t.Errorf("RetryAfter(%s) = %s, want %s", d, got, want)
		}
	}
}
