package notify

import (
	"fmt"
	"html/template"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"rendezvous"
)

// Event is what a notification is about.
type Event string

// The events that send notifications.
const (
	EventCreated     Event = "created"
	EventRescheduled Event = "rescheduled"
	EventCancelled   Event = "cancelled"
	EventReminder    Event = "reminder"
	EventFollowUp    Event = "followup"
)

// Events lists every notification event, in the order administrators see them.
func Events() []Event {
	return []Event{EventCreated, EventRescheduled, EventCancelled, EventReminder, EventFollowUp}
}

// ParseEvent checks an event name.
func ParseEvent(s string) (Event, error) {
	for _, e := range Events() {
		if string(e) == s {
			return e, nil
		}
	}
	return "", fmt.Errorf("%q is not a notification event; use one of created, rescheduled, cancelled, reminder, followup", s)
}

// Channel is how a notification travels.
type Channel string

// The channels.
const (
	ChannelSMS   Channel = "sms"
	ChannelEmail Channel = "email"
)

// Channels lists both channels.
func Channels() []Channel { return []Channel{ChannelSMS, ChannelEmail} }

// ParseChannel checks a channel name.
func ParseChannel(s string) (Channel, error) {
	switch Channel(s) {
	case ChannelSMS, ChannelEmail:
		return Channel(s), nil
	}
	return "", fmt.Errorf("%q is not a channel; use sms or email", s)
}

// Template is the text of one message. SMS uses Text only; email uses Subject, Text (the
// plain-text part) and HTML.
type Template struct {
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text"`
	HTML    string `json:"html,omitempty"`
}

// Vars are the values a template may use. Every field is plain text; Render escapes them
// for HTML.
type Vars struct {
	CustomerName   string
	AgentName      string
	OrgName        string
	Title          string
	Date           string // the start's date in the customer's zone and language
	Time           string // the start's clock time with the zone shown
	TimeZone       string // IANA name of the customer's zone
	Duration       string
	Link           string // the customer's personal appointment link
	RescheduleLink string
	CancelLink     string
	CalendarLink   string // the .ics file
	// Changes says what changed since the customer's last message (change messages
	// only): "it now lasts 45 minutes instead of 30 minutes".
	Changes string
}

// variable is one placeholder name and how to read it from Vars.
type variable struct {
	name string
	doc  string
	get  func(v *Vars) string
}

// variables are the placeholders, in the order the settings API lists them; expand
// looks one up for every placeholder it meets.
var variables = []variable{
	{"customerName", "the customer's name", func(v *Vars) string { return v.CustomerName }},
	{"agentName", "the assigned agent's name", func(v *Vars) string { return v.AgentName }},
	{"orgName", "the organization's name", func(v *Vars) string { return v.OrgName }},
	{"title", "the appointment's title", func(v *Vars) string { return v.Title }},
	{"date", "the start date in the customer's time zone and language", func(v *Vars) string { return v.Date }},
	{"time", "the start time in the customer's time zone, with the zone shown", func(v *Vars) string { return v.Time }},
	{"timeZone", "the customer's time zone (IANA name)", func(v *Vars) string { return v.TimeZone }},
	{"duration", "the planned length", func(v *Vars) string { return v.Duration }},
	{"link", "the customer's personal appointment link", func(v *Vars) string { return v.Link }},
	{"rescheduleLink", "the self-service reschedule link", func(v *Vars) string { return v.RescheduleLink }},
	{"cancelLink", "the self-service cancel link", func(v *Vars) string { return v.CancelLink }},
	{"calendarLink", "the .ics calendar file", func(v *Vars) string { return v.CalendarLink }},
	{"changes", "what changed since the customer's last message: time, length, agent (change messages; empty in others)", func(v *Vars) string { return v.Changes }},
}

// Variable describes one placeholder, for the settings API.
type Variable struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Variables lists the placeholders templates may use, written {name} in a template.
func Variables() []Variable {
	var out []Variable
	for _, v := range variables {
		out = append(out, Variable{Name: v.name, Description: v.doc})
	}
	return out
}

func lookupVariable(name string) (variable, bool) {
	for _, v := range variables {
		if v.name == name {
			return v, true
		}
	}
	return variable{}, false
}

