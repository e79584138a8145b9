package journey

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// recGuest stands in for Genesys web messaging at the process boundary in the fast unit
// tests; the end-to-end tests use the sandbox through the real client instead.
type recGuest struct {
	mu     sync.Mutex
	opens  []string // deployment/token
	joins  []map[string]string
	says   []string
	closes int
	agent  chan struct{} // closed when the agent "answers"
	failOn string
}

func newRecGuest() *recGuest { return &recGuest{agent: make(chan struct{})} }

func (g *recGuest) Open(ctx context.Context, deployment, token string) (GuestSession, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.opens = append(g.opens, deployment+"/"+token)
	return &recSession{g: g}, nil
}

func (g *recGuest) counts() (opens, joins, says int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.opens), len(g.joins), len(g.says)
}

type recSession struct{ g *recGuest }

func (s *recSession) Join(ctx context.Context, attrs map[string]string) error {
	s.g.mu.Lock()
	defer s.g.mu.Unlock()
	s.g.joins = append(s.g.joins, attrs)
	return nil
}

func (s *recSession) Say(ctx context.Context, text string) error {
	s.g.mu.Lock()
	defer s.g.mu.Unlock()
	s.g.says = append(s.g.says, text)
	return nil
}

func (s *recSession) WaitAgent(ctx context.Context) error {
	select {
	case <-s.g.agent:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *recSession) End(ctx context.Context) error { return nil }

func (s *recSession) Close() error {
	s.g.mu.Lock()
	defer s.g.mu.Unlock()
	s.g.closes++
	return nil
}

type fixture struct {
	t     *testing.T
	st    *store.Store
	clk   *clock.Fake
	svc   *Service
	guest *recGuest
	srv   *httptest.Server
}

func newFixture(t *testing.T, dialect string) *fixture {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	st := storetest.OpenWith(t, dialect, store.Options{Clock: clk})
	if err := st.EnsureOrg(context.Background(), rendezvous.Org{ID: "org1", Name: "Org"}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, st: st, clk: clk, guest: newRecGuest()}
	f.svc = f.newService()
	f.srv = httptest.NewServer(Mux(f.svc))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) newService() *Service {
	svc, err := New(Options{Store: f.st, Guest: f.guest, PublicURL: "https://rdv.example.com",
		Defaults: DefaultSettings("flow-dep", "queue-dep", "Appointments"), GuessBurst: 5, GuessEvery: time.Minute,
		PollEvery: 50 * time.Millisecond})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { svc.Close() })
	return svc
}

// Mux mounts the customer's page, event stream, assets and media the way web/routes.go
// does (the self-service routes are tested end to end, through the web server).
func Mux(s *Service) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /a/{token}", s.PageHandler())
	mux.Handle("GET /a/{token}/events", s.EventsHandler())
	mux.Handle("GET /journey/assets/", s.AssetsHandler())
	mux.Handle("GET /journey/media/{id}", s.MediaHandler())
	return mux
}

func (f *fixture) book(in time.Duration, lang string) *rendezvous.Appointment {
	f.t.Helper()
	a, err := rendezvous.NewAppointment("org1", rendezvous.AppointmentInput{
		Start: f.clk.Now().Add(in), DurationMinutes: 30, TimeZone: "Europe/Athens", AgentUserID: "agent-7",
		Title:     "Mortgage advice",
		Customers: []rendezvous.Customer{{Name: "Eleni", Email: "eleni@example.com", Language: lang}},
		Interaction: rendezvous.Interaction{Routing: rendezvous.Routing{Type: rendezvous.RoutingFlow},
			CustomFields: map[string]string{"crmId": "C-1"}},
	}, f.clk.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	saved, _, err := f.st.CreateAppointment(context.Background(), a, store.Idempotency{})
	if err != nil {
		f.t.Fatal(err)
	}
	return saved
}

func (f *fixture) get(path string, hdr ...string) (*http.Response, string) {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// stream follows the page's event stream as a browser's EventSource does: it reconnects
// whenever the server closes the stream.
func (f *fixture) stream(token string) func() View {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.t.Cleanup(cancel)
	views := make(chan View, 16)
	go func() {
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/a/"+token+"/events", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				f.t.Errorf("events content type %q", ct)
				return
			}
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					var v View
					json.Unmarshal([]byte(d), &v)
					select {
					case views <- v:
					case <-ctx.Done():
					}
				}
			}
			resp.Body.Close()
		}
	}()
	return func() View {
		f.t.Helper()
		select {
		case v := <-views:
			return v
		case <-time.After(10 * time.Second):
			f.t.Fatal("no event within 10 s")
		}
		return View{}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling real work, not waiting for the future
	}
}

