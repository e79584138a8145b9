package web

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/store"
)

// appointmentJSON is an appointment as the API shows it. Instants are RFC 3339 in UTC;
// startLocal repeats the start with the offset of the customer's timeZone, for callers
// that display it.
type appointmentJSON struct {
	ID              string            `json:"id"`
	Status          rendezvous.Status `json:"status"`
	Version         int               `json:"version"`
	Start           string            `json:"start"`
	StartLocal      string            `json:"startLocal"`
	End             string            `json:"end"`
	DurationMinutes int               `json:"durationMinutes"`
	TimeZone        string            `json:"timeZone"`
	Title           string            `json:"title"`
	Notes           string            `json:"notes"`
	AgentUserID     string            `json:"agentUserId"`
	Customers       []customerJSON    `json:"customers"`
	Interaction     interactionJSON   `json:"interaction"`
	Links           linksJSON         `json:"links"`
	CreatedAt       string            `json:"createdAt"`
	UpdatedAt       string            `json:"updatedAt"`
	CancelledAt     string            `json:"cancelledAt,omitempty"`
	CancelReason    string            `json:"cancelReason,omitempty"`
	StartedAt       string            `json:"startedAt,omitempty"`
	EndedAt         string            `json:"endedAt,omitempty"`
}

type customerJSON struct {
	Name     string `json:"name"`
	Phone    string `json:"phone,omitempty"`
	Email    string `json:"email,omitempty"`
	Language string `json:"language,omitempty"`
}

type interactionJSON struct {
	Routing      routingJSON       `json:"routing"`
	CustomFields map[string]string `json:"customFields,omitempty"`
}

type routingJSON struct {
	Type       rendezvous.RoutingType `json:"type"`
	Properties *routingPropertiesJSON `json:"properties,omitempty"`
}

type routingPropertiesJSON struct {
	QueueName string `json:"queueName,omitempty"`
}

type linksJSON struct {
	// Customer is the customer's personal link; empty when the store cannot recover it
	// (no secrets key configured).
	Customer string `json:"customer,omitempty"`
}

type appointmentListJSON struct {
	Items []appointmentJSON `json:"items"`
	Next  string            `json:"next,omitempty"`
}

// appointmentCreateJSON is the body of POST /api/v1/appointments. Start is a string so
// that a bad time is reported as a field problem alongside all the others.
type appointmentCreateJSON struct {
	Start           string           `json:"start"`
	DurationMinutes int              `json:"durationMinutes"`
	TimeZone        string           `json:"timeZone"`
	Title           string           `json:"title"`
	Notes           string           `json:"notes"`
	AgentUserID     string           `json:"agentUserId"`
	Customers       []customerJSON   `json:"customers"`
	Interaction     *interactionJSON `json:"interaction"`
}

// appointmentPatchJSON is the body of PATCH /api/v1/appointments/{id}: absent (or null)
// fields stay as they are.
type appointmentPatchJSON struct {
	Start           *string         `json:"start"`
	DurationMinutes *int            `json:"durationMinutes"`
	TimeZone        *string         `json:"timeZone"`
	Title           *string         `json:"title"`
	Notes           *string         `json:"notes"`
	AgentUserID     *string         `json:"agentUserId"`
	Customers       *[]customerJSON `json:"customers"`
}

type cancelJSON struct {
	Reason string `json:"reason"`
}

// maxIdempotencyKey bounds the Idempotency-Key header: UUIDs and ULIDs fit many times over.
const maxIdempotencyKey = 255

