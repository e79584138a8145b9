package web_test

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/genesys"
	"rendezvous/genesys/sandbox"
	"rendezvous/journey"
	"rendezvous/room"
	"rendezvous/store"
	"rendezvous/store/storetest"
	"rendezvous/web"
)

// customerEnv is the customer's side of the product for browser tests: the real server
// with the journey and the room, a real store, and the Genesys Cloud sandbox, on one fake
// clock. It counts the requests each customer link receives, as the server sees them.
type customerEnv struct {
	t     *testing.T
	clk   *clock.Fake
	sb    *sandbox.Sandbox
	st    *store.Store
	j     *journey.Service
	rooms *room.Rooms
	srv   *httptest.Server

	mu    sync.Mutex
	paths []string // every request path, in order
}

func newCustomerEnv(t *testing.T) *customerEnv {
	t.Helper()
	e := &customerEnv{t: t, clk: clock.NewFake(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC))}
	e.sb = sandbox.New(sandbox.Options{Clock: e.clk})
	t.Cleanup(e.sb.Close)
	sbSrv := httptest.NewServer(e.sb.Handler())
	t.Cleanup(sbSrv.Close)
	demo := sandbox.Demo

	e.st = storetest.OpenWith(t, store.SQLite, store.Options{Clock: e.clk})
	if err := e.st.EnsureOrg(context.Background(), rendezvous.Org{ID: "demo", Name: "Demo Bank"}); err != nil {
		t.Fatal(err)
	}
	gc := genesys.New(genesys.Config{
		Endpoints: genesys.Endpoints{API: sbSrv.URL, Login: sbSrv.URL},
		ClientID:  demo.APIClient.ID, ClientSecret: demo.APIClient.Secret,
	})
	var h http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.paths = append(e.paths, r.URL.Path)
		e.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	var err error
	e.rooms, err = room.New(room.Options{
		Store: e.st, Key: []byte(strings.Repeat("c", 32)), PublicURL: e.srv.URL,
		Grace:    func(ctx context.Context, org string) (time.Duration, error) { return e.j.GraceFor(ctx, org) },
		OnChange: func(id string) { e.j.Notify(id) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.rooms.Close)
	e.j, err = journey.New(journey.Options{
		Store:     e.st,
		PublicURL: e.srv.URL,
		Guest:     journey.WebMessaging{URL: "ws" + strings.TrimPrefix(sbSrv.URL, "http") + "/v1", Origin: e.srv.URL},
		Queues:    journey.GenesysQueues{Client: gc},
		Defaults:  journey.DefaultSettings(demo.AgentDeploymentID, demo.QueueDeploymentID, demo.PlainQueue.Name),
		RoomLinks: e.rooms,
		PollEvery: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.j.Close() })
	h = web.NewServer(web.Deps{Store: e.st, Clock: e.clk, PublicURL: e.srv.URL, Journey: e.j, Rooms: e.rooms})
	return e
}

// book stores an appointment of agent Bruno Costa at start, for an English-speaking
// customer in Berlin.
func (e *customerEnv) book(start time.Time) *rendezvous.Appointment {
	e.t.Helper()
	a, err := rendezvous.NewAppointment("demo", rendezvous.AppointmentInput{
		Start: start, DurationMinutes: 30, TimeZone: "Europe/Berlin", Title: "Mortgage review", AgentUserID: sandbox.Demo.Agents[1].ID,
		Customers:   []rendezvous.Customer{{Name: "John Smith", Email: "john@example.com", Language: "en"}},
		Interaction: rendezvous.Interaction{Routing: rendezvous.Routing{Type: rendezvous.RoutingFlow}},
	}, e.clk.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	a, _, err = e.st.CreateAppointment(context.Background(), a, store.Idempotency{})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *customerEnv) appt(id string) *rendezvous.Appointment {
	e.t.Helper()
	a, err := e.st.Appointment(context.Background(), "demo", id)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// change applies f to the appointment as a staff member's change would, and tells the
// journey (as the wiring does after every change).
func (e *customerEnv) change(id, event string, f func(a *rendezvous.Appointment) error) {
	e.t.Helper()
	if _, err := e.st.UpdateAppointment(context.Background(), "demo", id, 0, func(a *rendezvous.Appointment) (string, error) {
		return event, f(a)
	}); err != nil {
		e.t.Fatal(err)
	}
	e.j.Notify(id)
}

// requests counts the requests made so far to the link of token (its page, its event
// stream, its self-service pages, its calendar file).
func (e *customerEnv) requests(token string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, p := range e.paths {
		if strings.HasPrefix(p, "/a/"+token) {
			n++
		}
	}
	return n
}

// link is the customer's link of a.
func (e *customerEnv) link(a *rendezvous.Appointment) string { return e.srv.URL + "/a/" + a.LinkToken }

// statusJS reads what the page tells the customer about where they are: the text of every
// visible element with role="status" (the page's own line, the room's line).
const statusJS = `Array.from(document.querySelectorAll('[role="status"]'))
	.filter(function (el) { return el.offsetParent !== null && el.textContent.trim() !== ""; })
	.map(function (el) { return el.textContent.trim(); })`

// statuses returns the visible status lines of tab.
func statuses(t *testing.T, tab context.Context) []string {
	t.Helper()
	got, err := chromedp.Run(tab, chromedp.Evaluate[[]string](statusJS))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// waitStatus waits until the page in tab shows exactly one status line and it is want.
func waitStatus(t *testing.T, tab context.Context, step, want string) {
	t.Helper()
	js := fmt.Sprintf(`(function(){ var s = %s; return s.length === 1 && s[0] === %q; })()`, statusJS, want)
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(browserWait), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("%s: status lines %q, want only %q (%v)", step, statuses(t, tab), want, err)
	}
}

// heading returns the page's h1.
func heading(t *testing.T, tab context.Context) string {
	t.Helper()
	h, err := chromedp.Run(tab, chromedp.Text("h1"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(h)
}

// TestSelfServiceInBrowser has a customer reschedule and cancel through the pages in
// Chromium, by clicking the links and buttons a person would, with whatever headers the
// browser sends under the pages' no-referrer policy (Origin: null on a form POST). A form
// that another site's page posts (even one carrying a valid form token) is refused.
func TestSelfServiceInBrowser(t *testing.T) {
	e := newCustomerEnv(t)
	start := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC) // Wednesday 10:00 in Berlin
	a := e.book(start)
	tab := bounded(t, newBrowser(t))

	// Reschedule: from the waiting room, follow "Choose a new time", pick the first free
	// time of the second day offered, and move.
	var picked string
	if err := chromedp.Do(tab,
		chromedp.Navigate(e.link(a)),
		chromedp.WaitVisible(`#self-service-links`),
		chromedp.Click(`//a[text()="Choose a new time"]`),
		chromedp.WaitVisible(`form.slots`),
	); err != nil {
		t.Fatal(err)
	}
	now, err := chromedp.Run(tab, chromedp.Text(`.when`))
	if err != nil || !strings.HasPrefix(now, "Your appointment now:") || !strings.Contains(now, "10:00") {
		t.Errorf("reschedule page says %q (%v), want the appointment now at 10:00", now, err)
	}
	// The free times are grouped by working day, the first one open.
	days, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("details.day summary")).map(function (s) { return s.textContent; })`))
	if err != nil || len(days) == 0 || days[0] != "Tuesday, November 24, 2026" {
		t.Fatalf("days offered: %q (%v)", days, err)
	}
	for _, d := range days {
		if strings.HasPrefix(d, "Saturday") || strings.HasPrefix(d, "Sunday") {
			t.Errorf("a weekend day is offered: %s", d)
		}
	}
	picked, err = chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelectorAll("details.day")[1].querySelector("input[name=start]").value`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab,
		chromedp.Click(`details.day:nth-of-type(2) summary`),
		chromedp.Click(`details.day:nth-of-type(2) input[name=start]`),
		chromedp.Click(`form.slots button[type=submit]`),
		chromedp.WaitVisible(`main[data-action="done"]`),
	); err != nil {
		t.Fatal(err)
	}
	if h := heading(t, tab); h != "Your appointment has moved" {
		t.Fatalf("after choosing %s the page says %q", picked, h)
	}
	moved := e.appt(a.ID)
	if want, _ := time.Parse(time.RFC3339, picked); !moved.Start.Equal(want) || moved.Status != rendezvous.StatusScheduled {
		t.Fatalf("appointment at %s (%s), want moved to %s", moved.Start, moved.Status, picked)
	}

	// Another site's page posts a cancel form with the current form token (the worst
	// case: its author has the link). It is on "localhost", another site than 127.0.0.1.
	cancelPage, err := http.Get(e.link(a) + "/cancel")
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	_, _ = fmt.Fprint(&body, readAll(t, cancelPage))
	tok := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body.String())
	ver := regexp.MustCompile(`name="version" value="([^"]+)"`).FindStringSubmatch(body.String())
	if tok == nil || ver == nil {
		t.Fatalf("no form on the cancel page:\n%s", body.String())
	}
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/cancel"><input type="hidden" name="csrf" value="%s">`+
			`<input type="hidden" name="version" value="%s"><button type="submit">Win a prize</button></form>`,
			html.EscapeString(e.link(a)), html.EscapeString(tok[1]), html.EscapeString(ver[1]))
	}))
	t.Cleanup(evil.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(evil.URL, "http://"))
	if err := chromedp.Do(tab,
		chromedp.Navigate("http://localhost:"+port+"/"),
		chromedp.Click(`button`),
		chromedp.WaitVisible(`main[data-action="closed"]`),
	); err != nil {
		t.Fatal(err)
	}
	if h := heading(t, tab); h != "We could not confirm this request" {
		t.Errorf("a cross-site post got %q", h)
	}
	if got := e.appt(a.ID); got.Status != rendezvous.StatusScheduled {
		t.Fatalf("a cross-site post changed the appointment: %s", got.Status)
	}

	// Cancel: from the waiting room, follow "Cancel the appointment" and confirm.
	if err := chromedp.Do(tab,
		chromedp.Navigate(e.link(a)),
		chromedp.WaitVisible(`#self-service-links`),
		chromedp.Click(`//a[text()="Cancel the appointment"]`),
		chromedp.WaitVisible(`form.confirm`),
		chromedp.Click(`form.confirm button[type=submit]`),
		chromedp.WaitVisible(`main[data-action="done"]`),
	); err != nil {
		t.Fatal(err)
	}
	if h := heading(t, tab); h != "Your appointment is cancelled" {
		t.Fatalf("after confirming, the page says %q", h)
	}
	if got := e.appt(a.ID); got.Status != rendezvous.StatusCancelled {
		t.Fatalf("appointment %s after the customer cancelled", got.Status)
	}
}

