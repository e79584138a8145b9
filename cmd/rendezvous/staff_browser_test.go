package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"rendezvous/genesys/sandbox"
)

// updateScreenshots rewrites docs/screenshots from the browser tests:
// go test ./cmd/rendezvous -run Browser -update-screenshots
var updateScreenshots = flag.Bool("update-screenshots", false, "write the staff pages' screenshots to docs/screenshots")

// staffWait bounds each wait in the staff browser tests: headless Chromium on two shared
// cores is slow to start.
const staffWait = 60 * time.Second

// startChromium starts headless Chromium (fake camera and microphone) and returns the
// context of its first tab. Without Chromium the test fails in CI and is skipped elsewhere.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	path := "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		p, lerr := exec.LookPath("chromium")
		if lerr != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("headless Chromium not found (apt-get install chromium)")
			}
			t.Skip("headless Chromium not found; skipped outside CI")
		}
		path = p
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// staffEnv is the real service started by run, with its built-in sandbox.
type staffEnv struct {
	base, sandbox string
	// key is an API key of the demo organization (appointments read and write).
	key  string
	logs *lineWatcher
	// dir is the service's data folder (its SQLite database and secrets key).
	dir string
}

// startService starts the service; env are extra environment variables, name then value.
func startService(t testing.TB, env ...string) *staffEnv {
	t.Helper()
	dir := t.TempDir()
	getenv := testEnv(dir)
	if len(env) > 0 {
		base := getenv
		getenv = func(k string) string {
			for i := 0; i+1 < len(env); i += 2 {
				if env[i] == k {
					return env[i+1]
				}
			}
			return base(k)
		}
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"apikey", "create", "-name", "staff-test"}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("apikey create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lineWatcher{found: make(chan string, 1)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0"}, getenv, io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("run did not return within 20 s of cancel")
		}
	})
	e := &staffEnv{logs: logs, key: lines[len(lines)-1], dir: dir}
	t.Cleanup(func() {
		if t.Failed() {
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
					t.Log(line)
				}
			}
		}
	})
	select {
	case e.base = <-logs.found:
	case err := <-done:
		t.Fatalf("run returned before listening: %v\n%s", err, logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("no listening line within 20 s:\n%s", logs)
	}
	waitHealthy(t, http.DefaultClient, e.base)
	e.sandbox = logs.value("url=")
	if e.sandbox == "" {
		t.Fatalf("no sandbox URL in the logs:\n%s", logs)
	}
	return e
}

// do runs browser actions, failing the test with the page's text when they fail.
func do(t *testing.T, tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, staffWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		// Read the page with a bound of its own: a tab that is stuck must not hang the test.
		rctx, rcancel := context.WithTimeout(tab, 10*time.Second)
		defer rcancel()
		body, _ := chromedp.Run(rctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
		t.Fatalf("%s: %v\npage: %s", what, err, body)
	}
}

