package main

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAdminShellBrowser checks the administration shell: the first person to sign in
// (the administrator) finds Administration in the navigation and every section in its
// menu; an agent has no such entry and gets a 404 for its address.
func TestAdminShellBrowser(t *testing.T) {
	e := startService(t)
	tab := startChromium(t)

	e.signIn(t, tab, "Sam Reyes")
	do(t, tab, "open administration",
		chromedp.Click(chromedp.CSS(`.bar nav a[href="/app/admin"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.admin-nav`)),
	)
	if got := text(t, tab, "h1"); got != "Administration" {
		t.Errorf("administration overview heading %q", got)
	}
	if got := text(t, tab, `.admin-nav a[aria-current="page"]`); got != "Overview" {
		t.Errorf("current section %q, want Overview", got)
	}
	screenshot(t, tab, "admin-overview")
	signOut(t, tab)

	e.signIn(t, tab, "Bruno Costa")
	n, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('.bar nav a[href="/app/admin"]').length`))
	if err != nil || n != 0 {
		t.Errorf("an agent sees %d Administration entries (%v), want none", n, err)
	}
	do(t, tab, "agent types the address", chromedp.Navigate(e.base+"/app/admin"), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	if got := text(t, tab, "h1"); got != "Not found" {
		t.Errorf("an agent at /app/admin sees %q, want Not found", got)
	}
}
