package genesys_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/genesys"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fakeGenesys is a tiny login + API host for unit tests of the client's HTTP behaviour;
// the sandbox tests cover the real endpoints.
type fakeGenesys struct {
	mu     sync.Mutex
	tokens int // tokens issued
	valid  map[string]bool
	api    http.HandlerFunc // answers /api/v2/...
}

func newFake(t *testing.T, api http.HandlerFunc) (*fakeGenesys, *httptest.Server) {
	f := &fakeGenesys{valid: map[string]bool{}, api: api}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/token" {
			id, secret, ok := r.BasicAuth()
			if !ok || id != "id" || secret != "secret" || r.FormValue("grant_type") != "client_credentials" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"error":"invalid_client","error_description":"client not found"}`)
				return
			}
			f.mu.Lock()
			f.tokens++
			tok := fmt.Sprintf("tok-%d", f.tokens)
			f.valid[tok] = true
			f.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":3600}`, tok)
			return
		}
		f.mu.Lock()
		ok := f.valid[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		f.mu.Unlock()
		if !ok {
			w.Header().Set("Inin-Correlation-Id", "corr-401")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message":"token expired","code":"authentication.required","status":401}`)
			return
		}
		f.api(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeGenesys) revokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.valid)
}

func (f *fakeGenesys) issued() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokens
}

