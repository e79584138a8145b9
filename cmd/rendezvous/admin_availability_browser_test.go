package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"rendezvous/genesys/sandbox"
)

// TestAdminAvailabilityBrowser: the administrator sets up a queue's schedule on the
// Availability page (a mistake in the hours is refused in plain words and nothing typed
// is lost), previews the next week's slots, saves; the public availability endpoint then
// offers times inside those hours only. On the Booking widget page they allow their web
// site (a path refused first), choose a theme and copy the embed snippet, and see the
// widget in the preview.
func TestAdminAvailabilityBrowser(t *testing.T) {
	e := startService(t)
	tab := startChromium(t)
	e.signIn(t, tab, "Sam Reyes")
	queue := sandbox.Demo.VideoQueue.Name
	sam := sandbox.Demo.Supervisor.ID

	do(t, tab, "open Availability",
		chromedp.Navigate(e.base+"/app/admin"),
		chromedp.Click(chromedp.CSS(`.admin-nav a[href="/app/admin/availability"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.data`)),
	)
	if got := text(t, tab, "table.data tbody"); !strings.Contains(got, queue) || !strings.Contains(got, "No schedule") {
		t.Errorf("queue list %q, want %s without a schedule", got, queue)
	}
	hours := "09:00-12:00, 13:00-17:00"
	var fill []chromedp.Action[chromedp.Void]
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
		typed := hours
		if d == "wednesday" {
			typed = "09:00-12:00, 11:30-17:00" // the mistake: overlapping ranges
		}
		fill = append(fill, retype("f-hours_"+d, typed))
	}
	do(t, tab, "open the queue",
		chromedp.Click(chromedp.CSS(`table.data a[href="/app/admin/availability/`+url.PathEscape(queue)+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-zone`)),
	)
	do(t, tab, "set up the queue's schedule", append([]chromedp.Action[chromedp.Void]{
		retype("f-tz", "Europe/Athens"),
		chromedp.SendKeys(chromedp.CSS(`#f-holidays`), "2031-12-25 Christmas Day"),
		retype("f-slot", "30"),
		retype("f-notice", "0"),
		chromedp.Click(chromedp.CSS(`input[name="agent"][value="` + sam + `"]`)),
		chromedp.SetValue(chromedp.CSS(`#f-zone`), "Europe/Athens"),
	}, append(fill,
		chromedp.Click(chromedp.CSS(`button[value="preview"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#e-hours_wednesday`)),
	)...)...)
	if msg := text(t, tab, "#e-hours_wednesday"); !strings.Contains(msg, "“09:00-12:00” and “11:30-17:00” overlap") {
		t.Errorf("Wednesday's problem %q, want plain words about the overlap", msg)
	}
	kept, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`["f-tz","f-hours_monday","f-hours_wednesday","f-holidays","f-slot","f-notice"].map(function(id){return document.getElementById(id).value})
		.concat([String(document.querySelector('input[name="agent"][value="`+sam+`"]').checked)])`))
	if want := []string{"Europe/Athens", hours, "09:00-12:00, 11:30-17:00", "2031-12-25 Christmas Day", "30", "0", "true"}; err != nil || fmt.Sprint(kept) != fmt.Sprint(want) {
		t.Errorf("form after the refusal %q (%v), want %q: something typed was lost", kept, err, want)
	}
	if n, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll("#preview").length`)); n != 0 {
		t.Errorf("a preview was shown for a refused schedule")
	}

	do(t, tab, "correct Wednesday and preview",
		retype("f-hours_wednesday", hours),
		chromedp.Click(chromedp.CSS(`button[value="preview"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#preview .slots`)),
	)
	times, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#preview .slots time")).map(function(e){return e.textContent})`))
	if err != nil || len(times) == 0 {
		t.Fatalf("preview shows no times (%v)", err)
	}
	for _, tm := range times {
		if !inHours(tm) {
			t.Errorf("preview offers %s, outside 09:00-12:00 and 13:00-17:00 in Athens", tm)
		}
	}
	if got := text(t, tab, "#preview h2"); !strings.Contains(got, "Europe/Athens") {
		t.Errorf("preview heading %q, want the customer's zone named", got)
	}
	screenshot(t, tab, "admin-availability")
	do(t, tab, "save",
		chromedp.Click(chromedp.CSS(`button[value="save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if got := text(t, tab, ".flash"); !strings.Contains(got, "Schedule saved") {
		t.Errorf("after saving: %q", got)
	}
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-hours_wednesday").value`)); got != hours {
		t.Errorf("saved Wednesday reads %q, want %q", got, hours)
	}

	// The widget's public endpoint offers the saved hours, and only those.
	q := url.Values{"org": {"demo"}, "queue": {queue}, "timeZone": {"Europe/Athens"},
		"to": {time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339)}}
	res, err := http.Get(e.base + "/api/v1/availability?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	var avail struct {
		Slots []struct{ Start, End string }
	}
	err = json.NewDecoder(res.Body).Decode(&avail)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || len(avail.Slots) == 0 {
		t.Fatalf("public availability: %d, %d slots, %v", res.StatusCode, len(avail.Slots), err)
	}
	for _, sl := range avail.Slots {
		st, err1 := time.Parse(time.RFC3339, sl.Start)
		en, err2 := time.Parse(time.RFC3339, sl.End)
		if err1 != nil || err2 != nil || !inHours(st.Format("15:04")) || !inHours(en.Add(-time.Minute).Format("15:04")) || en.Sub(st) != 30*time.Minute {
			t.Errorf("public slot %s–%s is not a 30-minute slot inside the saved hours", sl.Start, sl.End)
		}
	}

	t.Run("bad input", func(t *testing.T) { badScheduleInput(t, tab) })

	// The booking widget: allowed origins (a path refused first), a theme, the snippet.
	do(t, tab, "open Booking widget",
		chromedp.Click(chromedp.CSS(`.admin-nav a[href="/app/admin/widget"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-origins`)),
		chromedp.SendKeys(chromedp.CSS(`#f-origins`), "https://shop.example\nhttps://bank.example/book"),
		chromedp.Click(chromedp.CSS(`form[action="/app/admin/widget"][method="post"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#e-origins`)),
	)
	if msg := text(t, tab, "#e-origins"); !strings.Contains(msg, "Line 2") || !strings.Contains(msg, "no path") {
		t.Errorf("origins problem %q, want line 2 named and the rule in plain words", msg)
	}
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-origins").value`)); got != "https://shop.example\nhttps://bank.example/book" {
		t.Errorf("origins after the refusal %q: something typed was lost", got)
	}
	do(t, tab, "correct and save the origins",
		retype("f-origins", "https://shop.example\nhttps://bank.example"),
		chromedp.Click(chromedp.CSS(`form[action="/app/admin/widget"][method="post"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if got, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-origins").value`)); got != "https://shop.example\nhttps://bank.example" {
		t.Errorf("saved origins read %q", got)
	}
	do(t, tab, "choose a theme",
		chromedp.Click(chromedp.CSS(`input[name="theme"][value="dark"]`)),
		chromedp.Click(chromedp.CSS(`input[name="chatMode"][value="genesys-cloud"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-font`), "Georgia, serif"),
		chromedp.SendKeys(chromedp.CSS(`#f-radius`), "4"),
		chromedp.Evaluate[chromedp.Void](`window.beforeUpdate = true`),
		chromedp.Click(chromedp.CSS(`#builder button[type="submit"]`)),
	)
	waitJS(t, tab, "the page with the chosen theme", `!window.beforeUpdate && document.readyState === "complete" && !!document.getElementById("snippet") && document.getElementById("snippet").value.indexOf('data-theme="dark"') >= 0`)
	snippet, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("snippet").value`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{e.base + "/widget/widget.js", `data-queue="` + queue + `"`, `data-chat-mode="genesys-cloud"`,
		`data-theme="dark"`, `data-font="Georgia, serif"`, `data-radius="4"`, `data-org="demo"`} {
		if !strings.Contains(snippet, want) {
			t.Errorf("snippet %q lacks %s", snippet, want)
		}
	}
	do(t, tab, "copy the snippet",
		chromedp.Click(chromedp.CSS(`button[data-copy="snippet"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('button[data-copy="snippet"]').textContent === "Copied"`, chromedp.WithPollingTimeout(staffWait)),
	)
	// The iframe alternative names no zone: the framed page takes each customer's own from
	// their browser (the preview below does the same).
	if frame, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("snippet-iframe").value`)); !strings.Contains(frame, "/widget/frame?") || strings.Contains(frame, "tz=") {
		t.Errorf("iframe snippet %q, want the frame without a zone", frame)
	}
	// The preview is the widget itself, framed from this site, with the saved times.
	do(t, tab, "widget preview shows days",
		chromedp.Poll[chromedp.Void](`(function(){ var f = document.getElementById("widget-preview"); var d = f && f.contentDocument;
			return !!d && d.documentElement.getAttribute("data-theme") === "dark" && d.querySelectorAll("#rw-days button").length > 0; })()`,
			chromedp.WithPollingTimeout(staffWait)),
	)
	// Changing a choice updates the snippet in place (admin_widget.js), without a reload.
	do(t, tab, "live snippet",
		chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`),
		chromedp.Click(chromedp.CSS(`input[name="theme"][value="light"]`)),
		chromedp.Poll[chromedp.Void](`window.notReloaded === true && document.getElementById("snippet").value.indexOf('data-theme="light"') >= 0`, chromedp.WithPollingTimeout(staffWait)),
	)
	screenshot(t, tab, "admin-widget")

	// Deleting the schedule takes the queue's times off the widget.
	do(t, tab, "delete the schedule",
		chromedp.Navigate(e.base+"/app/admin/availability/"+url.PathEscape(queue)),
		chromedp.Click(chromedp.CSS(`details.delete summary`)),
		chromedp.Click(chromedp.CSS(`details.delete button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if got := text(t, tab, "table.data tbody"); !strings.Contains(got, "No schedule") {
		t.Errorf("after deleting, the list reads %q", got)
	}
	res, err = http.Get(e.base + "/api/v1/availability?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("public availability after deleting: %d, want 404", res.StatusCode)
	}
}

