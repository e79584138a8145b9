package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/jobs"
	"rendezvous/store"
	"rendezvous/store/storetest"
	"rendezvous/webhook"
)

var t0 = time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC) // the night Europe's clocks go forward

// received is one request a receiver got.
type received struct {
	id, typ, sig string
	body         []byte
	payload      webhook.Payload
	auth         string
}

// receiver is a real HTTP server that records what it gets and answers with fail's
// status while fail returns one (0 for 204).
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []received
	fail func(n int) (status int, retryAfter string)
	n    int
	more chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{more: make(chan struct{}, 1000)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.n++
		n, fail := rc.n, rc.fail
		rc.mu.Unlock()
		if fail != nil {
			if st, ra := fail(n); st != 0 {
				if ra != "" {
					w.Header().Set("Retry-After", ra)
				}
				w.WriteHeader(st)
				rc.more <- struct{}{}
				return
			}
		}
		var p webhook.Payload
		json.Unmarshal(b, &p)
		rc.mu.Lock()
		rc.got = append(rc.got, received{id: r.Header.Get(webhook.EventIDHeader), typ: r.Header.Get(webhook.EventTypeHeader),
			sig: r.Header.Get(webhook.SignatureHeader), body: b, payload: p, auth: r.Header.Get("Authorization")})
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		rc.more <- struct{}{}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// waitFor waits, up to a deadline, until cond holds, stepping the fake clock by step
// whenever the receiver has been quiet (so retries scheduled for later come due).
func waitFor(t *testing.T, fc *clock.Fake, step time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		timer := time.NewTimer(50 * time.Millisecond)
		<-timer.C
		if step > 0 {
			fc.Advance(step)
		}
	}
}

type env struct {
	st  *store.Store
	fc  *clock.Fake
	svc *webhook.Service
	ctx context.Context
}

// start opens a store on dialect d with a fake clock, a webhook service (demo mode, so
// the local receiver is allowed) and a job runner that runs the appointment event share
// and the webhook jobs.
func start(t *testing.T, d string, o webhook.Options) *env {
	t.Helper()
	fc := clock.NewFake(t0)
	st := storetest.OpenWith(t, d, store.Options{Clock: fc})
	ctx := context.Background()
	if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "org-a", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	o.Store, o.Clock = st, fc
	svc := webhook.New(o)
	e := &env{st: st, fc: fc, svc: svc, ctx: rendezvous.WithActor(ctx, rendezvous.Actor{Kind: rendezvous.ActorAPIKey, ID: "key-1", Name: "CRM"})}
	e.run(t)
	return e
}

