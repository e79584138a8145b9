package wiring_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"rendezvous/cmd/internal/wiring"
	"rendezvous/genesys/sandbox"
	"rendezvous/store"
)

// get sends a GET with headers (name, value pairs) and no API key.
func (s *service) get(path string, headers ...string) (*http.Response, string) {
	s.t.Helper()
	req, err := http.NewRequest("GET", s.url+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Host") {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// Behind a trusted proxy, one client guessing links slows only itself, on every route that
// takes a link token, and never stops a valid link (its own or anyone else's).
func TestLinkGuessingSlowsOnlyTheGuesserOnEveryLinkRoute(t *testing.T) {
	proxy := netip.MustParsePrefix("127.0.0.1/32") // the test client is the proxy
	s := newService(t, store.SQLite, wiring.Options{TrustedProxies: []netip.Prefix{proxy}})
	guesser := []string{"X-Forwarded-For", "198.51.100.66"}
	customer := []string{"X-Forwarded-For", "203.0.113.10"}
	unknown := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	agentForged := s.agentKey[:len(s.agentKey)-4] + "AAAA"
	// Each route that takes a link token, with a miss on it; the budget is shared, so
	// walking them in turn buys nothing.
	misses := []string{
		"/a/" + unknown, "/a/" + unknown + "/calendar.ics", "/a/" + unknown + "/cancel",
		"/room/customer/" + unknown, "/room/customer/" + unknown + "/ws",
		"/room/agent/" + agentForged, "/room/agent/" + agentForged + "/ws",
		"/a/short", "/room/customer/x",
	}
	var limited int
	for i := 0; i < 40; i++ {
		resp, _ := s.get(misses[i%len(misses)], guesser...)
		switch resp.StatusCode {
		case 404:
		case 429:
			limited++
			if resp.Header.Get("Retry-After") == "" {
				t.Errorf("%s: 429 without Retry-After", misses[i%len(misses)])
			}
		default:
			t.Fatalf("%s: %d", misses[i%len(misses)], resp.StatusCode)
		}
	}
	if limited < 15 {
		t.Fatalf("only %d of 40 guesses were slowed", limited)
	}
	for _, m := range misses {
		if resp, _ := s.get(m, guesser...); resp.StatusCode != 429 {
			t.Errorf("guesser on %s after the burst: %d, want 429", m, resp.StatusCode)
		}
	}
	// Valid links: served to another client behind the same proxy, and to the guesser too.
	valid := []string{"/a/" + s.token, "/a/" + s.token + "/calendar.ics", "/a/" + s.token + "/cancel"}
	for _, who := range [][]string{customer, guesser, nil} {
		for _, v := range valid {
			if resp, _ := s.get(v, who...); resp.StatusCode != 200 {
				t.Errorf("valid %s from %v: %d", v, who, resp.StatusCode)
			}
		}
		// The rooms are not open yet (409), which is an answer about this link, not a refusal.
		for _, v := range []string{"/room/customer/" + s.token, "/room/agent/" + s.agentKey} {
			if resp, _ := s.get(v, who...); resp.StatusCode != 409 {
				t.Errorf("valid %s from %v: %d, want 409 (not open yet)", v, who, resp.StatusCode)
			}
		}
	}
	// Another client's misses are still plain 404s.
	if resp, _ := s.get("/a/"+unknown, customer...); resp.StatusCode != 404 {
		t.Errorf("a neighbour's first miss: %d", resp.StatusCode)
	}
}

// Without trusted proxies, a forged X-Forwarded-For does not buy a fresh budget.
func TestForwardedHeaderOfUntrustedPeerIsIgnored(t *testing.T) {
	s := newService(t, store.SQLite, wiring.Options{})
	var limited bool
	for i := range 30 {
		resp, _ := s.get("/a/short", "X-Forwarded-For", "192.0.2."+string(rune('0'+i%10)))
		limited = limited || resp.StatusCode == 429
	}
	if !limited {
		t.Fatal("rotating X-Forwarded-For escaped the limit from an untrusted peer")
	}
}

// cspDirectives parses a Content-Security-Policy.
func cspDirectives(p string) map[string]string {
	out := map[string]string{}
	for _, d := range strings.Split(p, ";") {
		d = strings.TrimSpace(d)
		name, val, _ := strings.Cut(d, " ")
		if name != "" {
			out[name] = val
		}
	}
	return out
}

// Every HTML page carries a policy that runs only this origin's scripts and is framed by
// nobody, except the agent's room, which only Genesys Cloud (here the sandbox) may frame.
// JSON, problems and the .ics are never sniffed.
func TestEveryPageHasAStrictPolicy(t *testing.T) {
	s := newService(t, store.SQLite, wiring.Options{})
	pages := map[string]string{
		"home":                 "/",
		"customer page":        "/a/" + s.token,
		"unknown link":         "/a/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"cancel page":          "/a/" + s.token + "/cancel",
		"reschedule page":      "/a/" + s.token + "/reschedule",
		"customer room":        "/room/customer/" + s.token,
		"customer room (none)": "/room/customer/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"agent room":           "/room/agent/" + s.agentKey,
		"API 404 page":         "/nowhere",
	}
	for name, path := range pages {
		resp, body := s.get(path)
		ct := resp.Header.Get("Content-Type")
		if !strings.HasPrefix(ct, "text/html") {
			if name != "API 404 page" {
				t.Errorf("%s: Content-Type %q", name, ct)
			}
			continue
		}
		csp := cspDirectives(resp.Header.Get("Content-Security-Policy"))
		if csp["script-src"] != "'self'" && !(csp["script-src"] == "" && csp["default-src"] == "'self'") {
			t.Errorf("%s: script-src %q (%d bytes of HTML)", name, csp["script-src"], len(body))
		}
		if csp["object-src"] != "'none'" && csp["default-src"] != "'none'" {
			t.Errorf("%s: plug-ins not refused: %v", name, csp)
		}
		if csp["base-uri"] != "'none'" {
			t.Errorf("%s: base-uri %q", name, csp["base-uri"])
		}
		want := "'none'"
		if name == "agent room" {
			want = s.sandbox
		}
		if csp["frame-ancestors"] != want {
			t.Errorf("%s: frame-ancestors %q, want %q", name, csp["frame-ancestors"], want)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", name)
		}
	}
	for _, path := range []string{"/a/" + s.token + "/calendar.ics", "/api/v1/openapi.json", "/api/v1/appointments", "/healthz", "/metrics"} {
		if resp, _ := s.get(path); resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s (%d, %s): no nosniff", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}

// The service and the sandbox answer only for their own names (and IP literals), so a
// page whose name was rebound to 127.0.0.1 reads nothing; the sandbox console's forms
// refuse cross-site posts.
func TestHostChecksAgainstDNSRebinding(t *testing.T) {
	s := newService(t, store.SQLite, wiring.Options{PublicURL: "https://meet.example.com", AllowedHosts: []string{"rdv.internal"}})
	for host, want := range map[string]int{"meet.example.com": 200, "rdv.internal:8080": 200, "127.0.0.1": 200, "attacker.example": 421} {
		for _, path := range []string{"/healthz", "/metrics", "/api/v1/openapi.json"} {
			if resp, _ := s.get(path, "Host", host); resp.StatusCode != want {
				t.Errorf("service %s Host %s: %d, want %d", path, host, resp.StatusCode, want)
			}
		}
	}
	sb := httptest.NewServer(wiring.SandboxHandler(sandbox.New(sandbox.Options{}), "127.0.0.1:8090"))
	defer sb.Close()
	for host, want := range map[string]int{"127.0.0.1:8090": 200, "localhost:8090": 200, "rebind.attacker.example:8090": 421} {
		for _, path := range []string{"/sandbox/outbox", "/sandbox/oauth-clients"} {
			req, _ := http.NewRequest("GET", sb.URL+path, nil)
			req.Host = host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("sandbox %s Host %s: %d, want %d", path, host, resp.StatusCode, want)
			}
		}
	}
}

// TestSandboxConsoleRefusesForgedCrossSitePost forges the Sec-Fetch-Site header a browser
// sends with a form posted from another site (and from the console itself): the
// sandbox's console refuses the first and accepts the second.
func TestSandboxConsoleRefusesForgedCrossSitePost(t *testing.T) {
	sb := httptest.NewServer(wiring.SandboxHandler(sandbox.New(sandbox.Options{}), "127.0.0.1:8090"))
	defer sb.Close()
	for _, site := range []string{"cross-site", "same-origin"} {
		req, _ := http.NewRequest("POST", sb.URL+"/sandbox/sockets/drop", nil)
		req.Header.Set("Sec-Fetch-Site", site)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if refused := resp.StatusCode == http.StatusForbidden; refused != (site == "cross-site") {
			t.Errorf("console post %s: %d", site, resp.StatusCode)
		}
	}
}

// With an operations listener, /metrics is served there and not to customers.
func TestOperationsListenerTakesMetrics(t *testing.T) {
	s := newService(t, store.SQLite, wiring.Options{SeparateOps: true})
	if resp, _ := s.get("/metrics"); resp.StatusCode != 404 {
		t.Errorf("/metrics on the public listener: %d", resp.StatusCode)
	}
	if resp, _ := s.get("/healthz"); resp.StatusCode != 200 {
		t.Errorf("/healthz on the public listener: %d", resp.StatusCode)
	}
	ops := httptest.NewServer(s.ops)
	defer ops.Close()
	for path, want := range map[string]string{"/metrics": "rendezvous_http_requests_total", "/healthz": "ok", "/readyz": "ready"} {
		resp, err := http.Get(ops.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("ops %s: %d %.100s", path, resp.StatusCode, b)
		}
	}
	// The operations listener answers only its own names too.
	req, _ := http.NewRequest("GET", ops.URL+"/metrics", nil)
	req.Host = "attacker.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("ops with a foreign Host: %d", resp.StatusCode)
	}
}
