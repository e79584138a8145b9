package notify

import (
	"fmt"
	"strings"
	"time"

	"rendezvous/i18n"
)

// Dates use the calendar tables shared with the customer's page (package i18n).
// golang.org/x/text does not format dates, and the product needs only long dates and
// clock times, so small tables are simpler than a CLDR dependency.

// baseLanguage returns the primary subtag of a BCP 47 tag ("de-AT" → "de").
func baseLanguage(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return tag
}

// zoneLabel is the zone as shown to the customer: the abbreviation in effect at t (or the
// UTC offset when the zone data has no abbreviation), which tells the two 01:30s of a
// night the clocks go back apart, and the zone's name as people know it ("Eastern
// Time"), so the reader knows which place's clock is meant.
func zoneLabel(t time.Time, lang string) string {
	abbr := i18n.ZoneAbbr(t, lang)
	name := t.Location().String()
	if name == "UTC" || name == "" {
		return abbr
	}
	return abbr + ", " + i18n.ZoneName(name, lang)
}

// FormatDate formats t's calendar date for a language: "Monday, March 30, 2026",
// "Montag, 30. März 2026" or "Δευτέρα, 30 Μαρτίου 2026" (Greek months in the genitive),
// as the customer's page does (i18n.FormatDate).
func FormatDate(t time.Time, lang string) string { return i18n.FormatDate(t, lang) }

// FormatTime formats t's clock time with its zone: "2:30 PM (CEST, Central European
// Time)", "14:30 Uhr (MESZ, Mitteleuropäische Zeit)" or "14:30 (EEST, ώρα Ελλάδας)". Greek
// readers use the 24-hour clock; the Latin zone abbreviation is kept because Greek has no
// common short form for it.
func FormatTime(t time.Time, lang string) string {
	l := baseLanguage(lang)
	switch l {
	case "de":
		return t.Format("15:04") + " Uhr (" + zoneLabel(t, l) + ")"
	case "el":
		return t.Format("15:04") + " (" + zoneLabel(t, l) + ")"
	}
	return t.Format("3:04 PM") + " (" + zoneLabel(t, l) + ")"
}

// durationUnits are the singular and plural of hour and minute per language.
var durationUnits = map[string][4]string{
	"en": {"hour", "hours", "minute", "minutes"},
	"de": {"Stunde", "Stunden", "Minute", "Minuten"},
	"el": {"ώρα", "ώρες", "λεπτό", "λεπτά"},
}

// FormatDuration formats a meeting length: "30 minutes", "1 hour 30 minutes", "30 Minuten",
// "1 ώρα 30 λεπτά".
func FormatDuration(d time.Duration, lang string) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	u, ok := durationUnits[baseLanguage(lang)]
	if !ok {
		u = durationUnits["en"]
	}
	unit := func(n int, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	var parts []string
	if h > 0 {
		parts = append(parts, unit(h, u[0], u[1]))
	}
	if m > 0 || h == 0 {
		parts = append(parts, unit(m, u[2], u[3]))
	}
	return strings.Join(parts, " ")
}
