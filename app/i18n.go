package app

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/i18n"
)

// languages are the languages the staff pages are written in, in the order offered.
var languages = []struct{ Code, Name string }{{"en", "English"}, {"de", "Deutsch"}, {"el", "Ελληνικά"}}

// tr translates the pages' English phrases into one language (catalog.go).
type tr struct {
	lang string
	cal  i18n.Calendar
}

func newTr(lang string) *tr {
	t := &tr{lang: lang, cal: i18n.English}
	switch lang {
	case "de":
		t.cal = i18n.German
	case "el":
		t.cal = i18n.Greek
	}
	return t
}

// Lang is the page's language code.
func (t *tr) Lang() string { return t.lang }

// Languages lists the languages a person may choose.
func (t *tr) Languages() []struct{ Code, Name string } { return languages }

// T translates an English phrase and fills its %-verbs with args. A phrase missing from
// the catalog shows in English (a test keeps the catalog complete).
func (t *tr) T(phrase string, args ...any) string {
	if m := catalog[t.lang]; m != nil {
		if s, ok := m[phrase]; ok {
			phrase = s
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(phrase, args...)
	}
	return phrase
}

// Status names an appointment status in the page's language.
func (t *tr) Status(s rendezvous.Status) string {
	switch s {
	case rendezvous.StatusScheduled:
		return t.T("Scheduled")
	case rendezvous.StatusInProgress:
		return t.T("In progress")
	case rendezvous.StatusCompleted:
		return t.T("Completed")
	case rendezvous.StatusNoShow:
		return t.T("No-show")
	case rendezvous.StatusCancelled:
		return t.T("Cancelled")
	}
	return string(s)
}

// RoleName names a role in the page's language.
func (t *tr) RoleName(r rendezvous.Role) string {
	switch r {
	case rendezvous.RoleAgent:
		return t.T("Agent")
	case rendezvous.RoleSupervisor:
		return t.T("Supervisor")
	case rendezvous.RoleAdmin:
		return t.T("Administrator")
	}
	return string(r)
}

// Day writes a date as "Mon 7 Dec" (weekday abbreviated the way each language does).
func (t *tr) Day(d time.Time) string {
	wd := []rune(t.cal.Days[d.Weekday()])
	n := 3
	if t.lang == "de" {
		n = 2
	}
	if len(wd) > n {
		wd = wd[:n]
	}
	month := []rune(t.cal.Months[d.Month()-1])
	if len(month) > 3 && t.lang != "el" {
		month = month[:3]
	}
	if t.lang == "de" {
		return fmt.Sprintf("%s., %d. %s", string(wd), d.Day(), string(month))
	}
	return fmt.Sprintf("%s %d %s", string(wd), d.Day(), string(month))
}

// LongDay writes a date in full: "Monday, 7 December 2026".
func (t *tr) LongDay(d time.Time) string {
	if t.lang == "de" {
		return fmt.Sprintf("%s, %d. %s %d", t.cal.Days[d.Weekday()], d.Day(), t.cal.Months[d.Month()-1], d.Year())
	}
	return fmt.Sprintf("%s, %d %s %d", t.cal.Days[d.Weekday()], d.Day(), t.cal.Months[d.Month()-1], d.Year())
}

// Clock writes a time of day on the 24-hour clock, as all three languages read it in a
// contact center.
func (t *tr) Clock(d time.Time) string { return d.Format("15:04") }

// When writes an instant in zone as "Mon 7 Dec, 14:30".
func (t *tr) When(at time.Time, zone *time.Location) string {
	d := at.In(zone)
	return t.Day(d) + ", " + t.Clock(d)
}

// Minutes writes a length: "30 min", "1 h 30 min".
func (t *tr) Minutes(d time.Duration) string {
	m := int(d / time.Minute)
	switch {
	case m < 60:
		return fmt.Sprintf("%d min", m)
	case m%60 == 0:
		return fmt.Sprintf("%d h", m/60)
	}
	return fmt.Sprintf("%d h %d min", m/60, m%60)
}

// langOf picks the page language: the person's saved choice, else the browser's first
// supported language, else English.
func langOf(r *http.Request, u *rendezvous.StaffUser) string {
	if u != nil && supported(u.Language) {
		return u.Language
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if l := strings.ToLower(strings.SplitN(tag, "-", 2)[0]); supported(l) {
			return l
		}
	}
	return "en"
}

func supported(lang string) bool {
	for _, l := range languages {
		if l.Code == lang {
			return true
		}
	}
	return false
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
