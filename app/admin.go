package app

// Administration: the shell every administration page shares (who may enter, the
// section navigation, the overview page). Each section has its own file
// (admin_scheduling.go, admin_templates.go, ...) and template (templates/admin_*.html).

import (
	"net/http"

	"rendezvous"
	"rendezvous/auth"
	"rendezvous/journey"
	"rendezvous/notify"
	"rendezvous/retention"
	"rendezvous/room"
	"rendezvous/webhook"
	"rendezvous/widget"
)

// Admin are the services the administration pages manage: the same ones the REST API's
// settings endpoints use, so a setting changed on a page and through the API follows the
// same rules and leaves the same audit record. A nil service leaves its section out.
type Admin struct {
	Journey   *journey.Service
	Notify    *notify.Service
	Rooms     *room.Rooms
	Webhooks  *webhook.Service
	Retention *retention.Service
	Widget    *widget.Service
}

// adminSection is one entry of the administration navigation.
type adminSection struct {
	Key, Label, Href, Summary string
}

// adminSections lists the administration sections in the order an administrator sets an
// organization up. A section whose page is not built into this binary is left out by
// available.
var adminSections = []adminSection{
	{"scheduling", "Call scheduling", "/app/admin/scheduling", "Channel, routing, Messenger deployments, waiting room."},
	{"sms", "SMS", "/app/admin/sms", "Connect Genesys Cloud's SMS: credentials, number, a test message."},
	{"email", "Email", "/app/admin/email", "Connect Genesys Cloud's email: credentials, domain and sender, a test message."},
	{"notifications", "Notifications", "/app/admin/notifications", "Which messages go out, on which channel, and when reminders are sent."},
	{"templates", "Templates", "/app/admin/templates", "The words of every message, per event, channel and language."},
	{"availability", "Availability", "/app/admin/availability", "Working hours, holidays and capacity per queue, for the booking widget."},
	{"widget", "Booking widget", "/app/admin/widget", "Where the self-scheduling widget may be embedded, and how it looks."},
	{"people", "People", "/app/admin/people", "Who works in Rendezvous, and their roles."},
	{"video", "Video", "/app/admin/video", "STUN and TURN servers for the video room."},
	{"api-keys", "API keys", "/app/admin/api-keys", "Keys for integrations with the REST API."},
	{"webhooks", "Webhooks", "/app/admin/webhooks", "Send appointment events to your systems."},
	{"retention", "Data retention", "/app/admin/retention", "How long personal data is kept, and erasing one customer's data."},
	{"audit", "Audit log", "/app/admin/audit", "Who changed what, and when."},
}

// AdminSections lists the sections built into this binary, for the navigation and the
// overview.
func (v *view) AdminSections() []adminSection { return v.sections }

// builtSections keeps the sections whose page is registered on mux, so that a section
// whose page is not built is neither linked nor advertised.
func builtSections(mux *http.ServeMux) []adminSection {
	var out []adminSection
	for _, sec := range adminSections {
		req, _ := http.NewRequest(http.MethodGet, sec.Href, nil)
		if _, pattern := mux.Handler(req); pattern == "GET "+sec.Href {
			out = append(out, sec)
		}
	}
	return out
}

// admin wraps an administration page: signed in, and an administrator. Anyone else gets
// the same 404 as for a page that does not exist, so the pages are not advertised.
func (a *App) admin(h func(w http.ResponseWriter, r *http.Request, s *auth.Session)) http.Handler {
	return a.signedIn(func(w http.ResponseWriter, r *http.Request, s *auth.Session) {
		if !rendezvous.CanAdminister(s.User) {
			a.notFound(w, r, s)
			return
		}
		h(w, r, s)
	})
}

// adminView starts the view of an administration page in section key.
func (a *App) adminView(r *http.Request, s *auth.Session, section, title string) *view {
	v := a.newView(r, s, "admin")
	v.AdminSection = section
	v.Title = v.T(title)
	return v
}

// handleAdminHome is the overview: every section with what it is for.
func (a *App) handleAdminHome(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.adminView(r, s, "", "Administration")
	a.render(w, r, http.StatusOK, "admin", v)
}
