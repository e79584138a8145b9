// Package app is the staff web app: the pages where agents and supervisors manage
// appointments every day (calendar, list, create, detail, edit, reschedule, cancel,
// reassign), the sign-in pages, the live updates that keep them current, and the
// Interaction Widget that Genesys Cloud shows beside an interaction.
//
// Pages are server-rendered html/template, embedded, with small hand-written scripts for
// what is better live (copy, time preview, updates); everything works without them. Every
// route is in routes.go; each page has its own file (calendar.go, appointment_new.go, ...)
// and template (templates/calendar.html, ...) that fills the shared layout
// (templates/layout.html). To add a page: write its handler and template, list the route
// in routes.go, and, if it belongs in the navigation, add it to navItems.
//
// Who may see and do what is decided by the rules in the root package (CanView, CanEdit,
// CanReassign); appointments are created and changed through the same domain functions
// and store calls as the REST API.
package app

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"rendezvous"
	"rendezvous/auth"
	"rendezvous/clock"
	"rendezvous/notify"
	"rendezvous/room"
	"rendezvous/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Queues lists an organization's Genesys Cloud queue names, for routing to a queue.
type Queues interface {
	QueueNames(ctx context.Context, orgID string) ([]string, error)
}

// Checks are the booking rules that ask Genesys Cloud, shared with the API
// (journey.Service): a queue and an agent must exist in the organization's Genesys Cloud.
type Checks interface {
	CheckQueue(ctx context.Context, orgID, queueName string) error
	CheckAgent(ctx context.Context, orgID, field, agentUserID string) error
}

// Notifications is the part of the notification service the pages use.
type Notifications interface {
	EnabledForNewBooking(ctx context.Context, orgID string) bool
	Deliveries(ctx context.Context, orgID, appointmentID string) ([]notify.DeliveryView, error)
	Retry(ctx context.Context, orgID, appointmentID, deliveryID string) (notify.DeliveryView, error)
	PutAppointmentChannels(ctx context.Context, orgID, appointmentID string, c notify.AppointmentChannels) (notify.AppointmentChannels, error)
}

// Rooms is the part of the video room the pages use: the agent's link and when it opens.
type Rooms interface {
	AgentLink(a *rendezvous.Appointment) string
	AgentKey(a *rendezvous.Appointment) string
	Opens(a *rendezvous.Appointment, side room.Side) time.Time
	ICEServers(ctx context.Context, orgID string) ([]room.ICEServer, error)
}

// DemoUser is a user of the built-in Genesys Cloud sandbox, listed on the sign-in page in
// demo mode so a newcomer knows whom to pick.
type DemoUser struct {
	Name, Role string
}

// Options are what the staff app is built from.
type Options struct {
	Store  *store.Store
	Auth   *auth.Auth
	Clock  clock.Clock
	Logger *slog.Logger
	// PublicURL is the base of customers' links; empty means the request's host.
	PublicURL     string
	Queues        Queues
	Checks        Checks
	Notifications Notifications
	Rooms         Rooms
	// DefaultOrg is the organization /signin signs in to when none is named (the demo
	// organization, or the only one).
	DefaultOrg string
	// DemoUsers, when set, are shown on the sign-in page (demo mode).
	DemoUsers []DemoUser
	// SandboxURL is the built-in sandbox's base URL in demo mode, "" otherwise.
	SandboxURL string
	// FrameAncestors are the origins allowed to frame the app (Genesys Cloud's, for
	// example https://apps.mypurecloud.ie); none means only this site.
	FrameAncestors []string
	// Admin are the services the administration pages manage.
	Admin Admin
}

// App serves the staff pages. Create it with New and mount it with Routes.
type App struct {
	o     Options
	log   *slog.Logger
	clock clock.Clock
	pages map[string]*template.Template
	hub   *hub

	// sections are the administration sections whose pages are registered.
	sections []adminSection

	queueMu    sync.Mutex
	queueCache map[string]cachedQueues

	// pageBufs hold pages while they are rendered (*bytes.Buffer): a supervisor's week is
	// half a megabyte, and growing a new buffer to that size for every request cost more
	// than writing the cards into it.
	pageBufs sync.Pool
}

type cachedQueues struct {
	names []string
	at    time.Time
}