// waitJS waits until js is true in the tab, across a page load (which a Poll does not
// survive).
func waitJS(t *testing.T, tab context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(staffWait)
	for {
		ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			body, _ := chromedp.Run(tab, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
			t.Fatalf("%s: not within %s (%v)\npage: %s", what, staffWait, err, body)
		}
		<-time.After(100 * time.Millisecond) // the poll's interval
	}
}

// retype selects the text of the field with id and types text over it, as a person does.
func retype(id, text string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		return chromedp.Void{}, chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById(`+strconv.Quote(id)+`).select()`),
			chromedp.SendKeys(chromedp.CSS(`#`+id), text))
	}
}

// inHours reports whether a "15:04" time is inside 09:00-12:00 or 13:00-17:00.
func inHours(hm string) bool {
	return (hm >= "09:00" && hm < "12:00") || (hm >= "13:00" && hm < "17:00")
}

// badScheduleInput posts what no person types but a page must survive, from the signed-in
// page itself (the browser sends its own origin, cookie and headers): NUL, invalid UTF-8,
// text too long, overlapping ranges, an end before its start. Each is refused with the
// reason beside its field and the rest of the form kept; nothing is saved.
func badScheduleInput(t *testing.T, tab context.Context) {
	base := `csrf=" + encodeURIComponent(document.querySelector('input[name=csrf]').value) + "&tz=Europe%2FAthens&slot=30&capacity=1&hours_monday=09%3A00-12%3A00&action=save`
	for _, c := range []struct {
		name, body, field, want string
	}{
		{"NUL", "&hours_tuesday=09%3A00%00-12%3A00", "hours_tuesday", "cannot be stored"},
		{"invalid UTF-8", "&holidays=2031-12-25+%FF%FE", "holidays", "cannot be stored"},
		{"too long", "&hours_friday=" + strings.Repeat("09%3A00-10%3A00%2C+", 40), "hours_friday", "too long"},
		{"overlap", "&hours_tuesday=09%3A00-12%3A00%2C+10%3A00-11%3A00", "hours_tuesday", "overlap"},
		{"end before start", "&hours_tuesday=17%3A00-09%3A00", "hours_tuesday", "the end is not after the start"},
		{"bad date", "&exceptions=2031-02-30+09%3A00-10%3A00", "exceptions", "is not a date"},
		{"bad number", "&step=thirty", "step", "whole number"},
	} {
		js := `fetch(location.pathname, {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "` + base + c.body + `"})
			.then(function (r) { return r.text().then(function (t) { var d = new DOMParser().parseFromString(t, "text/html");
				var e = d.getElementById("e-` + c.field + `"), m = d.getElementById("f-hours_monday");
				return [String(r.status), e ? e.textContent : "", m ? m.value : ""]; }); })`
		got, err := chromedp.Run(tab, chromedp.Evaluate[[]string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got[0] != "422" || !strings.Contains(got[1], c.want) || got[2] != "09:00-12:00" {
			t.Errorf("%s: answered %s, problem %q, Monday kept as %q; want 422, %q, 09:00-12:00", c.name, got[0], got[1], got[2], c.want)
		}
	}
	// A save based on a version someone else has replaced meanwhile saves nothing either.
	stale := `fetch(location.pathname, {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "` + base + `&version=99"})
		.then(function (r) { return r.text().then(function (t) { var d = new DOMParser().parseFromString(t, "text/html");
			var n = d.querySelector(".notice"); return [String(r.status), n ? n.textContent : ""]; }); })`
	if got, err := chromedp.Run(tab, chromedp.Evaluate[[]string](stale, chromedp.EvalAwaitPromise)); err != nil || got[0] != "409" || !strings.Contains(got[1], "Nothing was saved") {
		t.Errorf("stale save: %q (%v), want 409 saying nothing was saved", got, err)
	}
	// Nothing of that was saved: Monday still has its afternoon.
	got, err := chromedp.Run(tab, chromedp.Evaluate[string](`fetch(location.pathname).then(function (r) { return r.text(); }).then(function (t) {
		return new DOMParser().parseFromString(t, "text/html").getElementById("f-hours_monday").value; })`, chromedp.EvalAwaitPromise))
	if err != nil || got != "09:00-12:00, 13:00-17:00" {
		t.Errorf("after the refused posts Monday reads %q (%v)", got, err)
	}
}
