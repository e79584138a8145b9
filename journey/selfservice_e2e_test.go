package journey_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/genesys/sandbox"
	"rendezvous/journey"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// selfForm is the hidden fields of a self-service form as the page rendered them.
type selfForm struct{ csrf, version string }

var (
	csrfRE    = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	versionRE = regexp.MustCompile(`name="version" value="([^"]+)"`)
)

func parseForm(t *testing.T, page string) selfForm {
	t.Helper()
	c, v := csrfRE.FindStringSubmatch(page), versionRE.FindStringSubmatch(page)
	if c == nil || v == nil {
		t.Fatalf("no form on the page:\n%s", page)
	}
	return selfForm{csrf: c[1], version: v[1]}
}

// post submits a self-service form as a client without a browser's fetch metadata does
// (no Origin, no Sec-Fetch-Site): the form token alone decides. What a real browser sends
// is exercised by the browser tests in package web (customer_browser_test.go).
func (w *world) post(link string, form url.Values) (int, string) {
	w.t.Helper()
	req, _ := http.NewRequest("POST", link, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (w *world) appt(id string) *rendezvous.Appointment {
	w.t.Helper()
	a, err := w.st.Appointment(context.Background(), "demo", id)
	if err != nil {
		w.t.Fatal(err)
	}
	return a
}

func TestSelfService(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Run("cancel", func(t *testing.T) { testSelfCancel(t, d) })
			t.Run("reschedule", func(t *testing.T) { testSelfReschedule(t, d) })
			t.Run("closed", func(t *testing.T) { testSelfClosed(t, d) })
		})
	}
}

func testSelfCancel(t *testing.T, dialect string) {
	w := newWorld(t, dialect)
	agent := sandbox.Demo.Agents[1].ID
	// 2026-11-25 10:00 in Berlin.
	id, link := w.book(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC), agent, map[string]any{"type": "GENESYS_CLOUD_FLOW"})

	code, page := w.getPage(link, false)
	if code != 200 || !strings.Contains(page, link[len(w.srv.URL):]+"/cancel") || !strings.Contains(page, link[len(w.srv.URL):]+"/reschedule") {
		t.Fatalf("waiting room does not offer self-service: %d\n%s", code, page)
	}
	code, page = w.getPage(link+"/cancel", false)
	if code != 200 || !strings.Contains(page, "Möchten Sie diesen Termin absagen?") || !strings.Contains(page, "Mittwoch, 25. November 2026") ||
		!strings.Contains(page, "10:00") || !strings.Contains(page, "Mitteleuropäische Zeit") {
		t.Fatalf("cancel page: %d\n%s", code, page)
	}
	f := parseForm(t, page)
	good := url.Values{"csrf": {f.csrf}, "version": {f.version}}

	// A forged or missing token, or one for another version. (Posts from another site's
	// page are refused by the browser's own Sec-Fetch-Site; TestSelfServiceInBrowser has
	// a real browser make one.)
	for name, form := range map[string]url.Values{
		"forged token":      {"csrf": {"AAAA" + f.csrf[4:]}, "version": {f.version}},
		"missing token":     {"version": {f.version}},
		"token for another": {"csrf": {f.csrf}, "version": {"99"}},
	} {
		code, page := w.post(link+"/cancel", form)
		if code != http.StatusForbidden || !strings.Contains(page, "Es wurde nichts geändert") {
			t.Errorf("%s: %d\n%s", name, code, page)
		}
	}
	if a := w.appt(id); a.Status != rendezvous.StatusScheduled {
		t.Fatalf("a refused request changed the appointment: %s", a.Status)
	}

	code, page = w.post(link+"/cancel", good)
	if code != 200 || !strings.Contains(page, "Ihr Termin ist abgesagt") {
		t.Fatalf("cancel: %d\n%s", code, page)
	}
	a := w.appt(id)
	if a.Status != rendezvous.StatusCancelled || a.CancelReason != "cancelled by the customer" {
		t.Fatalf("after cancel: %s %q", a.Status, a.CancelReason)
	}
	// The same form again, and every page of the link: closed, with no way to change it.
	code, page = w.post(link+"/cancel", good)
	if code != http.StatusGone || !strings.Contains(page, "kontaktieren Sie uns") {
		t.Fatalf("second cancel: %d\n%s", code, page)
	}
	for _, p := range []string{"", "/cancel", "/reschedule"} {
		code, page := w.getPage(link+p, false)
		if code != http.StatusGone || !strings.Contains(page, "abgesagt") || strings.Contains(page, "/reschedule\"") {
			t.Errorf("GET %q after cancel: %d\n%s", p, code, page)
		}
	}
	// Someone else's (unknown) token reveals nothing.
	if code, _ := w.getPage(w.srv.URL+"/a/"+strings.Repeat("x", 43)+"/cancel", false); code != http.StatusNotFound {
		t.Errorf("unknown token: %d", code)
	}
	if code, _ := w.post(w.srv.URL+"/a/"+strings.Repeat("x", 43)+"/cancel", good); code != http.StatusNotFound {
		t.Errorf("unknown token POST: %d", code)
	}
}

