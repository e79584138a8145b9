package web

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the OpenAPI 3.1 document of the REST API, served at /api/v1/openapi.json.
// Tests check every request and response they make against it (see package webtest), so
// an endpoint added to routes.go must be added here too.
//
//go:embed openapi.json
var OpenAPI []byte

func (s *server) handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(OpenAPI)
	})
}