// expand replaces {name} placeholders in s. "{{" stands for a literal "{". A "{" that
// does not start a placeholder (a space or a brace follows) is kept as it is, so CSS in
// an HTML template needs no escaping. Unknown names are collected in unknown. With
// asTemplate, each placeholder becomes an html/template action instead of its value
// (renderHTML).
func expand(s string, vars *Vars, asTemplate bool, unknown map[string]bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '{' {
			b.WriteByte(c)
			i++
			continue
		}
		if strings.HasPrefix(s[i:], "{{") {
			b.WriteByte('{')
			i += 2
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		name := ""
		if end > 1 {
			name = s[i+1 : i+end]
		}
		if name == "" || !isIdent(name) {
			b.WriteByte(c)
			i++
			continue
		}
		v, ok := lookupVariable(name)
		if !ok {
			unknown[name] = true
			i += end + 1
			continue
		}
		if asTemplate {
			b.WriteString(htmlLeft + "index . " + strconv.Quote(v.name) + htmlRight)
			i += end + 1
			continue
		}
		val := ""
		if vars != nil {
			val = v.get(vars)
		}
		b.WriteString(val)
		i += end + 1
	}
	return b.String()
}

func isIdent(s string) bool {
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || (i > 0 && r >= '0' && r <= '9') || r == '_') {
			return false
		}
	}
	return true
}

// Message is a rendered template.
type Message struct {
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text"`
	HTML    string `json:"html,omitempty"`
}

// Render fills t with vars. Every variable in the HTML part is escaped for where it sits
// (renderHTML); the subject and text parts are plain text. A template with unknown
// variables, or with a variable where no value can be written safely, is refused.
func Render(t Template, vars Vars) (Message, error) {
	unknown := map[string]bool{}
	htmlPart, herr := renderHTML(t.HTML, &vars, unknown)
	m := Message{
		// A subject is one line whatever a name contains.
		Subject: strings.Join(strings.Fields(expand(t.Subject, &vars, false, unknown)), " "),
		Text:    expand(t.Text, &vars, false, unknown),
		HTML:    htmlPart,
	}
	if len(unknown) > 0 {
		return Message{}, fmt.Errorf("template uses unknown variables %s", joinKeys(unknown))
	}
	if herr != nil {
		var p rendezvous.Problems
		p.Add("html", "%s", herr)
		return Message{}, p.Err()
	}
	return m, nil
}

// The action delimiters of the html/template an HTML part becomes: nobody writes them in
// an email, and a part that contains them is refused.
const (
	htmlLeft  = "⟦rdv "
	htmlRight = " rdv⟧"
)

// renderHTML fills the HTML part s with html/template's contextual escaping: a variable in
// text is HTML-escaped, in an attribute value (quoted or not) attribute-escaped, in a URL
// attribute (href, src) URL-filtered so that a value such as "javascript:…" becomes
// "#ZgotmplZ", in a script JS-escaped. A customer who names themselves
// `x" onmouseover="…` adds no attribute and runs nothing. A variable where no value can be
// written safely (an attribute or tag name, a comment) is an error, reported when the
// template is saved. Unknown names are collected in unknown.
func renderHTML(s string, vars *Vars, unknown map[string]bool) (string, error) {
	if s == "" {
		return "", nil
	}
	if strings.Contains(s, htmlLeft) || strings.Contains(s, htmlRight) {
		return "", fmt.Errorf("contains %q or %q, which templates cannot use", strings.TrimSpace(htmlLeft), strings.TrimSpace(htmlRight))
	}
	n := len(unknown)
	src := expand(s, nil, true, unknown)
	if len(unknown) > n {
		return "", nil // the caller reports the unknown names
	}
	tmpl, err := template.New("html").Delims(htmlLeft, htmlRight).Parse(src)
	if err != nil {
		return "", fmt.Errorf("cannot be read as a template: %s", cleanTemplateError(err))
	}
	data := make(map[string]string, len(variables))
	for _, v := range variables {
		if vars != nil {
			data[v.name] = v.get(vars)
		} else {
			data[v.name] = ""
		}
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("has a variable where no value can be written safely (inside a tag or attribute name, a comment, or an unclosed attribute); move it into text or a quoted attribute value: %s", cleanTemplateError(err))
	}
	return b.String(), nil
}

