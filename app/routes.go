package app

import (
	"io/fs"
	"net/http"

	"rendezvous/auth"
	"rendezvous/notify"
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

	// Administration settings: call scheduling, notifications, video, people, retention.
	if a.o.Admin.Journey != nil {
		mux.Handle("GET /app/admin/scheduling", a.admin(a.handleAdminScheduling))
		mux.Handle("POST /app/admin/scheduling", a.admin(a.handleAdminSchedulingSave))
		mux.Handle("POST /app/admin/scheduling/media", a.admin(a.handleAdminSchedulingMedia))
		mux.Handle("GET /app/admin/scheduling/preview", a.admin(a.handleAdminSchedulingPreview))
	}
	if a.o.Admin.Notify != nil {
		mux.Handle("GET /app/admin/notifications", a.admin(a.handleAdminNotifications))
		mux.Handle("POST /app/admin/notifications", a.admin(a.handleAdminNotificationsSave))
	}
	if a.o.Admin.Rooms != nil {
		mux.Handle("GET /app/admin/video", a.admin(a.handleAdminVideo))
		mux.Handle("POST /app/admin/video", a.admin(a.handleAdminVideoSave))
	}
	mux.Handle("GET /app/admin/people", a.admin(a.handleAdminPeople))
	mux.Handle("POST /app/admin/people/{id}/role", a.admin(a.handleAdminPeopleRole))
	if a.o.Admin.Retention != nil {
		mux.Handle("GET /app/admin/retention", a.admin(a.handleAdminRetention))
		mux.Handle("POST /app/admin/retention", a.admin(a.handleAdminRetentionSave))
		mux.Handle("POST /app/admin/retention/erasures", a.admin(a.handleAdminErasure))
	}

	// SMS and email setup wizards, message templates (admin_channels.go, admin_templates.go).
	if a.o.Admin.Notify != nil {
		for _, ch := range []notify.Channel{notify.ChannelSMS, notify.ChannelEmail} {
			base := "/app/admin/" + string(ch)
			mux.Handle("GET "+base, a.admin(a.handleChannel(ch)))
			mux.Handle("POST "+base+"/credentials", a.admin(a.handleChannelCredentials(ch)))
			mux.Handle("POST "+base+"/sender", a.admin(a.handleChannelSender(ch)))
			mux.Handle("POST "+base+"/code", a.admin(a.handleChannelSendCode(ch)))
			mux.Handle("POST "+base+"/confirm", a.admin(a.handleChannelConfirm(ch)))
		}
		mux.Handle("GET /app/admin/templates", a.admin(a.handleTemplates))
		mux.Handle("POST /app/admin/templates", a.admin(a.handleTemplateSave))
		mux.Handle("POST /app/admin/templates/preview", a.admin(a.handleTemplatePreview))
		mux.Handle("POST /app/admin/templates/reset", a.admin(a.handleTemplateReset))
	}
	// Administration: API keys, webhooks, audit log (admin_apikeys.go, admin_webhooks.go, admin_audit.go).
	mux.Handle("GET /app/admin/api-keys", a.admin(a.handleAPIKeys))
	mux.Handle("POST /app/admin/api-keys", a.admin(a.handleAPIKeyCreate))
	mux.Handle("POST /app/admin/api-keys/{id}/revoke", a.admin(a.handleAPIKeyRevoke))
	if a.o.Admin.Webhooks != nil {
		mux.Handle("GET /app/admin/webhooks", a.admin(a.handleWebhooks))
		mux.Handle("GET /app/admin/webhooks/new", a.admin(a.handleWebhookNew))
		mux.Handle("POST /app/admin/webhooks", a.admin(a.handleWebhookCreate))
		mux.Handle("GET /app/admin/webhooks/{id}", a.admin(a.handleWebhook))
		mux.Handle("GET /app/admin/webhooks/{id}/edit", a.admin(a.handleWebhookEdit))
		mux.Handle("POST /app/admin/webhooks/{id}/edit", a.admin(a.handleWebhookUpdate))
		mux.Handle("POST /app/admin/webhooks/{id}/rotate", a.admin(a.handleWebhookRotate))
		mux.Handle("POST /app/admin/webhooks/{id}/resume", a.admin(a.handleWebhookSwitch(true)))
		mux.Handle("POST /app/admin/webhooks/{id}/disable", a.admin(a.handleWebhookSwitch(false)))
		mux.Handle("POST /app/admin/webhooks/{id}/delete", a.admin(a.handleWebhookDelete))
		mux.Handle("POST /app/admin/webhooks/{id}/test", a.admin(a.handleWebhookTest))
		mux.Handle("POST /app/admin/webhooks/{id}/deliveries/{deliveryId}/redeliver", a.admin(a.handleWebhookRedeliver))
	}
	mux.Handle("GET /app/admin/audit", a.admin(a.handleAudit))
	mux.Handle("GET /app/admin/audit.csv", a.admin(a.handleAuditCSV))

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
