package rendezvous

import (
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"
	// The zone database is embedded in every binary and test of the project, so that zone
	// names and offsets are judged the same in a container without /usr/share/zoneinfo as
	// on a developer's machine (Go uses the system's database first when there is one).
	_ "time/tzdata"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
)

// NormalizePhone checks that s is a dialable phone number written in E.164 form
// (+ and country code) and returns it in canonical E.164. The check uses libphonenumber's
// metadata, so a number of the wrong length for its country is refused, not just one
// with the wrong characters.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("is required")
	}
	if !strings.HasPrefix(s, "+") {
		return "", fmt.Errorf("must be in international E.164 form, starting with + and the country code (for example +14155550123)")
	}
	num, err := phonenumbers.Parse(s, "")
	if err != nil {
		return "", fmt.Errorf("is not a phone number: write it as + country code and number, for example +14155550123")
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("is not a valid number for its country code; check the digits")
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// NormalizeEmail checks that s is a single plain email address (no display name) and
// returns it trimmed.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("is required")
	}
	if len(s) > 254 {
		return "", fmt.Errorf("is longer than 254 characters")
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return "", fmt.Errorf("is not an email address like name@example.com")
	}
	at := strings.LastIndexByte(s, '@')
	if !strings.Contains(s[at+1:], ".") {
		return "", fmt.Errorf("needs a full domain after @, like example.com")
	}
	return s, nil
}

// LoadZone resolves an IANA time-zone name such as "Europe/Athens". Fixed offsets and
// abbreviations ("UTC+2", "EST") are refused because they do not follow daylight saving.
func LoadZone(name string) (*time.Location, error) {
	if name == "" {
		return nil, fmt.Errorf("is required: give an IANA time-zone name such as Europe/London")
	}
	if name == "Local" || hostOnlyZone(name) {
		return nil, fmt.Errorf("%q is not an IANA time-zone name; use one such as Europe/London or America/New_York", name)
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not an IANA time-zone name; use one such as Europe/London or America/New_York", name)
	}
	zones.Store(name, loc)
	return loc, nil
}

// hostOnlyZone reports whether name is one of the files some systems keep beside the IANA
// zones (leap-second "right/" and "posix/" copies, "SystemV/", "localtime", "posixrules",
// "Factory"). They exist on one host and not on the next, nor in the zone database
// embedded in the binary (time/tzdata), so accepting them would make a booking depend on
// the machine that took it.
func hostOnlyZone(name string) bool {
	for _, prefix := range []string{"right/", "posix/", "SystemV/"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	switch name {
	case "localtime", "posixrules", "Factory", "posix", "right":
		return true
	}
	return false
}

// zones caches loaded time zones. time.LoadLocation reads and parses the zone file on
// every call, which showed up as a tenth of the cost of booking an appointment. The cache
// is package-level state, against the house rule, because zone data is immutable for the
// life of the process and the set of names is bounded by the IANA database (unknown names
// are not cached).
var zones sync.Map

// NormalizeLanguage checks a BCP 47 language tag ("en", "el", "pt-BR") and returns its
// canonical form. An empty tag means English.
func NormalizeLanguage(s string) (string, error) {
	if s == "" {
		return "en", nil
	}
	tag, err := language.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a language tag; use one such as en, de or pt-BR", s)
	}
	return tag.String(), nil
}

// checkText refuses one line of text that is too long, not valid UTF-8 or holding
// control characters (CheckLine), counting characters, not bytes, because the limit is
// for people.
func checkText(p *Problems, field, s string, max int, required bool) {
	checkTextWith(p, field, s, max, required, CheckLine)
}

// checkLongText is checkText for free text that may span lines (CheckMultiline).
func checkLongText(p *Problems, field, s string, max int, required bool) {
	checkTextWith(p, field, s, max, required, CheckMultiline)
}

func checkTextWith(p *Problems, field, s string, max int, required bool, controls func(string) error) {
	if err := controls(s); err != nil {
		p.Add(field, "%s", err)
		return
	}
	switch {
	case required && strings.TrimSpace(s) == "":
		p.Add(field, "is required")
	case utf8.RuneCountInString(s) > max:
		p.Add(field, "is %d characters long; the limit is %d", utf8.RuneCountInString(s), max)
	}
}
