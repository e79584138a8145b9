package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"rendezvous"
	"rendezvous/store"
)

// problem is an RFC 9457 problem details document. Type URIs are relative to the server
// (RFC 9457 allows that), so they resolve to this deployment's documentation of the error.
type problem struct {
	Type     string                    `json:"type"`
	Title    string                    `json:"title"`
	Status   int                       `json:"status"`
	Detail   string                    `json:"detail,omitempty"`
	Instance string                    `json:"instance,omitempty"`
	Errors   []rendezvous.FieldProblem `json:"errors,omitempty"`
	// CorrelationID matches the server's log line for this request, so a support request
	// can find the cause that is logged but never shown.
	CorrelationID string `json:"correlationId,omitempty"`
}

// requestError is a request the server could not read at all: malformed JSON, an unknown
// field, a value of the wrong JSON type, a body too large, a bad header. It is reported
// with its own status (400 unless set) and, when known, the field at fault.
type requestError struct {
	status int
	field  string
	msg    string
}

func (e *requestError) Error() string {
	if e.field == "" {
		return e.msg
	}
	return e.field + ": " + e.msg
}

// badRequest returns a 400 requestError about field ("" for the request as a whole).
func badRequest(field, format string, args ...any) error {
	return &requestError{status: http.StatusBadRequest, field: field, msg: fmt.Sprintf(format, args...)}
}

// kind is one row of the table from error to HTTP status.
type kind struct {
	err    error
	status int
	typ    string
	title  string
	// detail is shown when the error carries no detail of its own
	// (rendezvous.WithDetail): the error's text is a chain of context for the log.
	detail string
}

// kinds maps every domain error kind to its HTTP status and problem type: the one place
// where that decision is made. Order matters only if an error wraps two kinds; the first
// match wins.
var kinds = []kind{
	{rendezvous.ErrUnauthenticated, http.StatusUnauthorized, "/problems/unauthenticated", "Authentication required",
		"Send a valid API key as Authorization: Bearer <key>."},
	{rendezvous.ErrForbidden, http.StatusForbidden, "/problems/forbidden", "Not allowed",
		"This API key may not do this."},
	{rendezvous.ErrNotFound, http.StatusNotFound, "/problems/not-found", "Not found",
		"Nothing with this id exists in your organization."},
	{rendezvous.ErrStaleVersion, http.StatusPreconditionFailed, "/problems/stale-version", "Stale version",
		"The resource changed since you read it. Read it again, then retry your change."},
	{rendezvous.ErrConflict, http.StatusConflict, "/problems/conflict", "Conflict",
		"The request conflicts with the resource's current state."},
	{rendezvous.ErrRateLimited, http.StatusTooManyRequests, "/problems/rate-limited", "Too many requests",
		"Too many requests. Retry after the number of seconds in Retry-After."},
	{rendezvous.ErrNotConnected, http.StatusConflict, "/problems/not-connected", "Genesys Cloud not connected",
		"The organization has no Genesys Cloud connection for this; an operator connects it with rendezvous org connect."},
	{rendezvous.ErrUnavailable, http.StatusServiceUnavailable, "/problems/unavailable", "Temporarily unavailable",
		"Genesys Cloud could not be asked just now. Try again in a moment."},
}

