package web

import (
	"net/http"

	"rendezvous"
	"rendezvous/journey"
	"rendezvous/room"
	"rendezvous/widget"
)

// routes lists every route the service serves. Patterns use net/http's ServeMux syntax;
// the pattern is also the "route" label of the metrics.
func (s *server) routes(mux *http.ServeMux) {
	// Operations, and the home page that points at everything.
	mux.Handle("GET /{$}", s.handleHome())
	mux.Handle("GET /healthz", s.handleHealthz())
	mux.Handle("GET /readyz", s.handleReadyz())
	if !s.SeparateOps {
		mux.Handle("GET /metrics", s.handleMetrics()) // else on the operations listener
	}

	// REST API.
	mux.Handle("GET /api/v1/openapi.json", s.handleOpenAPI())
	mux.Handle("POST /api/v1/appointments", s.api(rendezvous.ScopeAppointmentsWrite, s.handleAppointmentCreate()))
	mux.Handle("GET /api/v1/appointments", s.api(rendezvous.ScopeAppointmentsRead, s.handleAppointmentList()))
	mux.Handle("GET /api/v1/appointments/{id}", s.api(rendezvous.ScopeAppointmentsRead, s.handleAppointmentGet()))
	mux.Handle("PATCH /api/v1/appointments/{id}", s.api(rendezvous.ScopeAppointmentsWrite, s.handleAppointmentPatch()))
	mux.Handle("POST /api/v1/appointments/{id}/cancel", s.api(rendezvous.ScopeAppointmentsWrite, s.handleAppointmentCancel()))
	mux.Handle("GET /api/v1/appointments/{id}/room", s.api(rendezvous.ScopeAppointmentsRead, s.handleAppointmentRoom()))
	mux.Handle("GET /api/v1/settings/scheduling", s.api(rendezvous.ScopeSettingsAdmin, s.handleSchedulingSettingsGet()))
	mux.Handle("PUT /api/v1/settings/scheduling", s.api(rendezvous.ScopeSettingsAdmin, s.handleSchedulingSettingsPut()))
	mux.Handle("POST /api/v1/settings/scheduling/media", s.api(rendezvous.ScopeSettingsAdmin, s.handleSchedulingMediaUpload()))
	mux.Handle("GET /api/v1/settings/api-keys", s.api(rendezvous.ScopeSettingsAdmin, s.handleAPIKeyList()))
	mux.Handle("POST /api/v1/settings/api-keys", s.api(rendezvous.ScopeSettingsAdmin, s.handleAPIKeyCreate()))
	mux.Handle("DELETE /api/v1/settings/api-keys/{id}", s.api(rendezvous.ScopeSettingsAdmin, s.handleAPIKeyRevoke()))
	mux.Handle("GET /api/v1/settings/video", s.api(rendezvous.ScopeSettingsAdmin, s.handleVideoSettingsGet()))
	mux.Handle("PUT /api/v1/settings/video", s.api(rendezvous.ScopeSettingsAdmin, s.handleVideoSettingsPut()))
	mux.Handle("GET /api/v1/settings/notifications", s.api(rendezvous.ScopeSettingsAdmin, s.handleNotificationSettingsGet()))
	mux.Handle("PUT /api/v1/settings/notifications", s.api(rendezvous.ScopeSettingsAdmin, s.handleNotificationSettingsPut()))
	mux.Handle("GET /api/v1/settings/notifications/{channel}", s.api(rendezvous.ScopeSettingsAdmin, s.handleNotificationChannelGet()))
	mux.Handle("PUT /api/v1/settings/notifications/{channel}", s.api(rendezvous.ScopeSettingsAdmin, s.handleNotificationChannelPut()))
	mux.Handle("POST /api/v1/settings/notifications/{channel}/verification", s.api(rendezvous.ScopeSettingsAdmin, s.handleNotificationVerificationStart()))
	mux.Handle("POST /api/v1/settings/notifications/{channel}/verification/confirm", s.api(rendezvous.ScopeSettingsAdmin, s.handleNotificationVerificationConfirm()))
	mux.Handle("GET /api/v1/settings/templates/{event}/{channel}/{language}", s.api(rendezvous.ScopeSettingsAdmin, s.handleNotificationTemplateGet()))
	mux.Handle("PUT /api/v1/settings/templates/{event}/{channel}/{language}", s.api(rendezvous.ScopeSettingsAdmin, s.handleNotificationTemplatePut()))
	mux.Handle("DELETE /api/v1/settings/templates/{event}/{channel}/{language}", s.api(rendezvous.ScopeSettingsAdmin, s.handleNotificationTemplateDelete()))
	mux.Handle("POST /api/v1/settings/templates/preview", s.api(rendezvous.ScopeSettingsAdmin, s.handleNotificationTemplatePreview()))
	mux.Handle("GET /api/v1/appointments/{id}/notifications", s.api(rendezvous.ScopeAppointmentsRead, s.handleAppointmentNotifications()))
	mux.Handle("POST /api/v1/appointments/{id}/notifications/{deliveryId}/retry", s.api(rendezvous.ScopeAppointmentsWrite, s.handleAppointmentNotificationRetry()))
	mux.Handle("GET /api/v1/appointments/{id}/notifications/channels", s.api(rendezvous.ScopeAppointmentsRead, s.handleAppointmentNotificationChannelsGet()))
	mux.Handle("PUT /api/v1/appointments/{id}/notifications/channels", s.api(rendezvous.ScopeAppointmentsWrite, s.handleAppointmentNotificationChannelsPut()))
	mux.Handle("GET /api/v1/settings/webhooks", s.api(rendezvous.ScopeSettingsAdmin, s.handleWebhookList()))
	mux.Handle("POST /api/v1/settings/webhooks", s.api(rendezvous.ScopeSettingsAdmin, s.handleWebhookCreate()))
	mux.Handle("GET /api/v1/settings/webhooks/{id}", s.api(rendezvous.ScopeSettingsAdmin, s.handleWebhookGet()))
	mux.Handle("PATCH /api/v1/settings/webhooks/{id}", s.api(rendezvous.ScopeSettingsAdmin, s.handleWebhookUpdate()))
	mux.Handle("DELETE /api/v1/settings/webhooks/{id}", s.api(rendezvous.ScopeSettingsAdmin, s.handleWebhookDelete()))
	mux.Handle("POST /api/v1/settings/webhooks/{id}/rotate-secret", s.api(rendezvous.ScopeSettingsAdmin, s.handleWebhookRotate()))
	mux.Handle("POST /api/v1/settings/webhooks/{id}/test", s.api(rendezvous.ScopeSettingsAdmin, s.handleWebhookTest()))
	mux.Handle("GET /api/v1/settings/webhooks/{id}/deliveries", s.api(rendezvous.ScopeSettingsAdmin, s.handleWebhookDeliveries()))
	mux.Handle("POST /api/v1/settings/webhooks/{id}/deliveries/{deliveryId}/redeliver", s.api(rendezvous.ScopeSettingsAdmin, s.handleWebhookRedeliver()))
	mux.Handle("GET /api/v1/settings/audit", s.api(rendezvous.ScopeSettingsAdmin, s.handleAuditList()))
	mux.Handle("GET /api/v1/settings/audit.csv", s.api(rendezvous.ScopeSettingsAdmin, s.handleAuditExport()))
	mux.Handle("GET /api/v1/settings/data-retention", s.api(rendezvous.ScopeSettingsAdmin, s.handleRetentionGet()))
	mux.Handle("PUT /api/v1/settings/data-retention", s.api(rendezvous.ScopeSettingsAdmin, s.handleRetentionPut()))
	mux.Handle("POST /api/v1/settings/data-retention/erasures", s.api(rendezvous.ScopeSettingsAdmin, s.handleErasureCreate()))
	mux.Handle("GET /api/v1/settings/data-retention/erasures/{id}", s.api(rendezvous.ScopeSettingsAdmin, s.handleErasureGet()))
	mux.Handle("GET /api/v1/settings/schedules", s.api(rendezvous.ScopeSettingsAdmin, s.handleScheduleList()))
	mux.Handle("GET /api/v1/settings/schedules/{queue}", s.api(rendezvous.ScopeSettingsAdmin, s.handleScheduleGet()))
	mux.Handle("PUT /api/v1/settings/schedules/{queue}", s.api(rendezvous.ScopeSettingsAdmin, s.handleSchedulePut()))
	mux.Handle("DELETE /api/v1/settings/schedules/{queue}", s.api(rendezvous.ScopeSettingsAdmin, s.handleScheduleDelete()))
	mux.Handle("GET /api/v1/settings/widget", s.api(rendezvous.ScopeSettingsAdmin, s.handleWidgetSettingsGet()))
	mux.Handle("PUT /api/v1/settings/widget", s.api(rendezvous.ScopeSettingsAdmin, s.handleWidgetSettingsPut()))
	// Availability: with an API key (appointments:read), or public for the widget.
	mux.Handle("GET /api/v1/availability", s.handleAvailability())
	// The widget's public booking endpoints (no API key; see package widget).
	mux.Handle("GET /api/v1/widget/challenge", s.handleWidgetChallenge())
	mux.Handle("POST /api/v1/widget/bookings", s.handleWidgetBooking())
	mux.Handle("/api/", s.apiNotFound())

	// Customer journey: the customer's link, its event stream, page assets, waiting-room media.
	mux.Handle("GET /a/{token}", s.arrival(s.handleJourney((*journey.Service).PageHandler)))
	mux.Handle("GET /a/{token}/events", s.handleJourney((*journey.Service).EventsHandler))
	mux.Handle("GET /a/{token}/reschedule", s.handleJourney((*journey.Service).RescheduleHandler))
	mux.Handle("POST /a/{token}/reschedule", s.handleJourney((*journey.Service).RescheduleHandler))
	mux.Handle("GET /a/{token}/cancel", s.handleJourney((*journey.Service).CancelHandler))
	mux.Handle("POST /a/{token}/cancel", s.handleJourney((*journey.Service).CancelHandler))
	mux.Handle("GET /a/{token}/calendar.ics", s.handleCalendar()) // notifications: the appointment's .ics
	mux.Handle("GET /journey/assets/", s.handleJourney((*journey.Service).AssetsHandler))
	mux.Handle("GET /favicon.ico", s.handleJourney((*journey.Service).FaviconHandler))
	mux.Handle("GET /journey/media/{id}", s.handleJourney((*journey.Service).MediaHandler))

	// Self-scheduling widget: the script host pages load, the page it frames, its assets.
	mux.Handle("GET /widget/widget.js", s.handleWidget((*widget.Service).ScriptHandler))
	mux.Handle("GET /widget/frame", s.handleWidget((*widget.Service).FrameHandler))
	mux.Handle("GET /widget/static/", s.handleWidget((*widget.Service).StaticHandler))

	// Video room: each side's page and signaling WebSocket, the room script and stylesheet.
	mux.Handle("GET /room/agent/{key}", s.handleRoomPage(room.Agent))
	mux.Handle("GET /room/agent/{key}/ws", s.handleRoomSignaling(room.Agent))
	mux.Handle("GET /room/customer/{key}", s.handleRoomPage(room.Customer))
	mux.Handle("GET /room/customer/{key}/ws", s.handleRoomSignaling(room.Customer))
	mux.Handle("GET /static/room/", s.handleRoomStatic())

	// Staff app: sign-in with Genesys Cloud, agents' and supervisors' pages, the
	// Interaction Widget. Its routes are listed in app/routes.go.
	if s.Staff != nil {
		s.Staff.Routes(mux)
	}
}
