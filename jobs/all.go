package jobs

import (
	"context"
	"errors"
	"time"

	"rendezvous/store"
)

// All returns a handler that runs every one of handlers, in order, on each attempt of a
// job, so that one job serves several parts of the service: each part does its share
// even when an earlier one fails. They must all be idempotent, since a retry runs them
// all again.
//
// The job succeeds when every handler did. It fails for good only when every failure was
// permanent (Permanent); otherwise it is retried, after the longest delay any of them
// asked for with Retry or RetryAfter, or with the usual backoff. Its last error names
// every failure.
func All(handlers ...Handler) Handler {
	return func(ctx context.Context, j *store.Job) error {
		var errs []error
		transient := false
		var after time.Duration
		asked := false
		for _, h := range handlers {
			err := safeCall(ctx, h, j)
			if err == nil {
				continue
			}
			errs = append(errs, err)
			var perm *permanentError
			if !errors.As(err, &perm) {
				transient = true
			}
			var re *retryError
			if errors.As(err, &re) {
				asked, after = true, max(after, re.after)
			}
		}
		err := errors.Join(errs...)
		switch {
		case err == nil || !transient:
			return err // nil, or only permanent failures: the runner finds one and stops
		case asked:
			return &retryError{after: after, err: transientError{err}}
		default:
			return transientError{err}
		}
	}
}

// transientError carries a joined error's text without letting the runner find a
// permanent failure inside it: one part failing for good must not stop the retries that
// another part's passing failure needs.
type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
