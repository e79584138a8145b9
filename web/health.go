package web

import (
	"context"
	"net/http"
	"time"
)

// handleHealthz answers while the process is alive and serving HTTP; it touches nothing
// else, so a slow database does not get a healthy process restarted.
func (s *server) handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write([]byte("ok\n"))
	})
}

// handleReadyz answers 200 when the database is reachable and fully migrated, 503
// otherwise, so a load balancer sends traffic only to instances that can serve it.
func (s *server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := s.Store.Ready(ctx); err != nil {
			s.log.WarnContext(ctx, "not ready", "error", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready\n")) // the cause is in the log, not for any caller to read
			return
		}
		w.Write([]byte("ready\n"))
	})
}