// problemFor turns err into problem details. It keeps the words shown to callers apart
// from the causes that are logged: an error's text is a chain of context ("create
// appointment: agent … already has appointment …: conflict") that may carry ids, SQL or
// file paths. The detail is the sentence attached with rendezvous.WithDetail, else the
// kind's own sentence; a 500 says only how to report it.
func (s *server) problemFor(r *http.Request, err error) problem {
	var re *requestError
	if errors.As(err, &re) {
		p := problem{Type: "/problems/bad-request", Title: "Bad request", Status: re.status, Detail: re.Error()}
		switch re.status {
		case http.StatusRequestEntityTooLarge:
			p.Type, p.Title = "/problems/too-large", "Request body too large"
		case http.StatusUnsupportedMediaType:
			p.Type, p.Title = "/problems/unsupported-media-type", "Unsupported media type"
		}
		if re.field != "" {
			p.Errors = []rendezvous.FieldProblem{{Field: re.field, Message: re.msg}}
		}
		return p
	}
	var ve *rendezvous.ValidationError
	if errors.As(err, &ve) {
		return problem{
			Type:   "/problems/validation",
			Title:  "Invalid input",
			Status: http.StatusUnprocessableEntity,
			Detail: fmt.Sprintf("%d field(s) need attention; see errors", len(ve.Problems)),
			Errors: ve.Problems,
		}
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			p := problem{Type: k.typ, Title: k.title, Status: k.status, Detail: k.detail}
			var de *rendezvous.DetailError
			if errors.As(err, &de) {
				p.Detail = de.Detail
			}
			return p
		}
	}
	if errors.Is(err, errDraining) {
		return problem{Type: "/problems/unavailable", Title: "Service unavailable", Status: http.StatusServiceUnavailable,
			Detail: "This instance is shutting down and started nothing for this request; send it again."}
	}
	if why, ok := store.Unavailable(err); ok {
		return problem{Type: "/problems/unavailable", Title: "Service unavailable", Status: http.StatusServiceUnavailable,
			Detail:        fmt.Sprintf("Nothing was saved: %s. Send the request again in a few seconds.", why),
			CorrelationID: requestID(r.Context())}
	}
	return problem{
		Type:          "/problems/internal",
		Title:         "Internal error",
		Status:        http.StatusInternalServerError,
		Detail:        "The server failed to handle the request. Quote the correlation id when reporting it.",
		CorrelationID: requestID(r.Context()),
	}
}

// error writes err as problem details. Server errors are logged with their cause; client
// errors are the caller's business and are logged at debug level only.
func (s *server) error(w http.ResponseWriter, r *http.Request, err error) {
	if clientGone(r) {
		s.log.DebugContext(r.Context(), "client closed the request", "request_id", requestID(r.Context()),
			"method", r.Method, "route", r.Pattern, "error", err)
		w.WriteHeader(StatusClientClosed) // recorded by observe; the client reads nothing
		return
	}
	p := s.problemFor(r, err)
	if p.Status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "request_id", requestID(r.Context()),
			"method", r.Method, "route", r.Pattern, "error", err)
	} else {
		// Only field names: validation messages may quote what the caller sent, and that
		// can be a phone number or an email address.
		fields := make([]string, len(p.Errors))
		for i, fp := range p.Errors {
			fields[i] = fp.Field
		}
		// The cause, except of a validation error (whose messages may quote input).
		var cause string
		if len(p.Errors) == 0 {
			cause = err.Error()
		}
		s.log.DebugContext(r.Context(), "request refused", "request_id", requestID(r.Context()),
			"route", r.Pattern, "status", p.Status, "type", p.Type, "fields", fields, "cause", cause)
	}
	if p.Status != http.StatusInternalServerError {
		p.Instance = r.URL.Path
	}
	switch p.Status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="rendezvous"`)
	case http.StatusServiceUnavailable:
		// Genesys Cloud or the database did not answer, or this instance is stopping:
		// a short wait is the honest estimate.
		w.Header().Set("Retry-After", strconv.Itoa(unavailableRetryAfter))
	case http.StatusTooManyRequests:
		var rl *retryAfterError
		secs := 1
		if errors.As(err, &rl) {
			secs = rl.seconds
			if rl.what != "" {
				// Says which allowance ran out: a key's, a network's, a web site's.
				p.Detail = fmt.Sprintf("%s%s. Retry after the number of seconds in Retry-After.", strings.ToUpper(rl.what[:1]), rl.what[1:])
			}
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	writeProblem(w, p)
}

// errDraining refuses a request that arrives while the process shuts down.
var errDraining = errors.New("shutting down")

// unavailableRetryAfter is the Retry-After, in seconds, of a 503: long enough for a
// restarted instance or a database failover, short enough not to lose the client.
const unavailableRetryAfter = 5

// retryAfterError is a rate-limit refusal that knows when to come back.
type retryAfterError struct {
	seconds int
	// what was refused, in words true for the caller (lower case, no full stop); ""
	// means requests of an API key over its rate limit.
	what string
}

func (e *retryAfterError) Error() string {
	what := e.what
	if what == "" {
		what = "too many requests for this API key"
	}
	return fmt.Sprintf("%s; retry in %d s", what, e.seconds)
}

func (e *retryAfterError) Unwrap() error { return rendezvous.ErrRateLimited }

func writeProblem(w http.ResponseWriter, p problem) {
	body, err := json.Marshal(p)
	if err != nil {
		// A problem is plain strings and ints; this cannot happen.
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	w.Write(append(body, '\n'))
}
