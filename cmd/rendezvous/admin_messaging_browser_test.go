package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"rendezvous/genesys/sandbox"
)

// submit clicks sel (a submit button or a link) and waits for the next page, on which the
// JavaScript condition cond holds. The old page is marked first, so that its elements are
// not mistaken for the new page's.
func submit(t *testing.T, tab context.Context, what, sel, cond string) {
	t.Helper()
	do(t, tab, what,
		chromedp.Evaluate[chromedp.Void](`window.rdvOldPage = true`),
		chromedp.Click(chromedp.CSS(sel)),
	)
	waitNewPage(t, tab, what, cond)
}

// waitNewPage waits, after an action that left a page marked with window.rdvOldPage, for
// the next page on which cond holds.
func waitNewPage(t *testing.T, tab context.Context, what, cond string) {
	t.Helper()
	// The poll is cut short when the page it runs in goes away; run it again on the new one.
	deadline := time.Now().Add(staffWait)
	for {
		ctx, cancel := context.WithDeadline(tab, deadline)
		err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`!window.rdvOldPage && document.readyState === "complete" && (`+cond+`)`, chromedp.WithPollingTimeout(staffWait)))
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			body, _ := chromedp.Run(tab, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
			t.Fatalf("%s: %v\npage: %s", what, err, body)
		}
	}
}

