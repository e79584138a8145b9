package wiring_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/cmd/internal/wiring"
	"rendezvous/genesys/sandbox"
	"rendezvous/secret"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// These tests drive the whole service as `rendezvous serve` assembles it (wiring.New, the
// built-in sandbox, a real store on SQLite and on PostgreSQL) with input an attacker
// controls: every route of every routes.go, every string of every JSON body, every path
// parameter and query parameter. Whatever arrives, the answer is never a 5xx, nothing
// with a NUL is ever accepted, and nothing is logged as an error.

// hostile are the values put wherever a caller may put a string.
var hostile = []string{
	"\x00",
	"a\x00b",
	"name\r\nBcc: victim@example.com",
	"\x1b[2J\x1b[31mred",
	"del\x7f",
	"next\u0085line",
	"line\u2028separator",
	"bell\a",
	"'; DROP TABLE appointments; --",
	"%00",
	"../../../../etc/passwd",
	"<script>alert(1)</script>",
	"{{.Secret}}",
	"😀\uFFFD",
	strings.Repeat("long", 2000),
	"",
}

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// service is the assembled service on a fresh database, served by httptest.
type service struct {
	t         *testing.T
	url       string
	sandbox   string
	key       string // all scopes
	logs      *syncBuffer
	client    *http.Client
	appt      map[string]any // a booked appointment, as the API shows it
	token     string         // its customer link token
	agentKey  string         // its agent room key
	cancelled string         // another appointment's id, for the cancel route
	ops       http.Handler   // the operations listener's handler
}

func newService(t *testing.T, dialect string, o wiring.Options) *service {
	t.Helper()
	st := storetest.OpenWith(t, dialect, store.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "demo", Name: "Demo"}); err != nil {
		t.Fatal(err)
	}
	_, apiKey, err := st.CreateAPIKey(ctx, "demo", "test", rendezvous.AllScopes())
	if err != nil {
		t.Fatal(err)
	}
	k, err := secret.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	var wg sync.WaitGroup
	o.Store, o.Key, o.Clock = st, k, clock.Real()
	o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if o.PublicURL == "" {
		o.PublicURL = "http://127.0.0.1"
	}
	o.Genesys = wiring.Genesys{SandboxAddr: "127.0.0.1:0"}
	o.RateLimit = rate.Inf
	o.JobWorkers = 1
	svc, err := wiring.New(ctx, &wg, o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler)
	t.Cleanup(func() {
		srv.Close()
		svc.Close()
		cancel()
		wg.Wait()
	})
	s := &service{t: t, url: srv.URL, sandbox: svc.SandboxURL, key: apiKey, logs: logs, ops: svc.OpsHandler,
		client: &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	code, body := s.do("POST", "/api/v1/appointments", s.booking(3), nil)
	if code != 201 {
		t.Fatalf("book: %d %s", code, body)
	}
	json.Unmarshal(body, &s.appt)
	link, _ := s.appt["links"].(map[string]any)["customer"].(string)
	s.token = link[strings.LastIndex(link, "/")+1:]
	code, body = s.do("GET", "/api/v1/appointments/"+s.appt["id"].(string)+"/room", nil, nil)
	var room struct{ AgentLink string }
	json.Unmarshal(body, &room)
	if code != 200 || room.AgentLink == "" {
		t.Fatalf("room: %d %s", code, body)
	}
	s.agentKey = room.AgentLink[strings.LastIndex(room.AgentLink, "/")+1:]
	code, body = s.do("POST", "/api/v1/appointments", s.booking(5), nil)
	if code != 201 {
		t.Fatalf("book: %d %s", code, body)
	}
	var other map[string]any
	json.Unmarshal(body, &other)
	s.cancelled = other["id"].(string)
	return s
}

// booking is a valid appointment body starting h hours from now.
func (s *service) booking(h int) map[string]any {
	return map[string]any{
		"start":           time.Now().Add(time.Duration(h) * time.Hour).UTC().Format(time.RFC3339),
		"durationMinutes": 30,
		"timeZone":        "Europe/Athens",
		"title":           "Mortgage review",
		"notes":           "bring papers",
		"agentUserId":     sandbox.Demo.Agents[0].ID,
		"customers": []any{map[string]any{
			"name": "Maria P.", "phone": "+306912345678", "email": "maria@example.com", "language": "el",
		}},
		"interaction": map[string]any{
			"routing":      map[string]any{"type": "GENESYS_CLOUD_FLOW"},
			"customFields": map[string]any{"crmId": "C-1"},
		},
	}
}

