package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"rendezvous/genesys/sandbox"
	"rendezvous/webhook"
)

// hookReceiver is a real HTTP server receiving webhooks: it checks each request's
// signature with the secret the administrator copied from the page, and answers 204 when
// it verifies, 401 when not.
type hookReceiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	secret   string
	verified []string // event types whose signature verified
	refused  int
	// last is the last request: its signature header, body and Basic credentials.
	lastSig, lastUser, lastPass string
	lastBody                    []byte
	got                         chan struct{}
}

func newHookReceiver(t *testing.T) *hookReceiver {
	rc := &hookReceiver{got: make(chan struct{}, 16)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.lastSig, rc.lastBody = r.Header.Get(webhook.SignatureHeader), body
		rc.lastUser, rc.lastPass, _ = r.BasicAuth()
		err := webhook.Verify(r.Header.Get(webhook.SignatureHeader), body, rc.secret, time.Now(), 5*time.Minute)
		if err == nil {
			rc.verified = append(rc.verified, r.Header.Get(webhook.EventTypeHeader))
		} else {
			rc.refused++
		}
		rc.mu.Unlock()
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
		} else {
			w.WriteHeader(http.StatusNoContent)
		}
		rc.got <- struct{}{}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// keyStatus calls GET /api/v1/appointments with key, as an integrator's program does.
func keyStatus(t *testing.T, base, key string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/appointments", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /api/v1/appointments: %v", err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// inputValue reads an input's value.
func inputValue(t *testing.T, tab context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[string](`(document.querySelector(`+jsQuoted(sel)+`) || {value: ""}).value`))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return v
}

func jsQuoted(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// TestAdminIntegrationsBrowser drives Administration / API keys, Webhooks and Audit log
// as an administrator would: a key is created (its secret shown once, and it works
// against the API), then revoked (and refused); a webhook to a real receiver is added
// (a form without events refused, nothing typed lost), a test event is sent, and the
// delivery log shows the receiver's answer, after the receiver verified the signature
// with the secret copied from the page; the audit log, filtered, shows those changes by
// the administrator's name, and its CSV export of the same filter downloads with the
// browser's session.
func TestAdminIntegrationsBrowser(t *testing.T) {
	e := startService(t)
	tab := startChromium(t)
	rc := newHookReceiver(t)
	admin := sandbox.Demo.Supervisor

	e.signIn(t, tab, admin.Name) // the first person: the administrator

	// API keys: create one; the secret is shown once, with a copy button.
	do(t, tab, "open API keys",
		chromedp.Navigate(e.base+"/app/admin"),
		chromedp.Click(chromedp.CSS(`.admin-nav a[href="/app/admin/api-keys"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#key-name`)),
	)
	do(t, tab, "create a key without a name",
		chromedp.Click(chromedp.CSS(`form[action="/app/admin/api-keys"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#e-key-name`)),
	)
	do(t, tab, "create a key",
		chromedp.SendKeys(chromedp.CSS(`#key-name`), "CRM integration"),
		chromedp.Click(chromedp.CSS(`form[action="/app/admin/api-keys"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-secret`)),
	)
	secret := inputValue(t, tab, "#new-secret")
	if !strings.HasPrefix(secret, "rdv_") {
		t.Fatalf("the new key's secret %q", secret)
	}
	if n, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('[data-copy="new-secret"]').length`)); n != 1 {
		t.Errorf("%d copy buttons beside the secret, want 1", n)
	}
	if got := text(t, tab, "#api-keys"); !strings.Contains(got, "CRM integration") || !strings.Contains(got, admin.Name) ||
		!strings.Contains(got, "appointments:read") {
		t.Errorf("keys table %q, want the new key, its scope and its creator", got)
	}
	screenshot(t, tab, "admin-api-keys")
	if status := keyStatus(t, e.base, secret); status != http.StatusOK {
		t.Fatalf("the new key against the API: %d, want 200", status)
	}
	do(t, tab, "reload", chromedp.Navigate(e.base+"/app/admin/api-keys"), chromedp.WaitVisible(chromedp.CSS(`#api-keys`)))
	if html, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(html, secret) {
		t.Error("the key's secret is shown again after a reload")
	}
	// Used once against the API: the list says when, no longer "never".
	used, _ := chromedp.Run(tab, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("#api-keys tbody tr")).filter(function (r) {
		return r.cells[0].innerText.trim() === "CRM integration"; }).map(function (r) { return r.cells[4].innerText.trim(); }).join()`))
	if used == "" || used == "never" {
		t.Errorf("after its first use the key's last use is %q", used)
	}

	// Revoke it, with a confirmation; the API refuses it once the key cache lets go.
	row := `//table[@id="api-keys"]//tr[td[1][normalize-space()="CRM integration"]]`
	do(t, tab, "revoke the key",
		chromedp.Click(chromedp.Search(row+`//summary`)),
		chromedp.WaitVisible(chromedp.Search(row+`//button[@type="submit"]`)),
		chromedp.Click(chromedp.Search(row+`//button[@type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if got := text(t, tab, ".admin-main"); strings.Contains(got, "CRM integration") {
		t.Errorf("the revoked key is still listed: %q", got)
	}
	deadline := time.Now().Add(30 * time.Second) // the API's key cache trusts a key for up to 10 s
	for keyStatus(t, e.base, secret) != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatal("the revoked key still works after 30 s")
		}
		time.Sleep(250 * time.Millisecond)
	}

	// Webhooks: a form without events is refused in plain words, keeping what was typed.
	do(t, tab, "open webhooks",
		chromedp.Click(chromedp.CSS(`.admin-nav a[href="/app/admin/webhooks"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/app/admin/webhooks/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#w-url`)),
		chromedp.SendKeys(chromedp.CSS(`#w-url`), rc.srv.URL+"/events"),
		chromedp.SendKeys(chromedp.CSS(`#w-description`), "Our CRM"),
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('input[name=event]').forEach(function (c) { c.checked = false; })`),
		chromedp.Click(chromedp.CSS(`form.hook-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#e-events`)),
	)
	if got := inputValue(t, tab, "#w-url"); got != rc.srv.URL+"/events" {
		t.Errorf("after a refused save the URL is %q, want what was typed", got)
	}
	if hidden, _ := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector('[data-auth=oauth2]').hidden`)); !hidden {
		t.Error("the OAuth fields are shown while no authentication is chosen")
	}
	screenshot(t, tab, "admin-webhook-form")
	do(t, tab, "add the webhook",
		chromedp.Click(chromedp.CSS(`input[name=event][value="appointment.created"]`)),
		chromedp.Click(chromedp.CSS(`input[name=event][value="appointment.cancelled"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('input[name=event]:checked').length === 2`, chromedp.WithPollingTimeout(5*time.Second)),
		chromedp.Click(chromedp.CSS(`form.hook-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#hook-secret`)),
	)
	hookSecret := inputValue(t, tab, "#hook-secret")
	if !strings.HasPrefix(hookSecret, "whsec_") {
		t.Fatalf("signing secret %q", hookSecret)
	}
	rc.mu.Lock()
	rc.secret = hookSecret // the administrator pastes it into the receiver's configuration
	rc.mu.Unlock()

	// A test event: the receiver verifies it, and the delivery log shows its answer.
	do(t, tab, "send a test event",
		chromedp.Click(chromedp.CSS(`#send-test`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	select {
	case <-rc.got:
	case <-time.After(staffWait):
		t.Fatal("the receiver got no test event")
	}
	rc.mu.Lock()
	verified, refused := append([]string(nil), rc.verified...), rc.refused
	rc.mu.Unlock()
	if len(verified) != 1 || verified[0] != "webhook.test" || refused != 0 {
		t.Fatalf("receiver verified %v and refused %d, want the test event verified", verified, refused)
	}
	hookURL, _ := chromedp.Run(tab, chromedp.Evaluate[string](`location.pathname`))
	deadline = time.Now().Add(staffWait)
	for {
		do(t, tab, "read the delivery log", chromedp.Navigate(e.base+hookURL), chromedp.WaitVisible(chromedp.CSS(`#h-deliveries`)))
		got := text(t, tab, `section[aria-labelledby="h-deliveries"]`)
		if strings.Contains(got, "Delivered") && strings.Contains(got, "204") && strings.Contains(got, "Test event") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery log %q, want the test event delivered with the receiver's 204", got)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if html, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(html, hookSecret) {
		t.Error("the signing secret is shown again on the webhook's page")
	}
	do(t, tab, "open the request body", chromedp.Click(chromedp.CSS(`#deliveries details.body summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#deliveries details.body pre`)))
	if got := text(t, tab, "#deliveries details.body pre"); !strings.Contains(got, `"type": "webhook.test"`) {
		t.Errorf("request body %q, want the test event's JSON", got)
	}
	screenshot(t, tab, "admin-webhooks")

	do(t, tab, "the list of webhooks", chromedp.Navigate(e.base+"/app/admin/webhooks"), chromedp.WaitVisible(chromedp.CSS(`#webhooks`)))
	if got := text(t, tab, "#webhooks"); !strings.Contains(got, rc.srv.URL+"/events") || !strings.Contains(got, "Appointment booked") ||
		!strings.Contains(got, "On") {
		t.Errorf("webhooks list %q, want the address, its events and its state", got)
	}
	screenshot(t, tab, "admin-webhook-list")
	do(t, tab, "back to the webhook", chromedp.Click(chromedp.CSS(`#webhooks a.url`)), chromedp.WaitVisible(chromedp.CSS(`#h-deliveries`)))

	// Change it to Basic authentication, then rotate the signing secret: for 24 hours
	// requests carry signatures with both secrets, and the page says so.
	do(t, tab, "switch to Basic authentication",
		chromedp.Click(chromedp.CSS(`a[href$="/edit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#w-url`)),
		chromedp.Click(chromedp.CSS(`input[name=auth][value=basic]`)),
		chromedp.WaitVisible(chromedp.CSS(`#w-username`)),
		chromedp.SendKeys(chromedp.CSS(`#w-username`), "rendezvous"),
		chromedp.SendKeys(chromedp.CSS(`#w-password`), "s3cret-pass"),
		chromedp.Click(chromedp.CSS(`form.hook-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if got := text(t, tab, "#h-settings + dl"); !strings.Contains(got, "Basic authentication · rendezvous") || strings.Contains(got, "s3cret-pass") {
		t.Errorf("settings after the change %q, want Basic with the user name and no password", got)
	}
	do(t, tab, "rotate the signing secret",
		chromedp.Click(chromedp.CSS(`details:has(form[action$="/rotate"]) > summary`)),
		chromedp.Click(chromedp.CSS(`form[action$="/rotate"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#hook-secret`)),
	)
	newSecret := inputValue(t, tab, "#hook-secret")
	if newSecret == hookSecret || !strings.HasPrefix(newSecret, "whsec_") {
		t.Fatalf("rotated secret %q", newSecret)
	}
	if got := text(t, tab, ".secret-once"); !strings.Contains(got, "24 hours") {
		t.Errorf("rotation notice %q, want it to say both secrets work for 24 hours", got)
	}
	rc.mu.Lock()
	rc.secret = newSecret
	rc.mu.Unlock()
	do(t, tab, "send another test event", chromedp.Click(chromedp.CSS(`#send-test`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	select {
	case <-rc.got:
	case <-time.After(staffWait):
		t.Fatal("the receiver got no second test event")
	}
	rc.mu.Lock()
	sig, body, user, pass, nVerified := rc.lastSig, rc.lastBody, rc.lastUser, rc.lastPass, len(rc.verified)
	rc.mu.Unlock()
	if nVerified != 2 || user != "rendezvous" || pass != "s3cret-pass" {
		t.Errorf("second test event: %d verified, Basic %q/%q", nVerified, user, pass)
	}
	if err := webhook.Verify(sig, body, hookSecret, time.Now(), 5*time.Minute); err != nil {
		t.Errorf("after the rotation the old secret no longer verifies: %v", err)
	}

	// Audit log: the administrator's changes to webhooks, then to keys, by their name.
	do(t, tab, "open the audit log",
		chromedp.Click(chromedp.CSS(`.admin-nav a[href="/app/admin/audit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#audit-filter`)),
		chromedp.SetValue(chromedp.CSS(`select[name=actor]`), "person:"+admin.ID),
		chromedp.SetValue(chromedp.CSS(`select[name=kind]`), "webhook"),
		chromedp.Evaluate[chromedp.Void](`document.body.setAttribute("data-before", "")`), // the page before the filter
		chromedp.Click(chromedp.CSS(`#audit-filter button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`body:not([data-before]) #audit`)),
	)
	got := text(t, tab, "#audit")
	for _, want := range []string{"webhook.created", "webhook.test_sent", admin.Name, "url", rc.srv.URL + "/events"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit log filtered to the administrator's webhook changes lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "api_key.") || strings.Contains(got, hookSecret) {
		t.Errorf("audit log filtered to webhooks shows keys or the secret:\n%s", got)
	}
	screenshot(t, tab, "admin-audit")
	do(t, tab, "filter to keys",
		chromedp.SetValue(chromedp.CSS(`select[name=kind]`), "api_key"),
		chromedp.Evaluate[chromedp.Void](`document.body.setAttribute("data-before", "")`), // the page before the filter
		chromedp.Click(chromedp.CSS(`#audit-filter button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`body:not([data-before]) #audit`)),
	)
	if got := text(t, tab, "#audit"); !strings.Contains(got, "api_key.created") || !strings.Contains(got, "api_key.revoked") ||
		strings.Contains(got, "webhook.") {
		t.Errorf("audit log filtered to keys:\n%s", got)
	}

	// The export link downloads the same selection as CSV with the browser's session.
	csv, err := chromedp.Run(tab, chromedp.Evaluate[string](`fetch(document.getElementById("audit-csv").href).then(function (r) {
		return r.text().then(function (b) { return r.status + " " + r.headers.get("Content-Type") + "\n" + b; }); })`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(csv, "200 text/csv") || !strings.Contains(csv, "id,at,actor_type,actor_id,actor_name,action") ||
		!strings.Contains(csv, "api_key.revoked") || !strings.Contains(csv, admin.Name) || strings.Contains(csv, "webhook.created") {
		t.Errorf("CSV export of the keys filter:\n%s", csv)
	}

	// An appointment's history comes from the same log: booked and moved through the API
	// (by the key), cancelled on its page (by the administrator).
	start := time.Now().UTC().Add(72 * time.Hour).Truncate(time.Hour)
	id := keyCall(t, e.base, e.key, http.MethodPost, "/api/v1/appointments", fmt.Sprintf(`{"start": %q, "durationMinutes": 30,
		"timeZone": "Europe/Athens", "agentUserId": %q, "customers": [{"name": "Eleni Georgiou", "email": "eleni@example.com"}]}`,
		start.Format(time.RFC3339), sandbox.Demo.Agents[0].ID))
	keyCall(t, e.base, e.key, http.MethodPatch, "/api/v1/appointments/"+id, fmt.Sprintf(`{"start": %q}`, start.Add(time.Hour).Format(time.RFC3339)))
	do(t, tab, "cancel the appointment",
		chromedp.Navigate(e.base+"/app/appointments/"+id),
		chromedp.WaitVisible(chromedp.CSS(`#cancel-reason`)),
		chromedp.SendKeys(chromedp.CSS(`#cancel-reason`), "customer moved abroad"),
		chromedp.Click(chromedp.CSS(`form.cancel button`)),
		chromedp.WaitVisible(chromedp.CSS(`.badge.status-cancelled`)),
	)
	history := text(t, tab, ".history")
	for _, want := range []string{"Booked · API key “staff-test”", "Rescheduled · API key “staff-test” · moved from",
		"Cancelled · " + admin.Name + " · customer moved abroad"} {
		if !strings.Contains(history, want) {
			t.Errorf("appointment history lacks %q:\n%s", want, history)
		}
	}
}

// keyCall sends an API request with key and returns the id in its answer.
func keyCall(t *testing.T, base, key, method, path, body string) string {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var out struct {
		ID string `json:"id"`
	}
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 || json.Unmarshal(b, &out) != nil {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return out.ID
}
