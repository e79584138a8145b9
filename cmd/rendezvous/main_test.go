package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/genesys/sandbox"
	"rendezvous/store"
	"rendezvous/store/storetest"
	"rendezvous/web"
	"rendezvous/web/webtest"
)

// lineWatcher is an io.Writer for run's stderr that hands the URL of the "listening on"
// log line to a channel, and keeps everything for failure messages.
type lineWatcher struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	found chan string
	sent  bool
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.sent {
		if i := strings.Index(w.buf.String(), "listening on http://"); i >= 0 {
			rest := w.buf.String()[i+len("listening on "):]
			if j := strings.IndexAny(rest, "\" \n"); j > 0 {
				w.found <- rest[:j]
				w.sent = true
			}
		}
	}
	return len(p), nil
}

// value returns the first log value written as prefix<value>, such as url=http://...
func (w *lineWatcher) value(prefix string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, line := range strings.Split(w.buf.String(), "\n") {
		if !strings.Contains(line, "built-in sandbox") {
			continue
		}
		if i := strings.Index(line, prefix); i >= 0 {
			rest := line[i+len(prefix):]
			if j := strings.IndexAny(rest, "\" "); j > 0 {
				rest = rest[:j]
			}
			return strings.Trim(rest, `"`)
		}
	}
	return ""
}