// do sends a request with the all-scopes key; body is JSON unless it is a string or
// url.Values.
func (s *service) do(method, path string, body any, header http.Header) (int, []byte) {
	s.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		j, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatalf("%s %q: %v", method, path, err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %q: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b
}

// route is one pattern of a routes.go.
type route struct {
	method, path string
}

// routes reads every route pattern registered in the repository's routes.go files (the
// sandbox's aside: it is not this service), so a route added later is probed too.
func routes(t *testing.T) []route {
	t.Helper()
	root := filepath.Join("..", "..", "..")
	var files []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "routes.go" && !strings.Contains(filepath.ToSlash(p), "genesys/sandbox") {
			files = append(files, p)
		}
		return nil
	})
	re := regexp.MustCompile(`\.Handle(?:Func)?\("([^"]+)"`)
	var out []route
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			method, path, ok := strings.Cut(m[1], " ")
			if !ok {
				method, path = "GET", m[1]
			}
			out = append(out, route{method, path})
		}
	}
	if len(out) < 20 {
		t.Fatalf("found only %d routes in %v", len(out), files)
	}
	return out
}

var paramRE = regexp.MustCompile(`\{([A-Za-z]+)(\.\.\.)?\}`)

// fill puts a real value in every path parameter of pattern, and hostile in the one
// named target (url-escaped), returning the path. {$} ends a pattern.
func (s *service) fill(pattern, target, hostileValue string) string {
	p := strings.ReplaceAll(pattern, "{$}", "")
	p = paramRE.ReplaceAllStringFunc(p, func(m string) string {
		name := paramRE.FindStringSubmatch(m)[1]
		if name == target {
			return url.PathEscape(hostileValue)
		}
		switch name {
		case "id":
			if strings.Contains(pattern, "/cancel") {
				return s.cancelled
			}
			return s.appt["id"].(string)
		case "token":
			return s.token
		case "key":
			if strings.Contains(pattern, "/agent/") {
				return s.agentKey
			}
			return s.token
		case "channel":
			return "email"
		case "event":
			return "created"
		case "language":
			return "en"
		}
		return "00000000-0000-4000-8000-000000000000"
	})
	if strings.HasSuffix(p, "/") && target == "" && hostileValue != "" {
		p += url.PathEscape(hostileValue) // a prefix pattern: the rest of the path is a parameter
	}
	return p
}

// bodies are valid request bodies per route, whose every string is then made hostile.
// A route with a body and no entry here gets a generic object.
func (s *service) bodies() map[string]any {
	return map[string]any{
		"POST /api/v1/appointments":                                          s.booking(7),
		"PATCH /api/v1/appointments/{id}":                                    map[string]any{"title": "t", "notes": "n", "agentUserId": sandbox.Demo.Agents[0].ID, "timeZone": "Europe/Athens", "customers": s.booking(1)["customers"]},
		"POST /api/v1/appointments/{id}/cancel":                              map[string]any{"reason": "r"},
		"POST /api/v1/settings/api-keys":                                     map[string]any{"name": "n", "scopes": []any{"appointments:read"}},
		"PUT /api/v1/settings/video":                                         map[string]any{"iceServers": []any{map[string]any{"urls": []any{"turn:turn.example.com:3478"}, "username": "u", "credential": "c"}}},
		"PUT /api/v1/settings/notifications/{channel}":                       map[string]any{"clientId": sandbox.Demo.EmailClient.ID, "clientSecret": sandbox.Demo.EmailClient.Secret, "domain": sandbox.Demo.EmailDomain, "senderLocalPart": "no-reply", "senderName": "Bank"},
		"POST /api/v1/settings/notifications/{channel}/verification":         map[string]any{"to": "admin@example.com", "language": "en"},
		"POST /api/v1/settings/notifications/{channel}/verification/confirm": map[string]any{"code": "123456"},
		"PUT /api/v1/settings/templates/{event}/{channel}/{language}":        map[string]any{"subject": "Hi {{.CustomerName}}", "text": "Hello {{.CustomerName}}", "html": "<p>Hello {{.CustomerName}}</p>"},
		"POST /api/v1/settings/templates/preview":                            map[string]any{"event": "created", "channel": "email", "language": "en", "subject": "s", "text": "t", "html": "<p>h</p>"},
		"PUT /api/v1/settings/scheduling": map[string]any{"schedulingChannel": "appointments", "communicationChannel": "genesys-web-messaging",
			"flowDeploymentKey": sandbox.Demo.AgentDeploymentID, "queueDeploymentKey": sandbox.Demo.QueueDeploymentID, "defaultRouting": "GENESYS_CLOUD_FLOW",
			"defaultQueue": sandbox.Demo.PlainQueue.Name, "agentAttribute": "context.auvious.agentUserId", "queueAttribute": "context.auvious.queueName",
			"waitingRoomMedia": map[string]any{"kind": "image", "url": "https://cdn.example.com/a.png"}, "opensEarlyMinutes": 10, "gracePeriodMinutes": 10},
	}
}