// bounded gives a browser test's tab a deadline, so that a page that misbehaves (a
// reload loop makes a wait for an element wait forever) fails the test instead of hanging
// it.
func bounded(t *testing.T, tab context.Context) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 4*browserWait)
	t.Cleanup(cancel)
	return ctx
}

func readAll(t *testing.T, r *http.Response) string {
	t.Helper()
	defer r.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// TestFinalPagesStayPutInBrowser opens a cancelled link, an ended link, and a waiting
// room whose appointment is then cancelled, and watches them for 10 seconds: each shows
// its page and makes only a handful of requests (the server counts them), never a loop.
func TestFinalPagesStayPutInBrowser(t *testing.T) {
	e := newCustomerEnv(t)
	cancelled := e.book(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	e.change(cancelled.ID, "cancelled", func(a *rendezvous.Appointment) error { return a.Cancel("customer asked", e.clk.Now()) })
	ended := e.book(time.Date(2026, 11, 24, 8, 30, 0, 0, time.UTC))
	laterCancelled := e.book(time.Date(2026, 11, 24, 13, 0, 0, 0, time.UTC))
	e.clk.Set(time.Date(2026, 11, 24, 8, 31, 0, 0, time.UTC))
	e.change(ended.ID, "completed", func(a *rendezvous.Appointment) error {
		if err := a.MarkStarted(e.clk.Now()); err != nil {
			return err
		}
		return a.MarkCompleted(e.clk.Now())
	})

	browser := bounded(t, newBrowser(t))
	tabs := map[string]context.Context{"cancelled": browser, "ended": newTab(t, browser), "cancelled while open": newTab(t, browser)}
	links := map[string]*rendezvous.Appointment{"cancelled": cancelled, "ended": ended, "cancelled while open": laterCancelled}
	want := map[string]string{"cancelled": "This appointment was cancelled", "ended": "This appointment has ended", "cancelled while open": "This appointment was cancelled"}

	if err := chromedp.Do(tabs["cancelled while open"], chromedp.Navigate(e.link(laterCancelled)), chromedp.WaitVisible(`#countdown`)); err != nil {
		t.Fatal(err)
	}
	// The event stream is open once the page has made its second request.
	deadline := time.Now().Add(browserWait)
	for e.requests(laterCancelled.LinkToken) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the waiting room never opened its event stream")
		}
		time.Sleep(20 * time.Millisecond) // polling the server's count, not waiting for time
	}
	e.change(laterCancelled.ID, "cancelled", func(a *rendezvous.Appointment) error { return a.Cancel("agent ill", e.clk.Now()) })
	for _, name := range []string{"cancelled", "ended"} {
		if err := chromedp.Do(tabs[name], chromedp.Navigate(e.link(links[name]))); err != nil {
			t.Fatal(err)
		}
	}
	for name, tab := range tabs {
		js := fmt.Sprintf(`document.querySelector("h1") && document.querySelector("h1").textContent === %q`, want[name])
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(browserWait))); err != nil {
			t.Fatalf("%s: the page does not say %q: %v (it says %q)", name, want[name], err, heading(t, tab))
		}
	}
	before := map[string]int{}
	for name, a := range links {
		before[name] = e.requests(a.LinkToken)
	}
	// Ten seconds of the pages simply standing open: this waits out a span in which
	// nothing should happen, so there is no condition to wait for instead.
	time.Sleep(10 * time.Second)
	for name, a := range links {
		n := e.requests(a.LinkToken)
		if n > 4 {
			t.Errorf("%s: the link received %d requests in all (%d in the last 10 s), want at most a handful", name, n, n-before[name])
		}
		if n != before[name] {
			t.Errorf("%s: %d requests while the final page stood open", name, n-before[name])
		}
		t.Logf("%s: %d requests in all", name, n)
		if h := heading(t, tabs[name]); h != want[name] {
			t.Errorf("%s: after 10 s the page says %q", name, h)
		}
	}
}

