package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"rendezvous/store"
	"rendezvous/widget"
)

// TestPublicRateLimitSaysWhy: a public (widget) request over its allowance is told which
// allowance ran out (its network address's), not an API key's it never sent; a keyed
// request still hears about its key.
func TestPublicRateLimitSaysWhy(t *testing.T) {
	e := newWidgetEnv(t, store.SQLite, widget.Options{PerClient: 0.001})
	wantStatus(t, e.do("PUT", "/api/v1/settings/schedules/Mortgages", schedule(1)), http.StatusOK)
	q := url.Values{"org": {"demo"}, "queue": {"Mortgages"}, "timeZone": {"Europe/Athens"}}
	wantStatus(t, e.do("GET", "/api/v1/availability?"+q.Encode(), nil, "Authorization", ""), http.StatusOK)
	r := e.do("GET", "/api/v1/availability?"+q.Encode(), nil, "Authorization", "")
	m := wantProblem(t, r, http.StatusTooManyRequests)
	detail, _ := m["detail"].(string)
	if strings.Contains(detail, "API key") || !strings.Contains(detail, "network address") {
		t.Errorf("public 429 detail = %q; want it to name the network address, not an API key", detail)
	}
	if r.header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	// With the key, the same endpoint is not held to the public allowance.
	wantStatus(t, e.do("GET", "/api/v1/availability?"+q.Encode(), nil), http.StatusOK)
}

// TestWidgetOriginLimitSaysWhy: bookings from one web site over its allowance are told the
// web site went too fast.
func TestWidgetOriginLimitSaysWhy(t *testing.T) {
	e := newWidgetEnv(t, store.SQLite, widget.Options{PerOrigin: 0.01})
	wantStatus(t, e.do("PUT", "/api/v1/settings/schedules/Mortgages", schedule(5)), http.StatusOK)
	wantStatus(t, e.do("PUT", "/api/v1/settings/widget", map[string]any{"allowedOrigins": []any{hostOrigin}}), http.StatusOK)
	book := func(start string, n int) response {
		return e.do("POST", "/api/v1/widget/bookings", e.bookBody("genesys-cloud", start, n), "Authorization", "", "Origin", hostOrigin)
	}
	wantStatus(t, book("2026-05-05T09:00:00+03:00", 1), http.StatusCreated)
	r := book("2026-05-05T09:30:00+03:00", 2)
	m := wantProblem(t, r, http.StatusTooManyRequests)
	if detail, _ := m["detail"].(string); strings.Contains(detail, "API key") || !strings.Contains(detail, "web site") {
		t.Errorf("per-origin 429 detail = %q; want it to name the web site, not an API key", detail)
	}
}