func TestWaitingRoomMovesOnAtStart(t *testing.T) {
	f := newFixture(t, store.SQLite)
	a := f.book(time.Hour, "de")

	resp, body := f.get("/a/" + a.LinkToken)
	if resp.StatusCode != 200 {
		t.Fatalf("page status %d", resp.StatusCode)
	}
	for _, want := range []string{`lang="de"`, "Dienstag, 24. November 2026", "12:00", "Griechische Zeit", "Warteraum", `data-phase="waiting"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: %v", resp.Header)
	}
	if o, _, _ := f.guest.counts(); o != 0 {
		t.Fatal("an early open started the interaction")
	}

	next := f.stream(a.LinkToken)
	v := next()
	if v.Phase != PhaseWaiting || v.ServerTime != f.clk.Now().UnixMilli() || !v.Start.Equal(a.Start) {
		t.Fatalf("first event %+v", v)
	}
	waitFor(t, "the page to park", func() bool { return f.svc.park.count() == 1 })
	f.clk.Set(a.Start)
	v = next()
	if v.Phase != PhaseLive {
		t.Fatalf("at the start: %+v", v)
	}
	if o, _, _ := f.guest.counts(); o != 0 {
		t.Fatal("the event stream must not start the interaction; the customer's GET does")
	}

	// The page's script then GETs the page as JSON, which starts the interaction.
	resp, body = f.get("/a/"+a.LinkToken, "Accept", "application/json")
	var jv View
	json.Unmarshal([]byte(body), &jv)
	if resp.StatusCode != 200 || jv.Phase != PhaseLive || jv.Progress != ProgressConnecting {
		t.Fatalf("JSON GET: %d %s", resp.StatusCode, body)
	}
	for v.Progress != ProgressWaitingAgent {
		v = next()
	}
	_, joins, says := f.guest.counts()
	if joins != 1 || says != 1 {
		t.Fatalf("joins %d says %d", joins, says)
	}
	j := f.guest.joins[0]
	if j[DefaultAgentAttribute] != "agent-7" || j[AppointmentIDAttribute] != a.ID || j["crmId"] != "C-1" ||
		j[AgentRoomLinkAttribute] != "https://rdv.example.com/r/"+a.ID {
		t.Errorf("join attributes %v", j)
	}
	if !strings.Contains(f.guest.says[0], "https://rdv.example.com/r/"+a.ID) {
		t.Errorf("first message %q lacks the agent link", f.guest.says[0])
	}
	close(f.guest.agent)
	for !v.Room {
		v = next()
	}
	if v.Progress != ProgressAgentJoined {
		t.Fatalf("final %+v", v)
	}
}

func TestTwentySimultaneousOpensMakeOneInteraction(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			f := newFixture(t, d)
			// A second instance on the same database, as behind a load balancer.
			other := f.newService()
			srv2 := httptest.NewServer(Mux(other))
			defer srv2.Close()
			a := f.book(time.Hour, "en")
			f.clk.Set(a.Start)
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					base := f.srv.URL
					if i%2 == 1 {
						base = srv2.URL
					}
					resp, err := http.Get(base + "/a/" + a.LinkToken)
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						t.Errorf("status %d", resp.StatusCode)
					}
				}()
			}
			wg.Wait()
			waitFor(t, "the join", func() bool { _, j, _ := f.guest.counts(); return j == 1 })
			// Openers that lost the claim may have opened a session early; they close it
			// unused (no join, so no conversation). Exactly one session stays and joins.
			waitFor(t, "the losers' sessions to close", func() bool {
				o, _, _ := f.guest.counts()
				f.guest.mu.Lock()
				defer f.guest.mu.Unlock()
				return f.guest.closes == o-1
			})
			if _, j, _ := f.guest.counts(); j != 1 {
				t.Fatalf("joins %d; want exactly one interaction", j)
			}
		})
	}
}

func TestRestartResumesSameSession(t *testing.T) {
	f := newFixture(t, store.SQLite)
	a := f.book(time.Hour, "en")
	f.clk.Set(a.Start)
	f.get("/a/" + a.LinkToken)
	waitFor(t, "the join to be recorded", func() bool {
		it, err := f.st.JourneyInteractionOf(context.Background(), a.ID)
		return err == nil && it.Progress == string(ProgressWaitingAgent)
	})
	// The instance stops (its lease is handed back), another one starts.
	f.svc.Close()
	next := f.newService()
	srv := httptest.NewServer(Mux(next))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/a/" + a.LinkToken)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The new instance may open a session of its own while it claims (it cannot know the
	// row exists); having taken the row over, it closes that one and resumes the stored
	// session.
	resumed := func() bool {
		f.guest.mu.Lock()
		defer f.guest.mu.Unlock()
		for _, o := range f.guest.opens[1:] {
			if o == f.guest.opens[0] {
				return true
			}
		}
		return false
	}
	waitFor(t, "the resume", resumed)
	if _, j, _ := f.guest.counts(); j != 1 {
		t.Fatalf("joins %d after a restart; the resumed session must not join again", j)
	}
}

func TestClosedAndUnknownLinks(t *testing.T) {
	f := newFixture(t, store.SQLite)
	cancelled := f.book(time.Hour, "el")
	if _, err := f.st.UpdateAppointment(context.Background(), "org1", cancelled.ID, 0, func(a *rendezvous.Appointment) (string, error) {
		return "cancelled", a.Cancel("", f.clk.Now())
	}); err != nil {
		t.Fatal(err)
	}
	late := f.book(2*time.Hour, "en")
	resp, body := f.get("/a/" + cancelled.LinkToken)
	if resp.StatusCode != 410 || !strings.Contains(body, "ακυρώθηκε") {
		t.Errorf("cancelled: %d", resp.StatusCode)
	}
	f.clk.Advance(3 * time.Hour)
	resp, body = f.get("/a/" + late.LinkToken)
	if resp.StatusCode != 410 || !strings.Contains(body, "This appointment is over") {
		t.Errorf("too late: %d", resp.StatusCode)
	}
	if o, _, _ := f.guest.counts(); o != 0 {
		t.Fatal("a closed link started an interaction")
	}

	// Unknown tokens: a 404 that says nothing about which appointments exist, then 429
	// once the IP guessed too often; a good link from the same address is still served.
	resp, body404 := f.get("/a/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	if resp.StatusCode != 404 || !strings.Contains(body404, "Link not found") || strings.Contains(body404, "cancel") {
		t.Errorf("unknown: %d", resp.StatusCode)
	}
	_, bodyShort := f.get("/a/x")
	if bodyShort != body404 {
		t.Error("a short token and a well-formed unknown token must get the same page")
	}
	for range 3 {
		f.get("/a/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB")
	}
	resp, _ = f.get("/a/CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after 5 misses: %d", resp.StatusCode)
	}
	resp, _ = f.get("/a/" + late.LinkToken)
	if resp.StatusCode != 410 {
		t.Fatalf("a real link from the guessing address: %d", resp.StatusCode)
	}
	f.clk.Advance(time.Minute)
	resp, _ = f.get("/a/DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD")
	if resp.StatusCode != 404 {
		t.Fatalf("after the refill a miss is a plain 404 again: %d", resp.StatusCode)
	}
}

func TestRescheduleReachesWaitingPage(t *testing.T) {
	f := newFixture(t, store.SQLite)
	a := f.book(time.Hour, "en")
	next := f.stream(a.LinkToken)
	if v := next(); v.Phase != PhaseWaiting {
		t.Fatalf("%+v", v)
	}
	later := a.Start.Add(time.Hour)
	if _, err := f.st.UpdateAppointment(context.Background(), "org1", a.ID, 0, func(x *rendezvous.Appointment) (string, error) {
		return "rescheduled", x.Apply(rendezvous.AppointmentPatch{Start: &later}, f.clk.Now())
	}); err != nil {
		t.Fatal(err)
	}
	job := &store.Job{Kind: "journey.appointment_event", Args: json.RawMessage(`{"appointmentId":"` + a.ID + `","event":"rescheduled","version":2}`)}
	if err := f.svc.HandleAppointmentEvent(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	v := next()
	if !v.Start.Equal(later) || v.Phase != PhaseWaiting {
		t.Fatalf("after reschedule: %+v", v)
	}
	// The old start passes without moving the page on.
	waitFor(t, "the page to park again", func() bool { return f.svc.park.count() == 1 })
	f.clk.Set(a.Start)
	f.clk.Set(later)
	if v := next(); v.Phase != PhaseLive {
		t.Fatalf("at the new start: %+v", v)
	}
}

// TestWaitingRoomOverHTTP2: a connection that cannot be taken over (HTTP/2) waits on its
// own goroutine and still moves on at the start.
func TestWaitingRoomOverHTTP2(t *testing.T) {
	f := newFixture(t, store.SQLite)
	srv := httptest.NewUnstartedServer(Mux(f.svc))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	a := f.book(time.Hour, "en")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/a/"+a.LinkToken+"/events", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("protocol %s; the test needs HTTP/2", resp.Proto)
	}
	views := make(chan View, 4)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var v View
				json.Unmarshal([]byte(d), &v)
				views <- v
			}
		}
	}()
	next := func() View {
		select {
		case v := <-views:
			return v
		case <-time.After(10 * time.Second):
			t.Fatal("no event within 10 s")
		}
		return View{}
	}
	if v := next(); v.Phase != PhaseWaiting {
		t.Fatalf("first: %+v", v)
	}
	if f.svc.park.count() != 0 {
		t.Fatal("an HTTP/2 stream was parked")
	}
	waitFor(t, "the start timer", func() bool { return f.svc.starts.pending() == 1 })
	f.clk.Set(a.Start)
	if v := next(); v.Phase != PhaseLive {
		t.Fatalf("at the start: %+v", v)
	}
}

// TestCallbacksChannelCreatesNoMessaging: on the legacy callbacks channel Genesys offers
// the scheduled callback itself, so opening the link must not create a web messaging
// interaction too.
func TestCallbacksChannelCreatesNoMessaging(t *testing.T) {
	f := newFixture(t, store.SQLite)
	set := DefaultSettings("flow-dep", "", "Appointments")
	set.SchedulingChannel = ChannelCallbacks
	if _, err := f.svc.PutSettings(context.Background(), "org1", set); err != nil {
		t.Fatal(err)
	}
	a := f.book(time.Hour, "en")
	f.clk.Set(a.Start)
	resp, body := f.get("/a/"+a.LinkToken, "Accept", "application/json")
	var v View
	json.Unmarshal([]byte(body), &v)
	if resp.StatusCode != 200 || v.Phase != PhaseLive || v.Progress != ProgressWaitingAgent {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if o, _, _ := f.guest.counts(); o != 0 {
		t.Fatalf("%d web messaging sessions opened on the callbacks channel", o)
	}
}