// run starts a job runner on the env's store until the test ends or stop is called.
func (e *env) run(t *testing.T) (stop func()) {
	r := jobs.NewRunner(e.st, jobs.RunnerOptions{PollInterval: time.Minute, BaseBackoff: time.Second, MaxBackoff: time.Minute})
	r.Handle(store.EventJobKind, jobs.All(e.svc.HandleAppointmentEvent))
	e.svc.Register(r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func (e *env) book(t *testing.T, agent string, at time.Time) *rendezvous.Appointment {
	t.Helper()
	a, err := rendezvous.NewAppointment("org-a", rendezvous.AppointmentInput{
		Start: at, DurationMinutes: 30, TimeZone: "Europe/Athens", AgentUserID: agent, Title: "Mortgage review",
		Customers: []rendezvous.Customer{{Name: "Maria P.", Phone: "+306912345678", Email: "maria@example.com", Language: "el"}},
	}, e.fc.Now())
	if err != nil {
		t.Fatal(err)
	}
	saved, _, err := e.st.CreateAppointment(e.ctx, a, store.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	return saved
}

func (e *env) reschedule(t *testing.T, id string, to time.Time) {
	t.Helper()
	_, err := e.st.UpdateAppointment(e.ctx, "org-a", id, 0, func(a *rendezvous.Appointment) (string, error) {
		return "rescheduled", a.Apply(rendezvous.AppointmentPatch{Start: &to}, e.fc.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) cancel(t *testing.T, id string) {
	t.Helper()
	_, err := e.st.UpdateAppointment(e.ctx, "org-a", id, 0, func(a *rendezvous.Appointment) (string, error) {
		return "cancelled", a.Cancel("customer asked", e.fc.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func subscribe(t *testing.T, e *env, url string, auth *webhook.AuthInput) *store.WebhookSubscription {
	t.Helper()
	w, err := e.svc.Create(e.ctx, "org-a", webhook.Input{URL: url, Events: rendezvous.WebhookEvents(), Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestSignedDeliveriesVerify(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := start(t, d, webhook.Options{AllowPrivate: true})
			rc := newReceiver(t)
			w := subscribe(t, e, rc.srv.URL+"/hooks?tenant=1", &webhook.AuthInput{Type: webhook.AuthBasic, Username: "rdv", Password: "s3cret-pass"})
			if !strings.HasPrefix(w.Secret, "whsec_") {
				t.Fatalf("secret %q", w.Secret)
			}
			a := e.book(t, "agent-1", t0.Add(48*time.Hour))
			waitFor(t, e.fc, 0, "the created event", func() bool { return len(rc.received()) == 1 })
			got := rc.received()[0]
			if err := webhook.Verify(got.sig, got.body, w.Secret, e.fc.Now(), 5*time.Minute); err != nil {
				t.Fatalf("signature %q does not verify: %v", got.sig, err)
			}
			if err := webhook.Verify(got.sig, append(got.body, ' '), w.Secret, e.fc.Now(), 5*time.Minute); !errors.Is(err, webhook.ErrBadSignature) {
				t.Errorf("a changed body verified: %v", err)
			}
			if err := webhook.Verify(got.sig, got.body, w.Secret, e.fc.Now().Add(time.Hour), 5*time.Minute); !errors.Is(err, webhook.ErrStale) {
				t.Errorf("an hour-old signature verified: %v", err)
			}
			if got.typ != rendezvous.EventAppointmentCreated || got.payload.ID != got.id || got.payload.Data.AppointmentID != a.ID ||
				got.payload.Actor.Type != rendezvous.ActorAPIKey || got.payload.Data.Appointment == nil ||
				got.payload.Data.Appointment.Customers[0].Phone != "+306912345678" {
				t.Errorf("payload %s", got.body)
			}
			if got.auth != "Basic cmR2OnMzY3JldC1wYXNz" {
				t.Errorf("Authorization %q", got.auth)
			}

			// Rotation: for a while both secrets sign, so a receiver still on the old one
			// keeps verifying; after the overlap only the new one does.
			old := w.Secret
			w2, err := e.svc.Rotate(e.ctx, "org-a", w.ID)
			if err != nil {
				t.Fatal(err)
			}
			e.reschedule(t, a.ID, t0.Add(50*time.Hour))
			waitFor(t, e.fc, 0, "the rescheduled event", func() bool { return len(rc.received()) == 2 })
			got = rc.received()[1]
			for _, sec := range []string{old, w2.Secret} {
				if err := webhook.Verify(got.sig, got.body, sec, e.fc.Now(), 5*time.Minute); err != nil {
					t.Errorf("during the overlap, secret %s…: %v", sec[:10], err)
				}
			}
			if got.payload.Data.Version != 2 || len(got.payload.Data.Changes) == 0 || got.payload.Data.Changes[0].Field != "start" {
				t.Errorf("rescheduled payload %s", got.body)
			}
			e.fc.Advance(webhook.DefaultRotationOverlap + time.Minute)
			e.cancel(t, a.ID)
			waitFor(t, e.fc, 0, "the cancelled event", func() bool { return len(rc.received()) == 3 })
			got = rc.received()[2]
			if err := webhook.Verify(got.sig, got.body, old, e.fc.Now(), 5*time.Minute); err == nil {
				t.Error("the old secret still verifies after the overlap")
			}
			if err := webhook.Verify(got.sig, got.body, w2.Secret, e.fc.Now(), 5*time.Minute); err != nil {
				t.Error(err)
			}
			// The stored secrets are sealed: not in the database as text.
			assertNotStored(t, e.st, old, "s3cret-pass")
		})
	}
}

// assertNotStored fails if any text column of any table holds one of values.
func assertNotStored(t *testing.T, st *store.Store, values ...string) {
	t.Helper()
	hits, err := storetest.FindText(context.Background(), st, values...)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		t.Errorf("found %q in %s", h.Value, h.Where)
	}
}

func TestFailingReceiverGetsEveryEventOnceInOrder(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := start(t, d, webhook.Options{AllowPrivate: true})
			rc := newReceiver(t)
			// The receiver is down for its first 12 requests: 503s (some asking to wait),
			// 429s, and a dropped connection.
			rc.fail = func(n int) (int, string) {
				switch {
				case n > 12:
					return 0, ""
				case n%3 == 0:
					return http.StatusTooManyRequests, "2"
				case n%3 == 1:
					return http.StatusServiceUnavailable, ""
				default:
					return http.StatusBadGateway, "1"
				}
			}
			subscribe(t, e, rc.srv.URL, nil)
			var appts []*rendezvous.Appointment
			for i := range 3 {
				appts = append(appts, e.book(t, "agent-"+string(rune('a'+i)), t0.Add(time.Duration(24+i)*time.Hour)))
			}
			for i, a := range appts {
				e.reschedule(t, a.ID, t0.Add(time.Duration(72+i)*time.Hour))
				e.cancel(t, a.ID)
			}
			waitFor(t, e.fc, 5*time.Second, "nine events", func() bool { return len(rc.received()) >= 9 })
			got := rc.received()
			if len(got) != 9 {
				t.Fatalf("got %d events, want 9 (each once)", len(got))
			}
			seen := map[string]bool{}
			byAppt := map[string][]string{}
			for _, g := range got {
				if seen[g.id] {
					t.Errorf("event %s delivered twice", g.id)
				}
				seen[g.id] = true
				byAppt[g.payload.Data.AppointmentID] = append(byAppt[g.payload.Data.AppointmentID], g.typ)
			}
			want := []string{rendezvous.EventAppointmentCreated, rendezvous.EventAppointmentRescheduled, rendezvous.EventAppointmentCancelled}
			for _, a := range appts {
				if strings.Join(byAppt[a.ID], ",") != strings.Join(want, ",") {
					t.Errorf("appointment %s got %v, want %v", a.ID, byAppt[a.ID], want)
				}
			}
		})
	}
}

func TestCrashBetweenCommitAndDeliveryLosesNothing(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			fc := clock.NewFake(t0)
			u := storetest.URL(t, d)
			box := storetest.NewBox(t)
			open := func() *store.Store {
				st, err := store.Open(context.Background(), u, store.Options{Clock: fc, Secrets: box})
				if err != nil {
					t.Fatal(err)
				}
				return st
			}
			rc := newReceiver(t)
			// First process: commits changes, then dies before any job runs.
			st1 := open()
			if err := st1.EnsureOrg(context.Background(), rendezvous.Org{ID: "org-a"}); err != nil {
				t.Fatal(err)
			}
			e1 := &env{st: st1, fc: fc, svc: webhook.New(webhook.Options{Store: st1, AllowPrivate: true}),
				ctx: rendezvous.WithActor(context.Background(), rendezvous.Actor{Kind: rendezvous.ActorPerson, ID: "u1", Name: "Ann"})}
			subscribe(t, e1, rc.srv.URL, nil)
			a := e1.book(t, "agent-1", t0.Add(30*time.Hour))
			e1.reschedule(t, a.ID, t0.Add(40*time.Hour))
			// It had even claimed the event jobs when it died: their leases must run out
			// before anyone else may take them.
			claimed, err := st1.ClaimJobs(context.Background(), 10, time.Minute)
			if err != nil || len(claimed) != 2 {
				t.Fatalf("claimed %d jobs: %v", len(claimed), err)
			}
			st1.Close()

			// Second process: once the leases expire, a runner picks the work up.
			st2 := open()
			defer st2.Close()
			e2 := &env{st: st2, fc: fc, svc: webhook.New(webhook.Options{Store: st2, AllowPrivate: true}), ctx: e1.ctx}
			e2.run(t)
			waitFor(t, fc, 10*time.Second, "both events", func() bool { return len(rc.received()) == 2 })
			got := rc.received()
			if got[0].typ != rendezvous.EventAppointmentCreated || got[1].typ != rendezvous.EventAppointmentRescheduled {
				t.Errorf("got %s then %s", got[0].typ, got[1].typ)
			}
			if got[0].payload.Actor.Type != rendezvous.ActorPerson || got[0].payload.Actor.Name != "Ann" {
				t.Errorf("actor %+v", got[0].payload.Actor)
			}
		})
	}
}

func TestSSRFTargetsRefused(t *testing.T) {
	e := start(t, store.SQLite, webhook.Options{})
	for _, u := range []string{
		"http://example.com/hook",            // not HTTPS
		"https://127.0.0.1/hook",             // loopback
		"https://[::1]/hook",                 // loopback
		"https://10.1.2.3/hook",              // private
		"https://169.254.169.254/latest",     // link-local: cloud metadata
		"https://100.64.0.1/hook",            // shared address space
		"https://localhost:8443/hook",        // a loopback name
		"https://user:pw@example.com/hook",   // credentials in the URL
		"https://[::ffff:10.0.0.1]:443/hook", // IPv4-mapped private
	} {
		_, err := e.svc.Create(e.ctx, "org-a", webhook.Input{URL: u, Events: []string{rendezvous.EventAppointmentCreated}})
		var ve *rendezvous.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s accepted: %v", u, err)
		}
	}
	_, err := e.svc.Create(e.ctx, "org-a", webhook.Input{URL: "https://example.com/hook", Events: []string{rendezvous.EventAppointmentCreated},
		Auth: &webhook.AuthInput{Type: webhook.AuthOAuth2, TokenURL: "https://192.168.1.1/token", ClientID: "c", ClientSecret: "s"}})
	if err == nil || !strings.Contains(err.Error(), "auth.tokenUrl") {
		t.Errorf("a private token URL: %v", err)
	}

	// The address is checked again at dial time, after name resolution: "localhost"
	// resolves to loopback, and a literal loopback address is refused there too.
	for _, u := range []string{"http://localhost:1/x", "http://127.0.0.1:1/x", "http://[::1]:1/x"} {
		if err := webhook.DialCheck(u); !errors.Is(err, webhook.ErrForbiddenAddress) {
			t.Errorf("dial %s: %v, want ErrForbiddenAddress", u, err)
		}
	}
}

// A subscription whose name later resolves to a private address (DNS rebinding) is
// refused at the connection, and nothing reaches the receiver.
func TestSSRFRefusedAtDialTime(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := start(t, d, webhook.Options{})
			rc := newReceiver(t)
			_, port, _ := net.SplitHostPort(strings.TrimPrefix(rc.srv.URL, "http://"))
			// Stored as if it had passed the check when its name still resolved elsewhere.
			w := &store.WebhookSubscription{ID: "rebound", OrgID: "org-a", URL: "http://localhost:" + port + "/hook",
				Events: rendezvous.WebhookEvents(), State: store.WebhookActive, AuthKind: webhook.AuthNone, Secret: "whsec_x"}
			if err := e.st.CreateWebhook(e.ctx, w); err != nil {
				t.Fatal(err)
			}
			d, err := e.svc.SendTest(e.ctx, "org-a", w.ID)
			if err != nil {
				t.Fatal(err)
			}
			var got *store.WebhookDelivery
			waitFor(t, e.fc, time.Second, "the test delivery to settle", func() bool {
				got, err = e.st.WebhookDelivery(e.ctx, "org-a", d.ID)
				return err == nil && got.State != store.DeliveryPending
			})
			if !strings.Contains(got.LastError, "not allowed") || got.LastStatus != 0 {
				t.Errorf("delivery %+v", got)
			}
			if n := len(rc.received()); n != 0 {
				t.Errorf("receiver got %d requests", n)
			}
		})
	}
}

// Redirects are answers, not instructions: a 302 to an internal address is not followed.
func TestRedirectNotFollowed(t *testing.T) {
	e := start(t, store.SQLite, webhook.Options{AllowPrivate: true})
	target := newReceiver(t)
	redirect := httptest.NewServer(http.RedirectHandler(target.srv.URL+"/internal", http.StatusFound))
	t.Cleanup(redirect.Close)
	w := subscribe(t, e, redirect.URL, nil)
	d, err := e.svc.SendTest(e.ctx, "org-a", w.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got *store.WebhookDelivery
	waitFor(t, e.fc, time.Second, "the delivery to settle", func() bool {
		got, err = e.st.WebhookDelivery(e.ctx, "org-a", d.ID)
		return err == nil && got.State != store.DeliveryPending
	})
	if got.State != store.DeliveryFailed || got.LastStatus != http.StatusFound || !strings.Contains(got.LastError, "redirects are not followed") {
		t.Errorf("delivery %+v", got)
	}
	if len(target.received()) != 0 {
		t.Error("the redirect was followed")
	}
}
