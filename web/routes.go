package web

import "rendezvous"

import "net/http"

// routes lists every route the service serves. Patterns use net/http's ServeMux syntax;
// the pattern is also the "route" label of the metrics.
func (s *server) routes(mux *http.ServeMux) {
	// Operations.
	mux.Handle("GET /healthz", s.handleHealthz())
	mux.Handle("GET /readyz", s.handleReadyz())
	mux.Handle("GET /metrics", s.handleMetrics())

	// REST API.
	mux.Handle("GET /api/v1/openapi.json", s.handleOpenAPI())
	mux.Handle("POST /api/v1/appointments", s.api(rendezvous.ScopeAppointmentsWrite, s.handleAppointmentCreate()))
	mux.Handle("GET /api/v1/appointments", s.api(rendezvous.ScopeAppointmentsRead, s.handleAppointmentList()))
	mux.Handle("GET /api/v1/appointments/{id}", s.api(rendezvous.ScopeAppointmentsRead, s.handleAppointmentGet()))
	mux.Handle("PATCH /api/v1/appointments/{id}", s.api(rendezvous.ScopeAppointmentsWrite, s.handleAppointmentPatch()))
	mux.Handle("POST /api/v1/appointments/{id}/cancel", s.api(rendezvous.ScopeAppointmentsWrite, s.handleAppointmentCancel()))
	mux.Handle("/api/", s.apiNotFound())

	// Customer journey (/a/{token}), video room, admin UI and webhooks: added by their areas.
}