// filteredVariables returns the text variables (names, title, date...) that the HTML part
// s puts where html/template filters values out (an attribute name, a URL attribute): a
// customer named "a: b" would arrive as "ZgotmplZ" there, so such a template is refused
// when saved rather than sent broken. Link variables are URLs and belong in href.
func filteredVariables(s string, vars Vars) []string {
	var out []string
	for _, v := range variables {
		if strings.HasSuffix(v.name, "Link") || v.name == "link" {
			continue
		}
		probe := vars
		// One value with what text holds and a URL or a name may not: a colon, a space.
		set := map[string]*string{"customerName": &probe.CustomerName, "agentName": &probe.AgentName, "orgName": &probe.OrgName,
			"title": &probe.Title, "date": &probe.Date, "time": &probe.Time, "timeZone": &probe.TimeZone, "duration": &probe.Duration}
		p, ok := set[v.name]
		if !ok {
			continue
		}
		*p = "Probe: value"
		out1, err := renderHTML(s, &probe, map[string]bool{})
		if err == nil && strings.Count(out1, "ZgotmplZ") > strings.Count(s, "ZgotmplZ") {
			out = append(out, v.name)
		}
	}
	return out
}

// cleanTemplateError shows html/template's error without its internal names, with our
// placeholder syntax back in place of the actions.
func cleanTemplateError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "html/template:")
	msg = strings.TrimPrefix(msg, "template: ")
	msg = strings.TrimPrefix(msg, "html:")
	for _, v := range variables {
		msg = strings.ReplaceAll(msg, htmlLeft+"index . "+strconv.Quote(v.name)+htmlRight, "{"+v.name+"}")
		msg = strings.ReplaceAll(msg, "index . "+strconv.Quote(v.name), "{"+v.name+"}")
	}
	return msg
}

// unknownVariables collects the placeholder names in parts that are not variables.
func unknownVariables(parts ...string) map[string]bool {
	unknown := map[string]bool{}
	for _, part := range parts {
		expand(part, nil, false, unknown)
	}
	return unknown
}

