package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"rendezvous"
	"rendezvous/auditcsv"
	"rendezvous/retention"
	"rendezvous/store"
)

// auditEntryJSON is one audit log entry as the API shows it.
type auditEntryJSON struct {
	ID      int64                    `json:"id"`
	At      string                   `json:"at"`
	Actor   auditActorJSON           `json:"actor"`
	Action  string                   `json:"action"`
	Target  auditTargetJSON          `json:"target"`
	Version int                      `json:"version,omitempty"`
	Changes []rendezvous.FieldChange `json:"changes"`
}

type auditActorJSON struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

type auditTargetJSON struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func toAuditJSON(e rendezvous.AuditEntry) auditEntryJSON {
	out := auditEntryJSON{ID: e.ID, At: formatTime(e.At), Actor: auditActorJSON{Type: e.Actor.Kind, ID: e.Actor.ID, Name: e.Actor.Name},
		Action: e.Action, Target: auditTargetJSON{Type: e.TargetType, ID: e.TargetID}, Version: e.Version, Changes: e.Changes}
	if out.Changes == nil {
		out.Changes = []rendezvous.FieldChange{}
	}
	return out
}

// auditFilter reads the audit log's query parameters.
func auditFilter(r *http.Request, maxLimit int) (store.AuditFilter, error) {
	q := r.URL.Query()
	var p rendezvous.Problems
	f := store.AuditFilter{ActorID: q.Get("actorId"), Action: q.Get("action"), TargetType: q.Get("targetType"),
		TargetID: q.Get("targetId"), Cursor: q.Get("cursor")}
	if v := q.Get("actorType"); v != "" {
		switch v {
		case rendezvous.ActorPerson, rendezvous.ActorAPIKey, rendezvous.ActorCustomer, rendezvous.ActorSystem:
			f.ActorKind = v
		default:
			p.Add("actorType", "%q is not one of person, api_key, customer, system", v)
		}
	}
	f.From = parseTime(&p, "from", q.Get("from"))
	f.To = parseTime(&p, "to", q.Get("to"))
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		p.Add("to", "must be after from")
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			p.Add("limit", "must be a whole number from 1 to %d", maxLimit)
		}
		f.Limit = n
	}
	for _, v := range []string{f.ActorID, f.Action, f.TargetType, f.TargetID} {
		if len(v) > 200 || strings.ContainsRune(v, 0) {
			p.Add("filter", "a filter value is longer than 200 characters or holds a NUL")
			break
		}
	}
	return f, p.Err()
}

// handleAuditList serves GET /api/v1/settings/audit: the audit log, newest first,
// filtered by the query.
func (s *server) handleAuditList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := auditFilter(r, 200)
		if err != nil {
			s.error(w, r, err)
			return
		}
		es, next, err := s.Store.AuditLog(r.Context(), apiKey(r.Context()).OrgID, f)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := struct {
			Items []auditEntryJSON `json:"items"`
			Next  string           `json:"next,omitempty"`
		}{Items: []auditEntryJSON{}, Next: next}
		for _, e := range es {
			out.Items = append(out.Items, toAuditJSON(e))
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// handleAuditExport serves GET /api/v1/settings/audit.csv: the filtered audit log as CSV,
// newest first (auditcsv, shared with the administration page's export).
func (s *server) handleAuditExport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := auditFilter(r, store.MaxAuditLimit)
		if err != nil {
			s.error(w, r, err)
			return
		}
		org := apiKey(r.Context()).OrgID
		f.Limit = store.MaxAuditLimit
		es, next, err := s.Store.AuditLog(r.Context(), org, f)
		if err != nil {
			s.error(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="audit-log.csv"`)
		page := func(ctx context.Context, cursor string) ([]rendezvous.AuditEntry, string, error) {
			f.Cursor = cursor
			return s.Store.AuditLog(ctx, org, f)
		}
		if err := auditcsv.Write(r.Context(), w, es, next, page); err != nil {
			// The header is sent; the cut shows as a last line rather than a status.
			s.log.ErrorContext(r.Context(), "audit export failed", "request_id", requestID(r.Context()), "error", err)
		}
	})
}

func (s *server) withRetention(h func(svc *retention.Service) http.HandlerFunc) http.Handler {
	if s.Retention == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.error(w, r, fmt.Errorf("data retention is not wired into this server"))
		})
	}
	return h(s.Retention)
}

// handleRetentionGet serves GET /api/v1/settings/data-retention.
func (s *server) handleRetentionGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		days, err := s.Store.RetentionDays(r.Context(), apiKey(r.Context()).OrgID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"retentionDays": days})
	})
}

// handleRetentionPut serves PUT /api/v1/settings/data-retention.
func (s *server) handleRetentionPut() http.Handler {
	return s.withRetention(func(svc *retention.Service) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var in struct {
				RetentionDays *int `json:"retentionDays"`
			}
			if err := s.decodeJSON(w, r, &in, false); err != nil {
				s.error(w, r, err)
				return
			}
			if in.RetentionDays == nil {
				s.error(w, r, &rendezvous.ValidationError{Problems: []rendezvous.FieldProblem{{Field: "retentionDays", Message: "is required (0 keeps personal data)"}}})
				return
			}
			if err := svc.SetDays(r.Context(), apiKey(r.Context()).OrgID, *in.RetentionDays); err != nil {
				s.error(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]int{"retentionDays": *in.RetentionDays})
		}
	})
}

type erasureJSON struct {
	ID           string `json:"id"`
	State        string `json:"state"`
	Appointments int    `json:"appointments"`
	RequestedAt  string `json:"requestedAt"`
	DoneAt       string `json:"doneAt,omitempty"`
}

func (s *server) erasureAnswer(w http.ResponseWriter, r *http.Request, status int, id string) {
	e, err := s.Store.Erasure(r.Context(), apiKey(r.Context()).OrgID, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, status, erasureJSON{ID: e.ID, State: e.State, Appointments: e.Appointments, RequestedAt: formatTime(e.RequestedAt), DoneAt: formatTime(e.DoneAt)})
}

// handleErasureCreate serves POST /api/v1/settings/data-retention/erasures: erase one
// customer's personal data, matched by phone or email, by a job; the answer (202) is the
// request to follow.
func (s *server) handleErasureCreate() http.Handler {
	return s.withRetention(func(svc *retention.Service) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var in store.CustomerMatch
			if err := s.decodeJSON(w, r, &in, false); err != nil {
				s.error(w, r, err)
				return
			}
			id, err := svc.RequestErasure(r.Context(), apiKey(r.Context()).OrgID, in)
			if err != nil {
				s.error(w, r, err)
				return
			}
			w.Header().Set("Location", "/api/v1/settings/data-retention/erasures/"+id)
			s.erasureAnswer(w, r, http.StatusAccepted, id)
		}
	})
}

// handleErasureGet serves GET /api/v1/settings/data-retention/erasures/{id}.
func (s *server) handleErasureGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.erasureAnswer(w, r, http.StatusOK, r.PathValue("id"))
	})
}
