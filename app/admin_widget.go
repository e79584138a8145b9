package app

// Administration / Booking widget: the web origins allowed to embed the self-scheduling
// widget (the rules and the audit of PUT /api/v1/settings/widget: widget.CheckOrigins,
// then the store), and the embed snippet built from a queue, a chat mode, a language and a
// theme, with a live preview of the widget itself (its frame, framed by this page).

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"rendezvous"
	"rendezvous/auth"
	"rendezvous/widget"
)

// widgetAdminData is the widget page's data.
type widgetAdminData struct {
	// Origins are the allowed origins as typed, one per line.
	Origins   string
	UpdatedAt time.Time
	Errors    map[string]string
	// The snippet builder's choices (a GET form: they are not stored).
	Queue, ChatMode, Language, Mode, Color, Font, Radius string
	Queues                                               []string
	Languages                                            []struct{ Code, Name string }
	// Script and Iframe are the snippets to copy; FrameURL is the preview's address (empty
	// when the choices cannot be shown).
	Script, Iframe, FrameURL string
	// NoAgents warns that flow routing has nobody to route to in the chosen queue.
	NoAgents bool
}

// Err returns the problem with field, if any.
func (d *widgetAdminData) Err(field string) string { return d.Errors[field] }

// defaultAccent is the widget's own accent colour (widget/static/frame.css).
const defaultAccent = "#1f5fbf"

