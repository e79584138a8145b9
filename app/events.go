package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"rendezvous/auth"
)

// keepAlive is how often an idle event stream gets a comment, so that proxies keep it open
// and a dead connection is noticed.
const keepAlive = 25 * time.Second

// handleEvents serves GET /app/events: a Server-Sent Events stream of the appointment
// changes the person may see (an agent only their own), which live pages use to refresh
// without a reload (static/app.js). Changes are announced by the appointment event job of
// every booking, reschedule, cancellation and status change (HandleAppointmentEvent), on
// whichever instance runs it (ShareChanges). A "resync" event says changes may have been
// missed, so the page should read its data afresh.
func (a *App) handleEvents(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	ch, stop := a.hub.subscribe(s.User.OrgID)
	defer stop()
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n: connected\n\n")
	if err := rc.Flush(); err != nil {
		return
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case c := <-ch:
			switch {
			case c.resync:
				// Changes may have been missed (the instances' feed reconnected).
				fmt.Fprint(w, "event: resync\ndata: {}\n\n")
			case !s.User.Supervises() && c.AgentUserID != s.User.ID:
				continue
			default:
				b, _ := json.Marshal(c)
				fmt.Fprintf(w, "event: change\ndata: %s\n\n", b)
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