func testSelfReschedule(t *testing.T, dialect string) {
	w := newWorld(t, dialect)
	ctx := context.Background()
	agent := sandbox.Demo.Agents[1].ID
	// Now is 2026-11-24 09:00 in Berlin. The appointment: 25 Nov 10:00; the agent is busy
	// on 25 Nov at 12:00 (another appointment) and, in another organization that uses the
	// same agent id, at 14:00, which must not count.
	id, link := w.book(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC), agent, map[string]any{"type": "GENESYS_CLOUD_FLOW"})
	w.book(time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC), agent, map[string]any{"type": "GENESYS_CLOUD_FLOW"})
	if err := w.st.EnsureOrg(ctx, rendezvous.Org{ID: "other", Name: "Other"}); err != nil {
		t.Fatal(err)
	}
	other, err := rendezvous.NewAppointment("other", rendezvous.AppointmentInput{
		Start: time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC), DurationMinutes: 30, TimeZone: "Europe/Berlin",
		AgentUserID: agent, Customers: []rendezvous.Customer{{Name: "X", Email: "x@example.com"}},
	}, w.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.st.CreateAppointment(ctx, other, store.Idempotency{}); err != nil {
		t.Fatal(err)
	}

	code, page := w.getPage(link+"/reschedule", false)
	if code != 200 || !strings.Contains(page, "Neuen Termin wählen") || !strings.Contains(page, "Ihr Termin jetzt:") {
		t.Fatalf("reschedule page: %d\n%s", code, page)
	}
	offers := func(page, at string) bool { return strings.Contains(page, `value="`+at+`"`) }
	for at, want := range map[string]bool{
		"2026-11-24T09:30:00Z": false, // inside the 2 h notice
		"2026-11-24T10:00:00Z": true,  // 11:00 Berlin, 2 h ahead
		"2026-11-24T16:30:00Z": true,  // 17:30 Berlin, the last of the day
		"2026-11-24T17:00:00Z": false, // 18:00 Berlin: would end after 18:00
		"2026-11-25T09:00:00Z": false, // its own time
		"2026-11-25T11:00:00Z": false, // the agent's other appointment
		"2026-11-25T10:30:00Z": true,  // ends as the other one starts
		"2026-11-25T13:00:00Z": true,  // busy only in another organization
		"2026-12-07T16:30:00Z": true,  // the 14th day
		"2026-12-08T07:00:00Z": false, // the 15th day
	} {
		if offers(page, at) != want {
			t.Errorf("slot %s offered = %v, want %v", at, !want, want)
		}
	}
	f := parseForm(t, page)

	// A time the page never offered is refused, as is a forged form.
	code, page = w.post(link+"/reschedule", url.Values{"csrf": {f.csrf}, "version": {f.version}, "start": {"2026-11-25T11:00:00Z"}})
	if code != http.StatusConflict || !strings.Contains(page, "gerade vergeben") {
		t.Fatalf("taken time: %d\n%s", code, page)
	}

	// Someone takes 26 Nov 10:00 while the customer looks at the list: "just taken".
	w.book(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC), agent, map[string]any{"type": "GENESYS_CLOUD_FLOW"})
	code, page = w.post(link+"/reschedule", url.Values{"csrf": {f.csrf}, "version": {f.version}, "start": {"2026-11-26T09:00:00Z"}})
	if code != http.StatusConflict || !strings.Contains(page, "Diese Zeit wurde gerade vergeben") || offers(page, "2026-11-26T09:00:00Z") {
		t.Fatalf("race: %d\n%s", code, page)
	}

	// The same race lost inside the write: the time passed the check, then someone booked
	// it before the save; the store's overlap check refuses it (409).
	journey.BeforeReschedule(w.j, func() {
		journey.BeforeReschedule(w.j, nil)
		w.book(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), agent, map[string]any{"type": "GENESYS_CLOUD_FLOW"})
	})
	code, page = w.post(link+"/reschedule", url.Values{"csrf": {f.csrf}, "version": {f.version}, "start": {"2026-11-26T10:00:00Z"}})
	if code != http.StatusConflict || !strings.Contains(page, "Diese Zeit wurde gerade vergeben") || offers(page, "2026-11-26T10:00:00Z") {
		t.Fatalf("race inside the write: %d\n%s", code, page)
	}
	if a := w.appt(id); !a.Start.Equal(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("a lost race moved the appointment to %s", a.Start)
	}

	code, page = w.post(link+"/reschedule", url.Values{"csrf": {f.csrf}, "version": {f.version}, "start": {"2026-11-26T12:30:00Z"}})
	if code != 200 || !strings.Contains(page, "Ihr Termin wurde verschoben") || !strings.Contains(page, "Donnerstag, 26. November 2026") ||
		!strings.Contains(page, "13:30") {
		t.Fatalf("reschedule: %d\n%s", code, page)
	}
	a := w.appt(id)
	if !a.Start.Equal(time.Date(2026, 11, 26, 12, 30, 0, 0, time.UTC)) || a.Status != rendezvous.StatusScheduled || a.Duration != 30*time.Minute {
		t.Fatalf("after reschedule: %s %s %s", a.Start, a.Status, a.Duration)
	}
	// The old form is stale now: shown again as it is, nothing applied.
	code, page = w.post(link+"/reschedule", url.Values{"csrf": {f.csrf}, "version": {f.version}, "start": {"2026-11-27T09:00:00Z"}})
	if code != http.StatusConflict || !strings.Contains(page, "inzwischen geändert") {
		t.Fatalf("stale form: %d\n%s", code, page)
	}
	if a2 := w.appt(id); !a2.Start.Equal(a.Start) || a2.Version != a.Version {
		t.Fatalf("a stale form changed the appointment")
	}
	// The freed 25 Nov 10:00 is offered again now.
	if _, page = w.getPage(link+"/reschedule", false); !offers(page, "2026-11-25T09:00:00Z") {
		t.Errorf("the old time is not offered after moving away from it")
	}
	// The waiting room shows the new time.
	if _, page = w.getPage(link, false); !strings.Contains(page, "13:30") {
		t.Errorf("the page does not show the new time")
	}
}

