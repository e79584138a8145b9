package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/jobs"
	"rendezvous/store"
	"rendezvous/webhook"
)

// runJobs runs the webhook and retention jobs (and the appointment event's webhook
// share) until the test ends.
func (e *env) runJobs() {
	r := jobs.NewRunner(e.st, jobs.RunnerOptions{PollInterval: time.Minute, BaseBackoff: time.Second})
	r.Handle(store.EventJobKind, jobs.All(e.webhooks.HandleAppointmentEvent))
	e.webhooks.Register(r)
	e.retention.Register(r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-time.After(20 * time.Millisecond)
	}
}

func TestWebhookAPI(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.runJobs()
	var mu sync.Mutex
	var got []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Header.Get(webhook.EventTypeHeader)+" "+string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(recv.Close)

	// Refused input names each field.
	res := e.do("POST", "/api/v1/settings/webhooks", map[string]any{"url": "ftp://x", "events": []string{"appointment.exploded"},
		"auth": map[string]any{"type": "basic"}})
	if res.status != 422 {
		t.Fatalf("bad subscription: %d %s", res.status, res.body)
	}
	for _, f := range []string{`"url"`, `"events[0]"`, `"auth.username"`, `"auth.password"`} {
		if !strings.Contains(string(res.body), f) {
			t.Errorf("problem for %s missing: %s", f, res.body)
		}
	}

	res = e.do("POST", "/api/v1/settings/webhooks", map[string]any{"url": recv.URL + "/in", "description": "CRM",
		"events": []string{"appointment.created", "appointment.cancelled"},
		"auth":   map[string]any{"type": "basic", "username": "rdv", "password": "hunter2-long"}})
	if res.status != 201 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	sub := res.json(t)
	id, secret := sub["id"].(string), sub["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || sub["auth"].(map[string]any)["secretHint"] == "" {
		t.Errorf("created %s", res.body)
	}
	res = e.do("GET", "/api/v1/settings/webhooks/"+id, nil)
	if strings.Contains(string(res.body), secret) || strings.Contains(string(res.body), "hunter2-long") {
		t.Errorf("a read shows a secret: %s", res.body)
	}

	// A booking through the API reaches the receiver, signed.
	res = e.do("POST", "/api/v1/appointments", booking("agent-1", 24))
	if res.status != 201 {
		t.Fatalf("book: %d %s", res.status, res.body)
	}
	apptID := res.json(t)["id"].(string)
	eventually(t, "the created event", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 })

	// The test event, then the log shows both with their request bodies.
	res = e.do("POST", "/api/v1/settings/webhooks/"+id+"/test", nil)
	if res.status != 202 {
		t.Fatalf("test event: %d %s", res.status, res.body)
	}
	eventually(t, "the test event", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 })
	var log map[string]any
	eventually(t, "the log to show both delivered", func() bool {
		log = e.do("GET", "/api/v1/settings/webhooks/"+id+"/deliveries?limit=10", nil).json(t)
		items := log["items"].([]any)
		return len(items) == 2 && items[0].(map[string]any)["state"] == "delivered" && items[1].(map[string]any)["state"] == "delivered"
	})
	items := log["items"].([]any)
	if items[0].(map[string]any)["event"] != "webhook.test" || items[1].(map[string]any)["appointmentId"] != apptID ||
		items[1].(map[string]any)["lastStatus"] != float64(200) {
		t.Errorf("log %v", log)
	}
	first := items[1].(map[string]any)
	res = e.do("POST", fmt.Sprintf("/api/v1/settings/webhooks/%s/deliveries/%v/redeliver", id, first["id"]), nil)
	if res.status != 202 || res.json(t)["eventId"] != first["eventId"] {
		t.Fatalf("redeliver: %d %s", res.status, res.body)
	}
	eventually(t, "the resend", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 3 })

	res = e.do("POST", "/api/v1/settings/webhooks/"+id+"/rotate-secret", nil)
	if res.status != 200 || res.json(t)["secret"] == secret || res.json(t)["previousSecretValidUntil"] == nil {
		t.Errorf("rotate: %d %s", res.status, res.body)
	}
	res = e.do("PATCH", "/api/v1/settings/webhooks/"+id, map[string]any{"enabled": false})
	if res.status != 200 || res.json(t)["state"] != "disabled" {
		t.Errorf("disable: %d %s", res.status, res.body)
	}
	if res := e.do("GET", "/api/v1/settings/webhooks", nil); res.status != 200 || len(res.json(t)["items"].([]any)) != 1 {
		t.Errorf("list: %d %s", res.status, res.body)
	}

	// The audit log holds each step, by this API key, filterable, and as CSV.
	res = e.do("GET", "/api/v1/settings/audit?targetType=webhook&actorType=api_key", nil)
	if res.status != 200 {
		t.Fatalf("audit: %d %s", res.status, res.body)
	}
	var actions []string
	for _, it := range res.json(t)["items"].([]any) {
		actions = append(actions, it.(map[string]any)["action"].(string))
	}
	want := "webhook.disabled,webhook.secret_rotated,webhook.redelivered,webhook.test_sent,webhook.created"
	if strings.Join(actions, ",") != want {
		t.Errorf("audit actions %v, want %s", actions, want)
	}
	res = e.do("GET", "/api/v1/settings/audit?targetId="+apptID, nil)
	items = res.json(t)["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["action"] != "appointment.created" ||
		items[0].(map[string]any)["actor"].(map[string]any)["name"] != "test" {
		t.Errorf("appointment history %s", res.body)
	}
	res = e.do("GET", "/api/v1/settings/audit.csv?action=webhook.", nil)
	if res.status != 200 || !strings.HasPrefix(res.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", res.status, res.body)
	}
	rows, err := csv.NewReader(strings.NewReader(string(res.body))).ReadAll()
	if err != nil || len(rows) != 6 || rows[0][5] != "action" || rows[1][5] != "webhook.disabled" {
		t.Errorf("csv rows %v: %v", rows, err)
	}
	if strings.Contains(string(res.body), "hunter2") {
		t.Error("the export holds a secret")
	}
	if res := e.do("GET", "/api/v1/settings/audit?actorType=robot&from=yesterday", nil); res.status != 422 ||
		!strings.Contains(string(res.body), `"actorType"`) || !strings.Contains(string(res.body), `"from"`) {
		t.Errorf("bad filter: %d %s", res.status, res.body)
	}

	if res := e.do("DELETE", "/api/v1/settings/webhooks/"+id, nil); res.status != 204 {
		t.Errorf("delete: %d", res.status)
	}
	if res := e.do("GET", "/api/v1/settings/webhooks/"+id+"/deliveries", nil); res.status != 404 {
		t.Errorf("deliveries of a deleted webhook: %d", res.status)
	}
	// Another organization's key sees none of it.
	other := e.newKey("other", rendezvous.ScopeSettingsAdmin)
	if res := e.do("GET", "/api/v1/settings/audit", nil, "Authorization", "Bearer "+other); len(res.json(t)["items"].([]any)) != 1 {
		t.Errorf("other org's audit: %s", res.body) // only its own key's creation
	}
}

