package app

// The settings pages' forms (admin_scheduling.go, admin_notifications.go, admin_video.go,
// admin_people.go, admin_retention.go): the values as typed, and a plain-words problem
// per field, so a page shown again after an error keeps everything the person entered.

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"rendezvous"
	"rendezvous/journey"
)

// settingsForm is a settings form as typed.
type settingsForm struct {
	V      map[string]string
	Errors map[string]string
}

func newSettingsForm() *settingsForm {
	return &settingsForm{V: map[string]string{}, Errors: map[string]string{}}
}

// readSettingsForm reads the named fields of the posted form.
func readSettingsForm(r *http.Request, names ...string) *settingsForm {
	f := newSettingsForm()
	for _, n := range names {
		f.V[n] = r.PostFormValue(n)
	}
	return f
}

// Get is the typed value of field name.
func (f *settingsForm) Get(name string) string { return f.V[name] }

// Is reports whether checkbox or radio field name holds value.
func (f *settingsForm) Is(name, value string) bool { return f.V[name] == value }

// Err is the problem with field name, if any.
func (f *settingsForm) Err(name string) string { return f.Errors[name] }

// fail records the first problem of field name.
func (f *settingsForm) fail(name, msg string) {
	if _, ok := f.Errors[name]; !ok {
		f.Errors[name] = msg
	}
}

// line checks that field name is one storable line of at most max characters (NUL bytes,
// control characters and invalid UTF-8 are refused alike on SQLite and PostgreSQL) and
// returns it trimmed.
func (f *settingsForm) line(t *tr, name string, max int) string {
	v := f.V[name]
	switch {
	case !utf8.ValidString(v) || rendezvous.CheckLine(v) != nil:
		f.fail(name, t.T("This contains characters that cannot be stored. Please retype it."))
		return ""
	case utf8.RuneCountInString(v) > max:
		f.fail(name, t.T("This is too long (up to %d characters).", max))
		return ""
	}
	return strings.TrimSpace(v)
}

// number reads field name as a whole number between lo and hi.
func (f *settingsForm) number(t *tr, name string, lo, hi int) int {
	v := strings.TrimSpace(f.V[name])
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		f.fail(name, t.T("Enter a whole number between %d and %d.", lo, hi))
		return 0
	}
	return n
}

// problems puts the domain's problems beside their fields, in words from words (domain
// field → plain sentence), falling back to the domain's own message. It reports whether
// err was a validation error.
func (f *settingsForm) problems(err error, field func(string) string, words func(string) string) bool {
	var ve *rendezvous.ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	for _, p := range ve.Problems {
		k := field(p.Field)
		msg := words(k)
		if msg == "" {
			msg = p.Message
		}
		f.fail(k, msg)
	}
	return true
}

// bodyLimit is the largest request body a staff POST may send: small forms everywhere,
// except the message templates and the waiting-room upload. A template may hold 71,000
// characters (subject, text and HTML), which a form sends percent-encoded: six bytes each
// in Greek. The upload is read whole even somewhat beyond journey.MaxMediaBytes, so that
// a file a little too large is refused as too large (journey.UploadMedia) rather than
// failing the form's CSRF check, which reads the body first.
func bodyLimit(r *http.Request) int64 {
	switch r.Pattern {
	case "POST /app/admin/scheduling/media":
		return 3 * journey.MaxMediaBytes
	case "POST /app/admin/templates", "POST /app/admin/templates/preview":
		return 1 << 20
	}
	return 256 << 10
}
