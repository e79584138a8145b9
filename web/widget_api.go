package web

// The widget's public booking endpoints: a proof-of-work challenge, then the booking.
// The rules are in package widget (Deps.Widget).

import (
	"errors"
	"net/http"
	"time"

	"rendezvous"
	"rendezvous/widget"
)

type challengeJSON struct {
	Challenge  string `json:"challenge"`
	Difficulty int    `json:"difficulty"`
	ExpiresAt  string `json:"expiresAt"`
}

func (s *server) handleWidgetChallenge() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Widget == nil {
			s.widgetMissing(w, r)
			return
		}
		org, ok := s.publicWidgetRequest(w, r, r.URL.Query().Get("org"))
		if !ok {
			return
		}
		c, expires, err := s.Widget.Issue(org)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, challengeJSON{Challenge: c, Difficulty: s.Widget.Difficulty(), ExpiresAt: formatTime(expires)})
	})
}

type widgetBookingJSON struct {
	Org       string `json:"org"`
	Queue     string `json:"queue"`
	ChatMode  string `json:"chatMode"`
	Start     string `json:"start"`
	TimeZone  string `json:"timeZone"`
	Language  string `json:"language"`
	Name      string `json:"name"`
	Phone     string `json:"phone,omitempty"`
	Email     string `json:"email,omitempty"`
	Consent   bool   `json:"consent"`
	Challenge string `json:"challenge"`
	Nonce     string `json:"nonce"`
	// Origin is the web page the widget's frame is embedded in, as the frame was told
	// (and as the browser enforced with frame-ancestors when it loaded the frame).
	Origin string `json:"origin"`
}

type widgetBookedJSON struct {
	ID       string `json:"id"`
	Start    string `json:"start"`
	End      string `json:"end"`
	TimeZone string `json:"timeZone"`
	Links    struct {
		Customer string `json:"customer"`
		Calendar string `json:"calendar"`
	} `json:"links"`
}

// takenJSON is the conflict answer to a booking whose slot was taken meanwhile: the
// problem details and the nearest free slots.
type takenJSON struct {
	problem
	Alternatives []widget.SlotView `json:"alternatives"`
}

// handleWidgetBooking books a slot for a customer from the widget. Public: the limits and
// the proof of work stand in for an API key.
func (s *server) handleWidgetBooking() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Widget == nil {
			s.widgetMissing(w, r)
			return
		}
		var in widgetBookingJSON
		if err := s.decodeJSON(w, r, &in, false); err != nil {
			s.error(w, r, err)
			return
		}
		org, ok := s.publicWidgetRequest(w, r, in.Org)
		if !ok {
			return
		}
		// From the frame, the page's origin is the one the frame was loaded for; a page
		// calling the endpoint itself is its own origin.
		origin := r.Header.Get("Origin")
		if origin == "" || s.Widget.Own(origin) {
			origin = in.Origin
		}
		allowed, err := s.Widget.OriginAllowed(r.Context(), org, origin)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if !allowed {
			s.error(w, r, widget.ErrOriginNotAllowed)
			return
		}
		var p rendezvous.Problems
		start := parseTime(&p, "start", in.Start)
		if start.IsZero() && p.Empty() {
			p.Add("start", "is required")
		}
		if in.Queue == "" {
			p.Add("queue", "is required")
		}
		if err := p.Err(); err != nil {
			s.error(w, r, err)
			return
		}
		a, err := s.Widget.Book(r.Context(), widget.BookRequest{
			OrgID: org, Queue: in.Queue, ChatMode: in.ChatMode, Start: start, TimeZone: in.TimeZone,
			Language: in.Language, Name: in.Name, Phone: in.Phone, Email: in.Email, Consent: in.Consent,
			Challenge: in.Challenge, Nonce: in.Nonce, Origin: origin,
		})
		var full *widget.FullError
		var retry *widget.RetryError
		switch {
		case errors.As(err, &full):
			out := takenJSON{problem: s.problemFor(r, err), Alternatives: widget.Views(full.Alternatives, zoneOrUTC(in.TimeZone))}
			out.Instance = r.URL.Path
			writeJSONAs(w, http.StatusConflict, out, "application/problem+json")
			return
		case errors.As(err, &retry):
			s.error(w, r, &retryAfterError{seconds: int(max(1, retry.Wait.Round(time.Second)/time.Second)), what: retry.Msg})
			return
		case err != nil:
			s.error(w, r, err)
			return
		}
		var out widgetBookedJSON
		loc := a.Location()
		out.ID, out.Start, out.End, out.TimeZone = a.ID, a.Start.In(loc).Format(time.RFC3339), a.End().In(loc).Format(time.RFC3339), a.TimeZone
		base := s.publicURL(r)
		out.Links.Customer = base + "/a/" + a.LinkToken
		out.Links.Calendar = base + "/a/" + a.LinkToken + "/calendar.ics"
		writeJSON(w, http.StatusCreated, out)
	})
}

// writeJSONAs is writeJSON with another media type (problem details with extensions).
func writeJSONAs(w http.ResponseWriter, status int, v any, contentType string) {
	rec := &typedWriter{ResponseWriter: w, contentType: contentType}
	writeJSON(rec, status, v)
}

// typedWriter replaces the Content-Type writeJSON sets.
type typedWriter struct {
	http.ResponseWriter
	contentType string
}

func (t *typedWriter) WriteHeader(code int) {
	t.Header().Set("Content-Type", t.contentType)
	t.ResponseWriter.WriteHeader(code)
}