// New returns the staff app for o.
func New(o Options) (*App, error) {
	if o.Store == nil || o.Auth == nil {
		return nil, errors.New("staff app: Store and Auth are required")
	}
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	a := &App{o: o, log: o.Logger.With("component", "app"), clock: o.Clock, hub: newHub(), queueCache: map[string]cachedQueues{}}
	if err := a.parseTemplates(); err != nil {
		return nil, err
	}
	return a, nil
}

// parseTemplates builds one template set per page: the layout plus the page's file.
func (a *App) parseTemplates() error {
	a.pages = map[string]*template.Template{}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	base := template.Must(template.New("layout.html").Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html"))
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return fmt.Errorf("staff app template %s: %w", f, err)
		}
		a.pages[name] = t
	}
	return nil
}

// templateFuncs are the few helpers templates need beyond the page's own methods.
var templateFuncs = template.FuncMap{
	"join": strings.Join,
	"eq1":  func(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) },
	// durations are the lengths the form offers, in minutes, with the current one.
	"durations": func(cur string) []int {
		out := []int{15, 20, 30, 45, 60, 90, 120}
		if n, err := strconv.Atoi(cur); err == nil && n > 0 && !slices.Contains(out, n) {
			out = append(out, n)
			slices.Sort(out)
		}
		return out
	},
	"minutes": func(m int) time.Duration { return time.Duration(m) * time.Minute },
	"deref": func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	},
}

// navItem is one entry of the shell's navigation.
type navItem struct {
	Key, Label, Href string
}

// navItems lists the navigation for u. Administration pages add their entries here.
func navItems(u rendezvous.StaffUser) []navItem {
	items := []navItem{
		{"calendar", "Calendar", "/app/calendar"},
		{"list", "List", "/app/list"},
		{"new", "New appointment", "/app/appointments/new"},
	}
	if rendezvous.CanAdminister(u) {
		items = append(items, navItem{"admin", "Administration", "/app/admin"})
	}
	return items
}

// view is what every page template gets: the page's own data in Data, and the shell's
// (who is signed in, the navigation, the language, the CSRF token).
type view struct {
	*tr
	Title   string
	Nav     string
	Session *auth.Session
	Items   []navItem
	Flash   string
	Notice  string
	Zone    *time.Location
	Now     time.Time
	Data    any
	// Live asks the layout to include the live-update script for this page.
	Live string
	// Bare leaves out the header and footer: the Interaction Widget, inside Genesys Cloud.
	Bare bool
	// AdminSection is the administration section the page belongs to ("" on the overview).
	AdminSection string
	sections     []adminSection
	// cards is the buffer Cards writes each day's cards in.
	cards []byte
}

// CSRF is the session's form token, for hidden fields.
func (v *view) CSRF() string {
	if v.Session == nil {
		return ""
	}
	return v.Session.CSRF
}

// User is the signed-in person (the zero value on public pages).
func (v *view) User() rendezvous.StaffUser {
	if v.Session == nil {
		return rendezvous.StaffUser{}
	}
	return v.Session.User
}