func (s *server) handleAppointmentCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := apiKey(r.Context())
		idemKey := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
		if len(idemKey) > maxIdempotencyKey {
			s.error(w, r, badRequest("Idempotency-Key", "is longer than %d characters", maxIdempotencyKey))
			return
		}
		var in appointmentCreateJSON
		if err := s.decodeJSON(w, r, &in, false); err != nil {
			s.error(w, r, err)
			return
		}
		var p rendezvous.Problems
		start := parseTime(&p, "start", in.Start)
		a, err := rendezvous.NewAppointment(key.OrgID, rendezvous.AppointmentInput{
			Start:           start,
			DurationMinutes: in.DurationMinutes,
			TimeZone:        in.TimeZone,
			Title:           in.Title,
			Notes:           in.Notes,
			AgentUserID:     in.AgentUserID,
			Customers:       customersFromJSON(in.Customers),
			Interaction:     interactionFromJSON(in.Interaction),
		}, s.clock.Now())
		if err := withParseProblems(&p, err); err != nil {
			s.error(w, r, err)
			return
		}
		if err := s.checkQueue(r, a); err != nil {
			s.error(w, r, err)
			return
		}
		if err := s.checkAgent(r, key.OrgID, a.AgentUserID); err != nil {
			s.error(w, r, err)
			return
		}
		// The organization's notification switch is snapshotted at booking: turning it
		// off later does not silence appointments already promised their messages.
		a.NotificationsEnabled = s.Notify == nil || s.Notify.EnabledForNewBooking(r.Context(), key.OrgID)
		var idem store.Idempotency
		if idemKey != "" {
			// The hash is of the decoded request re-encoded, so whitespace and key order
			// do not make a retry of the same request look different.
			canonical, err := json.Marshal(in)
			if err != nil {
				s.error(w, r, fmt.Errorf("canonical request: %w", err))
				return
			}
			sum := sha256.Sum256(canonical)
			idem = store.Idempotency{Key: idemKey, RequestHash: hex.EncodeToString(sum[:])}
		}
		saved, replayed, err := s.Store.CreateAppointment(r.Context(), a, idem)
		if err != nil {
			s.error(w, r, fmt.Errorf("create appointment: %w", err))
			return
		}
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		w.Header().Set("Location", "/api/v1/appointments/"+saved.ID)
		s.writeAppointment(w, r, http.StatusCreated, saved)
	})
}

// checkQueue refuses queue routing to a queue the Genesys Cloud organization does not
// have, and any queue routing for an organization without a Genesys connection. When
// Genesys cannot be asked, the booking goes ahead: the queue is checked again when the
// customer arrives, and an outage should not stop bookings.
func (s *server) checkQueue(r *http.Request, a *rendezvous.Appointment) error {
	if s.Journey == nil || a.Interaction.Routing.Type != rendezvous.RoutingQueue {
		return nil
	}
	err := s.Journey.CheckQueue(r.Context(), a.OrgID, a.Interaction.Routing.QueueName)
	var ve *rendezvous.ValidationError
	if err != nil && !errors.As(err, &ve) && !errors.Is(err, rendezvous.ErrNotConnected) {
		s.log.WarnContext(r.Context(), "queue not checked; booking anyway", "request_id", requestID(r.Context()), "error", err)
		return nil
	}
	return err
}

// checkAgent refuses an agent the organization's Genesys Cloud does not know (422 on
// agentUserId), and answers 503 when Genesys cannot be asked (journey.CheckAgent).
func (s *server) checkAgent(r *http.Request, orgID, agentUserID string) error {
	if s.Journey == nil {
		return nil
	}
	return s.Journey.CheckAgent(r.Context(), orgID, "agentUserId", agentUserID)
}

func (s *server) handleAppointmentGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			s.error(w, r, err)
			return
		}
		a, err := s.Store.Appointment(r.Context(), apiKey(r.Context()).OrgID, id)
		if err != nil {
			s.error(w, r, fmt.Errorf("appointment: %w", err))
			return
		}
		s.writeAppointment(w, r, http.StatusOK, a)
	})
}

