package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"rendezvous/store"
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

// handleReadyz answers 200 when the service can do its work: the database is reachable,
// fully migrated and takes writes (a full disk or a lost primary makes it 503), and the
// process is not shutting down. A load balancer then sends traffic only to instances
// that can serve it. The body names the reason in general terms; details are logged.
func (s *server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if s.Draining != nil && s.Draining() {
			w.Header().Set("Retry-After", strconv.Itoa(unavailableRetryAfter))
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: shutting down\n"))
			return
		}
		err := s.Store.ReadyToWrite(ctx)
		if err != nil {
			s.log.WarnContext(ctx, "not ready", "error", err)
			why := "the database cannot take writes"
			if reason, ok := store.Unavailable(err); ok {
				why = reason
			} else if strings.Contains(err.Error(), store.UnavailableFull) {
				why = store.UnavailableFull
			}
			w.Header().Set("Retry-After", strconv.Itoa(unavailableRetryAfter))
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: " + why + "\n"))
			return
		}
		w.Write([]byte("ready\n"))
	})
}
