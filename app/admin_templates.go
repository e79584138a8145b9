package app

// The templates editor (/app/admin/templates): the words of every message per event,
// channel and language, with the variables listed and insertable, a preview with sample
// data, the SMS length and segment count, and a reset to the built-in text. It saves
// through the same notify.Service functions as the settings API (web/notify_api.go:
// Template, PutTemplate, DeleteTemplate, Preview), so unknown variables and too-long SMS
// are refused by the same rules. static/admin-templates.js inserts variables at the
// cursor and keeps the preview and the SMS counter current while typing, from
// POST /app/admin/templates/preview: the counter is the server's notify.SMSInfoOf, the
// one rule for GSM-7 and UCS-2.

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"rendezvous"
	"rendezvous/auth"
	"rendezvous/notify"
)

// Upper bounds of what the editor accepts, in characters. They keep a posted form well
// inside the request limit; SMS is further held to 765 characters after rendering.
const (
	maxTemplateSubject = 1000
	maxTemplateSMS     = 2000
	maxTemplateText    = 20000
	maxTemplateHTML    = 50000
)

// templateForm is the editor as typed.
type templateForm struct {
	Event    notify.Event
	Channel  notify.Channel
	Language string
	Subject  string
	Text     string
	HTML     string
	Errors   map[string]string
}

// templatesPage is the editor page's own data.
type templatesPage struct {
	F         *templateForm
	Custom    bool
	Variables []notify.Variable
	Preview   *notify.Preview
	// PreviewProblem says why no preview can be shown.
	PreviewProblem string
}

// Err returns the problem with a field, if any.
func (f *templateForm) Err(field string) string { return f.Errors[field] }

// Events, Channels and Languages are the editor's choices.
func (p *templatesPage) Events() []notify.Event     { return notify.Events() }
func (p *templatesPage) Channels() []notify.Channel { return notify.Channels() }
func (p *templatesPage) Languages() []string        { return notify.Languages() }

// MaxText is the text field's length bound for the channel.
func (p *templatesPage) MaxText() int {
	if p.F.Channel == notify.ChannelSMS {
		return maxTemplateSMS
	}
	return maxTemplateText
}

// EventName names an event in the page's language.
func (v *view) EventName(e notify.Event) string {
	switch e {
	case notify.EventCreated:
		return v.T("Booked")
	case notify.EventRescheduled:
		return v.T("Rescheduled")
	case notify.EventCancelled:
		return v.T("Cancelled")
	case notify.EventReminder:
		return v.T("Reminder")
	case notify.EventFollowUp:
		return v.T("Follow-up")
	}
	return string(e)
}

// LanguageName names a message language in itself.
func (v *view) LanguageName(code string) string {
	for _, l := range customerLanguages {
		if l.Code == code {
			return l.Name
		}
	}
	return code
}

// SMSCount says how an SMS travels: its length, encoding and segments.
func (v *view) SMSCount(info *notify.SMSInfo) string {
	if info == nil {
		return ""
	}
	return v.T("%d characters · %s · %d SMS segments", info.Characters, info.Encoding, info.Segments)
}

// SMSLongest says how long the SMS gets with the longest realistic values, which saving
// checks against the limit.
func (v *view) SMSLongest(info *notify.SMSInfo) string {
	if info == nil {
		return ""
	}
	return v.T("With the longest names and links: %d of at most %d characters.", info.Characters, notify.MaxSMSLength)
}

// templateQuery reads the event, channel and language of the page's address or form,
// falling back to the first of each (the language: the administrator's own).
func templateQuery(v *view, get func(string) string) *templateForm {
	f := &templateForm{Event: notify.EventCreated, Channel: notify.ChannelSMS, Language: v.Lang(), Errors: map[string]string{}}
	if e, err := notify.ParseEvent(get("event")); err == nil {
		f.Event = e
	}
	if ch, err := notify.ParseChannel(get("channel")); err == nil {
		f.Channel = ch
	}
	if l := get("language"); slices.Contains(notify.Languages(), l) {
		f.Language = l
	}
	if !slices.Contains(notify.Languages(), f.Language) {
		f.Language = notify.DefaultLanguage
	}
	return f
}

func (f *templateForm) query() string {
	return url.Values{"event": {string(f.Event)}, "channel": {string(f.Channel)}, "language": {f.Language}}.Encode()
}

func (f *templateForm) template() notify.Template {
	t := notify.Template{Text: f.Text}
	if f.Channel == notify.ChannelEmail {
		t.Subject, t.HTML = f.Subject, f.HTML
	}
	return t
}

