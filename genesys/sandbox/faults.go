package sandbox

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Fault is a failure injected into matching requests, for tests and load runs. It applies
// to the Genesys surface (login, API, web messaging), never to /sandbox/.
type Fault struct {
	// Method matches the request method; empty matches any.
	Method string
	// PathPrefix matches the start of the request path; empty matches any.
	PathPrefix string
	// Count is how many matching requests the fault hits: 0 means one, negative means
	// every one until ClearFaults.
	Count int
	// Latency delays the answer, on the sandbox clock (a fake clock must be moved).
	Latency time.Duration
	// Status, when set, replaces the answer with a Genesys error of that status (5xx, 429...).
	Status int
	// RetryAfter goes into the Retry-After header of a 429 (or 503); 0 means 1 s.
	RetryAfter time.Duration
}

type activeFault struct {
	Fault
	left int // remaining hits; negative is unlimited
}

// InjectFault adds a fault. Faults are checked in the order they were added; the first
// match with hits left applies.
func (s *Sandbox) InjectFault(f Fault) {
	left := f.Count
	if left == 0 {
		left = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, &activeFault{Fault: f, left: left})
	s.notifyLocked()
	s.mu.Unlock()
}

// ClearFaults removes every injected fault.
func (s *Sandbox) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.notifyLocked()
	s.mu.Unlock()
}

// Faults lists the faults still pending.
func (s *Sandbox) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		v := f.Fault
		v.Count = f.left
		out = append(out, v)
	}
	return out
}

// takeFault returns the fault that applies to r, consuming one hit.
func (s *Sandbox) takeFault(r *http.Request) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method != "" && !strings.EqualFold(f.Method, r.Method)) || !strings.HasPrefix(r.URL.Path, f.PathPrefix) {
			continue
		}
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return f.Fault, true
	}
	return Fault{}, false
}

// withFaults applies injected faults before the request reaches its handler.
func (s *Sandbox) withFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/sandbox/") {
			next.ServeHTTP(w, r)
			return
		}
		f, ok := s.takeFault(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		s.log.Info("sandbox fault injected", "method", r.Method, "path", r.URL.Path, "status", f.Status, "latency", f.Latency)
		if f.Latency > 0 {
			done := make(chan struct{})
			t := s.clock.AfterFunc(f.Latency, func() { close(done) })
			select {
			case <-done:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if f.Status == 0 {
			next.ServeHTTP(w, r)
			return
		}
		var retryAfter time.Duration
		if f.Status == http.StatusTooManyRequests || f.Status == http.StatusServiceUnavailable {
			retryAfter = f.RetryAfter
			if retryAfter <= 0 {
				retryAfter = time.Second
			}
		}
		code := codeServerError
		switch {
		case f.Status == http.StatusTooManyRequests:
			code = codeTooManyRequests
		case f.Status == http.StatusServiceUnavailable:
			code = codeUnavailable
		case f.Status < 500:
			code = codeBadRequest
		}
		s.writeAPIError(w, r, &apiError{status: f.Status, code: code, retryAfter: retryAfter,
			message: fmt.Sprintf("Injected fault: %d %s.", f.Status, http.StatusText(f.Status))})
	})
}
