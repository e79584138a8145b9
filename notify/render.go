package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/store"
)

// languageCandidates is the order in which template languages are tried for a customer:
// their exact tag, its base language, the organization's default, then English.
func languageCandidates(customer, orgDefault string) []string {
	var out []string
	add := func(l string) {
		if l != "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	add(customer)
	add(baseLanguage(customer))
	add(orgDefault)
	add(DefaultLanguage)
	return out
}

// template finds the template for an event, channel and customer language: the
// organization's own in the first candidate language that has one, else the built-in one.
// It returns the language used and "custom" or "default".
func (s *Service) template(ctx context.Context, orgID string, e Event, ch Channel, customerLang, orgDefault string) (Template, string, string, error) {
	for _, lang := range languageCandidates(customerLang, orgDefault) {
		t, err := s.st.NotifyTemplate(ctx, orgID, string(e), string(ch), lang)
		if err == nil {
			return Template{Subject: t.Subject, Text: t.Text, HTML: t.HTML}, lang, "custom", nil
		}
		if !errors.Is(err, rendezvous.ErrNotFound) {
			return Template{}, "", "", err
		}
		if t, ok := DefaultTemplate(e, ch, lang); ok {
			return t, lang, "default", nil
		}
	}
	return Template{}, "", "", &templateError{fmt.Errorf("no template for %s %s", e, ch)}
}

// templateError is a failure of the template itself (none found, or it cannot be
// rendered), which another try cannot fix, as opposed to a database error.
type templateError struct{ err error }

func (e *templateError) Error() string { return e.err.Error() }
func (e *templateError) Unwrap() error { return e.err }

// vars computes the template values for customer i of a, in lang. The agent's name is
// looked up (from Genesys, through a cache) only when withAgent says the template shows
// it. An error means the database could not be read.
func (s *Service) vars(ctx context.Context, a *rendezvous.Appointment, i int, lang string, withAgent bool) (Vars, error) {
	loc := a.Location()
	start := a.Start.In(loc)
	v := Vars{
		Title:    a.Title,
		Date:     FormatDate(start, lang),
		Time:     FormatTime(start, lang),
		TimeZone: loc.String(),
		Duration: FormatDuration(a.Duration, lang),
	}
	if i >= 0 && i < len(a.Customers) {
		v.CustomerName = a.Customers[i].Name
	}
	org, err := s.st.Org(ctx, a.OrgID)
	if err != nil && !errors.Is(err, rendezvous.ErrNotFound) {
		return Vars{}, fmt.Errorf("organization of %s: %w", a.ID, err)
	}
	v.OrgName = org.Name
	if v.OrgName == "" {
		v.OrgName = a.OrgID
	}
	if withAgent {
		v.AgentName = s.agentName(ctx, a)
	}
	if v.AgentName == "" {
		v.AgentName = yourAgent(lang)
	}
	v.Link, v.RescheduleLink, v.CancelLink, v.CalendarLink = s.links(a.LinkToken)
	return v, nil
}

// yourAgent is "your agent" in lang, for an agent whose name is not known.
func yourAgent(lang string) string {
	switch baseLanguage(lang) {
	case "de":
		return "Ihrem Ansprechpartner"
	case "el":
		return "ένας εκπρόσωπός μας"
	}
	return "your agent"
}

// links returns the customer's link and its self-service and calendar sub-links.
func (s *Service) links(token string) (link, reschedule, cancel, calendar string) {
	if token == "" {
		return s.o.PublicURL, s.o.PublicURL, s.o.PublicURL, s.o.PublicURL
	}
	link = s.o.PublicURL + "/a/" + url.PathEscape(token)
	return link, link + "/reschedule", link + "/cancel", link + "/calendar.ics"
}

// render produces the message of an event for customer i of a.
func (s *Service) render(ctx context.Context, a *rendezvous.Appointment, e Event, ch Channel, i int, set Settings) (Message, string, string, error) {
	return s.renderChange(ctx, a, e, ch, i, set, told{}, false)
}

// renderChange is render for a change message, which says what changed since before
// (what the customer was last told; ok false when nothing was).
func (s *Service) renderChange(ctx context.Context, a *rendezvous.Appointment, e Event, ch Channel, i int, set Settings, before told, ok bool) (Message, string, string, error) {
	custLang := ""
	if i >= 0 && i < len(a.Customers) {
		custLang = a.Customers[i].Language
	}
	t, lang, source, err := s.template(ctx, a.OrgID, e, ch, custLang, set.DefaultLanguage)
	if err != nil {
		return Message{}, "", "", err
	}
	vars, err := s.vars(ctx, a, i, lang, usesAgentName(t))
	if err != nil {
		return Message{}, "", "", err
	}
	if e == EventRescheduled {
		vars.Changes = describeChanges(before, ok, a, lang, func(id string) string {
			other := *a
			other.AgentUserID = id
			if n := s.agentName(ctx, &other); n != "" {
				return n
			}
			return yourAgent(lang)
		})
	}
	m, err := Render(t, vars)
	if err != nil {
		return Message{}, "", "", &templateError{err}
	}
	if source == "default" && m.HTML != "" {
		m.HTML = brand(m.HTML, vars.OrgName, set)
	}
	return m, lang, source, nil
}

// TemplateView is a template as the settings API shows it.
type TemplateView struct {
	Event    Event    `json:"event"`
	Channel  Channel  `json:"channel"`
	Language string   `json:"language"`
	Subject  string   `json:"subject,omitempty"`
	Text     string   `json:"text"`
	HTML     string   `json:"html,omitempty"`
	Custom   bool     `json:"custom"`
	SMS      *SMSInfo `json:"sms,omitempty"` // after rendering with the longest realistic values
	// Variables lists the placeholders templates may use.
	Variables []Variable `json:"variables"`
}

func (s *Service) templateView(e Event, ch Channel, lang string, t Template, custom bool) TemplateView {
	v := TemplateView{Event: e, Channel: ch, Language: lang, Subject: t.Subject, Text: t.Text, HTML: t.HTML, Custom: custom, Variables: Variables()}
	if ch == ChannelSMS {
		if m, err := Render(t, LongestVars(lang, s.o.PublicURL)); err == nil {
			info := SMSInfoOf(m.Text)
			v.SMS = &info
		}
	}
	return v
}

func checkLanguage(lang string) (string, error) {
	l, err := rendezvous.NormalizeLanguage(lang)
	if err != nil || lang == "" {
		var p rendezvous.Problems
		p.Add("language", "%q is not a language tag; use one such as en, de or pt-BR", lang)
		return "", p.Err()
	}
	return l, nil
}

// Template returns the template an organization uses for an event, channel and language:
// its own when saved, else the built-in one in that language or, failing that, in the
// organization's default language.
func (s *Service) Template(ctx context.Context, orgID string, e Event, ch Channel, lang string) (TemplateView, error) {
	lang, err := checkLanguage(lang)
	if err != nil {
		return TemplateView{}, err
	}
	t, err := s.st.NotifyTemplate(ctx, orgID, string(e), string(ch), lang)
	if err == nil {
		return s.templateView(e, ch, lang, Template{Subject: t.Subject, Text: t.Text, HTML: t.HTML}, true), nil
	}
	if !errors.Is(err, rendezvous.ErrNotFound) {
		return TemplateView{}, err
	}
	set, err := s.Settings(ctx, orgID)
	if err != nil {
		return TemplateView{}, err
	}
	for _, l := range languageCandidates(lang, set.DefaultLanguage) {
		if d, ok := DefaultTemplate(e, ch, l); ok {
			v := s.templateView(e, ch, lang, d, false)
			return v, nil
		}
	}
	return TemplateView{}, fmt.Errorf("template %s/%s/%s: %w", e, ch, lang, rendezvous.ErrNotFound)
}

// PutTemplate validates and saves an organization's template. Unknown variables are
// refused, and an SMS that would exceed 765 characters with the longest realistic values.
func (s *Service) PutTemplate(ctx context.Context, orgID string, e Event, ch Channel, lang string, t Template) (TemplateView, error) {
	lang, err := checkLanguage(lang)
	if err != nil {
		return TemplateView{}, err
	}
	if err := Validate(ch, t, lang, s.o.PublicURL); err != nil {
		return TemplateView{}, err
	}
	if err := s.st.PutNotifyTemplate(ctx, orgID, store.NotifyTemplate{Event: string(e), Channel: string(ch), Language: lang,
		Subject: t.Subject, Text: t.Text, HTML: t.HTML}); err != nil {
		return TemplateView{}, err
	}
	return s.templateView(e, ch, lang, t, true), nil
}

// DeleteTemplate drops an organization's template, so the built-in one applies again.
func (s *Service) DeleteTemplate(ctx context.Context, orgID string, e Event, ch Channel, lang string) error {
	lang, err := checkLanguage(lang)
	if err != nil {
		return err
	}
	return s.st.DeleteNotifyTemplate(ctx, orgID, string(e), string(ch), lang)
}

// PreviewInput asks for a rendering. Without a template, the organization's current one is
// used; without an appointment, sample data.
type PreviewInput struct {
	Event         Event     `json:"event"`
	Channel       Channel   `json:"channel"`
	Language      string    `json:"language"`
	Template      *Template `json:"template,omitempty"`
	AppointmentID string    `json:"appointmentId,omitempty"`
	// CustomerIndex picks the customer of a real appointment (default the first).
	CustomerIndex int `json:"customerIndex,omitempty"`
}

// Preview is a rendered template.
type Preview struct {
	Message
	Language string   `json:"language"`
	SMS      *SMSInfo `json:"sms,omitempty"`
	// LongestSMS describes the SMS rendered with the longest realistic values, which is
	// what saving checks against the 765-character limit.
	LongestSMS *SMSInfo `json:"longestSms,omitempty"`
}

// Preview renders a template (given or stored) with a real appointment's data or sample
// data.
func (s *Service) Preview(ctx context.Context, orgID string, in PreviewInput) (Preview, error) {
	lang, err := checkLanguage(in.Language)
	if err != nil {
		return Preview{}, err
	}
	var t Template
	if in.Template != nil {
		t = *in.Template
		if unknown := unknownVariables(t.Subject, t.Text, t.HTML); len(unknown) > 0 {
			var p rendezvous.Problems
			p.Add("template", "uses unknown variables %s; the known ones are %s", joinKeys(unknown), knownList())
			return Preview{}, p.Err()
		}
	} else {
		v, err := s.Template(ctx, orgID, in.Event, in.Channel, lang)
		if err != nil {
			return Preview{}, err
		}
		t = Template{Subject: v.Subject, Text: v.Text, HTML: v.HTML}
	}
	var vars Vars
	if in.AppointmentID != "" {
		a, err := s.st.Appointment(ctx, orgID, in.AppointmentID)
		if err != nil {
			return Preview{}, err
		}
		if in.CustomerIndex < 0 || in.CustomerIndex >= len(a.Customers) {
			var p rendezvous.Problems
			p.Add("customerIndex", "must be between 0 and %d", len(a.Customers)-1)
			return Preview{}, p.Err()
		}
		if vars, err = s.vars(ctx, a, in.CustomerIndex, lang, usesAgentName(t)); err != nil {
			return Preview{}, err
		}
	} else {
		if vars, err = s.sampleVars(ctx, orgID, lang); err != nil {
			return Preview{}, err
		}
	}
	m, err := Render(t, vars)
	if err != nil {
		return Preview{}, err
	}
	out := Preview{Message: m, Language: lang}
	if in.Channel == ChannelSMS {
		info := SMSInfoOf(m.Text)
		out.SMS = &info
		if lm, err := Render(t, LongestVars(lang, s.o.PublicURL)); err == nil {
			li := SMSInfoOf(lm.Text)
			out.LongestSMS = &li
		}
	}
	return out, nil
}

// sampleVars are plausible values for previews: an appointment tomorrow at 14:30 in Berlin.
func (s *Service) sampleVars(ctx context.Context, orgID, lang string) (Vars, error) {
	loc, err := rendezvous.LoadZone("Europe/Berlin")
	if err != nil {
		loc = time.UTC
	}
	now := s.clock.Now().In(loc)
	start := time.Date(now.Year(), now.Month(), now.Day()+1, 14, 30, 0, 0, loc)
	a := &rendezvous.Appointment{ID: "sample", OrgID: orgID, Start: start.UTC(), Duration: 30 * time.Minute,
		TimeZone: loc.String(), Title: "Video consultation", AgentUserID: "",
		Customers: []rendezvous.Customer{{Name: "Alex Example", Language: lang}}, LinkToken: "SAMPLE-link-token"}
	v, err := s.vars(ctx, a, 0, lang, false)
	v.AgentName = "Sam Agent" // the sample has no agent to look up; show a name in every language
	return v, err
}

// Calendar returns the .ics file of the appointment behind a customer link token.
func (s *Service) Calendar(ctx context.Context, token string) ([]byte, error) {
	a, err := s.st.AppointmentByLinkToken(ctx, token)
	if err != nil {
		return nil, err
	}
	a.LinkToken = token
	summary := a.Title
	if org, err := s.st.Org(ctx, a.OrgID); err == nil && org.Name != "" {
		if summary == "" {
			summary = "Video appointment with " + org.Name
		} else {
			summary += " (" + org.Name + ")"
		}
	}
	if summary == "" {
		summary = "Video appointment"
	}
	link, _, _, _ := s.links(token)
	host := "rendezvous"
	if u, err := url.Parse(s.o.PublicURL); err == nil && u.Hostname() != "" {
		host = strings.ToLower(u.Hostname())
	}
	return ICS(CalendarInput{Appointment: a, Summary: summary, Link: link, Host: host, Now: s.clock.Now()}), nil
}
