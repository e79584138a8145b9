package rendezvous

import (
	"errors"
	"fmt"
	"strings"
)

// Error kinds. Wrap them with context (fmt.Errorf("reschedule %s: %w", id, ErrConflict));
// the web layer maps each kind to one HTTP status in one place.
var (
	// ErrNotFound means the record does not exist in the caller's organization.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the change collides with existing state (an overlapping
	// appointment, a reused idempotency key with another body, a forbidden transition).
	ErrConflict = errors.New("conflict")
	// ErrQueueFull is the conflict of a booking for a queue whose availability schedule
	// has no place left at that time (its capacity, or every agent of the queue busy).
	ErrQueueFull = fmt.Errorf("queue fully booked: %w", ErrConflict)
	// ErrStaleVersion means the caller's If-Match version is not the current one.
	ErrStaleVersion = errors.New("stale version")
	// ErrUnauthenticated means no valid credentials were presented.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden means the credentials are valid but lack the right to do this.
	ErrForbidden = errors.New("forbidden")
	// ErrRateLimited means the caller must slow down.
	ErrRateLimited = errors.New("rate limited")
	// ErrUnavailable means a service the request depends on (Genesys Cloud) could not be
	// asked just now; the same request may succeed in a moment.
	ErrUnavailable = errors.New("temporarily unavailable")
)

// FieldProblem is one actionable problem with one input field. Field is a JSON pointer-like
// path such as "customers[0].phone".
type FieldProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError carries every problem found in an input, so a person can fix them all at
// once instead of one per round trip.
type ValidationError struct {
	Problems []FieldProblem
}

// Error lists the problems on one line.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Problems collects field problems while validating.
type Problems struct {
	list []FieldProblem
}

// Add records a problem with field.
func (p *Problems) Add(field, format string, args ...any) {
	p.list = append(p.list, FieldProblem{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Empty reports whether no problem was recorded.
func (p *Problems) Empty() bool { return len(p.list) == 0 }

// Err returns a *ValidationError holding the problems, or nil when there are none.
func (p *Problems) Err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: append([]FieldProblem(nil), p.list...)}
}

// DetailError pairs an error with the sentence its caller is shown (an API problem's
// detail). The error itself, with its whole chain of context, goes to the log; the
// detail is written for the person using the API and says what to do, without internal
// wording. Create one with WithDetail; wrapping it further keeps the detail findable.
type DetailError struct {
	Detail string
	Err    error
}

// Error is the cause, for logs.
func (e *DetailError) Error() string { return e.Err.Error() }

// Unwrap returns the cause, so errors.Is still finds its kind.
func (e *DetailError) Unwrap() error { return e.Err }

// WithDetail returns err with the sentence shown to the API's users (format and args as
// for fmt.Sprintf). The kind of err (ErrConflict, ...) still decides the status.
func WithDetail(err error, format string, args ...any) error {
	return &DetailError{Detail: fmt.Sprintf(format, args...), Err: err}
}