// handleWidgetAdmin serves GET /app/admin/widget.
func (a *App) handleWidgetAdmin(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.adminView(r, s, "widget", "Booking widget")
	origins, updated, err := a.o.Store.WidgetOrigins(r.Context(), s.User.OrgID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := &widgetAdminData{Origins: strings.Join(origins, "\n"), UpdatedAt: updated, Errors: map[string]string{}}
	a.renderWidgetAdmin(w, r, s, v, http.StatusOK, d, origins)
}

// renderWidgetAdmin fills the snippet builder from the query and shows the page.
func (a *App) renderWidgetAdmin(w http.ResponseWriter, r *http.Request, s *auth.Session, v *view, status int, d *widgetAdminData, origins []string) {
	q := r.URL.Query()
	d.Languages = languages
	d.Queue, d.ChatMode, d.Language = q.Get("queue"), q.Get("chatMode"), q.Get("lang")
	d.Mode, d.Color, d.Font, d.Radius = q.Get("theme"), q.Get("color"), strings.TrimSpace(q.Get("font")), strings.TrimSpace(q.Get("radius"))
	recs, err := a.o.Store.Schedules(r.Context(), s.User.OrgID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for _, rec := range recs {
		d.Queues = append(d.Queues, rec.QueueName)
	}
	if d.Queue == "" && len(d.Queues) > 0 {
		d.Queue = d.Queues[0]
	}
	if d.ChatMode != widget.ChatModeQueue {
		d.ChatMode = widget.ChatModeFlow
		for _, rec := range recs {
			d.NoAgents = d.NoAgents || (rec.QueueName == d.Queue && len(rec.Agents) == 0)
		}
	}
	if !supported(d.Language) {
		d.Language = v.Lang()
	}
	if d.Mode != "dark" {
		d.Mode = "light"
	}
	if d.Color == "" {
		d.Color = defaultAccent
	}
	for k, val := range map[string]string{"queue": d.Queue, "font": d.Font, "radius": d.Radius, "color": d.Color} {
		if !storable(val) || utf8.RuneCountInString(val) > 200 {
			d.Errors[k] = v.T("This contains characters that cannot be stored. Please retype it.")
		}
	}
	var ve *rendezvous.ValidationError
	if err := widget.CheckTheme(widget.Theme{Mode: d.Mode, Color: d.Color, Font: d.Font, Radius: d.Radius}); errors.As(err, &ve) {
		for _, fp := range ve.Problems {
			if _, ok := d.Errors[fp.Field]; ok {
				continue
			}
			switch fp.Field {
			case "color":
				d.Errors["color"] = v.T("Choose a colour, such as #1f5fbf.")
			case "font":
				d.Errors["font"] = v.T("Font names separated by commas, such as Inter, sans-serif: letters, digits, spaces, quotes and hyphens only.")
			case "radius":
				d.Errors["radius"] = v.T("A number of pixels from 0 to 99.")
			}
		}
	}
	base := strings.TrimRight(a.publicURL(r), "/")
	if len(d.Errors) == 0 && d.Queue != "" {
		d.Script, d.Iframe, d.FrameURL = snippets(base, s.User.OrgID, d, origins)
	}
	// The preview frames the widget from the public address: allow that one frame source.
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		h := w.Header()
		h.Set("Content-Security-Policy", strings.Replace(h.Get("Content-Security-Policy"), "default-src 'none';",
			"default-src 'none'; frame-src "+u.Scheme+"://"+u.Host+";", 1))
	}
	v.Data = d
	a.render(w, r, status, "admin_widget", v)
}

// snippets returns the script tag, the iframe alternative and the preview frame's URL.
// The iframe cannot learn the host page's origin as the script does, so it names the
// first allowed origin; like the preview, it names no zone: the framed page then takes
// the customer's own from their browser.
func snippets(base, org string, d *widgetAdminData, origins []string) (script, iframe, preview string) {
	attr := func(name, val string) string { return " " + name + `="` + html.EscapeString(val) + `"` }
	var b strings.Builder
	b.WriteString(`<script src="` + html.EscapeString(base) + `/widget/widget.js"`)
	b.WriteString(attr("data-org", org) + attr("data-queue", d.Queue) + attr("data-chat-mode", d.ChatMode) +
		attr("data-language", d.Language) + attr("data-theme", d.Mode))
	if !strings.EqualFold(d.Color, defaultAccent) {
		b.WriteString(attr("data-color", d.Color))
	}
	if d.Font != "" {
		b.WriteString(attr("data-font", d.Font))
	}
	if d.Radius != "" {
		b.WriteString(attr("data-radius", d.Radius))
	}
	b.WriteString("></script>")
	q := url.Values{"org": {org}, "queue": {d.Queue}, "chatMode": {d.ChatMode}, "lang": {d.Language}, "theme": {d.Mode}}
	if !strings.EqualFold(d.Color, defaultAccent) {
		q.Set("color", d.Color)
	}
	if d.Font != "" {
		q.Set("font", d.Font)
	}
	if d.Radius != "" {
		q.Set("radius", d.Radius)
	}
	site := "https://www.example.com"
	if len(origins) > 0 {
		site = origins[0]
	}
	iq := cloneValues(q)
	iq.Set("origin", site)
	iframe = fmt.Sprintf(`<iframe src="%s/widget/frame?%s" title="Book a video appointment" style="border:0;width:100%%;max-width:520px;height:640px"></iframe>`,
		html.EscapeString(base), html.EscapeString(iq.Encode()))
	pq := cloneValues(q)
	pq.Set("origin", base)
	return b.String(), iframe, base + "/widget/frame?" + pq.Encode()
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// originLine finds the line number in an "allowedOrigins[3]" problem.
var originLine = regexp.MustCompile(`^allowedOrigins\[(\d+)\]$`)

// handleWidgetOrigins serves POST /app/admin/widget: the allowed origins, one per line,
// checked and saved as PUT /api/v1/settings/widget does.
func (a *App) handleWidgetOrigins(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.adminView(r, s, "widget", "Booking widget")
	typed := r.PostForm.Get("origins")
	d := &widgetAdminData{Origins: typed, Errors: map[string]string{}}
	var lines []string
	var lineNo []int
	for i, l := range strings.Split(typed, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines, lineNo = append(lines, l), append(lineNo, i+1)
		}
	}
	switch {
	case !storable(typed):
		d.Errors["origins"] = v.T("This contains characters that cannot be stored. Please retype it.")
	case len(typed) > 20000:
		d.Errors["origins"] = v.T("This is too long: at most %d characters.", 20000)
	}
	var origins []string
	if len(d.Errors) == 0 {
		var err error
		origins, err = widget.CheckOrigins(lines)
		var ve *rendezvous.ValidationError
		switch {
		case errors.As(err, &ve):
			fp := ve.Problems[0]
			d.Errors["origins"] = v.T("At most 100 origins.")
			if m := originLine.FindStringSubmatch(fp.Field); m != nil {
				i, _ := strconv.Atoi(m[1])
				d.Errors["origins"] = lineProblem(v.tr, lineNo[i], v.T("“%s” is not a web origin. Write the scheme and the host, with a port if needed, and no path: https://www.example.com", lines[i]))
			}
		case err != nil:
			a.fail(w, r, err)
			return
		}
	}
	if len(d.Errors) > 0 {
		current, _, _ := a.o.Store.WidgetOrigins(r.Context(), s.User.OrgID)
		a.renderWidgetAdmin(w, r, s, v, http.StatusUnprocessableEntity, d, current)
		return
	}
	if _, err := a.o.Store.PutWidgetOrigins(r.Context(), s.User.OrgID, origins); err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/app/admin/widget?done=origins-saved", http.StatusSeeOther)
}