// typeInto replaces the value of the field sel with s, typed key by key.
func typeInto(t *testing.T, tab context.Context, sel, s string) {
	t.Helper()
	do(t, tab, "type into "+sel,
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ""`, sel)),
		chromedp.SendKeys(chromedp.CSS(sel), s),
	)
}

var otpCode = regexp.MustCompile(`\b([0-9]{6})\b`)

// latestCode reads the one-time password of the last message the sandbox accepted for to.
func latestCode(t *testing.T, sandboxURL, to string) string {
	t.Helper()
	deadline := time.Now().Add(staffWait)
	for {
		all := otpCode.FindAllStringSubmatch(outboxTo(t, sandboxURL, to), -1)
		if len(all) > 0 {
			return all[len(all)-1][1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no verification code for %s in the sandbox outbox", to)
		}
		time.Sleep(50 * time.Millisecond) // polling another component's state, not waiting for the future
	}
}

// TestAdminChannelWizardsBrowser walks the SMS and the email setup wizard as an
// administrator: the demo's pre-verified channel is set up again; a wrong secret and a
// client without the inventory permission are refused in plain words (the permission
// named); the sender is picked from the inventory; a one-time password goes to the
// administrator, a wrong code is refused, the right one (read from the sandbox's outbox)
// finishes the setup.
func TestAdminChannelWizardsBrowser(t *testing.T) {
	e := startService(t)
	tab := startChromium(t)
	e.signIn(t, tab, "Sam Reyes")

	demo := sandbox.Demo
	do(t, tab, "open the SMS setup",
		chromedp.Navigate(e.base+"/app/admin"),
		chromedp.Click(chromedp.CSS(`.admin-nav a[href="/app/admin/sms"]`)),
		chromedp.WaitVisible(chromedp.CSS(`ol.steps`)),
	)
	if got := text(t, tab, ".admin-main .panel"); !strings.Contains(got, "SMS is verified") || !strings.Contains(got, demo.SMSNumber) {
		t.Errorf("the demo's seeded SMS channel shows %q, want it verified with %s", got, demo.SMSNumber)
	}
	if got := text(t, tab, ".admin-main .panel"); strings.Contains(got, demo.SMSClient.Secret) {
		t.Error("the client secret is shown")
	}
	submit(t, tab, "set up again", `a[href="/app/admin/sms?step=credentials"]`, `document.getElementById("f-client_secret")`)
	if got := text(t, tab, ".admin-main .panel"); !strings.Contains(got, "conversation:message:create") || !strings.Contains(got, "sms:phoneNumber:view") {
		t.Errorf("credentials step %q does not list the permissions the client needs", got)
	}

	typeInto(t, tab, "#f-client_id", demo.SMSClient.ID)
	do(t, tab, "wrong secret", chromedp.SendKeys(chromedp.CSS("#f-client_secret"), "not-the-secret"))
	submit(t, tab, "check a wrong secret", `form[action$="/credentials"] button[type=submit]`, `document.getElementById("e-client_secret")`)
	if got := text(t, tab, "#e-client_secret"); !strings.Contains(got, "refused this client id and secret") {
		t.Errorf("wrong secret: %q", got)
	}
	if v, _ := chromedp.Run(tab, chromedp.Evaluate[[]string](`[document.getElementById("f-client_id").value, document.getElementById("f-client_secret").value]`)); v[0] != demo.SMSClient.ID || v[1] != "" {
		t.Errorf("after the refusal the form holds %q: want the client id kept and the secret not rendered back", v)
	}

	typeInto(t, tab, "#f-client_id", demo.EmailClient.ID)
	do(t, tab, "email client's secret", chromedp.SendKeys(chromedp.CSS("#f-client_secret"), demo.EmailClient.Secret))
	submit(t, tab, "check a client without the SMS permission", `form[action$="/credentials"] button[type=submit]`, `document.getElementById("e-client_id")`)
	if got := text(t, tab, "#e-client_id"); !strings.Contains(got, "lacks the permission sms:phoneNumber:view") || !strings.Contains(got, "Roles / Permissions") {
		t.Errorf("missing permission: %q, want it named and where to add it", got)
	}

	typeInto(t, tab, "#f-client_id", demo.SMSClient.ID)
	do(t, tab, "right secret", chromedp.SendKeys(chromedp.CSS("#f-client_secret"), demo.SMSClient.Secret))
	submit(t, tab, "check the right credentials", `form[action$="/credentials"] button[type=submit]`, `document.getElementById("f-from_number")`)
	if got := text(t, tab, ".flash"); !strings.Contains(got, "accepted") {
		t.Errorf("after the credentials: %q", got)
	}
	if opts, _ := chromedp.Run(tab, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#f-from_number option")).map(function(o){return o.value})`)); len(opts) == 0 || opts[0] != demo.SMSNumber {
		t.Errorf("numbers offered %q, want the inventory's %s", opts, demo.SMSNumber)
	}
	submit(t, tab, "use the number", `form[action$="/sender"] button[type=submit]`, `document.getElementById("f-to")`)

	if got := text(t, tab, `ol.steps li[aria-current="step"]`); got != "Test message" {
		t.Errorf("after the number the wizard is at %q, want the test message", got)
	}
	typeInto(t, tab, "#f-to", "+30 691 234 5678")
	submit(t, tab, "send the code", `form[action$="/code"] button[type=submit]`, `document.getElementById("f-code")`)

	// Leave and come back: the wizard resumes where it was, the code still awaited.
	do(t, tab, "leave and come back", chromedp.Navigate(e.base+"/app/calendar"), chromedp.WaitVisible(chromedp.CSS(".bar")),
		chromedp.Navigate(e.base+"/app/admin/sms"), chromedp.WaitVisible(chromedp.CSS("#f-code")))
	if got := text(t, tab, `label[for="f-code"]`); !strings.Contains(got, "78") || strings.Contains(got, "691 234") {
		t.Errorf("resumed code field says %q, want the masked number", got)
	}
	code := latestCode(t, e.sandbox, "+306912345678")
	screenshot(t, tab, "admin-sms-wizard")

	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	do(t, tab, "wrong code", chromedp.SendKeys(chromedp.CSS("#f-code"), wrong))
	submit(t, tab, "confirm a wrong code", `form[action$="/confirm"] button[type=submit]`, `document.getElementById("e-code")`)
	if got := text(t, tab, "#e-code"); !strings.Contains(got, "not right") || !strings.Contains(got, "4 attempts left") {
		t.Errorf("wrong code: %q", got)
	}
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-to").value`)); got != "+30 691 234 5678" {
		t.Errorf("number to send again to %q, want it kept", got)
	}
	do(t, tab, "right code", chromedp.SendKeys(chromedp.CSS("#f-code"), code))
	submit(t, tab, "confirm the right code", `form[action$="/confirm"] button[type=submit]`, `document.querySelector(".flash")`)
	if got := text(t, tab, ".flash"); !strings.Contains(got, "Verified") {
		t.Errorf("after the right code: %q", got)
	}
	if got := text(t, tab, ".admin-main .panel"); !strings.Contains(got, "SMS is verified") || !strings.Contains(got, "+30") {
		t.Errorf("done step %q", got)
	}

	// Email: the same walk, with a domain and a sender.
	do(t, tab, "open the email setup",
		chromedp.Click(chromedp.CSS(`.admin-nav a[href="/app/admin/email"]`)),
		chromedp.WaitVisible(chromedp.CSS(`ol.steps`)),
	)
	submit(t, tab, "set up email again", `a[href="/app/admin/email?step=credentials"]`, `document.getElementById("f-client_secret")`)
	typeInto(t, tab, "#f-client_id", demo.SMSClient.ID)
	do(t, tab, "sms client's secret", chromedp.SendKeys(chromedp.CSS("#f-client_secret"), demo.SMSClient.Secret))
	submit(t, tab, "check a client without the email permission", `form[action$="/credentials"] button[type=submit]`, `document.getElementById("e-client_id")`)
	if got := text(t, tab, "#e-client_id"); !strings.Contains(got, "lacks the permission routing:email:manage") {
		t.Errorf("missing email permission: %q", got)
	}
	typeInto(t, tab, "#f-client_id", demo.EmailClient.ID)
	do(t, tab, "email secret", chromedp.SendKeys(chromedp.CSS("#f-client_secret"), demo.EmailClient.Secret))
	submit(t, tab, "check the email credentials", `form[action$="/credentials"] button[type=submit]`, `document.getElementById("f-domain")`)
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-domain").value`)); got != demo.EmailDomain {
		t.Errorf("domain offered %q, want %s", got, demo.EmailDomain)
	}
	typeInto(t, tab, "#f-sender_local_part", "appointments")
	typeInto(t, tab, "#f-sender_name", "Rendezvous Demo Bank")
	submit(t, tab, "use the sender", `form[action$="/sender"] button[type=submit]`, `document.getElementById("f-to")`)
	if got := text(t, tab, ".admin-main .panel"); !strings.Contains(got, "appointments@"+demo.EmailDomain) {
		t.Errorf("test step %q does not say the sender", got)
	}
	typeInto(t, tab, "#f-to", "admin@example.com")
	submit(t, tab, "send the email code", `form[action$="/code"] button[type=submit]`, `document.getElementById("f-code")`)
	code = latestCode(t, e.sandbox, "admin@example.com")
	wrong = "000000"
	if code == wrong {
		wrong = "111111"
	}
	do(t, tab, "wrong email code", chromedp.SendKeys(chromedp.CSS("#f-code"), wrong))
	submit(t, tab, "confirm a wrong email code", `form[action$="/confirm"] button[type=submit]`, `document.getElementById("e-code")`)
	if got := text(t, tab, "#e-code"); !strings.Contains(got, "not right") {
		t.Errorf("wrong email code: %q", got)
	}
	do(t, tab, "right email code", chromedp.SendKeys(chromedp.CSS("#f-code"), code))
	submit(t, tab, "confirm the email code", `form[action$="/confirm"] button[type=submit]`, `document.querySelector(".flash")`)
	if got := text(t, tab, ".admin-main .panel"); !strings.Contains(got, "Email is verified") || !strings.Contains(got, "appointments@"+demo.EmailDomain) {
		t.Errorf("email done step %q", got)
	}
	screenshot(t, tab, "admin-email-wizard")
}