// TestCustomerStatusInBrowser reads the customer's status line through a whole journey:
// the waiting room, the start, the Genesys interaction waiting for the agent, the agent
// answering and writing, the call, its end, and the link opened again afterwards. At every step the
// page shows exactly one status line, and it is the true one.
func TestCustomerStatusInBrowser(t *testing.T) {
	e := newCustomerEnv(t)
	agentID := sandbox.Demo.Agents[1].ID
	start := e.clk.Now().Add(time.Hour)
	a := e.book(start)
	browser := bounded(t, newBrowser(t))
	customer := browser

	e.clk.Set(start.Add(-10 * time.Minute))
	if err := chromedp.Do(customer, chromedp.Navigate(e.link(a)), chromedp.WaitVisible("#countdown")); err != nil {
		t.Fatal(err)
	}
	// From here on the page records every moment at which it showed more than one
	// status line (the page reloads only at the very end).
	if _, err := chromedp.Run(customer, chromedp.Evaluate[chromedp.Void](`(function(){
		window.__contradictions = [];
		new MutationObserver(function () {
			var s = `+statusJS+`;
			if (s.length > 1) window.__contradictions.push(s.join(" | "));
		}).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
	})()`)); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, customer, "waiting room", "You are in the waiting room. This page moves on by itself when your appointment starts; keep it open.")

	// The start: the interaction is created and offered to the agent.
	e.clk.Set(start)
	waitStatus(t, customer, "live, before the agent answers", "Waiting for your agent…")

	// The agent answers in Genesys: the room opens and says the agent is on the way.
	ctx, cancel := context.WithTimeout(context.Background(), browserWait)
	defer cancel()
	var agentLink string
	if err := e.sb.WaitFor(ctx, func() bool {
		for _, c := range e.sb.Conversations() {
			if c.MediaType == "message" && c.OfferedAgentID == agentID {
				for _, p := range c.Participants {
					if p.Purpose == "customer" {
						agentLink = p.Attributes[journey.AgentRoomLinkAttribute]
					}
				}
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("no conversation offered to the agent: %v", err)
	}
	convID, err := e.sb.Answer(agentID)
	if err != nil {
		t.Fatal(err)
	}
	// Answering tells the customer nothing (Genesys sends the guest no event for it), so
	// the page still truly waits; the agent's first message is the sign they are there.
	waitStatus(t, customer, "agent answered, silent", "Waiting for your agent…")
	if err := e.sb.AgentSendText(agentID, convID, "Hello John, I am opening the video call now."); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, customer, "agent wrote", "Your agent has answered and is joining the video call…")

	// The agent opens the room: the call.
	agent := newTab(t, browser)
	if err := chromedp.Do(agent, chromedp.Navigate(agentLink)); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, customer, "in the call", "Connected")

	// The agent hangs up: the call is over, and the page says so.
	if _, err := chromedp.Run(agent, chromedp.Evaluate[chromedp.Void](roomHandleJS+`.hangUp()`)); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, customer, "after the call", "The call has ended. You can close this window.")

	if seen, err := chromedp.Run(customer, chromedp.Evaluate[[]string](`window.__contradictions`)); err != nil || len(seen) > 0 {
		t.Errorf("the page showed several status lines at once (%v): %q", err, seen)
	}

	// Opened again later: the appointment has ended, nothing says it is starting.
	deadline := time.Now().Add(browserWait)
	for e.appt(a.ID).Status != rendezvous.StatusCompleted {
		if time.Now().After(deadline) {
			t.Fatalf("appointment %s after the hang-up, want completed", e.appt(a.ID).Status)
		}
		time.Sleep(20 * time.Millisecond) // polling the store, not waiting for time to pass
	}
	if err := chromedp.Do(customer, chromedp.Navigate(e.link(a))); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, customer, "reopened after the call", "Thank you. This link can no longer be used. It can no longer be changed online. If you need a new appointment, please contact us.")
	if h := heading(t, customer); h != "This appointment has ended" {
		t.Errorf("reopened after the call: %q", h)
	}
}

