package i18n

import (
	"fmt"
	"strings"
	"time"
)

// base returns the primary subtag of a BCP 47 tag ("de-AT" → "de").
func base(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return tag
}

// FormatDate writes t's calendar date as people write it in lang: "Monday, March 30,
// 2026", "Montag, 30. März 2026", "Δευτέρα, 30 Μαρτίου 2026". The customer's page and the
// messages both use it, so a date reads the same on both.
func FormatDate(t time.Time, lang string) string {
	switch base(lang) {
	case "de":
		return fmt.Sprintf("%s, %d. %s %d", German.Days[t.Weekday()], t.Day(), German.Months[t.Month()-1], t.Year())
	case "el":
		return fmt.Sprintf("%s, %d %s %d", Greek.Days[t.Weekday()], t.Day(), Greek.Months[t.Month()-1], t.Year())
	}
	return fmt.Sprintf("%s, %s %d, %d", English.Days[t.Weekday()], English.Months[t.Month()-1], t.Day(), t.Year())
}

// FormatClock writes t's time of day as people read it in lang: "2:30 PM" in English,
// "14:30" in German and Greek.
func FormatClock(t time.Time, lang string) string {
	if base(lang) == "de" || base(lang) == "el" {
		return t.Format("15:04")
	}
	return t.Format("3:04 PM")
}

// zoneNamesDE translates the abbreviations Go's zone data uses for Europe into the ones
// German readers know; other zones keep theirs.
var zoneNamesDE = map[string]string{"CET": "MEZ", "CEST": "MESZ", "EET": "OEZ", "EEST": "OESZ", "WET": "WEZ", "WEST": "WESZ"}

// ZoneAbbr is the abbreviation of the offset in effect at t ("EDT", "MESZ" in German), or
// the offset itself ("UTC+10:30") where the zone data has no letters for it. It tells the
// two 01:30s of a night the clocks go back apart.
func ZoneAbbr(t time.Time, lang string) string {
	abbr, _ := t.Zone()
	if base(lang) == "de" {
		if d, ok := zoneNamesDE[abbr]; ok {
			abbr = d
		}
	}
	if abbr == "" || abbr[0] == '+' || abbr[0] == '-' {
		_, off := t.Zone()
		if off == 0 {
			return "UTC"
		}
		if off%3600 == 0 {
			return "UTC" + t.Format("-07")
		}
		return "UTC" + t.Format("-07:00")
	}
	return abbr
}