func newClient(srv *httptest.Server, clk clock.Clock, mod func(*genesys.Config)) *genesys.Client {
	cfg := genesys.Config{
		Endpoints:    genesys.Endpoints{API: srv.URL, Login: srv.URL},
		ClientID:     "id",
		ClientSecret: "secret",
		HTTPClient:   srv.Client(),
		Clock:        clk,
		BaseBackoff:  time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	return genesys.New(cfg)
}

// advanceWhenWaiting moves clk by d as soon as someone waits on it, n times.
func advanceWhenWaiting(t *testing.T, clk *clock.Fake, n int, d time.Duration) {
	t.Helper()
	for range n {
		waitFor(t, func() bool { return clk.Pending() > 0 })
		clk.Advance(d)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond) // polling a condition, not waiting for the future
	}
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Inin-Correlation-Id", fmt.Sprintf("corr-%d", status))
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"message":%q,"code":%q,"status":%d}`, msg, code, status)
}

func smsOK(w http.ResponseWriter, r *http.Request) {
	var req map[string]any
	json.NewDecoder(r.Body).Decode(&req)
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, `{"id":"m1","conversationId":"c1","toAddress":%q,"messengerType":"sms"}`, req["toAddress"])
}

var sms = genesys.SMSRequest{FromAddress: "+15550100100", ToAddress: "+15550123456", TextBody: "Your appointment"}

func TestTokenIsCachedAndRenewedBeforeExpiry(t *testing.T) {
	clk := clock.NewFake(t0)
	f, srv := newFake(t, smsOK)
	c := newClient(srv, clk, nil)
	ctx := context.Background()
	for range 3 {
		if _, err := c.SendSMS(ctx, sms); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.issued(); got != 1 {
		t.Fatalf("tokens issued = %d, want 1 (cached)", got)
	}
	// A 3600 s token is renewed 5 minutes before it lapses, not after.
	clk.Advance(3600*time.Second - 5*time.Minute)
	if _, err := c.SendSMS(ctx, sms); err != nil {
		t.Fatal(err)
	}
	if got := f.issued(); got != 2 {
		t.Fatalf("tokens issued = %d, want 2 (renewed before expiry)", got)
	}
}

func TestRejectedTokenIsRenewedOnce(t *testing.T) {
	f, srv := newFake(t, smsOK)
	c := newClient(srv, clock.NewFake(t0), nil)
	ctx := context.Background()
	if _, err := c.SendSMS(ctx, sms); err != nil {
		t.Fatal(err)
	}
	f.revokeAll()
	res, err := c.SendSMS(ctx, sms)
	if err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if res.ConversationID != "c1" || f.issued() != 2 {
		t.Fatalf("got %+v with %d tokens, want c1 with 2", res, f.issued())
	}
}

func TestRepeated401IsPermanent(t *testing.T) {
	_, srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusUnauthorized, "authentication.required", "no")
	})
	c := newClient(srv, clock.NewFake(t0), nil)
	_, err := c.User(context.Background(), "u1")
	var ae *genesys.APIError
	if !errors.As(err, &ae) || ae.Status != 401 || !errors.Is(err, rendezvous.ErrUnauthenticated) {
		t.Fatalf("err = %v, want 401 APIError", err)
	}
	if k, _ := genesys.Classify(err); k != genesys.KindPermanent {
		t.Fatalf("kind = %v, want permanent", k)
	}
}

func TestInvalidClientIsTypedAndPermanent(t *testing.T) {
	_, srv := newFake(t, smsOK)
	c := newClient(srv, clock.NewFake(t0), func(c *genesys.Config) { c.ClientSecret = "wrong" })
	_, err := c.SendSMS(context.Background(), sms)
	var oe *genesys.OAuthError
	if !errors.As(err, &oe) || !oe.InvalidClient() || oe.Status != 401 {
		t.Fatalf("err = %v, want invalid_client OAuthError", err)
	}
	if k, _ := genesys.Classify(err); k != genesys.KindPermanent {
		t.Fatalf("kind = %v, want permanent", k)
	}
	chk, err := c.CheckCredentials(context.Background())
	if err == nil || chk.Valid {
		t.Fatalf("CheckCredentials = %+v, %v; want invalid", chk, err)
	}
}

func TestForbiddenCarriesBodyAndCorrelationAndIsNotRetried(t *testing.T) {
	_, srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusForbidden, "missing.permissions", "Missing conversation:message:create")
	})
	c := newClient(srv, clock.NewFake(t0), nil)
	_, err := c.SendSMS(context.Background(), sms)
	var ae *genesys.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want APIError", err)
	}
	if ae.Status != 403 || ae.CorrelationID != "corr-403" || ae.Body.Code != "missing.permissions" || !errors.Is(err, rendezvous.ErrForbidden) {
		t.Fatalf("APIError = %+v", ae)
	}
	if !strings.Contains(err.Error(), "corr-403") || !strings.Contains(err.Error(), "Missing conversation:message:create") {
		t.Fatalf("Error() = %q lacks correlation id or message", err.Error())
	}
}

func TestTooManyRequestsWaitsRetryAfterThenSucceeds(t *testing.T) {
	clk := clock.NewFake(t0)
	var n atomic.Int32
	_, srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "7")
			writeErr(w, http.StatusTooManyRequests, "too.many.requests", "slow down")
			return
		}
		smsOK(w, r)
	})
	c := newClient(srv, clk, nil)
	done := make(chan error, 1)
	go func() { _, err := c.SendSMS(context.Background(), sms); done <- err }()
	waitFor(t, func() bool { return clk.Pending() > 0 })
	clk.Advance(6 * time.Second)
	if n.Load() != 1 {
		t.Fatalf("retried before Retry-After elapsed")
	}
	clk.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n.Load() != 2 {
		t.Fatalf("requests = %d, want 2", n.Load())
	}
}

func TestLongRetryAfterIsReturnedToCaller(t *testing.T) {
	_, srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		writeErr(w, http.StatusTooManyRequests, "too.many.requests", "slow down")
	})
	c := newClient(srv, clock.NewFake(t0), nil)
	_, err := c.SendSMS(context.Background(), sms)
	kind, after := genesys.Classify(err)
	if kind != genesys.KindRetryAfter || after != 120*time.Second {
		t.Fatalf("Classify = %v %v, want retry_after 2m", kind, after)
	}
}

func TestServerErrorsAreRetriedForReadsOnly(t *testing.T) {
	clk := clock.NewFake(t0)
	var n atomic.Int32
	_, srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			writeErr(w, http.StatusServiceUnavailable, "service.unavailable", "busy")
			return
		}
		fmt.Fprint(w, `{"id":"u1","name":"Alice"}`)
	})
	c := newClient(srv, clk, nil)
	done := make(chan error, 1)
	go func() { _, err := c.User(context.Background(), "u1"); done <- err }()
	advanceWhenWaiting(t, clk, 2, time.Minute)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n.Load() != 3 {
		t.Fatalf("requests = %d, want 3", n.Load())
	}

	// The same 503 on an SMS is ambiguous: the message may have been accepted.
	n.Store(0)
	_, err := c.SendSMS(context.Background(), sms)
	if kind, _ := genesys.Classify(err); kind != genesys.KindAmbiguous || n.Load() != 1 {
		t.Fatalf("SMS after 503: kind %v after %d requests, want ambiguous after 1", kind, n.Load())
	}
}

func TestNotImplementedIsNotRetried(t *testing.T) {
	_, srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotImplemented, "not.implemented", "no")
	})
	c := newClient(srv, clock.NewFake(t0), nil)
	_, err := c.User(context.Background(), "u1")
	if kind, _ := genesys.Classify(err); kind != genesys.KindPermanent {
		t.Fatalf("kind = %v, want permanent", kind)
	}
}

func TestSendIsRetriedWhenConnectionWasRefused(t *testing.T) {
	clk := clock.NewFake(t0)
	_, srv := newFake(t, smsOK)
	// The login host works; the API host refuses connections (nothing listens).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	c := newClient(srv, clk, func(c *genesys.Config) { c.Endpoints.API = dead; c.MaxAttempts = 2 })
	done := make(chan error, 1)
	go func() { _, err := c.SendSMS(context.Background(), sms); done <- err }()
	advanceWhenWaiting(t, clk, 1, time.Minute)
	err = <-done
	var te *genesys.TransportError
	if !errors.As(err, &te) || te.Sent {
		t.Fatalf("err = %v, want unsent TransportError", err)
	}
	if kind, _ := genesys.Classify(err); kind != genesys.KindTransient {
		t.Fatalf("kind = %v, want transient (Genesys never saw it)", kind)
	}
}

func TestSendDroppedAfterSendingIsAmbiguous(t *testing.T) {
	var n atomic.Int32
	_, srv := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	})
	c := newClient(srv, clock.NewFake(t0), nil)
	_, err := c.SendSMS(context.Background(), sms)
	if kind, _ := genesys.Classify(err); kind != genesys.KindAmbiguous {
		t.Fatalf("kind = %v (%v), want ambiguous", kind, err)
	}
	if n.Load() != 1 {
		t.Fatalf("SMS sent %d times, want 1", n.Load())
	}
}

func TestRateLimiterSpreadsBulkWork(t *testing.T) {
	clk := clock.NewFake(t0)
	_, srv := newFake(t, smsOK)
	c := newClient(srv, clk, func(c *genesys.Config) { c.RequestsPerMinute = 60 })
	ctx := context.Background()
	// 60 per minute: a burst of 6, then one every 60/54 s.
	for range 6 {
		if _, err := c.SendSMS(ctx, sms); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { _, err := c.SendSMS(ctx, sms); done <- err }()
	waitFor(t, func() bool { return clk.Pending() > 0 })
	select {
	case err := <-done:
		t.Fatalf("7th request left at once (%v), want it held by the limiter", err)
	default:
	}
	clk.Advance(1200 * time.Millisecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestLocalValidation(t *testing.T) {
	_, srv := newFake(t, smsOK)
	c := newClient(srv, clock.NewFake(t0), nil)
	ctx := context.Background()
	long := strings.Repeat("x", 766)
	cases := map[string]error{}
	_, cases["sms no from"] = c.SendSMS(ctx, genesys.SMSRequest{ToAddress: "+1555", TextBody: "x"})
	_, cases["sms not e164"] = c.SendSMS(ctx, genesys.SMSRequest{FromAddress: "+1", ToAddress: "0612", TextBody: "x"})
	_, cases["sms too long"] = c.SendSMS(ctx, genesys.SMSRequest{FromAddress: "+1", ToAddress: "+1555", TextBody: long})
	_, cases["email two recipients"] = c.SendEmail(ctx, genesys.EmailRequest{FromAddress: genesys.EmailAddress{Email: "a@b"}, ToAddresses: []genesys.EmailAddress{{Email: "c@d"}, {Email: "e@f"}}, Subject: "s", TextBody: "b"})
	_, cases["email subject too long"] = c.SendEmail(ctx, genesys.EmailRequest{FromAddress: genesys.EmailAddress{Email: "a@b"}, ToAddresses: []genesys.EmailAddress{{Email: "c@d"}}, Subject: strings.Repeat("s", 401), TextBody: "b"})
	_, cases["callback no queue"] = c.CreateCallback(ctx, genesys.CallbackRequest{CallbackNumbers: []string{"+1555"}})
	_, cases["callback too far"] = c.CreateCallback(ctx, genesys.CallbackRequest{QueueID: "q", CallbackNumbers: []string{"+1555"}, CallbackScheduledTime: genesys.FormatTime(t0.Add(31 * 24 * time.Hour))})
	for name, err := range cases {
		if !errors.Is(err, genesys.ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", name, err)
		} else if k, _ := genesys.Classify(err); k != genesys.KindPermanent {
			t.Errorf("%s: kind %v", name, k)
		}
	}
}

func TestRegionEndpoints(t *testing.T) {
	for _, in := range []string{"us-east-1", "mypurecloud.com", " https://login.mypurecloud.com/ "} {
		e, err := genesys.RegionEndpoints(in)
		if err != nil || e.API != "https://api.mypurecloud.com" || e.Login != "https://login.mypurecloud.com" || e.WebMessaging != "wss://webmessaging.mypurecloud.com/v1" {
			t.Errorf("RegionEndpoints(%q) = %+v, %v", in, e, err)
		}
	}
	if e, err := genesys.RegionEndpoints("us-east-2"); err != nil || e.API != "https://api.use2.us-gov-pure.cloud" {
		t.Errorf("us-east-2 = %+v, %v", e, err)
	}
	// Every region of the facts file, with its domain, and no other.
	b, err := os.ReadFile("sandbox/testdata/genesys-cloud.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	text = text[strings.Index(text, "## Hosts and regions"):strings.Index(text, "## OAuth")]
	pairs := regexp.MustCompile(`([a-z]+(?:-[a-z]+)*-[a-z]+-\d) (?:\(FedRAMP\) )?([a-z0-9-]+(?:\.[a-z0-9-]+)+)`).FindAllStringSubmatch(strings.Join(strings.Fields(text), " "), -1)
	if len(pairs) < 18 {
		t.Fatalf("found %d regions in the facts file: %v", len(pairs), pairs)
	}
	for _, p := range pairs {
		if e, err := genesys.RegionEndpoints(p[1]); err != nil || e.API != "https://api."+p[2] || e.WebMessaging != "wss://webmessaging."+p[2]+"/v1" {
			t.Errorf("region %s (%s in the facts file) = %+v, %v", p[1], p[2], e, err)
		}
	}
	if len(genesys.Regions()) != len(pairs) {
		t.Errorf("Regions() has %d entries, the facts file %d", len(genesys.Regions()), len(pairs))
	}
	if e, err := genesys.RegionEndpoints("edee1.eusc-pure.cloud"); err != nil || e.Login != "https://login.edee1.eusc-pure.cloud" {
		t.Errorf("eusc-de-east-1 by domain = %+v, %v", e, err)
	}
	for _, r := range genesys.Regions() {
		e, err := genesys.RegionEndpoints(r)
		if err != nil || e.Validate() != nil {
			t.Errorf("region %s: %+v %v", r, e, err)
		}
	}
	if _, err := genesys.RegionEndpoints("mars-1"); err == nil {
		t.Error("unknown region accepted")
	}
}
