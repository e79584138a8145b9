package rendezvous

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Text rules shared by the API, the pages and the store's callers. Control characters
// are refused at the edge, before anything reaches a database or Genesys Cloud:
// PostgreSQL refuses NUL in text where SQLite stores it (so the same request must not be
// a 500 on one and accepted on the other), a CR/LF in a name would split an email header
// or an SMS line that carries it, and no person types a backspace into a title.

// CheckLine reports a problem with s as one line of text typed by a person (a name, a
// title, an id): it must be valid UTF-8 without control characters (C0, DEL, C1) or
// line and paragraph separators. The message reads after the field's name.
func CheckLine(s string) error {
	return checkControls(s, false)
}

// CheckMultiline is CheckLine for free text that may span lines (notes, a reason, a
// template body): tab, line feed and carriage return are allowed, other controls are not.
func CheckMultiline(s string) error {
	return checkControls(s, true)
}

func checkControls(s string, multiline bool) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("is not valid UTF-8 text")
	}
	for i, r := range s {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("contains the control character %U at byte %d; remove it", r, i)
		}
	}
	return nil
}

// IsID reports whether s has the form of the ids Rendezvous issues for its records
// (appointments, API keys, deliveries, media: UUIDs in their canonical 36-character
// form). Anything else cannot name a record, so a caller answers "not found" without
// asking the database, and no odd byte from a URL ever reaches a query.
func IsID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// IsLinkToken reports whether s has the form of a customer link token (NewLinkToken:
// 43 base64url characters). Anything else cannot be one.
func IsLinkToken(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