func (s *server) handleAppointmentList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := listFilter(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		items, next, err := s.Store.ListAppointments(r.Context(), apiKey(r.Context()).OrgID, f)
		if err != nil {
			s.error(w, r, fmt.Errorf("list appointments: %w", err))
			return
		}
		out := appointmentListJSON{Items: make([]appointmentJSON, len(items)), Next: next}
		base := s.linkBase(r)
		for i, a := range items {
			out.Items[i] = toAppointmentJSON(a, base)
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// listFilter reads the query of GET /api/v1/appointments.
func listFilter(r *http.Request) (store.ListFilter, error) {
	q := r.URL.Query()
	var p rendezvous.Problems
	f := store.ListFilter{AgentUserID: q.Get("agentUserId"), Cursor: q.Get("cursor")}
	for _, v := range q["status"] {
		for _, st := range strings.Split(v, ",") {
			st := rendezvous.Status(strings.TrimSpace(st))
			if !st.Valid() {
				p.Add("status", "%q is not a status; use scheduled, in_progress, completed, no_show or cancelled", st)
				continue
			}
			f.Statuses = append(f.Statuses, st)
		}
	}
	if v := q.Get("from"); v != "" {
		f.From = parseTime(&p, "from", v)
	}
	if v := q.Get("to"); v != "" {
		f.To = parseTime(&p, "to", v)
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		p.Add("to", "must be after from")
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			p.Add("limit", "must be a whole number from 1 to 200")
		}
		f.Limit = n
	}
	return f, p.Err()
}

func (s *server) handleAppointmentPatch() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			s.error(w, r, err)
			return
		}
		version, err := ifMatch(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		var in appointmentPatchJSON
		if err := s.decodeJSON(w, r, &in, false); err != nil {
			s.error(w, r, err)
			return
		}
		var p rendezvous.Problems
		patch := rendezvous.AppointmentPatch{
			DurationMinutes: in.DurationMinutes,
			TimeZone:        in.TimeZone,
			Title:           in.Title,
			Notes:           in.Notes,
			AgentUserID:     in.AgentUserID,
		}
		if in.Start != nil {
			t := parseTime(&p, "start", *in.Start)
			patch.Start = &t
		}
		if in.Customers != nil {
			cs := customersFromJSON(*in.Customers)
			patch.Customers = &cs
		}
		if err := p.Err(); err != nil {
			s.error(w, r, err)
			return
		}
		key := apiKey(r.Context())
		if in.AgentUserID != nil {
			if err := s.checkAgent(r, key.OrgID, strings.TrimSpace(*in.AgentUserID)); err != nil {
				s.error(w, r, err)
				return
			}
		}
		a, err := s.Store.UpdateAppointment(r.Context(), key.OrgID, id, version,
			func(a *rendezvous.Appointment) (string, error) {
				agent := a.AgentUserID
				if err := a.Apply(patch, s.clock.Now()); err != nil {
					return "", err
				}
				switch {
				case patch.Reschedules():
					return "rescheduled", nil
				case a.AgentUserID != agent:
					return "reassigned", nil
				}
				return "updated", nil
			})
		if err != nil {
			s.error(w, r, fmt.Errorf("update appointment: %w", err))
			return
		}
		s.writeAppointment(w, r, http.StatusOK, a)
	})
}

func (s *server) handleAppointmentCancel() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			s.error(w, r, err)
			return
		}
		version, err := ifMatch(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		var in cancelJSON
		if err := s.decodeJSON(w, r, &in, true); err != nil {
			s.error(w, r, err)
			return
		}
		a, err := s.Store.UpdateAppointment(r.Context(), apiKey(r.Context()).OrgID, id, version,
			func(a *rendezvous.Appointment) (string, error) {
				return "cancelled", a.Cancel(in.Reason, s.clock.Now())
			})
		if err != nil {
			s.error(w, r, fmt.Errorf("cancel appointment: %w", err))
			return
		}
		s.writeAppointment(w, r, http.StatusOK, a)
	})
}

func (s *server) apiNotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, rendezvous.WithDetail(fmt.Errorf("no API endpoint %s %s: %w", r.Method, r.URL.Path, rendezvous.ErrNotFound),
			"There is no API endpoint %s %s; the endpoints are listed in /api/v1/openapi.json.", r.Method, r.URL.Path))
	})
}

// ifMatch reads the version an If-Match header requires: 0 when absent or "*".
// The ETag of an appointment is its version in quotes; a bare number is accepted too.
func ifMatch(r *http.Request) (int, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(v, "W/"), `"`))
	if err != nil || n < 1 {
		return 0, badRequest("If-Match", "must be the appointment's ETag (its version), such as \"3\"")
	}
	return n, nil
}

// parseTime reads an RFC 3339 time with an offset, recording a problem for field if it
// is not one.
func parseTime(p *rendezvous.Problems, field, v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		p.Add(field, "%q is not an RFC 3339 time with an offset, such as 2026-05-04T14:30:00+02:00", v)
		return time.Time{}
	}
	return t
}

// withParseProblems combines problems found while parsing with the domain's validation
// error err. The domain saw a zero value where parsing failed and would add a misleading
// "is required" for that field, so its problems for those fields are dropped.
func withParseProblems(p *rendezvous.Problems, err error) error {
	parsed, _ := p.Err().(*rendezvous.ValidationError)
	if parsed == nil {
		return err
	}
	ve, ok := err.(*rendezvous.ValidationError)
	if err != nil && !ok {
		return err
	}
	out := &rendezvous.ValidationError{Problems: parsed.Problems}
	if ve != nil {
		for _, fp := range ve.Problems {
			if !slices.ContainsFunc(parsed.Problems, func(q rendezvous.FieldProblem) bool { return q.Field == fp.Field }) {
				out.Problems = append(out.Problems, fp)
			}
		}
	}
	return out
}