// TestWaitingRoomDeviceCheckInBrowser: in the waiting room the customer clicks the camera
// and microphone check; with Chromium's fake devices the page sees their picture and
// hears their tone, says so, and lets the devices go when the appointment starts.
func TestWaitingRoomDeviceCheckInBrowser(t *testing.T) {
	e := newCustomerEnv(t)
	start := e.clk.Now().Add(time.Hour)
	a := e.book(start)
	e.clk.Set(start.Add(-10 * time.Minute))
	tab := bounded(t, newBrowser(t))
	if err := chromedp.Do(tab,
		chromedp.Navigate(e.link(a)),
		chromedp.WaitVisible(`#check-start`),
		chromedp.Click(`#check-start`),
		chromedp.Poll[chromedp.Void](`document.getElementById("check-result").textContent === "Your camera and microphone work."`,
			chromedp.WithPollingTimeout(browserWait)),
		chromedp.Poll[chromedp.Void](`document.getElementById("check-level").value > 0.02`, chromedp.WithPollingTimeout(browserWait)),
	); err != nil {
		got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("check-result").textContent`))
		t.Fatalf("device check: %v (it says %q)", err, got)
	}
	live, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.getElementById("check-video").srcObject.getTracks().every(function (t) { return t.readyState === "live"; })`))
	if err != nil || !live {
		t.Fatalf("the checked devices are not live: %v", err)
	}
	// The start: the check's devices are released (the room will take them).
	e.clk.Set(start)
	if err := chromedp.Do(tab, chromedp.Poll[chromedp.Void](`document.getElementById("check-video").srcObject.getTracks().every(function (t) { return t.readyState === "ended"; })`,
		chromedp.WithPollingTimeout(browserWait))); err != nil {
		t.Fatalf("the check's devices were not released at the start: %v", err)
	}
}

// TestFaviconIsServed: browsers ask for /favicon.ico; it is there and logs no error.
func TestFaviconIsServed(t *testing.T) {
	e := newCustomerEnv(t)
	resp, err := http.Get(e.srv.URL + "/favicon.ico")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(body, "<svg") {
		t.Fatalf("favicon: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