// TestAdminTemplatesBrowser edits the SMS template of the booking message as an
// administrator: the preview and the SMS counter follow the typing (a Greek letter turns
// the text to UCS-2 and changes the segment count), a variable is inserted at the cursor,
// an unknown variable is refused with its name and nothing typed is lost, a NUL character
// is refused, the template is saved, then reset to the built-in text.
func TestAdminTemplatesBrowser(t *testing.T) {
	e := startService(t)
	tab := startChromium(t)
	e.signIn(t, tab, "Sam Reyes")

	do(t, tab, "open the templates",
		chromedp.Navigate(e.base+"/app/admin"),
		chromedp.Click(chromedp.CSS(`.admin-nav a[href="/app/admin/templates"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-text`)),
	)
	before := text(t, tab, "#sms-count")
	if !strings.Contains(before, "GSM-7") {
		t.Fatalf("counter of the built-in English SMS %q, want GSM-7", before)
	}
	builtIn, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-text").value`))

	// Type a Greek letter at the end: the counter turns to UCS-2 with more segments.
	do(t, tab, "type a Greek letter",
		chromedp.Evaluate[chromedp.Void](`(function(){var f=document.getElementById("f-text"); f.focus(); f.setSelectionRange(f.value.length, f.value.length);})()`),
		chromedp.SendKeys(chromedp.CSS("#f-text"), " Καλή αντάμωση"),
		chromedp.Poll[chromedp.Void](`document.getElementById("sms-count").textContent.indexOf("UCS-2") >= 0`, chromedp.WithPollingTimeout(staffWait)),
	)
	after := text(t, tab, "#sms-count")
	if segs := regexp.MustCompile(`(\d+) SMS segments`); segs.FindString(after) == segs.FindString(before) {
		t.Errorf("segment count did not change: %q → %q", before, after)
	}
	if got := text(t, tab, "#preview-text"); !strings.Contains(got, "Καλή αντάμωση") || !strings.Contains(got, "Alex Example") {
		t.Errorf("live preview %q, want the typed words and the sample customer", got)
	}

	// Insert a variable at the cursor.
	do(t, tab, "insert {agentName}",
		chromedp.Evaluate[chromedp.Void](`(function(){var f=document.getElementById("f-text"); f.focus(); f.setSelectionRange(f.value.length, f.value.length);})()`),
		chromedp.Click(chromedp.CSS(`button.insert-var[data-var="{agentName}"]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("preview-text").textContent.indexOf("Sam Agent") >= 0`, chromedp.WithPollingTimeout(staffWait)),
	)
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-text").value`)); !strings.HasSuffix(got, "Καλή αντάμωση{agentName}") {
		t.Errorf("after Insert the text ends %q", got[max(0, len(got)-40):])
	}

	// The Preview button (what works without the script) shows the typed text rendered
	// and saves nothing.
	typed, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-text").value`))
	submit(t, tab, "preview without saving", `#preview-button`, `document.getElementById("preview-text")`)
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-text").value`)); got != typed {
		t.Errorf("after Preview the text is %q, want %q", got, typed)
	}
	if got := text(t, tab, "#preview-text"); !strings.Contains(got, "Καλή αντάμωσηSam Agent") {
		t.Errorf("Preview shows %q", got)
	}
	if got := text(t, tab, "#template-origin"); !strings.Contains(got, "built-in") {
		t.Errorf("after Preview the page says %q: nothing should be saved", got)
	}
	do(t, tab, "back to the end of the text",
		chromedp.Evaluate[chromedp.Void](`(function(){var f=document.getElementById("f-text"); f.focus(); f.setSelectionRange(f.value.length, f.value.length);})()`))

	// An unknown variable: the live preview names it, and saving refuses it.
	do(t, tab, "type an unknown variable",
		chromedp.SendKeys(chromedp.CSS("#f-text"), " {agentPhone}"),
		chromedp.Poll[chromedp.Void](`!document.getElementById("preview-problem").hidden`, chromedp.WithPollingTimeout(staffWait)),
	)
	if got := text(t, tab, "#preview-problem"); !strings.Contains(got, "{agentPhone}") {
		t.Errorf("live preview problem %q, want the unknown variable named", got)
	}
	submit(t, tab, "save with an unknown variable", `#template-form button[value=save]`, `document.getElementById("e-text")`)
	if got := text(t, tab, "#e-text"); !strings.Contains(got, "Unknown variable {agentPhone}") {
		t.Errorf("save refused with %q, want the unknown variable named", got)
	}
	kept, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-text").value`))
	if !strings.HasSuffix(kept, "Καλή αντάμωση{agentName} {agentPhone}") {
		t.Errorf("after the refusal the text is %q: something typed was lost", kept)
	}

	// A NUL character (pasted from somewhere) is refused at the edge, the text kept.
	do(t, tab, "a NUL character",
		chromedp.Evaluate[chromedp.Void](`document.getElementById("f-text").value = "Hello\u0000 {customerName}"`))
	submit(t, tab, "save with NUL", `#template-form button[value=save]`, `document.getElementById("e-text")`)
	if got := text(t, tab, "#e-text"); !strings.Contains(got, "NUL") {
		t.Errorf("NUL refused with %q", got)
	}
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-text").value`)); !strings.Contains(got, "{customerName}") {
		t.Errorf("after the NUL refusal the text is %q", got)
	}

	// Correct and save.
	do(t, tab, "write a valid text",
		chromedp.Evaluate[chromedp.Void](`document.getElementById("f-text").value = ""`),
		chromedp.SendKeys(chromedp.CSS("#f-text"), "Γεια σας {customerName}, ραντεβού {date} {time}: {link}"),
		chromedp.Poll[chromedp.Void](`document.getElementById("preview-problem").hidden && document.getElementById("preview-text").textContent.indexOf("Γεια σας Alex Example") === 0`, chromedp.WithPollingTimeout(staffWait)),
	)
	submit(t, tab, "save", `#template-form button[value=save]`, `document.querySelector(".flash")`)
	if got := text(t, tab, "#template-origin"); !strings.Contains(got, "own text") {
		t.Errorf("after saving: %q", got)
	}
	if got := text(t, tab, "#sms-count"); !strings.Contains(got, "UCS-2") {
		t.Errorf("saved Greek SMS counted %q, want UCS-2", got)
	}
	screenshot(t, tab, "admin-templates")

	submit(t, tab, "reset to the built-in text", `form.reset button`, `document.querySelector(".flash")`)
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-text").value`)); got != builtIn {
		t.Errorf("after reset the text is %q, want the built-in %q", got, builtIn)
	}
	if n, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll("form.reset").length`)); n != 0 {
		t.Error("the reset button is still offered for the built-in text")
	}

	// Another channel and language, picked from the lists: the email in German, its HTML
	// part previewed in a sandboxed frame, the subject's preview following the typing.
	pick := func(name, value string) {
		t.Helper()
		do(t, tab, "pick "+value,
			chromedp.Evaluate[chromedp.Void](`window.rdvOldPage = true`),
			// SetValue fires the change a person's choice fires; the page's script shows it.
			chromedp.SetValue(chromedp.CSS(`#template-pick select[name=`+name+`]`), value),
		)
		waitNewPage(t, tab, "pick "+value, `document.querySelector("#template-pick select[name=`+name+`]").value === "`+value+`"`)
	}
	pick("channel", "email")
	pick("language", "de")
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("preview-html").srcdoc`)); !strings.Contains(got, "Alex Example") {
		t.Errorf("HTML preview %q, want the sample customer", got)
	}
	// The frame lives under the page's policy: the email's inline styles apply in it, and
	// still no script runs but the site's own.
	csp, err := chromedp.Run(tab, chromedp.Evaluate[string](`fetch(location.href, {credentials: "same-origin"})
		.then(function (r) { return r.headers.get("Content-Security-Policy"); })`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.Contains(csp, "style-src 'self' 'unsafe-inline';") || !strings.Contains(csp, "script-src 'self';") {
		t.Errorf("templates page policy %q (%v), want inline styles for the email preview and only the site's scripts", csp, err)
	}
	do(t, tab, "type into the subject",
		chromedp.SendKeys(chromedp.CSS("#f-subject"), " – bitte bestätigen"),
		chromedp.Poll[chromedp.Void](`document.getElementById("preview-subject").textContent.indexOf("bitte bestätigen") >= 0`, chromedp.WithPollingTimeout(staffWait)),
	)

	// Bad bytes a form cannot hold but a request can (a script, a proxy): each gets a clear
	// answer, and nothing is saved.
	post := func(path, body string) struct {
		Status int
		Body   string
	} {
		t.Helper()
		js := fmt.Sprintf(`fetch(%q, {method: "POST", credentials: "same-origin",
			headers: {"Content-Type": "application/x-www-form-urlencoded"},
			body: "csrf=" + encodeURIComponent(document.querySelector("input[name=csrf]").value) + "&" + %q})
			.then(function (r) { return r.text().then(function (b) { return {status: r.status, body: b}; }); })`, path, body)
		res, err := chromedp.Run(tab, chromedp.Evaluate[struct {
			Status int
			Body   string
		}](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("post %s: %v", path, err)
		}
		return res
	}
	const sms = "event=created&channel=sms&language=en&action=save&"
	// A long Greek email is read whole (percent-encoded, each letter is six bytes); a body
	// over the limit is refused as too large, not as a forged request.
	greek := "event=created&channel=email&language=el&subject=Hi&text=" + strings.Repeat("%CE%B2", 19000) + "&html=" + strings.Repeat("%CE%B1", 45000) + "+{customerName}"
	if r := post("/app/admin/templates/preview", greek); r.Status != 200 || !strings.Contains(r.Body, "ααα") {
		t.Errorf("preview of a long Greek email: %d %.200s", r.Status, r.Body)
	}
	if r := post("/app/admin/templates/preview", greek+strings.Repeat("a", 1<<20)); r.Status != 413 || !strings.Contains(r.Body, "too large") {
		t.Errorf("a body over the limit: %d %.200s", r.Status, r.Body)
	}
	if r := post("/app/admin/templates/preview", sms+"text=Hi%FF%FE+{customerName}"); r.Status != 200 || !strings.Contains(r.Body, "not valid text") {
		t.Errorf("preview of invalid UTF-8: %d %s", r.Status, r.Body)
	}
	if r := post("/app/admin/templates", sms+"text=Hi%FF+{customerName}"); r.Status != 422 || !strings.Contains(r.Body, "not valid text") || !strings.Contains(r.Body, "Hi\uFFFD {customerName}") {
		t.Errorf("save of invalid UTF-8: %d, want 422 with the problem and the text kept", r.Status)
	}
	if r := post("/app/admin/templates", sms+"text="+strings.Repeat("a", 2001)); r.Status != 422 || !strings.Contains(r.Body, "too long: 2001 characters, at most 2000") {
		t.Errorf("save of a too long SMS: %d", r.Status)
	}
	if r := post("/app/admin/sms/credentials", "client_id=abc%00def&client_secret=x"); r.Status != 422 || !strings.Contains(r.Body, "cannot be stored") || !strings.Contains(r.Body, `value="abcdef"`) {
		t.Errorf("credentials with a NUL: %d", r.Status)
	}
	if r := post("/app/admin/sms/confirm", "code=12%FF"); r.Status != 422 || !strings.Contains(r.Body, "digits and nothing else") {
		t.Errorf("code with invalid UTF-8: %d", r.Status)
	}
	do(t, tab, "reload", chromedp.Navigate(e.base+"/app/admin/templates?event=created&channel=sms&language=en"), chromedp.WaitVisible(chromedp.CSS("#f-text")))
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-text").value`)); got != builtIn {
		t.Errorf("after the refused requests the text is %q, want the built-in one still", got)
	}
}
