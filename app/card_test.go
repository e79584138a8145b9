package app

import (
	"strings"
	"testing"
	"time"

	"rendezvous"
)

// TestCardEscapesWhatPeopleTyped checks the calendar card written in Go: every value a
// person or customer typed is escaped, as html/template would.
func TestCardEscapesWhatPeopleTyped(t *testing.T) {
	v := &view{tr: newTr("en"), Zone: time.UTC}
	a := &rendezvous.Appointment{ID: "a/1?x", Status: rendezvous.StatusCancelled, Title: `<script>alert(1)</script>`,
		Start: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), Duration: 30 * time.Minute,
		Customers: []rendezvous.Customer{{Name: `Ann "A&B" <b>`}}}
	c := cardOf(a)
	got := string(v.Card(&c, `Agent <i>`))
	for _, want := range []string{
		`href="/app/appointments/a%2F1%3Fx"`, `09:00–09:30`, `&lt;script&gt;alert(1)&lt;/script&gt;`,
		`Ann &#34;A&amp;B&#34; &lt;b&gt;`, `Agent &lt;i&gt;`, `<span class="badge">Cancelled</span>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("card lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "<script>") || strings.Contains(got, "<b>") || strings.Contains(got, "<i>") {
		t.Errorf("card lets markup through:\n%s", got)
	}
}