// render writes page name with status.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t := a.pages[name]
	if t == nil {
		a.fail(w, r, fmt.Errorf("no template %q", name))
		return
	}
	if v.Session != nil {
		v.Items = navItems(v.Session.User)
	}
	v.sections = a.sections
	if v.Zone == nil {
		v.Zone = time.UTC
	}
	v.Now = a.clock.Now().In(v.Zone)
	b, _ := a.pageBufs.Get().(*bytes.Buffer)
	if b == nil {
		b = new(bytes.Buffer)
	}
	defer func() {
		if b.Cap() <= maxPooledPage {
			b.Reset()
			a.pageBufs.Put(b)
		}
	}()
	if err := t.ExecuteTemplate(b, "layout.html", v); err != nil {
		a.fail(w, r, fmt.Errorf("render %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// maxPooledPage bounds the buffers kept for rendering, so that one huge page does not
// stay in memory for good.
const maxPooledPage = 4 << 20

// fail logs err with the request's correlation id and shows a plain error page that
// gives the id, never the cause.
func (a *App) fail(w http.ResponseWriter, r *http.Request, err error) {
	id := w.Header().Get("X-Request-Id")
	a.log.ErrorContext(r.Context(), "staff page failed", "request_id", id, "route", r.Pattern, "error", err)
	t := newTr(langOf(r, nil))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<!doctype html><html lang="%s"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/app/static/app.css"><title>%s</title><main class="narrow"><h1>%s</h1><p>%s</p><p class="muted">%s %s</p><p><a href="/app/calendar">%s</a></p></main>`,
		t.lang, template.HTMLEscapeString(t.T("Something went wrong")), template.HTMLEscapeString(t.T("Something went wrong")),
		template.HTMLEscapeString(t.T("Nothing you entered was saved by this request. Please try again in a moment.")),
		template.HTMLEscapeString(t.T("Reference for support:")), template.HTMLEscapeString(id),
		template.HTMLEscapeString(t.T("Back to the calendar")))
}

// notFound answers 404 with the layout: also what an agent gets for another agent's
// appointment, so that its existence is not revealed.
func (a *App) notFound(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.newView(r, s, "")
	v.Title = v.T("Not found")
	a.render(w, r, http.StatusNotFound, "notfound", v)
}

// newView starts the view of a page for session s (nil on public pages).
func (a *App) newView(r *http.Request, s *auth.Session, nav string) *view {
	var u *rendezvous.StaffUser
	if s != nil {
		u = &s.User
	}
	v := &view{tr: newTr(langOf(r, u)), Session: s, Nav: nav, Zone: zoneOf(r, u)}
	if m, ok := flashes[r.URL.Query().Get("done")]; ok {
		v.Flash = v.T(m)
	}
	return v
}

// flashes are the messages shown after the redirect that ends a change, by the code in
// its ?done=: one table, so that a code says the same on every page. (The SMS and email
// wizards say more, step by step: admin_channels.go.)
var flashes = map[string]string{
	"created":    "Appointment created. The customer's messages are on their way.",
	"saved":      "Changes saved.",
	"cancelled":  "Appointment cancelled. The customer will be told.",
	"reassigned": "Appointment reassigned.",
	"retried":    "The message will be sent again.",
	"prefs":      "Preferences saved.",

	"role":             "Role changed.",
	"origins-saved":    "Allowed origins saved.",
	"schedule-saved":   "Schedule saved. The widget offers these times now.",
	"schedule-deleted": "Schedule deleted. The widget offers no times for that queue.",
	"template-saved":   "Template saved. New messages use it.",
	"template-reset":   "The built-in text applies again.",
	"key-revoked":      "The key is revoked. Requests with it are refused within a few seconds.",
	"hook-saved":       "Webhook saved.",
	"hook-deleted":     "Webhook deleted, with its delivery log.",
	"hook-resumed":     "Webhook switched on. Waiting events are sent now, in order.",
	"hook-disabled":    "Webhook switched off. Nothing is sent until you switch it on.",
	"hook-test":        "A test event is on its way; its delivery is at the top of the log.",
	"hook-resent":      "The event is sent again, with the same event id.",
}

// zoneOf is the zone the person reads times in: their saved choice, else the browser's
// (app.js keeps it in the rdv_tz cookie), else UTC.
func zoneOf(r *http.Request, u *rendezvous.StaffUser) *time.Location {
	if u != nil && u.TimeZone != "" {
		if loc, err := rendezvous.LoadZone(u.TimeZone); err == nil {
			return loc
		}
	}
	if c, err := r.Cookie("rdv_tz"); err == nil {
		if loc, err := rendezvous.LoadZone(c.Value); err == nil {
			return loc
		}
	}
	return time.UTC
}

// securityHeaders are set on every staff page: only this site's scripts, styles and
// connections; no referrer leaves (customer links are in these pages); framing only by
// this site and the configured origins (Genesys Cloud).
func (a *App) securityHeaders(w http.ResponseWriter) {
	ancestors := "'self'"
	for _, o := range a.o.FrameAncestors {
		ancestors += " " + o
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; media-src 'self' blob: mediastream:; base-uri 'none'; form-action 'self'; frame-ancestors "+ancestors)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Permissions-Policy", "camera=(self), microphone=(self)")
}

// public wraps a page anyone may see.
func (a *App) public(h func(w http.ResponseWriter, r *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.securityHeaders(w)
		h(w, r)
	})
}

// signedIn wraps a page for signed-in people: without a session, a GET goes to sign-in
// and comes back; anything else is refused. State-changing requests must pass the
// same-origin and CSRF check.
func (a *App) signedIn(h func(w http.ResponseWriter, r *http.Request, s *auth.Session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.securityHeaders(w)
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, bodyLimit(r))
			// Read a form now: one over the limit is refused as too large, not taken for
			// a forged request because the CSRF check finds no token in what it could
			// not read. An upload's multipart body is left to the check, which reads it:
			// ParseForm would set an empty form in front of it.
			var mbe *http.MaxBytesError
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "multipart/form-data" && errors.As(r.ParseForm(), &mbe) {
				t := newTr(langOf(r, nil))
				plainAnswer(w, http.StatusRequestEntityTooLarge, t.T("What you sent is too large to be read, so nothing was saved. Go back and shorten it."))
				return
			}
		}
		s, err := a.o.Auth.Load(w, r)
		if errors.Is(err, auth.ErrNoSession) {
			if err := a.o.Auth.CheckRequest(r, nil); err != nil {
				a.refuse(w, r, err)
				return
			}
			if r.Method == http.MethodGet {
				http.Redirect(w, r, auth.SignInPath+"?next="+urlQueryEscape(r.URL.RequestURI())+"&why="+whyCode(err), http.StatusSeeOther)
				return
			}
			http.Error(w, "Your session has ended. Sign in again; what you entered was not saved.", http.StatusUnauthorized)
			return
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if err := a.o.Auth.CheckRequest(r, s); err != nil {
			a.refuse(w, r, err)
			return
		}
		// What the person changes is audited as theirs.
		r = r.WithContext(rendezvous.WithActor(r.Context(), rendezvous.Actor{Kind: rendezvous.ActorPerson, ID: s.User.ID, Name: s.User.Name}))
		h(w, r, s)
	})
}

