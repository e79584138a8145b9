package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"rendezvous/genesys/sandbox"
)

// waitPage polls the page until the JavaScript expression js is true.
func waitPage(t *testing.T, tab context.Context, what, js string) {
	t.Helper()
	do(t, tab, what, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(staffWait)))
}

// acrossPages waits until js is true on the page the tab shows, across navigations (a
// form being submitted, a page showing itself again), polling with a bound.
func acrossPages(t *testing.T, tab context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(staffWait)
	for {
		ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.readyState === "complete" && (`+js+`)`))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			body, _ := chromedp.Run(tab, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
			t.Fatalf("%s: not within %s\npage: %s", what, staffWait, body)
		}
		time.Sleep(100 * time.Millisecond) // a bounded poll; a navigation may be under way
	}
}

// setField sets the value of the field sel as a script would (no typing events): for
// emptying a field before typing into it, and for choosing an option.
func setField(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](fmt.Sprintf(`(function(){ var e = document.querySelector(%q); if (!e) return false; e.value = %q; return true; })()`, sel, value),
		chromedp.WithPollingTimeout(staffWait))
}

// previewJS evaluates expr against the waiting-room preview's document (same origin).
func previewJS(expr string) string {
	return `(function(){ var f = document.getElementById("waiting-preview"); var d = f && f.contentDocument;
		if (!d || d.readyState !== "complete" || !d.getElementById("journey")) return false; return ` + expr + `; })()`
}

// TestAdminSettingsBrowser drives the administration settings pages as an administrator
// would: call scheduling with the waiting-room preview following what they type, a
// refused address that loses nothing, and the saved values after a reload; notifications
// off and on again; a TURN server whose credential is never shown back; another
// person's role changed while their own, as the last administrator, cannot be given up;
// a retention period, and one customer's data erased with its progress shown.
func TestAdminSettingsBrowser(t *testing.T) {
	e := startService(t)
	tab := startChromium(t)

	// Sam is the first person (administrator); Bruno signs in once so he is known.
	e.signIn(t, tab, "Sam Reyes")
	signOut(t, tab)
	e.signIn(t, tab, "Bruno Costa")
	signOut(t, tab)
	e.signIn(t, tab, "Sam Reyes")

	// Call scheduling: the preview shows the waiting room, and follows the form.
	do(t, tab, "open call scheduling",
		chromedp.Navigate(e.base+"/app/admin"),
		chromedp.Click(chromedp.CSS(`.admin-nav a[href="/app/admin/scheduling"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#scheduling-form`)),
	)
	if got := text(t, tab, "#comm-channel"); !strings.Contains(got, "web messaging") {
		t.Errorf("communication channel %q, want web messaging", got)
	}
	if body := text(t, tab, ".admin-main"); strings.Contains(strings.ToLower(body), "web chat") && !strings.Contains(body, "retired") {
		t.Errorf("web chat offered without the reason: %s", body)
	}
	waitPage(t, tab, "preview shows the waiting room", previewJS(`!d.getElementById("waiting").hidden && d.getElementById("notyet").hidden`))
	screenshot(t, tab, "admin-scheduling")
	do(t, tab, "type a shorter opening time",
		setField(`#f-opens_early`, ""),
		chromedp.SendKeys(chromedp.CSS(`#f-opens_early`), "10"),
	)
	waitPage(t, tab, "preview says the room is not open yet", previewJS(`d.getElementById("waiting").hidden && !d.getElementById("notyet").hidden`))
	do(t, tab, "choose an image by address",
		setField(`#f-opens_early`, ""),
		chromedp.SendKeys(chromedp.CSS(`#f-opens_early`), "45"),
		chromedp.Click(chromedp.CSS(`input[name="media"][value="image"]`)),
		setField(`#f-media_url`, ""),
		chromedp.SendKeys(chromedp.CSS(`#f-media_url`), "https://cdn.example.com/wait.png"),
	)
	waitPage(t, tab, "preview shows the image", previewJS(`!d.getElementById("waiting").hidden && d.querySelector("img.media").getAttribute("src") === "https://cdn.example.com/wait.png"`))

	// A refused address: a plain message beside it, everything typed kept.
	do(t, tab, "save a bad address",
		setField(`#f-media_url`, "javascript:alert(1)"),
		setField(`#f-grace`, "20"),
		chromedp.Click(chromedp.CSS(`#scheduling-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#e-media_url`)),
	)
	if got := text(t, tab, "#e-media_url"); !strings.Contains(got, "https address") {
		t.Errorf("bad address message %q", got)
	}
	kept, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[document.getElementById("f-opens_early").value, document.getElementById("f-grace").value, document.getElementById("f-media_url").value]`))
	if err != nil || strings.Join(kept, "|") != "45|20|javascript:alert(1)" {
		t.Errorf("after the refusal the form holds %q (%v)", kept, err)
	}
	// Text that cannot be stored, and text too long: refused beside the field, nothing lost.
	do(t, tab, "save a NUL byte and an overlong name",
		chromedp.Evaluate[chromedp.Void](`document.getElementById("f-queue_attr").value = "context.\u0000queue";
			document.getElementById("f-agent_attr").value = "a".repeat(201)`),
		setField(`#f-media_url`, "https://cdn.example.com/wait.png"),
		chromedp.Click(chromedp.CSS(`#scheduling-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#e-queue_attr`)),
	)
	if got := text(t, tab, "#e-queue_attr"); !strings.Contains(got, "cannot be stored") {
		t.Errorf("NUL byte message %q", got)
	}
	if got := text(t, tab, "#e-agent_attr"); !strings.Contains(got, "too long") {
		t.Errorf("overlong name message %q", got)
	}
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-opens_early").value`)); got != "45" {
		t.Errorf("after the refusal opening time %q, want 45", got)
	}
	do(t, tab, "fix the address and save",
		setField(`#f-agent_attr`, "context.auvious.agentUserId"),
		setField(`#f-queue_attr`, "context.auvious.queueName"),
		setField(`#f-media_url`, "https://cdn.example.com/wait.png"),
		chromedp.Click(chromedp.CSS(`#scheduling-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#scheduling-form`)),
	)
	saved, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[document.getElementById("f-opens_early").value, document.getElementById("f-grace").value,
		document.getElementById("f-media_url").value, document.querySelector('input[name="media"]:checked').value]`))
	if err != nil || strings.Join(saved, "|") != "45|20|https://cdn.example.com/wait.png|image" {
		t.Errorf("after saving and reloading the form holds %q (%v)", saved, err)
	}

	// An uploaded image becomes the waiting room's media at once, and the preview shows it.
	img := filepath.Join(t.TempDir(), "wait.png")
	var buf bytes.Buffer
	pic := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range pic.Pix {
		pic.Pix[i] = 0x80
	}
	if err := png.Encode(&buf, pic); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	do(t, tab, "upload an image",
		chromedp.SetUploadFiles(chromedp.CSS(`#f-file`), []string{img}),
		chromedp.Evaluate[chromedp.Void](`document.body.dataset.before = "1"`),
		// The button of the sticky preview panel: pressed from the script, since a click
		// at coordinates races the panel following the scroll.
		chromedp.Evaluate[chromedp.Void](`document.querySelector('form.upload button[type="submit"]').click()`),
	)
	acrossPages(t, tab, "the page after the upload", `!document.body.dataset.before && document.querySelector(".flash, .error-summary") !== null`)
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector('input[name="media"]:checked').value`)); got != "upload" {
		t.Errorf("after the upload the media choice is %q, want upload", got)
	}
	waitPage(t, tab, "preview shows the uploaded image", previewJS(`d.querySelector("img.media").getAttribute("src").indexOf("/journey/media/") === 0 && d.querySelector("img.media").naturalWidth === 40`))

	// Notifications: off, and on again.
	do(t, tab, "turn notifications off",
		chromedp.Click(chromedp.CSS(`.admin-nav a[href="/app/admin/notifications"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-enabled`)),
		chromedp.Click(chromedp.CSS(`#f-enabled`)),
		chromedp.Click(chromedp.CSS(`form[action="/app/admin/notifications"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	waitPage(t, tab, "notifications off after saving", `!document.getElementById("f-enabled").checked`)
	do(t, tab, "save a reminder that is not a number",
		setField(`#f-reminders`, "1440, soon"),
		chromedp.Click(chromedp.CSS(`form[action="/app/admin/notifications"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#e-reminders`)),
	)
	if got := text(t, tab, "#e-reminders"); !strings.Contains(got, "whole minutes") {
		t.Errorf("reminder message %q", got)
	}
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-reminders").value`)); got != "1440, soon" {
		t.Errorf("reminders after the refusal %q", got)
	}
	do(t, tab, "back to the saved notifications", chromedp.Navigate(e.base+"/app/admin/notifications"), chromedp.WaitVisible(chromedp.CSS(`#f-enabled`)))
	if got := text(t, tab, "#events-off"); !strings.Contains(got, "switched off") {
		t.Errorf("with notifications off the table says %q", got)
	}
	if got := text(t, tab, "#channels"); !strings.Contains(got, "SMS") || !strings.Contains(got, "Email") {
		t.Errorf("channel status %q", got)
	}
	screenshot(t, tab, "admin-notifications")
	// The page already shows a flash: mark it, so that the wait is for the next page.
	do(t, tab, "turn notifications on",
		chromedp.Click(chromedp.CSS(`#f-enabled`)),
		chromedp.Evaluate[chromedp.Void](`document.body.dataset.before = "1"`),
		chromedp.Click(chromedp.CSS(`form[action="/app/admin/notifications"] button[type="submit"]`)),
	)
	acrossPages(t, tab, "the saved page", `!document.body.dataset.before && document.querySelector(".flash") !== null`)
	waitPage(t, tab, "notifications on after saving", `document.getElementById("f-enabled").checked`)
	// Which events go on which channel: reminders by SMS unticked (from the keyboard),
	// saved with the rest and still unticked after a reload; everything else still ticked.
	// A refusal elsewhere in the form keeps the untick.
	do(t, tab, "untick reminders by SMS, with a follow-up that is not a number",
		chromedp.Focus(chromedp.CSS(`#f-send-reminder-sms`)),
		chromedp.KeyEvent(" "),
		setField(`#f-followups`, "later"),
		chromedp.Click(chromedp.CSS(`form[action="/app/admin/notifications"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#e-followups`)),
	)
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[bool](`document.getElementById("f-send-reminder-sms").checked || !document.getElementById("f-send-reminder-email").checked`)); got {
		t.Error("the refused form lost the untick of reminders by SMS")
	}
	do(t, tab, "save with the follow-up fixed",
		setField(`#f-followups`, "60"),
		chromedp.Evaluate[chromedp.Void](`document.body.dataset.before = "1"`),
		chromedp.Click(chromedp.CSS(`form[action="/app/admin/notifications"] button[type="submit"]`)),
	)
	acrossPages(t, tab, "the page after saving the channels", `!document.body.dataset.before && document.querySelector(".flash") !== null`)
	do(t, tab, "reload the notifications", chromedp.Navigate(e.base+"/app/admin/notifications"), chromedp.WaitVisible(chromedp.CSS(`#event-channels`)))
	if got, err := chromedp.Run(tab, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('#event-channels input[type="checkbox"]')).filter(c => !c.checked).map(c => c.value + " " + c.labels[0].textContent).join("; ")`)); err != nil || got != "reminder/sms Reminders before the start, SMS" {
		t.Errorf("unticked after the reload: %q, %v; want reminders by SMS only", got, err)
	}
	if n, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('#event-channels input[type="checkbox"]:checked').length`)); n != 9 {
		t.Errorf("%d ticked after the reload, want 9", n)
	}

	// Video: a TURN server; its credential is never shown back.
	do(t, tab, "open video", chromedp.Click(chromedp.CSS(`.admin-nav a[href="/app/admin/video"]`)), chromedp.WaitVisible(chromedp.CSS(`form[action="/app/admin/video"]`)))
	spare, err := chromedp.Run(tab, chromedp.Evaluate[string](`String(Number(document.querySelector('input[name="rows"]').value) - 1)`))
	if err != nil {
		t.Fatal(err)
	}
	fixed := chromedp.CSS(`input[name="auth_` + spare + `"][value="fixed"]`)
	do(t, tab, "add a server with a web address",
		chromedp.SendKeys(chromedp.CSS(`#f-urls_`+spare), "https://turn.example.com"),
		chromedp.Click(fixed),
		chromedp.SendKeys(chromedp.CSS(`#f-username_`+spare), "rdv-turn"),
		chromedp.SendKeys(chromedp.CSS(`#f-credential_`+spare), "correct-horse-battery"),
		chromedp.Click(chromedp.CSS(`form[action="/app/admin/video"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.ice-server .field-error`)),
	)
	if got := text(t, tab, ".ice-server .field-error"); !strings.Contains(got, "turn:host:port") {
		t.Errorf("bad ICE address message %q", got)
	}
	if html, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(html, "correct-horse-battery") {
		t.Error("the refused form shows the typed credential back")
	}
	do(t, tab, "reopen video", chromedp.Navigate(e.base+"/app/admin/video"), chromedp.WaitVisible(chromedp.CSS(`form[action="/app/admin/video"]`)))
	do(t, tab, "add a TURN server",
		chromedp.SendKeys(chromedp.CSS(`#f-urls_`+spare), "turn:turn.example.com:3478?transport=udp"),
		chromedp.Click(fixed),
		chromedp.SendKeys(chromedp.CSS(`#f-username_`+spare), "rdv-turn"),
		chromedp.SendKeys(chromedp.CSS(`#f-credential_`+spare), "correct-horse-battery"),
		chromedp.Click(chromedp.CSS(`form[action="/app/admin/video"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	html, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil || strings.Contains(html, "correct-horse-battery") {
		t.Fatalf("the TURN credential is in the page (%v)", err)
	}
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-urls_0").value + " " + document.querySelector("#server-0 .secret-hint").innerText`)); !strings.Contains(got, "turn.example.com") || !strings.Contains(got, "Saved (••••tery)") {
		t.Errorf("video page after saving: %s", got)
	}
	// Another TURN server, signed in to with its shared secret (the choice a new server
	// starts with): a short one is refused in plain words, a long one kept and not shown.
	do(t, tab, "a TURN server with a short shared secret",
		chromedp.SendKeys(chromedp.CSS(`#f-urls_1`), "turns:relay.example.com:443"),
		chromedp.SendKeys(chromedp.CSS(`#f-secret_1`), "too-short"),
		chromedp.Click(chromedp.CSS(`form[action="/app/admin/video"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.ice-server .field-error`)),
	)
	if got := text(t, tab, ".ice-server .field-error"); !strings.Contains(got, "shorter than 16 characters") {
		t.Errorf("short shared secret explained as %q", got)
	}
	do(t, tab, "the same with a long shared secret",
		chromedp.SendKeys(chromedp.CSS(`#f-secret_1`), "a-long-random-static-auth-secret"),
		chromedp.Click(chromedp.CSS(`form[action="/app/admin/video"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	html, _ = chromedp.Run(tab, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if strings.Contains(html, "a-long-random-static-auth-secret") || strings.Contains(html, "correct-horse-battery") {
		t.Fatal("a TURN secret is in the page")
	}
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("#server-1 .secret-hint").innerText + " " +
		document.querySelector('input[name="auth_1"]:checked').value + " " + document.querySelector("#server-0 .secret-hint").innerText`)); !strings.Contains(got, "Shared secret saved (••••cret)") ||
		!strings.Contains(got, " secret Saved (••••tery)") {
		t.Errorf("video page after saving a shared secret: %s", got)
	}
	screenshot(t, tab, "admin-video")

	// People: Bruno becomes supervisor; Sam, the last administrator, cannot step down.
	do(t, tab, "make Bruno supervisor",
		chromedp.Click(chromedp.CSS(`.admin-nav a[href="/app/admin/people"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#people`)),
		setField(`#role-`+sandbox.Demo.Agents[1].ID, "supervisor"),
		chromedp.Click(chromedp.CSS(`#person-`+sandbox.Demo.Agents[1].ID+` button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if got := text(t, tab, ".flash"); got != "Role changed." {
		t.Errorf("flash %q", got)
	}
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("role-`+sandbox.Demo.Agents[1].ID+`").value`)); got != "supervisor" {
		t.Errorf("Bruno's role after the change: %q", got)
	}
	sam := sandbox.Demo.Supervisor.ID
	do(t, tab, "Sam tries to step down",
		setField(`#role-`+sam, "agent"),
		chromedp.Click(chromedp.CSS(`#person-`+sam+` button`)),
		chromedp.WaitVisible(chromedp.CSS(`#role-error`)),
	)
	if got := text(t, tab, "#role-error"); !strings.Contains(got, "last administrator") {
		t.Errorf("refusal %q", got)
	}
	do(t, tab, "reload people", chromedp.Navigate(e.base+"/app/admin/people"), chromedp.WaitVisible(chromedp.CSS(`#people`)))
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("role-`+sam+`").value`)); got != "administrator" {
		t.Errorf("Sam's role after the refusal: %q", got)
	}
	screenshot(t, tab, "admin-people")

	// Retention: a period, and one customer's data erased.
	bookForErasure(t, e, "+306912345671")
	do(t, tab, "set a retention period",
		chromedp.Click(chromedp.CSS(`.admin-nav a[href="/app/admin/retention"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-days`)),
		setField(`#f-days`, "90"),
		chromedp.Click(chromedp.CSS(`form[action="/app/admin/retention"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-days").value`)); got != "90" {
		t.Errorf("retention days after saving: %q", got)
	}
	do(t, tab, "erase without confirming",
		chromedp.SendKeys(chromedp.CSS(`#f-phone`), "+30 691 234 5671"),
		chromedp.Click(chromedp.CSS(`#erase-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#e-confirm`)),
	)
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-phone").value`)); got != "+30 691 234 5671" {
		t.Errorf("phone after the refusal: %q", got)
	}
	do(t, tab, "confirm and erase",
		chromedp.Click(chromedp.CSS(`#f-confirm`)),
		chromedp.Click(chromedp.CSS(`#erase-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#erasure`)),
	)
	// The page shows itself again every two seconds until the erasure job is done.
	acrossPages(t, tab, "erasure done", `(document.getElementById("erasure-state") || {innerText: ""}).innerText.indexOf("erased from 1 appointments") >= 0`)
	screenshot(t, tab, "admin-retention")
}

// bookForErasure books an appointment for a customer with phone through the API.
func bookForErasure(t *testing.T, e *staffEnv, phone string) {
	t.Helper()
	body := fmt.Sprintf(`{"start": %q, "durationMinutes": 30, "timeZone": "Europe/Athens", "title": "Erase me",
		"agentUserId": %q, "customers": [{"name": "Eri Erased", "phone": %q}]}`,
		time.Now().Add(72*time.Hour).Truncate(time.Hour).UTC().Format(time.RFC3339), sandbox.Demo.Agents[0].ID, phone)
	req, _ := http.NewRequest("POST", e.base+"/api/v1/appointments", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("book: %d %s", resp.StatusCode, b)
	}
}