// text returns the text of the first element matching sel, waiting for it to exist. It
// reads in one step, so a live update replacing the element meanwhile does no harm.
func text(t *testing.T, tab context.Context, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, staffWait)
	defer cancel()
	js := fmt.Sprintf(`(function(){ var e = document.querySelector(%q); return e ? {t: e.innerText} : null; })()`, sel)
	s, err := chromedp.Run(ctx, chromedp.Poll[struct{ T string }](js, chromedp.WithPollingTimeout(staffWait)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s.T
}

// signIn signs in as the sandbox user named name, starting from the home page and
// clicking like a person: "Sign in with Genesys Cloud", then the user on the sandbox's
// login page.
func (e *staffEnv) signIn(t *testing.T, tab context.Context, name string) {
	t.Helper()
	var id string
	for _, u := range append(sandbox.Demo.Agents, sandbox.Demo.Supervisor) {
		if u.Name == name {
			id = u.ID
		}
	}
	do(t, tab, "sign in as "+name,
		chromedp.Navigate(e.base+"/"),
		chromedp.Click(chromedp.CSS(`a.signin`)),
		chromedp.WaitVisible(chromedp.CSS(`button[value="`+id+`"]`)),
		chromedp.Click(chromedp.CSS(`button[value="`+id+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.me summary`)),
	)
	if got := text(t, tab, ".me summary"); !strings.Contains(got, name) {
		t.Fatalf("signed in as %q, want %s", got, name)
	}
}

// signOut signs out through the person menu.
func signOut(t *testing.T, tab context.Context) {
	t.Helper()
	do(t, tab, "sign out",
		chromedp.Click(chromedp.CSS(`.me summary`)),
		chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#signin`)),
	)
}

// screenshot saves the page as docs/screenshots/<name>.png at width 1280 and 360 (with
// -update-screenshots), or just checks that the page renders at 320 px without horizontal
// scrolling.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	saved := false
	for _, width := range []int64{1280, 320, 1280} {
		do(t, tab, "resize", chromedp.EmulateViewport(width, 900),
			chromedp.Poll[chromedp.Void](fmt.Sprintf(`window.innerWidth === %d`, width), chromedp.WithPollingTimeout(staffWait)),
			// The layout answers at once, but a click is hit-tested against the last painted
			// frame: wait for one at this width, or the next click may land where the 320 px
			// layout had something else (a hidden tab paints no frames: then half a second).
			chromedp.Evaluate[chromedp.Void](`new Promise(function (done) {
				requestAnimationFrame(function () { requestAnimationFrame(done); }); setTimeout(done, 500); })`, chromedp.EvalAwaitPromise))
		scroll, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		if err != nil {
			t.Fatal(err)
		}
		if scroll {
			wide, _ := chromedp.Run(tab, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("body *")).filter(function (e) {
				return (e.getBoundingClientRect().right > window.innerWidth + 1 || e.scrollWidth > e.clientWidth + 1) && !e.closest(".table-wrap") && e.tagName !== "INPUT"; }).slice(0, 8).map(function (e) {
				return e.tagName + "." + e.className + "#" + e.id + " " + Math.round(e.getBoundingClientRect().right) + "/" + e.scrollWidth + "/" + e.clientWidth; })`))
			sw, _ := chromedp.Run(tab, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth, document.body.scrollWidth]`))
			t.Errorf("%s scrolls sideways at %d px (%v): %v", name, width, sw, wide)
		}
		if *updateScreenshots && width == 1280 && !saved {
			saved = true
			png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshots", name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// appointmentID returns the id of the appointment page the tab shows.
func appointmentID(t *testing.T, tab context.Context) string {
	t.Helper()
	href, err := chromedp.Run(tab, chromedp.Evaluate[string](`location.pathname`))
	if err != nil || !strings.HasPrefix(href, "/app/appointments/") {
		t.Fatalf("not on an appointment page: %q %v", href, err)
	}
	return strings.TrimPrefix(href, "/app/appointments/")
}

// TestStaffBrowser drives the staff app in headless Chromium as its people would: signing
// in through the sandbox's Genesys Cloud login; an agent booking (correcting a refused
// phone number on the way), rescheduling and cancelling; another agent refused the first
// one's appointment; a supervisor filtering by agent, seeing a booking arrive live, and
// reassigning; and a state-changing request from another origin refused.
func TestStaffBrowser(t *testing.T) {
	e := startService(t)
	tab := startChromium(t)

	// The first person becomes administrator; the supervisor and the second agent sign
	// in once so that Rendezvous knows them.
	e.signIn(t, tab, "Sam Reyes")
	if got := text(t, tab, ".me .role"); got != "Administrator" {
		t.Errorf("first person's role %q, want Administrator", got)
	}
	signOut(t, tab)
	e.signIn(t, tab, "Bruno Costa")
	if got := text(t, tab, ".me .role"); got != "Agent" {
		t.Errorf("Bruno's role %q, want Agent", got)
	}
	signOut(t, tab)

	// Alice books: the phone number is refused in plain words, nothing typed is lost, and
	// the corrected form books.
	e.signIn(t, tab, "Alice Martin")
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
	do(t, tab, "open the form",
		chromedp.Click(chromedp.CSS(`nav a[href="/app/appointments/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-name`)),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "Maria Papadopoulou"),
		chromedp.SendKeys(chromedp.CSS(`#f-phone`), "12345"),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), "maria@example.com"),
		chromedp.SetValue(chromedp.CSS(`#f-date`), tomorrow),
		chromedp.SetValue(chromedp.CSS(`#f-time`), "10:00"),
		chromedp.SetValue(chromedp.CSS(`#f-tz`), "Europe/Athens"),
		chromedp.SendKeys(chromedp.CSS(`#f-title`), "Mortgage review"),
		chromedp.SendKeys(chromedp.CSS(`#f-notes`), "Bring <b>payslips</b>"),
		chromedp.Click(chromedp.CSS(`form.appt button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#e-phone`)),
	)
	if msg := text(t, tab, "#e-phone"); !strings.Contains(msg, "country code") {
		t.Errorf("phone problem %q, want plain words about the country code", msg)
	}
	kept, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`["f-name","f-email","f-date","f-time","f-tz","f-title","f-notes"].map(function(id){return document.getElementById(id).value})`))
	if err != nil || fmt.Sprint(kept) != fmt.Sprint([]string{"Maria Papadopoulou", "maria@example.com", tomorrow, "10:00", "Europe/Athens", "Mortgage review", "Bring <b>payslips</b>"}) {
		t.Errorf("form after the refusal %q (%v): something typed was lost", kept, err)
	}
	if p := text(t, tab, "#tz-preview"); !strings.Contains(p, "12:00") {
		t.Errorf("customer's time preview %q, want 12:00 in Athens (winter) for 10:00 UTC", p)
	}
	screenshot(t, tab, "create-with-error")
	do(t, tab, "correct the phone and book",
		chromedp.Evaluate[chromedp.Void](`document.getElementById("f-phone").select()`),
		chromedp.SendKeys(chromedp.CSS(`#f-phone`), "+30 691 234 5678"),
		chromedp.Click(chromedp.CSS(`form.appt button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	first := appointmentID(t, tab)
	if got := text(t, tab, ".when"); !strings.Contains(got, "10:00–10:30") {
		t.Errorf("booked time %q, want 10:00–10:30", got)
	}
	if got := text(t, tab, ".notes"); got != "Bring <b>payslips</b>" {
		t.Errorf("notes shown as %q: user text must be escaped, not interpreted", got)
	}
	if link, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("customer-link").value`)); !strings.Contains(link, "/a/") {
		t.Errorf("customer link %q", link)
	}
	screenshot(t, tab, "detail")

	// Reschedule to 11:30.
	do(t, tab, "reschedule",
		chromedp.Click(chromedp.CSS(`a[href$="/edit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-time`)),
		chromedp.SetValue(chromedp.CSS(`#f-time`), "11:30"),
		chromedp.Click(chromedp.CSS(`form.appt button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if got := text(t, tab, ".when"); !strings.Contains(got, "11:30–12:00") {
		t.Errorf("rescheduled time %q, want 11:30–12:00", got)
	}
	if got := text(t, tab, ".history"); !strings.Contains(got, "Rescheduled") || !strings.Contains(got, "Alice Martin") {
		t.Errorf("history %q, want the reschedule by Alice", got)
	}

	// A second booking, cancelled with a reason.
	do(t, tab, "book another",
		chromedp.Navigate(e.base+"/app/appointments/new"),
		chromedp.WaitVisible(chromedp.CSS(`#f-name`)),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "Jonas Weber"),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), "jonas@example.com"),
		chromedp.SetValue(chromedp.CSS(`#f-date`), tomorrow),
		chromedp.SetValue(chromedp.CSS(`#f-time`), "15:00"),
		chromedp.Click(chromedp.CSS(`form.appt button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		chromedp.SendKeys(chromedp.CSS(`#cancel-reason`), "duplicate booking"),
		chromedp.Click(chromedp.CSS(`form.cancel button`)),
		chromedp.WaitVisible(chromedp.CSS(`.badge.status-cancelled`)),
	)
	if got := text(t, tab, ".history"); !strings.Contains(got, "duplicate booking") {
		t.Errorf("history %q, want the cancel reason", got)
	}
	do(t, tab, "calendar", chromedp.Navigate(e.base+"/app/calendar?date="+tomorrow), chromedp.WaitVisible(chromedp.CSS(`.cal`)))
	if got := text(t, tab, ".cal"); !strings.Contains(got, "Maria Papadopoulou") || !strings.Contains(got, "Jonas Weber") {
		t.Errorf("Alice's week %q, want both bookings", got)
	}
	signOut(t, tab)

	// Bruno may not see Alice's appointment: 404, as for one that does not exist.
	e.signIn(t, tab, "Bruno Costa")
	resp, err := chromedp.RunResponse(tab, chromedp.Navigate(e.base+"/app/appointments/"+first))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusNotFound || !strings.Contains(text(t, tab, "main"), "Not found") {
		t.Errorf("Bruno opening Alice's appointment: %d, want 404", resp.Status)
	}
	signOut(t, tab)

	// Sam filters by agent, sees a booking arrive without reloading, and reassigns.
	e.signIn(t, tab, "Sam Reyes")
	do(t, tab, "filter by Alice",
		chromedp.Navigate(e.base+"/app/calendar?date="+tomorrow),
		chromedp.WaitVisible(chromedp.CSS(`#filter-agent`)),
		chromedp.SetValue(chromedp.CSS(`#filter-agent`), sandbox.Demo.Agents[0].ID),
		chromedp.Click(chromedp.CSS(`form.filters button`)),
		// Only the filtered page has Alice selected (the unfiltered one had the option too).
		chromedp.WaitReady(chromedp.CSS(`#filter-agent option[selected][value="`+sandbox.Demo.Agents[0].ID+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.cal`)),
	)
	if got := text(t, tab, ".cal"); !strings.Contains(got, "Maria Papadopoulou") || !strings.Contains(got, "Alice Martin") {
		t.Errorf("Sam's calendar filtered by Alice: %q", got)
	}
	screenshot(t, tab, "calendar")

	// Live: another tab of Sam's books for Alice; the calendar shows it without a reload.
	other := newStaffTab(t, tab)
	do(t, other, "book from another tab",
		chromedp.Navigate(e.base+"/app/appointments/new"),
		chromedp.WaitVisible(chromedp.CSS(`#f-name`)),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "Eleni Live"),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), "eleni@example.com"),
		chromedp.SetValue(chromedp.CSS(`#f-agent`), sandbox.Demo.Agents[0].ID),
		chromedp.SetValue(chromedp.CSS(`#f-date`), tomorrow),
		chromedp.SetValue(chromedp.CSS(`#f-time`), "16:00"),
		chromedp.Click(chromedp.CSS(`form.appt button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	do(t, tab, "live update", chromedp.Poll[chromedp.Void](`document.querySelector(".cal").innerText.indexOf("Eleni Live") >= 0`,
		chromedp.WithPollingTimeout(staffWait)))

	do(t, tab, "reassign to Bruno",
		chromedp.Navigate(e.base+"/app/appointments/"+first),
		chromedp.WaitVisible(chromedp.CSS(`#reassign-agent`)),
		chromedp.SetValue(chromedp.CSS(`#reassign-agent`), sandbox.Demo.Agents[1].ID),
		chromedp.Click(chromedp.CSS(`form.inline button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if got := text(t, tab, "#h-when + p + dl, dl"); !strings.Contains(got, "Bruno Costa") {
		t.Errorf("agent after reassigning: %q, want Bruno Costa", got)
	}

	// A page on another origin posts to the app with Sam's cookie: refused.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/app/appointments/%s/cancel">
			<input name="reason" value="forged"><input name="version" value="0"></form>
			<script>document.getElementById("f").submit()</script>`, e.base, first)
	}))
	defer evil.Close()
	resp, err = chromedp.RunResponse(tab, chromedp.Navigate(evil.URL))
	if err != nil {
		t.Fatal(err)
	}
	do(t, tab, "forged post answered", chromedp.Poll[chromedp.Void](`location.href.indexOf("/cancel") > 0 && document.readyState === "complete"`,
		chromedp.WithPollingTimeout(staffWait)))
	if body := text(t, tab, "body"); !strings.Contains(body, "refused") {
		t.Errorf("cross-origin post answered %q, want a refusal", body)
	}
	do(t, tab, "back to the appointment", chromedp.Navigate(e.base+"/app/appointments/"+first), chromedp.WaitVisible(chromedp.CSS(`.badge.big`)))
	if got := text(t, tab, ".badge.big"); got != "Scheduled" {
		t.Errorf("after the forged cancel the appointment is %q, want still Scheduled", got)
	}
}

// newStaffTab opens another tab of the same browser (same cookies). It opens the tab
// here, with the tab's own context: chromedp ties a tab's message loop to the context of
// the first action run on it, so a tab first used by do (whose deadline ends when do
// returns) would stop answering every later action.
func newStaffTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	opened := make(chan error, 1)
	go func() { opened <- chromedp.Do(ctx, chromedp.Navigate("about:blank")) }()
	select {
	case err := <-opened:
		if err != nil {
			t.Fatalf("open a tab: %v", err)
		}
	case <-time.After(staffWait):
		t.Fatalf("open a tab: not after %v", staffWait)
	}
	return ctx
}
