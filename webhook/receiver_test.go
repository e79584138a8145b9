package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/store"
	"rendezvous/webhook"
)

// readmeVerify is the receiver's check from the README, as written there (with the time
// passed in, for the fake clock): this test keeps the README's example true.
func readmeVerify(header string, body []byte, secret string, now time.Time) bool {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false // missing, or too old: a replay
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range sigs {
		if got, err := hex.DecodeString(s); err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

func TestREADMEReceiverVerifies(t *testing.T) {
	e := start(t, store.SQLite, webhook.Options{AllowPrivate: true})
	rc := newReceiver(t)
	w := subscribe(t, e, rc.srv.URL, nil)
	e.book(t, "agent-1", t0.Add(24*time.Hour))
	waitFor(t, e.fc, 0, "the event", func() bool { return len(rc.received()) == 1 })
	got := rc.received()[0]
	if !readmeVerify(got.sig, got.body, w.Secret, e.fc.Now()) {
		t.Errorf("the README's receiver refuses a real delivery: %s", got.sig)
	}
	if readmeVerify(got.sig, got.body, "whsec_wrong", e.fc.Now()) || readmeVerify(got.sig, []byte("{}"), w.Secret, e.fc.Now()) {
		t.Error("the README's receiver accepts a wrong secret or body")
	}
}

// OAuth 2.0 client credentials: a token is fetched from the receiver's token URL once,
// sent as a Bearer token, and fetched again after the receiver refuses it.
func TestOAuth2ClientCredentials(t *testing.T) {
	e := start(t, store.SQLite, webhook.Options{AllowPrivate: true})
	var mu sync.Mutex
	tokens := 0
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		b, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(b))
		if !ok || user != "client-1" || pass != "client-secret" || form.Get("grant_type") != "client_credentials" || form.Get("scope") != "events:write" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		mu.Lock()
		tokens++
		n := tokens
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"tok-`+strconv.Itoa(n)+`","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(tokenSrv.Close)
	rc := newReceiver(t)
	// The receiver refuses the first token, as if it had been revoked.
	rc.fail = func(n int) (int, string) {
		if n == 2 {
			return http.StatusUnauthorized, ""
		}
		return 0, ""
	}
	subscribe(t, e, rc.srv.URL, &webhook.AuthInput{Type: webhook.AuthOAuth2, TokenURL: tokenSrv.URL, ClientID: "client-1",
		ClientSecret: "client-secret", Scope: "events:write"})
	a := e.book(t, "agent-1", t0.Add(24*time.Hour))
	waitFor(t, e.fc, 0, "the first event", func() bool { return len(rc.received()) == 1 })
	e.cancel(t, a.ID)
	waitFor(t, e.fc, time.Second, "the second event", func() bool { return len(rc.received()) == 2 })
	got := rc.received()
	if got[0].auth != "Bearer tok-1" || got[1].auth != "Bearer tok-2" || got[1].typ != rendezvous.EventAppointmentCancelled {
		t.Errorf("authorizations %q, %q", got[0].auth, got[1].auth)
	}
}

// A receiver down for longer than PauseAfter gets its subscription paused (audited);
// switched on again, it gets what waited, in order.
func TestFailingForLongPausesThenResumes(t *testing.T) {
	e := start(t, store.SQLite, webhook.Options{AllowPrivate: true, PauseAfter: time.Hour})
	rc := newReceiver(t)
	var mu sync.Mutex
	down := true
	rc.fail = func(int) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return http.StatusInternalServerError, ""
		}
		return 0, ""
	}
	w := subscribe(t, e, rc.srv.URL, nil)
	a := e.book(t, "agent-1", t0.Add(24*time.Hour))
	waitFor(t, e.fc, time.Minute, "the pause", func() bool {
		s, err := e.st.Webhook(e.ctx, "org-a", w.ID)
		return err == nil && s.State == store.WebhookPaused
	})
	s, _ := e.st.Webhook(e.ctx, "org-a", w.ID)
	if !strings.Contains(s.PausedReason, "500") {
		t.Errorf("reason %q", s.PausedReason)
	}
	es, _, err := e.st.AuditLog(e.ctx, "org-a", store.AuditFilter{Action: "webhook.paused"})
	if err != nil || len(es) != 1 || es[0].Actor.Kind != rendezvous.ActorSystem {
		t.Errorf("pause audit %+v %v", es, err)
	}
	// Events keep queueing while paused.
	e.cancel(t, a.ID)
	mu.Lock()
	down = false
	mu.Unlock()
	on := true
	if _, err := e.svc.Update(e.ctx, "org-a", w.ID, webhook.Input{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, e.fc, time.Second, "both events", func() bool { return len(rc.received()) == 2 })
	got := rc.received()
	if got[0].typ != rendezvous.EventAppointmentCreated || got[1].typ != rendezvous.EventAppointmentCancelled {
		t.Errorf("after resuming: %s, %s", got[0].typ, got[1].typ)
	}
}
