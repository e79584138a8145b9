package web

// Availability: queue schedules (settings:admin), the allowed embedding origins of the
// widget, and the free slots of a queue (GET /api/v1/availability), public for the widget
// and with an API key for integrators. The rules are in package availability; the public
// endpoints' limits and the booking in package widget (Deps.Widget).

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/availability"
	"rendezvous/widget"
)

// maxAvailabilityWindow bounds one availability request.
const maxAvailabilityWindow = 62 * 24 * time.Hour

type scheduleJSON struct {
	availability.Schedule
	Version   int    `json:"version,omitempty"`
	UpdatedAt string `json:"updatedAt,omitempty"`
}

type scheduleListJSON struct {
	Items []scheduleJSON `json:"items"`
}

func (s *server) widgetMissing(w http.ResponseWriter, r *http.Request) {
	s.error(w, r, errors.New("the scheduling widget is not configured in this server"))
}

// handleWidget returns h from the widget service, or a 500 when the server was built
// without one (tests of other areas).
func (s *server) handleWidget(h func(*widget.Service) http.Handler) http.Handler {
	if s.Widget == nil {
		return http.HandlerFunc(s.widgetMissing)
	}
	return h(s.Widget)
}

func (s *server) handleScheduleList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recs, err := s.Store.Schedules(r.Context(), apiKey(r.Context()).OrgID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := scheduleListJSON{Items: []scheduleJSON{}}
		for _, rec := range recs {
			out.Items = append(out.Items, scheduleJSON{Schedule: rec.Schedule, Version: rec.Version, UpdatedAt: formatTime(rec.UpdatedAt)})
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func (s *server) handleScheduleGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, err := s.Store.Schedule(r.Context(), apiKey(r.Context()).OrgID, r.PathValue("queue"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		w.Header().Set("ETag", strconv.Quote(strconv.Itoa(rec.Version)))
		writeJSON(w, http.StatusOK, scheduleJSON{Schedule: rec.Schedule, Version: rec.Version, UpdatedAt: formatTime(rec.UpdatedAt)})
	})
}

// handleSchedulePut creates or replaces a queue's schedule. The queue is the path's; a
// queueName in the body must agree. If-Match, when sent, must be the current version.
func (s *server) handleSchedulePut() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		version, err := ifMatch(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		// The answer's form is accepted back (version and updatedAt are ignored), so a
		// client can read, edit and send.
		var body scheduleJSON
		if err := s.decodeJSON(w, r, &body, false); err != nil {
			s.error(w, r, err)
			return
		}
		in := body.Schedule
		queue := r.PathValue("queue")
		if in.QueueName != "" && in.QueueName != queue {
			s.error(w, r, &rendezvous.ValidationError{Problems: []rendezvous.FieldProblem{{Field: "queueName",
				Message: fmt.Sprintf("is %q but the path names the queue %q; leave it out or make them agree", in.QueueName, queue)}}})
			return
		}
		in.QueueName = queue
		for i := range in.Agents {
			in.Agents[i].UserID = strings.TrimSpace(in.Agents[i].UserID)
		}
		if _, err := availability.Compile(in); err != nil {
			s.error(w, r, err)
			return
		}
		rec, err := s.Store.PutSchedule(r.Context(), apiKey(r.Context()).OrgID, in, version)
		if err != nil {
			s.error(w, r, err)
			return
		}
		w.Header().Set("ETag", strconv.Quote(strconv.Itoa(rec.Version)))
		writeJSON(w, http.StatusOK, scheduleJSON{Schedule: rec.Schedule, Version: rec.Version, UpdatedAt: formatTime(rec.UpdatedAt)})
	})
}

func (s *server) handleScheduleDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.Store.DeleteSchedule(r.Context(), apiKey(r.Context()).OrgID, r.PathValue("queue")); err != nil {
			s.error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

type widgetSettingsJSON struct {
	AllowedOrigins []string `json:"allowedOrigins"`
	UpdatedAt      string   `json:"updatedAt,omitempty"`
}

func (s *server) handleWidgetSettingsGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origins, updated, err := s.Store.WidgetOrigins(r.Context(), apiKey(r.Context()).OrgID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, widgetSettingsJSON{AllowedOrigins: origins, UpdatedAt: formatTime(updated)})
	})
}

func (s *server) handleWidgetSettingsPut() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in widgetSettingsJSON
		if err := s.decodeJSON(w, r, &in, false); err != nil {
			s.error(w, r, err)
			return
		}
		origins, err := widget.CheckOrigins(in.AllowedOrigins)
		if err != nil {
			s.error(w, r, err)
			return
		}
		updated, err := s.Store.PutWidgetOrigins(r.Context(), apiKey(r.Context()).OrgID, origins)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, widgetSettingsJSON{AllowedOrigins: origins, UpdatedAt: formatTime(updated)})
	})
}