// handleTemplates serves GET /app/admin/templates: the chosen template, its preview.
func (a *App) handleTemplates(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.adminView(r, s, "templates", "Templates")
	f := templateQuery(v, r.URL.Query().Get)
	tv, err := a.o.Admin.Notify.Template(r.Context(), s.User.OrgID, f.Event, f.Channel, f.Language)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	f.Subject, f.Text, f.HTML = tv.Subject, tv.Text, tv.HTML
	a.renderTemplates(w, r, v, http.StatusOK, f, tv.Custom)
}

// renderTemplates shows the editor with a preview of what f holds.
func (a *App) renderTemplates(w http.ResponseWriter, r *http.Request, v *view, status int, f *templateForm, custom bool) {
	p := &templatesPage{F: f, Custom: custom, Variables: notify.Variables()}
	if len(f.Errors) == 0 {
		pv, problem, err := a.templatePreview(r, v, f)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		p.Preview, p.PreviewProblem = pv, problem
	}
	v.Data = p
	// The email's HTML is previewed in a sandboxed frame (no scripts, its own origin) from
	// srcdoc, which lives under this page's policy: an email is styled inline and may show
	// pictures from the web, so this page allows both, and still no script but its own.
	h := w.Header()
	h.Set("Content-Security-Policy", strings.Replace(strings.Replace(h.Get("Content-Security-Policy"),
		"style-src 'self';", "style-src 'self' 'unsafe-inline';", 1), "img-src 'self' data:;", "img-src 'self' data: https:;", 1))
	a.render(w, r, status, "admin_templates", v)
}

// templatePreview renders f with sample data; a template the rules refuse gives the
// problem in plain words instead.
func (a *App) templatePreview(r *http.Request, v *view, f *templateForm) (*notify.Preview, string, error) {
	t := f.template()
	pv, err := a.o.Admin.Notify.Preview(r.Context(), v.User().OrgID, notify.PreviewInput{Event: f.Event, Channel: f.Channel, Language: f.Language, Template: &t})
	var ve *rendezvous.ValidationError
	if errors.As(err, &ve) {
		return nil, templateWords(v.tr, ve.Problems[0]), nil
	}
	if err != nil {
		return nil, "", err
	}
	return &pv, "", nil
}

// readTemplateForm reads the posted editor, refusing at the edge what cannot be stored
// alike on both databases or is too long, with the text kept as typed where it can be.
func readTemplateForm(v *view, form url.Values) *templateForm {
	f := templateQuery(v, form.Get)
	f.Subject, f.Text, f.HTML = form.Get("subject"), form.Get("text"), form.Get("html")
	maxText := maxTemplateText
	if f.Channel == notify.ChannelSMS {
		maxText = maxTemplateSMS
		f.Subject, f.HTML = "", ""
	}
	for _, c := range []struct {
		field string
		val   *string
		max   int
	}{{"subject", &f.Subject, maxTemplateSubject}, {"text", &f.Text, maxText}, {"html", &f.HTML, maxTemplateHTML}} {
		if msg := templateFieldProblem(v.tr, *c.val, c.max); msg != "" {
			f.Errors[c.field] = msg
			// Keep what can be shown: the rest of the text, so nothing typed is lost.
			*c.val = strings.ToValidUTF8(strings.ReplaceAll(*c.val, "\x00", "\uFFFD"), "\uFFFD")
		}
	}
	return f
}

// templateFieldProblem says what keeps a typed part from being saved at all.
func templateFieldProblem(t *tr, s string, max int) string {
	switch {
	case strings.ContainsRune(s, 0):
		return t.T("This contains a NUL character, which cannot be stored. It is shown as �; remove it.")
	case !utf8.ValidString(s):
		return t.T("This contains characters that are not valid text. They are shown as �; remove them.")
	case utf8.RuneCountInString(s) > max:
		return t.T("This is too long: %d characters, at most %d.", utf8.RuneCountInString(s), max)
	}
	return ""
}

