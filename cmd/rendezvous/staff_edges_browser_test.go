package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestStaffEdgesBrowser covers what goes wrong in a working day, as a person meets it:
// a sign-in link for an organization Rendezvous does not know; a booking that clashes with
// the agent's own appointment, explained with the clashing time; two tabs editing the same
// appointment, the second told that someone else changed it, with what they typed kept;
// and a person whose sign-in Genesys Cloud no longer accepts, signed out with a note.
func TestStaffEdgesBrowser(t *testing.T) {
	e := startService(t, "RENDEZVOUS_STAFF_RECHECK", "2s")
	browser := startChromium(t)
	tab := browser

	do(t, tab, "a sign-in link for an unknown organization",
		chromedp.Navigate(e.base+"/signin?go=1&org=no-such-org"),
		chromedp.WaitVisible(chromedp.CSS(`main`)),
	)
	if got := text(t, tab, "main"); !strings.Contains(got, `Rendezvous has no organization "no-such-org"`) || !strings.Contains(got, "ask your administrator") {
		t.Errorf("unknown organization page says %q", got)
	}

	// The first person becomes the administrator (who books for others); Alice books
	// for herself.
	e.signIn(t, tab, "Sam Reyes")
	signOut(t, tab)
	e.signIn(t, tab, "Alice Martin")
	day := time.Now().UTC().AddDate(0, 0, 2).Format("2006-01-02")
	book := func(what, name, at string) {
		t.Helper()
		do(t, tab, what,
			chromedp.Navigate(e.base+"/app/appointments/new"),
			chromedp.WaitVisible(chromedp.CSS(`#f-name`)),
			chromedp.SendKeys(chromedp.CSS(`#f-name`), name),
			chromedp.SendKeys(chromedp.CSS(`#f-email`), "someone@example.com"),
			chromedp.SetValue(chromedp.CSS(`#f-date`), day),
			chromedp.SetValue(chromedp.CSS(`#f-time`), at),
			chromedp.SetValue(chromedp.CSS(`#f-tz`), "UTC"),
			chromedp.SendKeys(chromedp.CSS(`#f-title`), name+" review"),
			chromedp.Click(chromedp.CSS(`form.appt button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`.flash, #e-time`)),
		)
	}
	book("book 14:00", "Nora Lind", "14:00")
	first := appointmentID(t, tab)

	// 14:15 overlaps 14:00–14:30: refused, with the appointment in the way and its time.
	book("book 14:15", "Omar Haddad", "14:15")
	if got := text(t, tab, "#e-time"); !strings.Contains(got, "Nora Lind review") || !strings.Contains(got, "14:00–14:30") {
		t.Errorf("clash explained as %q, want the clashing appointment and its time", got)
	}
	if v, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-name").value`)); v != "Omar Haddad" {
		t.Errorf("after the clash the name field holds %q", v)
	}

	// Alice opens the edit form; meanwhile someone else (an integration, with its API key)
	// moves the appointment; Alice's save is refused and explained, her entries kept.
	edit := e.base + "/app/appointments/" + first + "/edit"
	do(t, tab, "open the edit form", chromedp.Navigate(edit), chromedp.WaitVisible(chromedp.CSS(`#f-time`)))
	patch, _ := http.NewRequest("PATCH", e.base+"/api/v1/appointments/"+first, strings.NewReader(`{"start": "`+day+`T16:00:00Z"}`))
	patch.Header.Set("Authorization", "Bearer "+e.key)
	patch.Header.Set("Content-Type", "application/json")
	presp, err := http.DefaultClient.Do(patch)
	if err != nil {
		t.Fatal(err)
	}
	presp.Body.Close()
	if presp.StatusCode != http.StatusOK {
		t.Fatalf("the integration's change answered %d", presp.StatusCode)
	}
	do(t, tab, "the first tab saves 17:00",
		chromedp.SetValue(chromedp.CSS(`#f-time`), "17:00"),
		chromedp.Click(chromedp.CSS(`form.appt button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	if got := text(t, tab, ".notice"); !strings.Contains(got, "Someone else changed this appointment while you were editing it") {
		t.Errorf("conflict notice %q", got)
	}
	if v, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("f-time").value`)); v != "17:00" {
		t.Errorf("after the conflict the time field holds %q, want the 17:00 typed", v)
	}

	// Genesys Cloud stops accepting Alice's token: within the recheck she is signed out.
	req, _ := http.NewRequest("POST", e.sandbox+"/sandbox/faults", strings.NewReader(`{"method":"GET","pathPrefix":"/api/v2/users/me","status":401,"count":-1}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("inject fault: %d", resp.StatusCode)
	}
	time.Sleep(2500 * time.Millisecond) // the recheck interval, on the service's real clock
	do(t, tab, "the next page", chromedp.Navigate(e.base+"/app/calendar"), chromedp.WaitVisible(chromedp.CSS(`#signin`)))
	if got := text(t, tab, "main"); !strings.Contains(got, "Genesys Cloud no longer accepts your sign-in") {
		t.Errorf("after Genesys refused the token the page says %q", got)
	}
}