func TestRetentionAPI(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.runJobs()
	if res := e.do("PUT", "/api/v1/settings/data-retention", map[string]any{"retentionDays": -1}); res.status != 422 {
		t.Errorf("negative days: %d %s", res.status, res.body)
	}
	if res := e.do("PUT", "/api/v1/settings/data-retention", map[string]any{"retentionDays": 90}); res.status != 200 {
		t.Fatalf("set: %d %s", res.status, res.body)
	}
	if res := e.do("GET", "/api/v1/settings/data-retention", nil); res.json(t)["retentionDays"] != float64(90) {
		t.Errorf("get: %s", res.body)
	}
	res := e.do("POST", "/api/v1/appointments", booking("agent-1", 24))
	if res.status != 201 {
		t.Fatalf("book: %d %s", res.status, res.body)
	}
	apptID := res.json(t)["id"].(string)
	if res := e.do("POST", "/api/v1/settings/data-retention/erasures", map[string]any{"phone": "12"}); res.status != 422 {
		t.Errorf("bad phone: %d %s", res.status, res.body)
	}
	res = e.do("POST", "/api/v1/settings/data-retention/erasures", map[string]any{"email": "maria@example.com"})
	if res.status != 202 {
		t.Fatalf("erasure: %d %s", res.status, res.body)
	}
	loc := res.header.Get("Location")
	eventually(t, "the erasure to be done", func() bool { return e.do("GET", loc, nil).json(t)["state"] == "done" })
	if n := e.do("GET", loc, nil).json(t)["appointments"]; n != float64(1) {
		t.Errorf("erased %v appointments", n)
	}
	a := e.do("GET", "/api/v1/appointments/"+apptID, nil)
	if strings.Contains(string(a.body), "maria@example.com") || a.json(t)["status"] != "scheduled" {
		t.Errorf("after erasure: %s", a.body)
	}
}