// handleTemplateSave serves POST /app/admin/templates: "Save" saves through PutTemplate
// (unknown variables and too-long SMS refused with the variable named); "Preview" shows
// the preview of what is typed, for browsers without the script.
func (a *App) handleTemplateSave(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.adminView(r, s, "templates", "Templates")
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, err)
		return
	}
	f := readTemplateForm(v, r.PostForm)
	custom := r.PostForm.Get("custom") == "true"
	if len(f.Errors) > 0 {
		a.renderTemplates(w, r, v, http.StatusUnprocessableEntity, f, custom)
		return
	}
	if r.PostForm.Get("action") == "preview" {
		a.renderTemplates(w, r, v, http.StatusOK, f, custom)
		return
	}
	_, err := a.o.Admin.Notify.PutTemplate(r.Context(), s.User.OrgID, f.Event, f.Channel, f.Language, f.template())
	var ve *rendezvous.ValidationError
	switch {
	case errors.As(err, &ve):
		for _, fp := range ve.Problems {
			field := fp.Field
			if field != "subject" && field != "html" {
				field = "text"
			}
			if _, ok := f.Errors[field]; !ok {
				f.Errors[field] = templateWords(v.tr, fp)
			}
		}
		a.renderTemplates(w, r, v, http.StatusUnprocessableEntity, f, custom)
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/app/admin/templates?"+f.query()+"&done=template-saved", http.StatusSeeOther)
}

// handleTemplateReset serves POST /app/admin/templates/reset: the organization's own text
// is dropped and the built-in one applies again.
func (a *App) handleTemplateReset(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.adminView(r, s, "templates", "Templates")
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, err)
		return
	}
	f := templateQuery(v, r.PostForm.Get)
	err := a.o.Admin.Notify.DeleteTemplate(r.Context(), s.User.OrgID, f.Event, f.Channel, f.Language)
	if err != nil && !errors.Is(err, rendezvous.ErrNotFound) {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/app/admin/templates?"+f.query()+"&done=template-reset", http.StatusSeeOther)
}

// previewJSON is the live preview's answer to the editor's script.
type previewJSON struct {
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text"`
	HTML    string `json:"html,omitempty"`
	// SMS and Longest are the counter's lines, already in the page's language.
	SMS     string `json:"sms,omitempty"`
	Longest string `json:"longest,omitempty"`
	// Encoding and Segments are the sample's, for the script to mark a change.
	Encoding string `json:"encoding,omitempty"`
	Segments int    `json:"segments,omitempty"`
	// Problem says why there is no preview (an unknown variable, bad text).
	Problem string `json:"problem,omitempty"`
	Field   string `json:"field,omitempty"`
}

// handleTemplatePreview serves POST /app/admin/templates/preview: the editor's script
// posts the form as typed and gets the preview and the SMS counter back.
func (a *App) handleTemplatePreview(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.adminView(r, s, "templates", "Templates")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, err)
		return
	}
	f := readTemplateForm(v, r.PostForm)
	var out previewJSON
	for _, k := range []string{"subject", "text", "html"} {
		if m, ok := f.Errors[k]; ok {
			out.Problem, out.Field = m, k
			break
		}
	}
	if out.Problem == "" {
		pv, problem, err := a.templatePreview(r, v, f)
		if err != nil {
			a.log.ErrorContext(r.Context(), "template preview", "error", err)
			w.WriteHeader(http.StatusInternalServerError)
			json.NewEncoder(w).Encode(previewJSON{Problem: v.T("The preview could not be made. Try again in a moment.")})
			return
		}
		if problem != "" {
			out.Problem, out.Field = problem, "text"
		} else {
			out.Subject, out.Text, out.HTML = pv.Subject, pv.Text, pv.HTML
			out.SMS, out.Longest = v.SMSCount(pv.SMS), v.SMSLongest(pv.LongestSMS)
			if pv.SMS != nil {
				out.Encoding, out.Segments = pv.SMS.Encoding, pv.SMS.Segments
			}
		}
	}
	json.NewEncoder(w).Encode(out)
}

var unknownVars = regexp.MustCompile(`unknown variables ((?:\{[^}]*\}(?:, )?)+)`)

// templateWords is a template problem as the editor says it, naming the unknown variables
// and the limit.
func templateWords(t *tr, fp rendezvous.FieldProblem) string {
	m := fp.Message
	if u := unknownVars.FindStringSubmatch(m); u != nil {
		return t.T("Unknown variable %s. Use only the variables listed beside the editor.", strings.TrimSuffix(u[1], ", "))
	}
	switch {
	case strings.HasPrefix(m, "is required"):
		return t.T("This part cannot be empty.")
	case strings.Contains(m, "Genesys Cloud accepts at most"):
		return t.T("With the longest names and links this SMS is longer than %d characters, which Genesys Cloud refuses. Shorten it.", notify.MaxSMSLength)
	case strings.Contains(m, "renders to") && fp.Field == "subject":
		return t.T("With the longest names this subject is longer than %d characters. Shorten it.", notify.MaxEmailSubjectLength)
	}
	return m
}