func (w *lineWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func testEnv(dir string) func(string) string {
	env := map[string]string{
		"RENDEZVOUS_DATA":         dir,
		"RENDEZVOUS_SANDBOX_ADDR": "127.0.0.1:0",
		"RENDEZVOUS_LOG_LEVEL":    "debug",
	}
	return func(k string) string { return env[k] }
}

// TestEndToEnd runs the real binary's run on a free port and a temporary SQLite file, and
// drives the API the way an integrator would, checking every exchange against the
// OpenAPI document.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	getenv := testEnv(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var out bytes.Buffer
	if err := run(ctx, []string{"apikey", "create", "-name", "e2e", "-scopes", "appointments:read,appointments:write,settings:admin"}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("apikey create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, "rdv_") || strings.Contains(key, " ") {
		t.Fatalf("last line of apikey create is %q, want the key alone", key)
	}

	logs := &lineWatcher{found: make(chan string, 1)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0"}, getenv, io.Discard, logs) }()
	var base string
	select {
	case base = <-logs.found:
	case err := <-done:
		t.Fatalf("run returned before listening: %v\n%s", err, logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("no listening line within 20 s:\n%s", logs)
	}
	check := webtest.New(t, web.OpenAPI)
	client := check.Client()
	waitHealthy(t, client, base)

	call := func(method, path, body string, hdr ...string) (int, http.Header, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		b, _ := io.ReadAll(resp.Body)
		if len(b) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "json") {
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("%s %s: bad JSON %v: %s", method, path, err, b)
			}
		}
		return resp.StatusCode, resp.Header, m
	}
	expect := func(what string, got, want int, body map[string]any) {
		t.Helper()
		if got != want {
			t.Fatalf("%s: status %d, want %d: %v", what, got, want, body)
		}
	}
	fieldErr := func(body map[string]any, field string) bool {
		errs, _ := body["errors"].([]any)
		for _, e := range errs {
			if e.(map[string]any)["field"] == field {
				return true
			}
		}
		return false
	}

	start := time.Now().Add(48 * time.Hour).Truncate(time.Hour)
	// Agents are Genesys Cloud users of the organization: here the sandbox's demo agents.
	agent7, agent8 := sandbox.Demo.Agents[0].ID, sandbox.Demo.Agents[1].ID
	book := func(agent string, at time.Time) string {
		return fmt.Sprintf(`{"start": %q, "durationMinutes": 30, "timeZone": "America/New_York", "title": "Claim review",
			"agentUserId": %q, "customers": [{"name": "Sam Lee", "phone": "+14155550188", "email": "sam@example.com"}],
			"interaction": {"routing": {"type": "GENESYS_CLOUD_QUEUE", "properties": {"queueName": %q}}}}`,
			at.UTC().Format(time.RFC3339), agent, sandbox.Demo.PlainQueue.Name)
	}
	// The booking's confirmation is to reach the outbox within this test's patience, not
	// after the default two minutes in which quick changes join it.
	code, _, set := call("PUT", "/api/v1/settings/notifications", `{"coalesceSeconds": 0}`)
	expect("notification settings", code, http.StatusOK, set)

	// 401 without a key.
	req, _ := http.NewRequest("GET", base+"/api/v1/appointments", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no key: status %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	// Book, with an idempotency key, and replay it.
	code, hdr, a := call("POST", "/api/v1/appointments", book(agent7, start), "Idempotency-Key", "e2e-1")
	expect("book", code, http.StatusCreated, a)
	id := a["id"].(string)
	if link := a["links"].(map[string]any)["customer"].(string); !strings.HasPrefix(link, base+"/a/") {
		t.Errorf("links.customer = %q, want %s/a/<token>", link, base)
	}
	code, _, again := call("POST", "/api/v1/appointments", book(agent7, start), "Idempotency-Key", "e2e-1")
	expect("replay", code, http.StatusCreated, again)
	if again["id"] != id {
		t.Errorf("replay created %v, want the first appointment %s", again["id"], id)
	}
	if hdr.Get("ETag") != `"1"` {
		t.Errorf("ETag = %q", hdr.Get("ETag"))
	}

	// Conflicts and refusals.
	code, _, p := call("POST", "/api/v1/appointments", book(agent7, start.Add(15*time.Minute)))
	expect("overlap", code, http.StatusConflict, p)
	code, _, p = call("POST", "/api/v1/appointments", strings.Replace(book(agent7, start), `"+14155550188"`, `"555-0123"`, 1))
	expect("bad phone", code, http.StatusUnprocessableEntity, p)
	if !fieldErr(p, "customers[0].phone") {
		t.Errorf("422 lacks customers[0].phone: %v", p)
	}
	code, _, p = call("POST", "/api/v1/appointments", strings.Replace(book(agent8, start), `"title"`, `"tilte"`, 1))
	expect("unknown field", code, http.StatusBadRequest, p)
	if !fieldErr(p, "tilte") {
		t.Errorf("400 does not name the unknown field: %v", p)
	}
	// The queue is checked against the Genesys Cloud organization: here the sandbox that
	// run started.
	code, _, p = call("POST", "/api/v1/appointments", strings.Replace(book(agent8, start), sandbox.Demo.PlainQueue.Name, "No Such Queue", 1))
	expect("unknown queue", code, http.StatusUnprocessableEntity, p)
	if !fieldErr(p, "interaction.routing.properties.queueName") {
		t.Errorf("422 lacks the queue name: %v", p)
	}
	// So is the agent: the README's placeholder is no Genesys user.
	code, _, p = call("POST", "/api/v1/appointments", book("<Genesys user id of the agent>", start))
	expect("unknown agent", code, http.StatusUnprocessableEntity, p)
	if !fieldErr(p, "agentUserId") {
		t.Errorf("422 lacks agentUserId: %v", p)
	}
	code, _, p = call("GET", "/api/v1/appointments/00000000-0000-0000-0000-000000000000", "")
	expect("missing", code, http.StatusNotFound, p)

	// Read and list.
	code, _, got := call("GET", "/api/v1/appointments/"+id, "")
	expect("get", code, http.StatusOK, got)

	// The booking's confirmation reaches the customer by SMS and email through the
	// built-in Genesys Cloud sandbox, carrying the personal link.
	link := a["links"].(map[string]any)["customer"].(string)
	sandboxURL := logs.value("url=")
	waitOutbox(t, http.DefaultClient, sandboxURL, "+14155550188", "sam@example.com", link)
	code, _, list := call("GET", "/api/v1/appointments?agentUserId="+agent7+"&status=scheduled", "")
	expect("list", code, http.StatusOK, list)
	if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != id {
		t.Errorf("list = %v, want just %s", list, id)
	}

	// Reschedule with If-Match; a stale version is refused.
	later := fmt.Sprintf(`{"start": %q}`, start.Add(2*time.Hour).Format(time.RFC3339))
	code, hdr, r := call("PATCH", "/api/v1/appointments/"+id, later, "If-Match", `"1"`)
	expect("reschedule", code, http.StatusOK, r)
	if r["version"] != 2.0 || hdr.Get("ETag") != `"2"` {
		t.Errorf("after reschedule version %v, ETag %q", r["version"], hdr.Get("ETag"))
	}
	code, _, p = call("PATCH", "/api/v1/appointments/"+id, `{"title": "stale"}`, "If-Match", `"1"`)
	expect("stale", code, http.StatusPreconditionFailed, p)

	// Cancel.
	code, _, c := call("POST", "/api/v1/appointments/"+id+"/cancel", `{"reason": "customer asked"}`, "If-Match", `"2"`)
	expect("cancel", code, http.StatusOK, c)
	if c["status"] != "cancelled" {
		t.Errorf("after cancel status %v", c["status"])
	}

	// Operations endpoints.
	for _, path := range []string{"/", "/readyz", "/metrics", "/api/v1/openapi.json"} {
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d %s", path, resp.StatusCode, b)
		}
		if path == "/" && !strings.Contains(string(b), "/sandbox/") {
			t.Errorf("home page lacks the sandbox console link:\n%s", b)
		}
		if path == "/metrics" && !strings.Contains(string(b), `rendezvous_http_requests_total{route="POST /api/v1/appointments",status="201"} 2`) {
			t.Errorf("/metrics lacks the booking count:\n%s", b)
		}
		if path == "/metrics" && (!strings.Contains(string(b), "rendezvous_job_queue_depth ") || !strings.Contains(string(b), "rendezvous_job_queue_lag_seconds ")) {
			t.Errorf("/metrics lacks the job queue's depth or lag:\n%s", b)
		}
	}

	// No phone number, email or key in the logs.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not stop within 20 s of cancellation")
	}
	for _, secret := range []string{"+14155550188", "sam@example.com", key} {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, secret) {
				t.Errorf("logs contain %q: %s", secret, line)
			}
		}
	}
}

