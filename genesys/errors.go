package genesys

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"rendezvous"
)

// ErrorBody is the JSON error document Genesys Cloud returns with a non-2xx status.
type ErrorBody struct {
	Message           string            `json:"message,omitempty"`
	Code              string            `json:"code,omitempty"`
	Status            int               `json:"status,omitempty"`
	EntityID          string            `json:"entityId,omitempty"`
	EntityName        string            `json:"entityName,omitempty"`
	MessageWithParams string            `json:"messageWithParams,omitempty"`
	MessageParams     map[string]string `json:"messageParams,omitempty"`
	ContextID         string            `json:"contextId,omitempty"`
	Details           []ErrorDetail     `json:"details,omitempty"`
	Errors            []ErrorBody       `json:"errors,omitempty"`
}

// ErrorDetail is one entry of ErrorBody.Details.
type ErrorDetail struct {
	ErrorCode  string `json:"errorCode,omitempty"`
	FieldName  string `json:"fieldName,omitempty"`
	EntityID   string `json:"entityId,omitempty"`
	EntityName string `json:"entityName,omitempty"`
}

// APIError is a non-2xx answer of the Genesys Cloud platform API. Use errors.As to reach
// it; errors.Is matches it against rendezvous.ErrNotFound (404), ErrForbidden (403),
// ErrUnauthenticated (401) and ErrRateLimited (429).
type APIError struct {
	// Op names the call, for example "send sms".
	Op string
	// Status is the HTTP status code.
	Status int
	// CorrelationID is the Inin-Correlation-Id header; Genesys support asks for it.
	CorrelationID string
	// RetryAfter is the parsed Retry-After header (429 and some 503), zero when absent.
	RetryAfter time.Duration
	// Body is the decoded error document; Raw holds the body when it was not JSON.
	Body ErrorBody
	Raw  string
	// Ambiguous is set when the request was a non-idempotent send that Genesys may have
	// acted on despite the error (a 5xx after the body was delivered).
	Ambiguous bool
}

// Error reports the operation, status, Genesys message and correlation id.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "genesys: %s: %d %s", e.Op, e.Status, http.StatusText(e.Status))
	msg := e.Body.Message
	if msg == "" {
		msg = e.Raw
	}
	if e.Body.Code != "" {
		fmt.Fprintf(&b, " [%s]", e.Body.Code)
	}
	if msg != "" {
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		fmt.Fprintf(&b, ": %s", msg)
	}
	if e.CorrelationID != "" {
		fmt.Fprintf(&b, " (correlation id %s)", e.CorrelationID)
	}
	return b.String()
}

// Is lets errors.Is match the domain's error kinds.
func (e *APIError) Is(target error) bool {
	switch target {
	case rendezvous.ErrNotFound:
		return e.Status == http.StatusNotFound
	case rendezvous.ErrForbidden:
		return e.Status == http.StatusForbidden
	case rendezvous.ErrUnauthenticated:
		return e.Status == http.StatusUnauthorized
	case rendezvous.ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	}
	return false
}

// OAuthError is a refusal of the login host's token endpoint, for example
// invalid_client when the client id or secret is wrong.
type OAuthError struct {
	Status           int
	Code             string // the "error" field, e.g. invalid_client, invalid_grant
	Description      string // the "error_description" field
	CorrelationID    string
	temporaryFailure bool
}

// Error reports the OAuth error code and description.
func (e *OAuthError) Error() string {
	s := fmt.Sprintf("genesys: oauth token: %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	if e.CorrelationID != "" {
		s += " (correlation id " + e.CorrelationID + ")"
	}
	return s
}

// Is matches rendezvous.ErrUnauthenticated for rejected credentials.
func (e *OAuthError) Is(target error) bool {
	return target == rendezvous.ErrUnauthenticated && !e.temporaryFailure
}

// InvalidClient reports whether the client id or secret was rejected.
func (e *OAuthError) InvalidClient() bool {
	return e.Code == "invalid_client" || e.Code == "unauthorized_client" || (e.Code == "" && e.Status == http.StatusUnauthorized)
}

// TransportError is a failure to get an HTTP answer at all (connection refused, reset,
// timeout). Sent tells whether the request headers had left this process, that is whether
// Genesys could have acted on the request.
type TransportError struct {
	Op   string
	Sent bool
	Err  error
}