// zoneNames are the names people know zones by (from CLDR's metazone names), per
// language, for the zones customers most often have. Others are named after their city.
var zoneNames = map[string]map[string]string{
	"en": {
		"America/New_York": "Eastern Time", "America/Detroit": "Eastern Time", "America/Toronto": "Eastern Time",
		"America/Chicago": "Central Time", "America/Denver": "Mountain Time", "America/Phoenix": "Mountain Time",
		"America/Los_Angeles": "Pacific Time", "America/Anchorage": "Alaska Time", "Pacific/Honolulu": "Hawaii Time",
		"Europe/London": "UK time", "Europe/Dublin": "Irish time", "Europe/Lisbon": "Western European Time",
		"Europe/Berlin": "Central European Time", "Europe/Paris": "Central European Time", "Europe/Madrid": "Central European Time",
		"Europe/Rome": "Central European Time", "Europe/Amsterdam": "Central European Time", "Europe/Brussels": "Central European Time",
		"Europe/Vienna": "Central European Time", "Europe/Zurich": "Central European Time", "Europe/Stockholm": "Central European Time",
		"Europe/Warsaw": "Central European Time", "Europe/Prague": "Central European Time",
		"Europe/Athens": "Greece time", "Asia/Nicosia": "Cyprus time", "Europe/Bucharest": "Eastern European Time",
		"Europe/Helsinki": "Eastern European Time", "Europe/Sofia": "Eastern European Time", "Europe/Istanbul": "Türkiye time",
		"Australia/Sydney": "Eastern Australia Time", "Australia/Melbourne": "Eastern Australia Time",
		"Australia/Lord_Howe": "Lord Howe Time", "Antarctica/Troll": "Troll time", "Asia/Tokyo": "Japan Time",
		"Asia/Kolkata": "India Standard Time", "UTC": "Coordinated Universal Time",
	},
	"de": {
		"America/New_York": "Nordamerikanische Ostküstenzeit", "America/Chicago": "Nordamerikanische Zentralzeit",
		"America/Denver": "Rocky-Mountain-Zeit", "America/Los_Angeles": "Nordamerikanische Westküstenzeit",
		"Europe/London": "Britische Zeit", "Europe/Lisbon": "Westeuropäische Zeit",
		"Europe/Berlin": "Mitteleuropäische Zeit", "Europe/Paris": "Mitteleuropäische Zeit", "Europe/Vienna": "Mitteleuropäische Zeit",
		"Europe/Zurich": "Mitteleuropäische Zeit", "Europe/Rome": "Mitteleuropäische Zeit", "Europe/Madrid": "Mitteleuropäische Zeit",
		"Europe/Amsterdam": "Mitteleuropäische Zeit", "Europe/Brussels": "Mitteleuropäische Zeit",
		"Europe/Athens": "Griechische Zeit", "Asia/Nicosia": "Zyprische Zeit", "Europe/Helsinki": "Osteuropäische Zeit",
		"Europe/Bucharest": "Osteuropäische Zeit", "Europe/Istanbul": "Türkische Zeit",
		"Australia/Sydney": "Ostaustralische Zeit", "Australia/Lord_Howe": "Lord-Howe-Zeit", "Antarctica/Troll": "Troll-Zeit",
		"Asia/Tokyo": "Japanische Zeit", "UTC": "Koordinierte Weltzeit",
	},
	"el": {
		"America/New_York": "Ανατολική ώρα Βόρειας Αμερικής", "America/Chicago": "Κεντρική ώρα Βόρειας Αμερικής",
		"America/Denver": "Ορεινή ώρα Βόρειας Αμερικής", "America/Los_Angeles": "Ώρα Ειρηνικού",
		"Europe/London": "ώρα Ηνωμένου Βασιλείου", "Europe/Lisbon": "ώρα Δυτικής Ευρώπης",
		"Europe/Berlin": "ώρα Κεντρικής Ευρώπης", "Europe/Paris": "ώρα Κεντρικής Ευρώπης", "Europe/Vienna": "ώρα Κεντρικής Ευρώπης",
		"Europe/Rome": "ώρα Κεντρικής Ευρώπης", "Europe/Madrid": "ώρα Κεντρικής Ευρώπης", "Europe/Amsterdam": "ώρα Κεντρικής Ευρώπης",
		"Europe/Athens": "ώρα Ελλάδας", "Asia/Nicosia": "ώρα Κύπρου", "Europe/Helsinki": "ώρα Ανατολικής Ευρώπης",
		"Europe/Bucharest": "ώρα Ανατολικής Ευρώπης", "Europe/Istanbul": "ώρα Τουρκίας",
		"Australia/Sydney": "ώρα Ανατολικής Αυστραλίας", "Australia/Lord_Howe": "ώρα Λορντ Χάου", "Antarctica/Troll": "ώρα Τρολ",
		"Asia/Tokyo": "ώρα Ιαπωνίας", "UTC": "Συντονισμένη Παγκόσμια Ώρα",
	},
}

// ZoneName is the zone as people know it in lang ("Eastern Time", "ώρα Ελλάδας"); for a
// zone without a known name, its city in the language's pattern ("Lima time", "Zeit
// (Lima)", "ώρα (Lima)"). An IANA name such as America/New_York is for machines.
func ZoneName(zone, lang string) string {
	l := base(lang)
	if _, ok := zoneNames[l]; !ok {
		l = "en"
	}
	if n, ok := zoneNames[l][zone]; ok {
		return n
	}
	if n, ok := zoneNames["en"][zone]; ok && l == "en" {
		return n
	}
	city := zone
	if i := strings.LastIndexByte(zone, '/'); i >= 0 {
		city = zone[i+1:]
	}
	city = strings.ReplaceAll(city, "_", " ")
	switch l {
	case "de":
		return "Zeit (" + city + ")"
	case "el":
		return "ώρα (" + city + ")"
	}
	return city + " time"
}
