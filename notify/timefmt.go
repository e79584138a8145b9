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

// FormatDate formats t's calendar date for a language: "Monday, March 30, 2026",
// "Montag, 30. März 2026" or "Δευτέρα, 30 Μαρτίου 2026" (Greek months in the genitive).
func FormatDate(t time.Time, lang string) string {
	switch baseLanguage(lang) {
	case "de":
		c := i18n.German
		return fmt.Sprintf("%s, %d. %s %d", c.Days[t.Weekday()], t.Day(), c.Months[t.Month()-1], t.Year())
	case "el":
		c := i18n.Greek
		return fmt.Sprintf("%s, %d %s %d", c.Days[t.Weekday()], t.Day(), c.Months[t.Month()-1], t.Year())
	}
	return t.Format("Monday, January 2, 2006")
}

// FormatTime formats t's clock time with its zone: "2:30 PM (CEST, Europe/Berlin)",
// "14:30 Uhr (MESZ, Europe/Berlin)" or "14:30 (EEST, Europe/Athens)". Greek readers use
// the 24-hour clock; the Latin zone abbreviation is kept because Greek has no common short
// form for it.
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