func testSelfClosed(t *testing.T, dialect string) {
	w := newWorld(t, dialect)
	ctx := context.Background()
	agent := sandbox.Demo.Agents[1].ID
	start := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	id, link := w.book(start, agent, map[string]any{"type": "GENESYS_CLOUD_FLOW"})

	// Live: too late to move or cancel; the customer is pointed to the link.
	w.clk.Set(start.Add(5 * time.Minute))
	for _, p := range []string{"/cancel", "/reschedule"} {
		code, page := w.getPage(link+p, false)
		if code != http.StatusConflict || !strings.Contains(page, "findet gerade statt") {
			t.Errorf("GET %s while live: %d\n%s", p, code, page)
		}
	}
	// Missed (the end plus grace passed, nobody came): no cancel, but a new time.
	w.clk.Set(start.Add(3 * time.Hour))
	code, page := w.getPage(link, false)
	if code != http.StatusGone || !strings.Contains(page, "/reschedule") {
		t.Fatalf("too-late page does not offer a new time: %d\n%s", code, page)
	}
	if code, _ := w.getPage(link+"/cancel", false); code != http.StatusGone {
		t.Errorf("cancel after the time: %d", code)
	}
	code, page = w.getPage(link+"/reschedule", false)
	if code != 200 {
		t.Fatalf("reschedule after a missed appointment: %d\n%s", code, page)
	}
	f := parseForm(t, page)
	code, page = w.post(link+"/reschedule", url.Values{"csrf": {f.csrf}, "version": {f.version}, "start": {"2026-11-25T09:00:00Z"}})
	if code != 200 {
		t.Fatalf("reschedule a missed appointment: %d\n%s", code, page)
	}
	if code, _ := w.getPage(link, false); code != 200 {
		t.Errorf("the link does not work again after the reschedule: %d", code)
	}

	// Ended (the meeting took place): nothing to change; say to contact the company.
	w.clk.Set(time.Date(2026, 11, 25, 9, 1, 0, 0, time.UTC))
	if _, err := w.st.UpdateAppointment(ctx, "demo", id, 0, func(a *rendezvous.Appointment) (string, error) {
		if err := a.MarkStarted(w.clk.Now()); err != nil {
			return "", err
		}
		return "completed", a.MarkCompleted(w.clk.Now())
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/cancel", "/reschedule"} {
		code, page := w.getPage(link+p, false)
		if code != http.StatusGone || !strings.Contains(page, "kontaktieren Sie uns") || strings.Contains(page, "<form") {
			t.Errorf("GET %s after the end: %d\n%s", p, code, page)
		}
	}
}