type availabilityJSON struct {
	Queue       string            `json:"queue"`
	TimeZone    string            `json:"timeZone"`
	SlotMinutes int               `json:"slotMinutes"`
	From        string            `json:"from"`
	To          string            `json:"to"`
	Slots       []widget.SlotView `json:"slots"`
}

// handleAvailability serves GET /api/v1/availability. With an API key (appointments:read)
// it answers for the key's organization. Without one it is the widget's public endpoint:
// the organization comes from the org parameter, each client address is rate limited, and
// a browser request from a web origin the organization has not allowed is refused (the
// allowed ones get CORS headers). Nothing personal is returned: start, end and places left.
func (s *server) handleAvailability() http.Handler {
	keyed := s.api(rendezvous.ScopeAppointmentsRead, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serveAvailability(w, r, apiKey(r.Context()).OrgID)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			keyed.ServeHTTP(w, r)
			return
		}
		if s.Widget == nil {
			s.widgetMissing(w, r)
			return
		}
		org, ok := s.publicWidgetRequest(w, r, r.URL.Query().Get("org"))
		if !ok {
			return
		}
		s.serveAvailability(w, r, org)
	})
}

// publicWidgetRequest applies the rules every public widget endpoint shares: a client
// address's rate limit, an organization named, and a browser's Origin allowed to embed
// that organization's widget (answered with CORS headers). It writes the refusal and
// returns false when the request may not go on.
func (s *server) publicWidgetRequest(w http.ResponseWriter, r *http.Request, org string) (string, bool) {
	if ok, wait := s.Widget.AllowClient(s.clientAddr(r)); !ok {
		// Public requests have no API key: the allowance is the client address's.
		s.error(w, r, &retryAfterError{seconds: int(max(1, wait.Round(time.Second)/time.Second)),
			what: "too many requests to the scheduling widget from your network address"})
		return "", false
	}
	if org == "" || len(org) > 100 {
		s.error(w, r, &rendezvous.ValidationError{Problems: []rendezvous.FieldProblem{{Field: "org",
			Message: "is required without an API key: the organization whose widget asks"}}})
		return "", false
	}
	if _, err := s.Store.Org(r.Context(), org); err != nil {
		s.error(w, r, err)
		return "", false
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		ok, err := s.Widget.OriginAllowed(r.Context(), org, origin)
		if err != nil {
			s.error(w, r, err)
			return "", false
		}
		if !ok {
			s.error(w, r, widget.ErrOriginNotAllowed)
			return "", false
		}
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Add("Vary", "Origin")
	}
	return org, true
}

// clientAddr is the address rate limits count a public request against: the client's,
// read through the trusted proxies (-trusted-proxies), so that customers behind one proxy
// do not share one budget.
func (s *server) clientAddr(r *http.Request) string {
	return s.LinkGuard.ClientIP(r).String()
}

func (s *server) serveAvailability(w http.ResponseWriter, r *http.Request, org string) {
	q := r.URL.Query()
	var p rendezvous.Problems
	queue := q.Get("queue")
	if queue == "" {
		p.Add("queue", "is required: the name of the queue whose schedule to read")
	}
	zone := q.Get("timeZone")
	if zone == "" {
		zone = "UTC"
	}
	loc, err := rendezvous.LoadZone(zone)
	if err != nil {
		p.Add("timeZone", "%s", err)
	}
	now := s.clock.Now()
	from, to := now, now.Add(14*24*time.Hour)
	if v := q.Get("from"); v != "" {
		from = parseTime(&p, "from", v)
	}
	if v := q.Get("to"); v != "" {
		to = parseTime(&p, "to", v)
	}
	if p.Empty() {
		switch {
		case !to.After(from):
			p.Add("to", "must be after from")
		case to.Sub(from) > maxAvailabilityWindow:
			p.Add("to", "is more than %d days after from; ask for a shorter window", int(maxAvailabilityWindow.Hours()/24))
		}
	}
	if err := p.Err(); err != nil {
		s.error(w, r, err)
		return
	}
	if s.Widget == nil {
		s.widgetMissing(w, r)
		return
	}
	slots, plan, err := s.Widget.Availability(r.Context(), org, queue, from, to)
	if err != nil {
		s.error(w, r, fmt.Errorf("availability of %q: %w", queue, err))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, availabilityJSON{Queue: queue, TimeZone: zone, SlotMinutes: int(plan.SlotLength() / time.Minute),
		From: from.In(loc).Format(time.RFC3339), To: to.In(loc).Format(time.RFC3339), Slots: widget.Views(slots, loc)})
}