// mutations returns copies of v with one string (or object key) replaced by h, each with
// the path of what was replaced.
func mutations(v any, h string) (out []any) {
	switch x := v.(type) {
	case string:
		return []any{h}
	case []any:
		for i := range x {
			for _, m := range mutations(x[i], h) {
				c := slices.Clone(x)
				c[i] = m
				out = append(out, c)
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, m := range mutations(x[k], h) {
				c := make(map[string]any, len(x))
				for kk, vv := range x {
					c[kk] = vv
				}
				c[k] = m
				out = append(out, c)
			}
		}
		// And a hostile key beside the others.
		c := make(map[string]any, len(x)+1)
		for kk, vv := range x {
			c[kk] = vv
		}
		c[h] = "v"
		out = append(out, c)
	}
	return out
}

// check fails the test for a 5xx, and for anything with a NUL that was accepted.
func check(t *testing.T, what string, h string, code int, body []byte) {
	t.Helper()
	if code >= 500 {
		t.Errorf("%s with %q: %d %s", what, trunc(h), code, trunc(string(body)))
	}
	if strings.ContainsRune(h, 0) && code < 400 {
		t.Errorf("%s with %q: accepted (%d) a NUL", what, trunc(h), code)
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// skipValid says whether a route with only real values would hold the connection open (the
// customer's event stream) and so is probed with hostile values only.
func skipValid(r route) bool { return strings.HasSuffix(r.path, "/events") }

func TestHostileInputNever5xx(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			s := newService(t, d, wiring.Options{})
			rs := routes(t)
			bodies := s.bodies()
			var probes int
			for _, r := range rs {
				pattern := r.method + " " + r.path
				// Path parameters: each one hostile in turn, the others real.
				params := paramRE.FindAllStringSubmatch(r.path, -1)
				targets := []string{}
				for _, p := range params {
					targets = append(targets, p[1])
				}
				if strings.HasSuffix(r.path, "/") {
					targets = append(targets, "") // a prefix: hostile rest of the path
				}
				for _, target := range targets {
					for _, h := range hostile {
						if h == "" && target != "" {
							continue // an empty segment is another route, not this one
						}
						path := s.fill(r.path, target, h)
						code, body := s.do(r.method, path, nil, nil)
						probes++
						check(t, fmt.Sprintf("%s (path %s)", pattern, target), h, code, body)
					}
				}
				if skipValid(r) {
					continue
				}
				path := s.fill(r.path, "none", "")
				// Query parameters: the list's own and unknown ones.
				for _, name := range []string{"agentUserId", "status", "cursor", "from", "limit", "lang", "x"} {
					for _, h := range hostile[:8] {
						code, body := s.do(r.method, path+"?"+url.Values{name: {h}}.Encode(), nil, nil)
						probes++
						check(t, pattern+" (query "+name+")", h, code, body)
					}
				}
				code, body := s.do(r.method, path+"?"+url.QueryEscape("a\x00")+"=1", nil, nil)
				check(t, pattern+" (query name)", "a\x00", code, body)
				// Bodies: every string and key of a valid body, one at a time.
				if r.method != "POST" && r.method != "PUT" && r.method != "PATCH" {
					continue
				}
				base, ok := bodies[pattern]
				if !ok {
					base = map[string]any{"name": "n", "value": "v"}
				}
				for _, h := range hostile {
					for _, m := range mutations(base, h) {
						code, body := s.do(r.method, path, m, nil)
						probes++
						check(t, pattern+" (body)", h, code, body)
					}
					form := url.Values{"token": {h}, "slot": {h}, "reason": {h}, "action": {h}}
					code, body := s.do(r.method, path, form, nil)
					probes++
					check(t, pattern+" (form)", h, code, body)
				}
			}
			t.Logf("%d hostile requests on %d routes", probes, len(rs))
			for _, line := range strings.Split(s.logs.String(), "\n") {
				if strings.Contains(line, "level=ERROR") {
					t.Errorf("hostile input wrote an error line: %s", trunc(line))
				}
			}
		})
	}
}
