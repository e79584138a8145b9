package notify_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/genesys"
	"rendezvous/genesys/sandbox"
	"rendezvous/jobs"
	"rendezvous/notify"
	"rendezvous/secret"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// env is one organization with a store, a Genesys sandbox on httptest, the notification
// service and (once started) a job runner, all on one fake clock.
type env struct {
	t      *testing.T
	ctx    context.Context
	clk    *clock.Fake
	sb     *sandbox.Sandbox
	srv    *httptest.Server
	url    string // store URL, for a second instance
	box    *secret.Box
	st     *store.Store
	svc    *notify.Service
	demo   sandbox.DemoOrg
	org    string
	stopMu sync.Mutex
	stop   func()
	// options, when set, adjusts the service's options before open builds it.
	options func(o *notify.Options)
	// onSend, when set, is called each time the runner hands a send job to the service.
	onSend func(j *store.Job)
}

// t0 is a Friday before both daylight-saving changes of spring 2026 (US 8 March, EU 29
// March), so appointments booked now for later dates cross them.
var t0 = time.Date(2026, 3, 6, 9, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, dialect string) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clk: clock.NewFake(t0), org: "org1", box: storetest.NewBox(t)}
	e.sb = sandbox.New(sandbox.Options{Clock: e.clk})
	e.srv = httptest.NewServer(e.sb.Handler())
	t.Cleanup(e.srv.Close)
	e.demo = e.sb.Demo()
	e.url = storetest.URL(t, dialect)
	e.open()
	if err := e.st.EnsureOrg(e.ctx, rendezvous.Org{ID: e.org, Name: "Acme Bank"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// open (re)opens the store and the service on the env's database, as a restarted process
// would (with the same secrets key).
func (e *env) open() {
	e.t.Helper()
	st, err := store.Open(e.ctx, e.url, store.Options{Clock: e.clk, Secrets: e.box})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	e.st = st
	// 6000 per minute gives the send pacer a burst of 30, so messages due at the same fake
	// instant go without moving the clock.
	o := notify.Options{Store: st, Clock: e.clk, PublicURL: "https://meet.example.com", RequestsPerMinute: 6000,
		Endpoints: notify.FixedEndpoints(genesys.Endpoints{API: e.srv.URL, Login: e.srv.URL})}
	if e.options != nil {
		e.options(&o)
	}
	svc, err := notify.New(o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.svc = svc
}

// seed configures and verifies both channels with the sandbox's demo clients.
func (e *env) seed() {
	e.t.Helper()
	if err := e.svc.SeedDemo(e.ctx, e.org, e.demo); err != nil {
		e.t.Fatal(err)
	}
	// Most tests follow one change at a time and want its message at once; the
	// coalescing of quick changes has its own test (TestChangesCoalesce).
	set := notify.DefaultSettings()
	set.CoalesceSeconds = 0
	if _, err := e.svc.PutSettings(e.ctx, e.org, set); err != nil {
		e.t.Fatal(err)
	}
}

// start runs a job runner like the wiring does, except that this test's store enqueues
// the default appointment.event job, which goes straight to the notification handler.
func (e *env) start() {
	e.t.Helper()
	r := jobs.NewRunner(e.st, jobs.RunnerOptions{Clock: e.clk, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), Workers: 4, BaseBackoff: 2 * time.Second, MaxBackoff: time.Minute})
	r.Handle(store.EventJobKind, e.svc.HandleAppointmentEvent)
	e.svc.Register(r)
	if on := e.onSend; on != nil {
		r.Handle(notify.SendJobKind, func(ctx context.Context, j *store.Job) error { on(j); return e.svc.HandleSend(ctx, j) })
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	e.stopMu.Lock()
	e.stop = func() { cancel(); <-done }
	e.stopMu.Unlock()
	e.t.Cleanup(e.halt)
}

// halt stops the runner, as a crash would between jobs.
func (e *env) halt() {
	e.stopMu.Lock()
	stop := e.stop
	e.stop = nil
	e.stopMu.Unlock()
	if stop != nil {
		stop()
	}
}

// settle waits (in real time) until no job is due or running.
func (e *env) settle() {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, err := e.st.JobQueueDepth(e.ctx)
		if err == nil && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			js, _ := e.st.Jobs(e.ctx, e.org, "")
			for _, j := range js {
				e.t.Logf("job %d %s %s attempt %d run_at %s: %s", j.ID, j.Kind, j.State, j.Attempt, j.RunAt, j.LastError)
			}
			e.t.Fatalf("job queue did not settle: depth %d, %v", n, err)
		}
		time.Sleep(5 * time.Millisecond) // polling work in other goroutines, not waiting for the future
	}
}

// advanceTo moves the clock to at and lets the due work finish.
func (e *env) advanceTo(at time.Time) {
	e.t.Helper()
	e.clk.Set(at)
	e.settle()
}

func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling real work in other goroutines, not waiting for the future
	}
}

// book creates an appointment the way the HTTP layer does, snapshotting the switch.
func (e *env) book(start time.Time, zone string, customers ...rendezvous.Customer) *rendezvous.Appointment {
	e.t.Helper()
	a, err := rendezvous.NewAppointment(e.org, rendezvous.AppointmentInput{Start: start, DurationMinutes: 30, TimeZone: zone,
		Title: "Mortgage advice", AgentUserID: e.demo.Agents[0].ID, Customers: customers}, e.clk.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	a.NotificationsEnabled = e.svc.EnabledForNewBooking(e.ctx, e.org)
	saved, _, err := e.st.CreateAppointment(e.ctx, a, store.Idempotency{})
	if err != nil {
		e.t.Fatal(err)
	}
	return saved
}

// outbox returns the messages the sandbox accepted for one address.
// sentTo counts the messages in the sandbox's outbox for the numbers phone(0) to
// phone(n-1).
func (e *env) sentTo(n int, phone func(int) string) int {
	c := 0
	for i := range n {
		c += len(e.outbox(phone(i)))
	}
	return c
}

func (e *env) outbox(to string) []sandbox.OutboxMessage {
	var out []sandbox.OutboxMessage
	for _, m := range e.sb.Outbox() {
		if m.To == to {
			out = append(out, m)
		}
	}
	return out
}

// deliveries returns an appointment's delivery log.
func (e *env) deliveries(id string) []notify.DeliveryView {
	e.t.Helper()
	ds, err := e.svc.Deliveries(e.ctx, e.org, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return ds
}

// find returns the deliveries matching kind/event/channel/outcome ("" = any).
func find(ds []notify.DeliveryView, kind, event, channel, outcome string) []notify.DeliveryView {
	var out []notify.DeliveryView
	for _, d := range ds {
		if (kind == "" || d.Kind == kind) && (event == "" || d.Event == event) && (channel == "" || d.Channel == channel) && (outcome == "" || d.Outcome == outcome) {
			out = append(out, d)
		}
	}
	return out
}

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

// lastCode extracts the verification code of the last message to an address.
func (e *env) lastCode(to string) string {
	e.t.Helper()
	msgs := e.outbox(to)
	if len(msgs) == 0 {
		e.t.Fatalf("no message to %s", to)
	}
	m := msgs[len(msgs)-1]
	found := codeRE.FindStringSubmatch(m.Text + m.Subject)
	if found == nil {
		e.t.Fatalf("no code in %q", m.Text+m.Subject)
	}
	return found[1]
}

func contains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}