func waitHealthy(t testing.TB, client *http.Client, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not healthy within 10 s: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // polling the server for readiness, not waiting for the future
	}
}

func TestFlagsWinOverEnvironment(t *testing.T) {
	env := map[string]string{"RENDEZVOUS_ADDR": "127.0.0.1:9999", "RENDEZVOUS_DATA": "/from/env", "RENDEZVOUS_RATE_LIMIT": "5"}
	var c config
	fs := newFlags("serve", func(k string) string { return env[k] }, &c)
	if err := fs.parse([]string{"-addr", "127.0.0.1:7000"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:7000" || c.data != "/from/env" || c.rateLimit != 5 || c.logLevel != "info" {
		t.Errorf("config = %+v; want flag addr, env data and rate limit, default log level", c)
	}
	env["RENDEZVOUS_RATE_LIMIT"] = "lots"
	if err := newFlags("serve", func(k string) string { return env[k] }, &c).parse(nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "RENDEZVOUS_RATE_LIMIT") {
		t.Errorf("bad environment value: error %v, want one naming the variable", err)
	}
}

func TestHelpDocumentsEverySetting(t *testing.T) {
	var out bytes.Buffer
	getenv := func(k string) string {
		if k == "RENDEZVOUS_SECRET_KEY" {
			return "c2VjcmV0LWZyb20tdGhlLWVudmlyb25tZW50LTMyYnl0ZXM="
		}
		return ""
	}
	if err := run(context.Background(), []string{"-h"}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("-h: %v", err)
	}
	var c config
	newFlags("serve", getenv, &c).VisitAll(func(f *flag.Flag) {
		if !strings.Contains(out.String(), "-"+f.Name) {
			t.Errorf("help lacks -%s", f.Name)
		}
	})
	for _, want := range []string{"RENDEZVOUS_ADDR", "RENDEZVOUS_DATA", "RENDEZVOUS_DATABASE_URL", "apikey create", "migrate", "sandbox"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if strings.Contains(out.String(), "c2VjcmV0") {
		t.Error("help prints the secret key from the environment")
	}
}

func TestMigrateThenServeReadsExistingDatabase(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"migrate"}, testEnv(dir), &out, io.Discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if !strings.Contains(out.String(), "database migrated") {
		t.Errorf("migrate printed %q", out.String())
	}
	err := run(context.Background(), []string{"apikey", "create", "-name", "k", "-org", "nope"}, testEnv(dir), &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("apikey for a missing org: %v", err)
	}
}

func TestAPIKeyListAndRevoke(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"apikey", "create", "-name", "reporting", "-scopes", "appointments:read"}, testEnv(dir), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	secret := lines[len(lines)-1]

	out.Reset()
	if err := run(ctx, []string{"apikey", "list"}, testEnv(dir), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(rows) != 2 || !strings.HasPrefix(rows[0], "ID") || !strings.Contains(rows[1], "reporting") ||
		!strings.Contains(rows[1], "appointments:read") || strings.Contains(out.String(), secret) {
		t.Fatalf("apikey list printed:\n%s", out.String())
	}
	id := strings.Fields(rows[1])[0]

	out.Reset()
	if err := run(ctx, []string{"apikey", "revoke", "-id", id}, testEnv(dir), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"apikey", "list"}, testEnv(dir), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), id) {
		t.Errorf("revoked key still listed:\n%s", out.String())
	}
	if err := run(ctx, []string{"apikey", "revoke", "-id", id}, testEnv(dir), &out, io.Discard); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("revoking twice: %v", err)
	}
	if err := run(ctx, []string{"apikey", "revoke"}, testEnv(dir), &out, io.Discard); err == nil || !strings.Contains(err.Error(), "-id") {
		t.Errorf("revoke without -id: %v", err)
	}
	if err := run(ctx, []string{"apikey", "rotate"}, testEnv(dir), &out, io.Discard); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("unknown apikey command: %v", err)
	}
}

