package notify

import (
	"errors"
	"strings"
	"testing"
	"time"

	"rendezvous"
)

func TestRenderEscapesHTMLOnly(t *testing.T) {
	tpl := Template{Subject: "Hi  {customerName}\n", Text: "Hi {customerName} {{literal}", HTML: `<p>Hi {customerName}</p><style>p { color: red }</style>`}
	m, err := Render(tpl, Vars{CustomerName: `<b>Tom & "Jerry"</b>`})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != `Hi <b>Tom & "Jerry"</b>` || m.Text != `Hi <b>Tom & "Jerry"</b> {literal}` {
		t.Errorf("plain parts changed: %q / %q", m.Subject, m.Text)
	}
	if want := `<p>Hi &lt;b&gt;Tom &amp; &#34;Jerry&#34;&lt;/b&gt;</p><style>p { color: red }</style>`; m.HTML != want {
		t.Errorf("html = %q, want %q", m.HTML, want)
	}
}

func TestValidateRefusesUnknownVariables(t *testing.T) {
	err := Validate(ChannelSMS, Template{Text: "Hi {customerName}, see {lnk} at {time}"}, "en", "")
	var ve *rendezvous.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Field != "text" || !strings.Contains(ve.Problems[0].Message, "{lnk}") {
		t.Fatalf("err = %v, want one problem on text naming {lnk}", err)
	}
	err = Validate(ChannelEmail, Template{Text: "ok", Subject: "", HTML: "{bogus}"}, "en", "")
	if !errors.As(err, &ve) || len(ve.Problems) != 2 {
		t.Fatalf("err = %v, want subject required and html unknown variable", err)
	}
}

func TestValidateSMSLengthAfterRenderingLongestValues(t *testing.T) {
	// 700 characters of text fit, but not once {link} (a ~80 character URL) is added.
	long := strings.Repeat("a", 700)
	if err := Validate(ChannelSMS, Template{Text: long}, "en", ""); err != nil {
		t.Fatalf("700 plain characters refused: %v", err)
	}
	err := Validate(ChannelSMS, Template{Text: long + " {link}"}, "en", "https://meet.example.com")
	if err == nil || !strings.Contains(err.Error(), "765") {
		t.Fatalf("err = %v, want refusal over 765", err)
	}
	for _, lang := range Languages() {
		for _, e := range Events() {
			for _, ch := range Channels() {
				tpl, ok := DefaultTemplate(e, ch, lang)
				if !ok {
					t.Fatalf("no default %s/%s/%s", e, ch, lang)
				}
				if err := Validate(ch, tpl, lang, "https://meet.example.com"); err != nil {
					t.Errorf("default %s/%s/%s invalid: %v", e, ch, lang, err)
				}
			}
		}
	}
}

func TestSMSInfo(t *testing.T) {
	cases := []struct {
		text     string
		encoding string
		segments int
	}{
		{"", "GSM-7", 0},
		{strings.Repeat("a", 160), "GSM-7", 1},
		{strings.Repeat("a", 161), "GSM-7", 2},
		{strings.Repeat("a", 306), "GSM-7", 2},
		{strings.Repeat("a", 307), "GSM-7", 3},
		{strings.Repeat("€", 80), "GSM-7", 1}, // extension characters take two septets
		{strings.Repeat("€", 81), "GSM-7", 2}, // 162 septets
		{"Grüße aus Köln", "GSM-7", 1},        // ü, ß and ö are in the GSM alphabet
		{strings.Repeat("ε", 70), "UCS-2", 1}, // Greek small letters are not in GSM-7
		{strings.Repeat("ε", 71), "UCS-2", 2}, // 67 per part
		{strings.Repeat("😀", 35), "UCS-2", 1}, // surrogate pairs count twice
		{strings.Repeat("😀", 36), "UCS-2", 2},
	}
	for _, c := range cases {
		got := SMSInfoOf(c.text)
		if got.Encoding != c.encoding || got.Segments != c.segments {
			t.Errorf("%q: got %+v, want %s in %d segments", c.text, got, c.encoding, c.segments)
		}
	}
}

func TestDateTimeFormattingAcrossDST(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	ny, _ := time.LoadLocation("America/New_York")
	// Europe moves to summer time on 29 March 2026, the US on 8 March 2026.
	winter := time.Date(2026, 3, 27, 13, 30, 0, 0, time.UTC)
	summer := time.Date(2026, 3, 31, 12, 30, 0, 0, time.UTC)
	cases := []struct {
		t          time.Time
		loc        *time.Location
		lang       string
		date, time string
	}{
		{winter, berlin, "en", "Friday, March 27, 2026", "2:30 PM (CET, Central European Time)"},
		{summer, berlin, "en", "Tuesday, March 31, 2026", "2:30 PM (CEST, Central European Time)"},
		{winter, berlin, "de", "Freitag, 27. März 2026", "14:30 Uhr (MEZ, Mitteleuropäische Zeit)"},
		{summer, berlin, "de-AT", "Dienstag, 31. März 2026", "14:30 Uhr (MESZ, Mitteleuropäische Zeit)"},
		{time.Date(2026, 3, 6, 15, 0, 0, 0, time.UTC), ny, "en", "Friday, March 6, 2026", "10:00 AM (EST, Eastern Time)"},
		{time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC), ny, "de", "Montag, 9. März 2026", "10:00 Uhr (EDT, Nordamerikanische Ostküstenzeit)"},
	}
	for _, c := range cases {
		lt := c.t.In(c.loc)
		if got := FormatDate(lt, c.lang); got != c.date {
			t.Errorf("FormatDate(%s, %s) = %q, want %q", lt, c.lang, got, c.date)
		}
		if got := FormatTime(lt, c.lang); got != c.time {
			t.Errorf("FormatTime(%s, %s) = %q, want %q", lt, c.lang, got, c.time)
		}
	}
	if got := FormatDuration(90*time.Minute, "en"); got != "1 hour 30 minutes" {
		t.Errorf("duration = %q", got)
	}
	if got := FormatDuration(30*time.Minute, "de"); got != "30 Minuten" {
		t.Errorf("duration = %q", got)
	}
}

func TestLanguageCandidates(t *testing.T) {
	got := strings.Join(languageCandidates("de-AT", "en"), ",")
	if got != "de-AT,de,en" {
		t.Errorf("candidates = %s", got)
	}
	if got := strings.Join(languageCandidates("el", "de"), ","); got != "el,de,en" {
		t.Errorf("candidates = %s", got)
	}
}