// refuse answers a cross-origin or forged state-changing request.
func (a *App) refuse(w http.ResponseWriter, r *http.Request, err error) {
	a.log.WarnContext(r.Context(), "staff request refused", "request_id", w.Header().Get("X-Request-Id"), "route", r.Pattern, "error", err)
	t := newTr(langOf(r, nil))
	plainAnswer(w, http.StatusForbidden, t.T("This request did not come from a Rendezvous page, so it was refused. Go back, reload the page and try again."))
}

// plainAnswer answers a request refused before any page could be made with one sentence
// of plain text.
func plainAnswer(w http.ResponseWriter, status int, sentence string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, sentence)
}

// whyCode tells the sign-in page why the session ended, without details.
func whyCode(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "no longer accepts"), strings.Contains(msg, "lapsed"), strings.Contains(msg, "removed"):
		return "genesys"
	case strings.Contains(msg, "idle"), strings.Contains(msg, "maximum age"):
		return "expired"
	}
	return ""
}

// Card writes one appointment of the calendar as a link to its page; agent is shown to
// supervisors. It is written in Go rather than as a template: a supervisor's week holds
// thousands of cards, and reflection per field made them most of the page's time. Every
// value is escaped as html/template would escape it in these contexts.
func (v *view) Card(c *store.AppointmentCard, agent string) template.HTML {
	return template.HTML(v.appendCard(make([]byte, 0, 256), c, agent))
}

// appendCard appends Card's HTML to b, so that a day's cards share one buffer.
func (v *view) appendCard(b []byte, c *store.AppointmentCard, agent string) []byte {
	esc := template.HTMLEscapeString // returns its argument when nothing needs escaping
	b = append(b, `<a class="card status-`...)
	b = append(b, esc(string(c.Status))...)
	b = append(b, `" href="/app/appointments/`...)
	b = append(b, esc(url.PathEscape(c.ID))...)
	b = append(b, `"><span class="time">`...)
	// As v.Clock, without a string per time.
	b = c.Start.In(v.Zone).AppendFormat(b, "15:04")
	b = append(b, "–"...)
	b = c.End().In(v.Zone).AppendFormat(b, "15:04")
	b = append(b, `</span> <span class="who">`...)
	b = append(b, esc(c.Customer)...)
	b = append(b, `</span>`...)
	if c.Title != "" {
		b = append(b, ` <span class="what">`...)
		b = append(b, esc(c.Title)...)
		b = append(b, `</span>`...)
	}
	if agent != "" {
		b = append(b, ` <span class="agent">`...)
		b = append(b, esc(agent)...)
		b = append(b, `</span>`...)
	}
	if c.Status != rendezvous.StatusScheduled {
		b = append(b, ` <span class="badge">`...)
		b = append(b, esc(v.Status(c.Status))...)
		b = append(b, `</span>`...)
	}
	return append(b, "</a>\n"...)
}

// CommonZones are offered when typing a time zone.
func (v *view) CommonZones() []string { return commonZones }
