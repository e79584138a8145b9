package notify

import (
	"fmt"
	"strings"
	"time"
)

// Small tables for the languages Rendezvous ships templates in. golang.org/x/text does
// not format dates, and the product needs only long dates and clock times, so two tables
// are simpler than a CLDR dependency.

var weekdaysDE = [...]string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"}
var monthsDE = [...]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"}

// zoneNamesDE translates the abbreviations Go's time zone data uses for central Europe
// into the ones German readers know; other zones keep their abbreviation.
var zoneNamesDE = map[string]string{"CET": "MEZ", "CEST": "MESZ", "EET": "OEZ", "EEST": "OESZ", "WET": "WEZ", "WEST": "WESZ"}

// baseLanguage returns the primary subtag of a BCP 47 tag ("de-AT" → "de").
func baseLanguage(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return tag
}

// zoneLabel is the zone as shown to the customer: the abbreviation in effect at t (or the
// UTC offset when the zone data has no abbreviation) followed by the IANA name, so the
// reader knows both the offset and which place's clock is meant.
func zoneLabel(t time.Time, lang string) string {
	abbr, _ := t.Zone()
	if lang == "de" {
		if d, ok := zoneNamesDE[abbr]; ok {
			abbr = d
		}
	}
	if abbr == "" || abbr[0] == '+' || abbr[0] == '-' {
		abbr = "UTC" + t.Format("-07:00")
	}
	name := t.Location().String()
	if name == "UTC" || name == "" {
		return abbr
	}
	return abbr + ", " + name
}

// FormatDate formats t's calendar date for a language: "Monday, March 30, 2026" or
// "Montag, 30. März 2026".
func FormatDate(t time.Time, lang string) string {
	if baseLanguage(lang) == "de" {
		return fmt.Sprintf("%s, %d. %s %d", weekdaysDE[t.Weekday()], t.Day(), monthsDE[t.Month()-1], t.Year())
	}
	return t.Format("Monday, January 2, 2006")
}

// FormatTime formats t's clock time with its zone: "2:30 PM (CEST, Europe/Berlin)" or
// "14:30 Uhr (MESZ, Europe/Berlin)".
func FormatTime(t time.Time, lang string) string {
	l := baseLanguage(lang)
	if l == "de" {
		return t.Format("15:04") + " Uhr (" + zoneLabel(t, l) + ")"
	}
	return t.Format("3:04 PM") + " (" + zoneLabel(t, l) + ")"
}

// FormatDuration formats a meeting length: "30 minutes", "1 hour 30 minutes", "30 Minuten".
func FormatDuration(d time.Duration, lang string) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	de := baseLanguage(lang) == "de"
	unit := func(n int, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	var parts []string
	if h > 0 {
		if de {
			parts = append(parts, unit(h, "Stunde", "Stunden"))
		} else {
			parts = append(parts, unit(h, "hour", "hours"))
		}
	}
	if m > 0 || h == 0 {
		if de {
			parts = append(parts, unit(m, "Minute", "Minuten"))
		} else {
			parts = append(parts, unit(m, "minute", "minutes"))
		}
	}
	return strings.Join(parts, " ")
}
