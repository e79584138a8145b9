package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"rendezvous/clock"
)

// epoch is the fake clock's start in every test.
var epoch = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)

// env is a sandbox behind an httptest server, on a fake clock.
type env struct {
	t     *testing.T
	sb    *Sandbox
	clock *clock.Fake
	srv   *httptest.Server
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	fc := clock.NewFake(epoch)
	if opts.Clock == nil {
		opts.Clock = fc
	}
	sb := New(opts)
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(func() {
		sb.Close()
		srv.Close()
	})
	return &env{t: t, sb: sb, clock: fc, srv: srv}
}

// resp is a decoded HTTP answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic map (raw wire format, no shared structs).
func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

func (e *env) do(method, path, bearer string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			j, err := json.Marshal(b)
			if err != nil {
				e.t.Fatal(err)
			}
			rd = bytes.NewReader(j)
		}
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) resp {
	e.t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// token gets a client-credentials token for a seeded client.
func (e *env) token(c DemoClient) string {
	e.t.Helper()
	r := e.tokenRequest(c.ID, c.Secret, url.Values{"grant_type": {"client_credentials"}})
	if r.status != http.StatusOK {
		e.t.Fatalf("token: %d %s", r.status, r.body)
	}
	return r.json(e.t)["access_token"].(string)
}

func (e *env) tokenRequest(id, secret string, form url.Values) resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	return e.send(req)
}

// wait waits (in real time, briefly) for a sandbox condition that timers running on
// goroutines make true.
func (e *env) wait(what string, cond func() bool) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.sb.WaitFor(ctx, cond); err != nil {
		e.t.Fatalf("waiting for %s: %v", what, err)
	}
}

func (e *env) conversation(id string) Conversation {
	e.t.Helper()
	c, ok := e.sb.Conversation(id)
	if !ok {
		e.t.Fatalf("no conversation %s", id)
	}
	return c
}

func wantStatus(t *testing.T, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
}

// wantError checks a Genesys error body's status and code.
func wantError(t *testing.T, r resp, status int, code string) {
	t.Helper()
	wantStatus(t, r, status)
	m := r.json(t)
	if m["code"] != code || m["status"] != float64(status) {
		t.Fatalf("error code %v status %v, want %s %d; body %s", m["code"], m["status"], code, status, r.body)
	}
}
