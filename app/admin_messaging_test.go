package app

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"rendezvous"
	"rendezvous/notify"
)

// TestSMSCounter checks the counter the templates editor shows (the server's rule,
// notify.SMSInfoOf, which the editor's script displays): GSM-7 basic characters count one
// septet and extension characters two, 160 septets in one part and 153 per part when
// split; any character outside GSM-7 makes it UCS-2, 70 units in one part and 67 per part.
func TestSMSCounter(t *testing.T) {
	v := &view{tr: newTr("en")}
	cases := []struct {
		name, text string
		want       string
	}{
		{"empty", "", "0 characters · GSM-7 · 0 SMS segments"},
		{"one part", strings.Repeat("a", 160), "160 characters · GSM-7 · 1 SMS segments"},
		{"two parts", strings.Repeat("a", 161), "161 characters · GSM-7 · 2 SMS segments"},
		{"two full parts", strings.Repeat("a", 306), "306 characters · GSM-7 · 2 SMS segments"},
		{"three parts", strings.Repeat("a", 307), "307 characters · GSM-7 · 3 SMS segments"},
		{"extension characters count two", strings.Repeat("€", 80), "80 characters · GSM-7 · 1 SMS segments"},
		{"extension tips into two parts", strings.Repeat("a", 159) + "{", "160 characters · GSM-7 · 2 SMS segments"},
		{"every extension character", "^{}\\[~]|€", "9 characters · GSM-7 · 1 SMS segments"},
		{"Greek capitals in GSM-7", "ΔΦΓΛΩΠΨΣΘΞ", "10 characters · GSM-7 · 1 SMS segments"},
		{"German umlauts in GSM-7", "Grüße aus Köln", "14 characters · GSM-7 · 1 SMS segments"},
		{"one Greek small letter makes UCS-2", strings.Repeat("a", 70) + "ε", "71 characters · UCS-2 · 2 SMS segments"},
		{"UCS-2 one part", strings.Repeat("ε", 70), "70 characters · UCS-2 · 1 SMS segments"},
		{"UCS-2 two full parts", strings.Repeat("ε", 134), "134 characters · UCS-2 · 2 SMS segments"},
		{"UCS-2 three parts", strings.Repeat("ε", 135), "135 characters · UCS-2 · 3 SMS segments"},
		{"emoji take two units", strings.Repeat("😀", 36), "36 characters · UCS-2 · 2 SMS segments"},
		{"ç capital only in GSM-7", "ç", "1 characters · UCS-2 · 1 SMS segments"},
	}
	for _, c := range cases {
		info := notify.SMSInfoOf(c.text)
		if got := v.SMSCount(&info); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestTemplateFormEdge checks the editor's edge: NUL bytes, invalid UTF-8 and too-long
// parts are refused with a message, and the text is kept (the bad bytes shown as �).
func TestTemplateFormEdge(t *testing.T) {
	v := &view{tr: newTr("en")}
	cases := []struct {
		name     string
		form     url.Values
		field    string
		problem  string
		keptText string
	}{
		{"NUL", url.Values{"channel": {"sms"}, "text": {"Hi\x00 {customerName}"}}, "text", "NUL", "Hi\uFFFD {customerName}"},
		{"invalid UTF-8", url.Values{"channel": {"sms"}, "text": {"Hi \xff\xfe {link}"}}, "text", "not valid text", "Hi \uFFFD {link}"},
		{"SMS too long", url.Values{"channel": {"sms"}, "text": {strings.Repeat("ε", maxTemplateSMS+1)}}, "text", "too long: 2001 characters, at most 2000", strings.Repeat("ε", maxTemplateSMS+1)},
		{"email subject NUL", url.Values{"channel": {"email"}, "subject": {"a\x00"}, "text": {"ok"}}, "subject", "NUL", "ok"},
		{"email HTML too long", url.Values{"channel": {"email"}, "html": {strings.Repeat("<p>", maxTemplateHTML)}, "text": {"ok"}}, "html", "too long", "ok"},
		{"fine", url.Values{"channel": {"sms"}, "text": {"Hallo {customerName} €"}}, "", "", "Hallo {customerName} €"},
		{"SMS drops email parts", url.Values{"channel": {"sms"}, "subject": {"x\x00"}, "text": {"ok"}}, "", "", "ok"},
	}
	for _, c := range cases {
		f := readTemplateForm(v, c.form)
		if c.field == "" {
			if len(f.Errors) > 0 {
				t.Errorf("%s: refused %v", c.name, f.Errors)
			}
		} else if got := f.Errors[c.field]; !strings.Contains(got, c.problem) {
			t.Errorf("%s: %s problem %q, want %q", c.name, c.field, got, c.problem)
		}
		if f.Text != c.keptText {
			t.Errorf("%s: text kept as %q, want %q", c.name, f.Text, c.keptText)
		}
	}
	if f := readTemplateForm(v, url.Values{"event": {"nope"}, "channel": {"fax"}, "language": {"xx\x00"}}); f.Event != notify.EventCreated || f.Channel != notify.ChannelSMS || f.Language != "en" {
		t.Errorf("unknown choices read as %s/%s/%s, want the defaults", f.Event, f.Channel, f.Language)
	}
}

// TestSetupFormEdge checks the wizard's edge: a NUL, invalid UTF-8 or too long value is
// refused before anything reaches Genesys Cloud, and what can be kept is kept.
func TestSetupFormEdge(t *testing.T) {
	v := &view{tr: newTr("en")}
	long := strings.Repeat("x", maxSetupField+1)
	for _, c := range []struct {
		name, in, problem, kept string
	}{
		{"NUL", "abc\x00def", "cannot be stored", "abcdef"},
		{"invalid UTF-8", "abc\xffdef", "cannot be stored", "abcdef"},
		{"too long", long, "too long", long[:maxSetupField]},
		{"fine", "c0000000-0001", "", "c0000000-0001"},
	} {
		p := &channelPage{Errors: map[string]string{}}
		readSetupForm(v, postForm(url.Values{"client_id": {c.in}}), p, "client_id")
		if got := p.Errors["client_id"]; (c.problem == "") != (got == "") || !strings.Contains(got, c.problem) {
			t.Errorf("%s: problem %q, want %q", c.name, got, c.problem)
		}
		if p.ClientID != c.kept {
			t.Errorf("%s: kept %q, want %q", c.name, p.ClientID, c.kept)
		}
	}
}

// TestSetupWords checks that the service's problems are said in plain words with the
// exact permission name, and that unknown ones pass through unchanged.
func TestSetupWords(t *testing.T) {
	en, de := newTr("en"), newTr("de")
	for _, c := range []struct {
		fp   rendezvous.FieldProblem
		want string
	}{
		{rendezvous.FieldProblem{Field: "clientId", Message: "the OAuth client lacks the permission sms:phoneNumber:view: in Genesys Cloud, ..."}, "lacks the permission sms:phoneNumber:view."},
		{rendezvous.FieldProblem{Field: "to", Message: "Genesys Cloud refused to send: the OAuth client lacks the permission conversation:email:create (or conversation:agentlessEmail:send); add it"}, "lacks the permission conversation:email:create (or conversation:agentlessEmail:send)."},
		{rendezvous.FieldProblem{Field: "clientSecret", Message: "Genesys Cloud refused this client id and secret (invalid_client): check"}, "refused this client id and secret"},
		{rendezvous.FieldProblem{Field: "code", Message: "is wrong; 3 attempts left"}, "(3 attempts left)"},
		{rendezvous.FieldProblem{Field: "code", Message: "has expired (codes are valid for 10 minutes); request a new code"}, "has expired"},
		{rendezvous.FieldProblem{Field: "other", Message: "something new"}, "something new"},
	} {
		if got := setupWords(en, notify.ChannelSMS, c.fp); !strings.Contains(got, c.want) {
			t.Errorf("%q: %q, want %q", c.fp.Message, got, c.want)
		}
	}
	got := setupWords(de, notify.ChannelSMS, rendezvous.FieldProblem{Field: "clientId", Message: "the OAuth client lacks the permission sms:phoneNumber:view: ..."})
	if !strings.Contains(got, "Berechtigung sms:phoneNumber:view") {
		t.Errorf("German: %q", got)
	}
	if got := templateWords(en, rendezvous.FieldProblem{Field: "text", Message: "uses unknown variables {agentPhone}, {x}; the known ones are {customerName}"}); !strings.Contains(got, "Unknown variable {agentPhone}, {x}.") {
		t.Errorf("unknown variables: %q", got)
	}
}

// TestDerivedStep checks where the wizard resumes.
func TestDerivedStep(t *testing.T) {
	for _, c := range []struct {
		cv   notify.ChannelView
		want string
	}{
		{notify.ChannelView{}, stepCredentials},
		{notify.ChannelView{Configured: true}, stepTest},
		{notify.ChannelView{Configured: true, Verification: &notify.VerificationView{To: "+30•••78"}}, stepTest},
		{notify.ChannelView{Configured: true, Verified: true, Verification: &notify.VerificationView{To: "+30•••78"}}, stepTest},
		{notify.ChannelView{Configured: true, Verified: true}, stepDone},
	} {
		if got := derivedStep(c.cv); got != c.want {
			t.Errorf("%+v: %s, want %s", c.cv, got, c.want)
		}
	}
}

func postForm(form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.ParseForm()
	return r
}

// TestSetupProblemsKinds checks the wizard's words for the service's non-field errors: a
// lockout after too many wrong codes, no code pending, credentials not saved yet; other
// errors are not the administrator's to fix.
func TestSetupProblemsKinds(t *testing.T) {
	v := &view{tr: newTr("en")}
	for _, c := range []struct {
		err          error
		field, words string
	}{
		{fmt.Errorf("wrong code 5 times; the code is void: %w", rendezvous.ErrRateLimited), "code", "Too many wrong codes"},
		{rendezvous.WithDetail(fmt.Errorf("too many wrong codes: %w", rendezvous.ErrRateLimited), "Too many wrong codes; request a new code after …"), "code", "Too many wrong codes"},
		{rendezvous.WithDetail(fmt.Errorf("genesys rate limits: %w", rendezvous.ErrRateLimited), "Genesys Cloud is rate limiting"), "to", "limiting requests"},
		{rendezvous.WithDetail(fmt.Errorf("no verification code pending: %w", rendezvous.ErrConflict), "No verification code is pending; request one first."), "code", "Send a code first"},
		{rendezvous.WithDetail(fmt.Errorf("save first: %w", rendezvous.ErrConflict), "Save the sms credentials before verifying."), "to", "Save the credentials first"},
	} {
		p := &channelPage{Ch: notify.ChannelSMS, Errors: map[string]string{}}
		if !setupProblems(v, p, c.err) || !strings.Contains(p.Errors[c.field], c.words) {
			t.Errorf("%v: %v, want %s: %q", c.err, p.Errors, c.field, c.words)
		}
	}
	if setupProblems(v, &channelPage{Errors: map[string]string{}}, errors.New("database down")) {
		t.Error("an internal error was shown as the administrator's to fix")
	}
}
