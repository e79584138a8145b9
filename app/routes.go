package app

import (
	"io/fs"
	"net/http"

	"rendezvous/auth"
)

// Routes adds every staff route to mux. Administration pages add theirs here too.
func (a *App) Routes(mux *http.ServeMux) {
	// Sign-in with Genesys Cloud, and out.
	mux.Handle("GET "+auth.SignInPath, a.public(a.handleSignIn))
	mux.Handle("GET "+auth.CallbackPath, a.public(a.handleCallback))
	mux.Handle("GET /signin/done", a.signedIn(a.handleSignedInPopup))
	mux.Handle("POST "+auth.SignOutPath, a.signedIn(a.handleSignOut))

	// Agents' and supervisors' pages.
	mux.Handle("GET /app/{$}", http.RedirectHandler("/app/calendar", http.StatusSeeOther))
	mux.Handle("GET /app/calendar", a.signedIn(a.handleCalendar))
	mux.Handle("GET /app/list", a.signedIn(a.handleList))
	mux.Handle("GET /app/events", a.signedIn(a.handleEvents))
	mux.Handle("GET /app/appointments/new", a.signedIn(a.handleNew))
	mux.Handle("POST /app/appointments", a.signedIn(a.handleCreate))
	mux.Handle("GET /app/appointments/{id}", a.signedIn(a.handleShow))
	mux.Handle("GET /app/appointments/{id}/edit", a.signedIn(a.handleEdit))
	mux.Handle("POST /app/appointments/{id}/edit", a.signedIn(a.handleUpdate))
	mux.Handle("POST /app/appointments/{id}/cancel", a.signedIn(a.handleCancel))
	mux.Handle("POST /app/appointments/{id}/reassign", a.signedIn(a.handleReassign))
	mux.Handle("POST /app/appointments/{id}/deliveries/{deliveryId}/retry", a.signedIn(a.handleRetry))
	mux.Handle("POST /app/preferences", a.signedIn(a.handlePreferences))

	// Administration (administrators only; each section's routes in its own block).
	mux.Handle("GET /app/admin", a.admin(a.handleAdminHome))

	// Administration / Availability and Booking widget (admin_availability.go, admin_widget.go).
	mux.Handle("GET /app/admin/availability", a.admin(a.handleAvailabilityList))
	mux.Handle("GET /app/admin/availability/{queue}", a.admin(a.handleScheduleEdit))
	mux.Handle("POST /app/admin/availability/{queue}", a.admin(a.handleScheduleSave))
	mux.Handle("POST /app/admin/availability/{queue}/delete", a.admin(a.handleScheduleDelete))
	if a.o.Admin.Widget != nil {
		mux.Handle("GET /app/admin/widget", a.admin(a.handleWidgetAdmin))
		mux.Handle("POST /app/admin/widget", a.admin(a.handleWidgetOrigins))
	}

	// The Interaction Widget, framed by Genesys Cloud beside an interaction.
	mux.Handle("GET /widget", a.public(a.handleWidget))

	// Stylesheet and scripts shared by every staff page.
	mux.Handle("GET /app/static/", a.static())

	a.sections = builtSections(mux)
}

// static serves app.css and the scripts. They change with the binary only.
func (a *App) static() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	files := http.StripPrefix("/app/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
