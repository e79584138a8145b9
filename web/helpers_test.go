package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/retention"
	"rendezvous/store"
	"rendezvous/store/storetest"
	"rendezvous/web"
	"rendezvous/web/webtest"
	"rendezvous/webhook"
)

// now is the fake clock's time in every test: appointments are booked after it.
var now = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

// env is one running server on a fresh database with an API key of the demo org.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	st     *store.Store
	clock  *clock.Fake
	check  *webtest.Checker
	client *http.Client
	key    string
	// webhooks and retention serve the administration API; a test that needs their jobs
	// run starts a runner (runJobs).
	webhooks  *webhook.Service
	retention *retention.Service
}

type envOptions struct {
	dialect   string
	rateLimit rate.Limit
	rateBurst int
	maxBody   int64
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.dialect == "" {
		o.dialect = store.SQLite
	}
	clk := clock.NewFake(now)
	st := storetest.OpenWith(t, o.dialect, store.Options{Clock: clk})
	ctx := context.Background()
	if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "demo", Name: "Demo"}); err != nil {
		t.Fatal(err)
	}
	_, secret, err := st.CreateAPIKey(ctx, "demo", "test", rendezvous.AllScopes())
	if err != nil {
		t.Fatal(err)
	}
	wh := webhook.New(webhook.Options{Store: st, AllowPrivate: true})
	ret := retention.New(st, clk, nil)
	h := web.NewServer(web.Deps{
		Webhooks:     wh,
		Retention:    ret,
		Store:        st,
		Clock:        clk,
		PublicURL:    "https://meet.example.com",
		RateLimit:    o.rateLimit,
		RateBurst:    o.rateBurst,
		MaxBodyBytes: o.maxBody,
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	check := webtest.New(t, web.OpenAPI)
	return &env{t: t, srv: srv, st: st, clock: clk, check: check,
		client: &http.Client{Transport: check.RoundTripper(srv.Client().Transport)}, key: secret, webhooks: wh, retention: ret}
}

// newKey creates another API key in org with scopes.
func (e *env) newKey(org string, scopes ...string) string {
	e.t.Helper()
	ctx := context.Background()
	if err := e.st.EnsureOrg(ctx, rendezvous.Org{ID: org, Name: org}); err != nil {
		e.t.Fatal(err)
	}
	_, secret, err := e.st.CreateAPIKey(ctx, org, "other", scopes)
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// response is a decoded reply.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// do sends a request with the env's key (unless headers set Authorization).
func (e *env) do(method, path string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		rd = bytes.NewReader(webtest.MustJSON(e.t, b))
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+e.key)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// booking returns a valid create body for agent starting h hours after now.
func booking(agent string, h int) map[string]any {
	return map[string]any{
		"start":           now.Add(time.Duration(h) * time.Hour).Format(time.RFC3339),
		"durationMinutes": 30,
		"timeZone":        "Europe/Athens",
		"title":           "Mortgage review",
		"agentUserId":     agent,
		"customers": []any{map[string]any{
			"name": "Maria Papadopoulou", "phone": "+30 691 234 5678", "email": "maria@example.com", "language": "el",
		}},
		"interaction": map[string]any{
			"routing":      map[string]any{"type": "GENESYS_CLOUD_FLOW"},
			"customFields": map[string]any{"crmId": "C-1"},
		},
	}
}

// wantStatus fails the test unless r has status code.
func wantStatus(t *testing.T, r response, code int) {
	t.Helper()
	if r.status != code {
		t.Fatalf("status = %d, want %d\n%s", r.status, code, r.body)
	}
}

// wantProblem checks r is problem details with status code and, if fields are given,
// a per-field error for each.
func wantProblem(t *testing.T, r response, code int, fields ...string) map[string]any {
	t.Helper()
	wantStatus(t, r, code)
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	m := r.json(t)
	if int(m["status"].(float64)) != code {
		t.Errorf("problem status = %v, want %d", m["status"], code)
	}
	got := map[string]string{}
	errs, _ := m["errors"].([]any)
	for _, e := range errs {
		fe := e.(map[string]any)
		got[fe["field"].(string)] = fe["message"].(string)
	}
	for _, f := range fields {
		if got[f] == "" {
			t.Errorf("no error for field %q; errors: %v", f, got)
		}
	}
	return m
}