func joinKeys(m map[string]bool) string {
	var ks []string
	for k := range m {
		ks = append(ks, "{"+k+"}")
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

// Limits checked when a template is saved.
const (
	MaxSMSLength          = 765 // Genesys' textBody limit, after rendering
	MaxEmailSubjectLength = 400
	MaxTemplateLength     = 100_000
)

// Validate checks a template for a channel before it is saved: required parts, unknown
// variables, and lengths after rendering with the longest realistic values for lang
// (publicURL is the base of the links). Problems are reported per field.
func Validate(ch Channel, t Template, lang, publicURL string) error {
	var p rendezvous.Problems
	check := func(field, s string, required bool) {
		unknown := unknownVariables(s)
		switch {
		case required && strings.TrimSpace(s) == "":
			p.Add(field, "is required")
		case !utf8.ValidString(s):
			p.Add(field, "is not valid UTF-8 text")
		case len(s) > MaxTemplateLength:
			p.Add(field, "is longer than %d bytes", MaxTemplateLength)
		case len(unknown) > 0:
			p.Add(field, "uses unknown variables %s; the known ones are %s", joinKeys(unknown), knownList())
		}
	}
	check("text", t.Text, true)
	if ch == ChannelEmail {
		check("subject", t.Subject, true)
		check("html", t.HTML, false)
	} else {
		if t.Subject != "" {
			p.Add("subject", "is not used by SMS; leave it empty")
		}
		if t.HTML != "" {
			p.Add("html", "is not used by SMS; leave it empty")
		}
	}
	if !p.Empty() {
		return p.Err()
	}
	m, err := Render(t, LongestVars(lang, publicURL))
	if err != nil {
		return err
	}
	if ch == ChannelEmail {
		for _, name := range filteredVariables(t.HTML, LongestVars(lang, publicURL)) {
			p.Add("html", "puts {%s} where its value would be dropped for safety (an attribute name, or a link attribute such as href or src, which only the link variables may fill); put it in text or a plain quoted attribute such as title", name)
		}
	}
	if ch == ChannelSMS {
		if info := SMSInfoOf(m.Text); info.Characters > MaxSMSLength {
			p.Add("text", "renders to %d characters with the longest realistic values; Genesys Cloud accepts at most %d in one SMS: shorten it by %d", info.Characters, MaxSMSLength, info.Characters-MaxSMSLength)
		}
	} else if n := utf8.RuneCountInString(m.Subject); n > MaxEmailSubjectLength {
		p.Add("subject", "renders to %d characters with the longest realistic values; the limit is %d", n, MaxEmailSubjectLength)
	}
	return p.Err()
}

func knownList() string {
	var names []string
	for _, v := range variables {
		names = append(names, "{"+v.name+"}")
	}
	return strings.Join(names, " ")
}

// LongestVars returns the longest values the variables realistically take in lang, for
// length checks: long names, the longest weekday and month, a long zone name, and links of
// the real length on publicURL.
func LongestVars(lang, publicURL string) Vars {
	if publicURL == "" {
		publicURL = "https://rendezvous.example.com"
	}
	link := publicURL + "/a/" + strings.Repeat("x", 43) // a link token is 43 characters
	date := "Wednesday, September 30, 2026"
	tm := "12:45 PM (UTC-03:00, America/Argentina/Buenos_Aires)"
	dur := "7 hours 55 minutes"
	if baseLanguage(lang) == "de" {
		date = "Donnerstag, 30. September 2026"
		tm = "12:45 Uhr (UTC-03:00, America/Argentina/Buenos_Aires)"
		dur = "7 Stunden 55 Minuten"
	}
	if baseLanguage(lang) == "el" {
		date = "Παρασκευή, 30 Σεπτεμβρίου 2026"
		tm = "12:45 (UTC-03:00, America/Argentina/Buenos_Aires)"
		dur = "7 ώρες 55 λεπτά"
	}
	return Vars{
		CustomerName:   strings.Repeat("N", 50),
		AgentName:      strings.Repeat("A", 50),
		OrgName:        strings.Repeat("O", 60),
		Title:          strings.Repeat("T", 80),
		Date:           date,
		Time:           tm,
		TimeZone:       "America/Argentina/Buenos_Aires",
		Duration:       dur,
		Link:           link,
		RescheduleLink: link + "/reschedule",
		CancelLink:     link + "/cancel",
		CalendarLink:   link + "/calendar.ics",
		Changes: describeChanges(told{Start: time.Date(2026, 9, 29, 15, 45, 0, 0, time.UTC), DurationMinutes: 475, AgentUserID: "old", TimeZone: "America/Argentina/Buenos_Aires"}, true,
			&rendezvous.Appointment{Start: time.Date(2026, 9, 30, 15, 45, 0, 0, time.UTC), Duration: 470 * time.Minute, AgentUserID: "new", TimeZone: "America/Argentina/Buenos_Aires"},
			lang, func(string) string { return strings.Repeat("A", 50) }),
	}
}

// SMSInfo describes how an SMS text travels.
type SMSInfo struct {
	// Characters is the length Genesys counts against its 765 limit.
	Characters int `json:"characters"`
	// Encoding is "GSM-7" when every character is in the GSM 03.38 alphabet, else "UCS-2".
	Encoding string `json:"encoding"`
	// Segments is how many SMS parts the carrier delivers it in.
	Segments int `json:"segments"`
}

// gsmBasic is the GSM 03.38 default alphabet; gsmExtended characters take two septets.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
const gsmExtended = "^{}\\[~]|€\f"

// SMSInfoOf computes the length, encoding and segment count of an SMS text: GSM-7 holds
// 160 septets in one part or 153 per part when split; UCS-2 holds 70 UTF-16 units or 67
// per part.
func SMSInfoOf(text string) SMSInfo {
	info := SMSInfo{Characters: utf8.RuneCountInString(text), Encoding: "GSM-7"}
	septets := 0
	for _, r := range text {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			septets++
		case strings.ContainsRune(gsmExtended, r):
			septets += 2
		default:
			info.Encoding = "UCS-2"
		}
	}
	if info.Encoding == "GSM-7" {
		info.Segments = segments(septets, 160, 153)
		return info
	}
	units := 0
	for _, r := range text {
		if r > 0xFFFF {
			units += 2
		} else {
			units++
		}
	}
	info.Segments = segments(units, 70, 67)
	return info
}

func segments(n, single, multi int) int {
	switch {
	case n == 0:
		return 0
	case n <= single:
		return 1
	}
	return (n + multi - 1) / multi
}