func customersFromJSON(in []customerJSON) []rendezvous.Customer {
	if in == nil {
		return nil
	}
	out := make([]rendezvous.Customer, len(in))
	for i, c := range in {
		out[i] = rendezvous.Customer{Name: c.Name, Phone: c.Phone, Email: c.Email, Language: c.Language}
	}
	return out
}

func interactionFromJSON(in *interactionJSON) rendezvous.Interaction {
	if in == nil {
		return rendezvous.Interaction{}
	}
	out := rendezvous.Interaction{
		Routing:      rendezvous.Routing{Type: in.Routing.Type},
		CustomFields: in.CustomFields,
	}
	if in.Routing.Properties != nil {
		out.Routing.QueueName = in.Routing.Properties.QueueName
	}
	return out
}

// toAppointmentJSON shows a with its customer link under publicURL, or without the link
// when publicURL is "" (see linkBase).
func toAppointmentJSON(a *rendezvous.Appointment, publicURL string) appointmentJSON {
	out := appointmentJSON{
		ID:              a.ID,
		Status:          a.Status,
		Version:         a.Version,
		Start:           formatTime(a.Start),
		StartLocal:      a.Start.In(zoneOrUTC(a.TimeZone)).Format(time.RFC3339),
		End:             formatTime(a.End()),
		DurationMinutes: int(a.Duration / time.Minute),
		TimeZone:        a.TimeZone,
		Title:           a.Title,
		Notes:           a.Notes,
		AgentUserID:     a.AgentUserID,
		Customers:       make([]customerJSON, len(a.Customers)),
		Interaction: interactionJSON{
			Routing:      routingJSON{Type: a.Interaction.Routing.Type},
			CustomFields: a.Interaction.CustomFields,
		},
		CreatedAt:    formatTime(a.CreatedAt),
		UpdatedAt:    formatTime(a.UpdatedAt),
		CancelledAt:  formatTime(a.CancelledAt),
		CancelReason: a.CancelReason,
		StartedAt:    formatTime(a.StartedAt),
		EndedAt:      formatTime(a.EndedAt),
	}
	if q := a.Interaction.Routing.QueueName; q != "" {
		out.Interaction.Routing.Properties = &routingPropertiesJSON{QueueName: q}
	}
	for i, c := range a.Customers {
		out.Customers[i] = customerJSON{Name: c.Name, Phone: c.Phone, Email: c.Email, Language: c.Language}
	}
	if a.LinkToken != "" && publicURL != "" {
		out.Links.Customer = publicURL + "/a/" + a.LinkToken
	}
	return out
}

// formatTime writes an instant as RFC 3339 in UTC, or "" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// publicURL is the base of the links in responses: the configured public URL, else the
// address the request came to.
func (s *server) publicURL(r *http.Request) string {
	if s.PublicURL != "" {
		return s.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// writeAppointment writes one appointment with its version as the ETag.
func (s *server) writeAppointment(w http.ResponseWriter, r *http.Request, status int, a *rendezvous.Appointment) {
	w.Header().Set("ETag", strconv.Quote(strconv.Itoa(a.Version)))
	writeJSON(w, status, toAppointmentJSON(a, s.linkBase(r)))
}

// linkBase is the base URL of the customer links in an answer to r, or "" to leave the
// links out. A customer link is a bearer credential that acts (it cancels and reschedules
// through the self-service pages and joins the call), so only a key that may change
// appointments (appointments:write) is shown it; a read-only integration sees the rest.
func (s *server) linkBase(r *http.Request) string {
	if !apiKey(r.Context()).HasScope(rendezvous.ScopeAppointmentsWrite) {
		return ""
	}
	return s.publicURL(r)
}

// writeJSON writes v as a JSON response. Responses can carry personal data and customer
// links, so shared caches must not keep them.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Every response type is plain data; a failure here is a programming error.
		panic(fmt.Sprintf("encode response: %v", err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// zoneOrUTC returns the named zone (rendezvous.LoadZone caches them), or UTC for a zone
// this binary does not know (it was valid when stored, but the zone database may differ).
func zoneOrUTC(name string) *time.Location {
	loc, err := rendezvous.LoadZone(name)
	if err != nil {
		return time.UTC
	}
	return loc
}