// waitOutbox polls the sandbox's outbox until an SMS to phone and an email to email, both
// carrying link, have been accepted.
func waitOutbox(t *testing.T, client *http.Client, sandboxURL, phone, email, link string) {
	t.Helper()
	if sandboxURL == "" {
		t.Fatal("no sandbox URL in the logs")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var outbox []map[string]any
		resp, err := client.Get(sandboxURL + "/sandbox/outbox")
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&outbox)
			resp.Body.Close()
		}
		var sms, mail bool
		for _, m := range outbox {
			body := fmt.Sprint(m["text"], m["body"], m["html"])
			if m["to"] == phone && strings.Contains(body, link) {
				sms = true
			}
			if m["to"] == email && strings.Contains(body, link) {
				mail = true
			}
		}
		if sms && mail {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("within 20 s the sandbox outbox did not get both an SMS and an email with the link: %v", outbox)
		}
		time.Sleep(20 * time.Millisecond) // polling another component's state, not waiting for the future
	}
}

func TestHousekeepingPrunesFinishedJobsAfterAMonth(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	st := storetest.OpenWith(t, store.SQLite, store.Options{Clock: clk, Secrets: storetest.NewBox(t)})
	if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "o", Name: "O"}); err != nil {
		t.Fatal(err)
	}
	// A job that finishes now is kept for a month, then pruned on the next round after.
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		return tx.Enqueue(ctx, store.Job{OrgID: "o", Kind: "test.kind"})
	}); err != nil {
		t.Fatal(err)
	}
	jobs, err := st.ClaimJobs(ctx, 1, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v %v", jobs, err)
	}
	if err := st.CompleteJob(ctx, jobs[0]); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		all, err := st.Jobs(ctx, "o", "test.kind")
		if err != nil {
			t.Fatal(err)
		}
		return len(all)
	}

	done := make(chan struct{})
	go func() { housekeep(ctx, st, clk, slog.New(slog.DiscardHandler)); close(done) }()
	waitFor(t, func() bool { return clk.Pending() == 1 })
	if count() != 1 {
		t.Fatal("a job finished just now was pruned")
	}
	for clk.Now().Before(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) {
		clk.Advance(housekeepingEvery)
		waitFor(t, func() bool { return clk.Pending() == 1 })
	}
	if n := count(); n != 0 {
		t.Fatalf("%d finished jobs left after a month", n)
	}
	cancel()
	<-done
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(time.Millisecond) // polling a goroutine's progress, not waiting for the future
	}
}

// TestSandboxCommandServesTheSandbox runs `rendezvous sandbox -addr` through run and
// reaches the sandbox's inspection API and OAuth endpoint on that address.
func TestSandboxCommandServesTheSandbox(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &lineWatcher{found: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"sandbox", "-addr", "127.0.0.1:0"}, func(string) string { return "" }, io.Discard, logs)
	}()
	var base string
	select {
	case base = <-logs.found:
	case err := <-done:
		t.Fatalf("sandbox returned before listening: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("sandbox not listening within 20 s")
	}
	resp, err := http.Get(base + "/sandbox/queues")
	if err != nil {
		t.Fatal(err)
	}
	var queues []map[string]any
	err = json.NewDecoder(resp.Body).Decode(&queues)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || len(queues) < 2 {
		t.Fatalf("GET /sandbox/queues: %d %v %v", resp.StatusCode, queues, err)
	}
	resp, err = http.PostForm(base+"/oauth/token", map[string][]string{"grant_type": {"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("token without client credentials: %d, want 400 or 401", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("sandbox: %v", err)
	}
}