// Error reports the operation, whether the request was sent, and the cause.
func (e *TransportError) Error() string {
	state := "before sending"
	if e.Sent {
		state = "after sending"
	}
	return fmt.Sprintf("genesys: %s: transport failure %s: %v", e.Op, state, e.Err)
}

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }

// ErrorKind tells a durable job queue what to do with a failed call.
type ErrorKind int

const (
	// KindNone is the kind of a nil error.
	KindNone ErrorKind = iota
	// KindPermanent: retrying cannot help (400, 401 after a token renewal, 403, 404,
	// 501, invalid OAuth client, local validation).
	KindPermanent
	// KindRetryAfter: Genesys refused for rate reasons and did not act; retry after the
	// returned duration.
	KindRetryAfter
	// KindTransient: Genesys did not act or the call is idempotent; retry with backoff.
	KindTransient
	// KindAmbiguous: a non-idempotent send (SMS, email, callback creation) may have been
	// accepted; re-sending may duplicate it. The caller decides (the product records the
	// attempt as "unknown" and does not re-send automatically).
	KindAmbiguous
)

// String names the kind for logs.
func (k ErrorKind) String() string {
	switch k {
	case KindNone:
		return "none"
	case KindPermanent:
		return "permanent"
	case KindRetryAfter:
		return "retry_after"
	case KindTransient:
		return "transient"
	case KindAmbiguous:
		return "ambiguous"
	}
	return fmt.Sprintf("ErrorKind(%d)", int(k))
}

// Classify sorts an error returned by this package into the kind a durable job queue acts
// on, with the wait Genesys asked for when the kind is KindRetryAfter (zero otherwise, or
// when Genesys sent no Retry-After). A queue lookup that found no such queue is permanent.
// Errors this package did not produce are transient, except context cancellation of a send
// that had left, which is ambiguous.
func Classify(err error) (ErrorKind, time.Duration) {
	if err == nil {
		return KindNone, 0
	}
	var ae *APIError
	if errors.As(err, &ae) {
		switch {
		case ae.Status == http.StatusTooManyRequests:
			return KindRetryAfter, ae.RetryAfter
		case ae.Ambiguous:
			return KindAmbiguous, 0
		case ae.Status >= 500 && ae.Status != http.StatusNotImplemented:
			if ae.RetryAfter > 0 {
				return KindRetryAfter, ae.RetryAfter
			}
			return KindTransient, 0
		case ae.Status == http.StatusRequestTimeout:
			return KindTransient, 0
		default:
			return KindPermanent, 0
		}
	}
	var pe *PacedError
	if errors.As(err, &pe) {
		return KindRetryAfter, pe.Wait
	}
	if errors.Is(err, rendezvous.ErrNotConnected) {
		return KindPermanent, 0
	}
	var oe *OAuthError
	if errors.As(err, &oe) {
		if oe.temporaryFailure {
			return KindTransient, 0
		}
		return KindPermanent, 0
	}
	var te *TransportError
	if errors.As(err, &te) {
		if te.Sent {
			return KindAmbiguous, 0
		}
		return KindTransient, 0
	}
	var ge *GuestError
	if errors.As(err, &ge) {
		switch {
		case ge.Code == GuestCodeTooManyRequests:
			return KindRetryAfter, ge.RetryAfter
		case ge.Code >= 5000, ge.Code >= 500 && ge.Code < 600:
			return KindTransient, 0
		default:
			return KindPermanent, 0
		}
	}
	// An answer that the thing looked up does not exist (a queue name no queue has) will
	// not change by asking again.
	if errors.Is(err, ErrAttributesTooLarge) || errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrQueueNotFound) {
		return KindPermanent, 0
	}
	if errors.Is(err, ErrGuestDisconnected) {
		return KindAmbiguous, 0
	}
	return KindTransient, 0
}

// ErrInvalidRequest is wrapped by errors for requests refused locally before any call
// (a missing required field, a subject that is too long); it is KindPermanent.
var ErrInvalidRequest = errors.New("invalid genesys request")

func invalid(op, format string, args ...any) error {
	return fmt.Errorf("genesys: %s: %w: %s", op, ErrInvalidRequest, fmt.Sprintf(format, args...))
}
