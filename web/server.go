// Package web is Rendezvous's HTTP surface: the REST API under /api/v1 with its OpenAPI
// document, health and readiness probes, Prometheus metrics, the home page, the customer's
// link pages (served by package journey) and the video room (served by package room).
//
// Every route is listed in routes.go. Handlers are methods of server that return an
// http.Handler, one file per area (appointments.go, health.go, ...). Errors from the
// domain are turned into RFC 9457 problem details in exactly one place, errors.go.
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"rendezvous/clock"
	"rendezvous/hostcheck"
	"rendezvous/journey"
	"rendezvous/linkguard"
	"rendezvous/notify"
	"rendezvous/retention"
	"rendezvous/room"
	"rendezvous/store"
	"rendezvous/webhook"
	"rendezvous/widget"
)

// Deps is everything the HTTP layer needs, wired in cmd/internal/wiring. Areas that add
// handlers to this package add their dependencies here as fields.
type Deps struct {
	// Store is the database. Required.
	Store *store.Store
	// Logger receives request and error logs. Nil discards them.
	Logger *slog.Logger
	// Clock is the time source for validation ("is this start in the future?"). Nil
	// means the real clock.
	Clock clock.Clock
	// PublicURL is the base URL customers reach this service on, for the links in
	// responses (for example "https://meet.example.com"). No trailing slash.
	PublicURL string
	// Registry receives the HTTP, database and job-queue metrics and is what /metrics
	// serves. Nil means a fresh registry.
	Registry *prometheus.Registry
	// RateLimit is how many API requests per second one API key may make on average,
	// with bursts of RateBurst. Zero means unlimited.
	RateLimit rate.Limit
	// RateBurst is the largest burst one API key may make. Zero means 2×RateLimit.
	RateBurst int
	// MaxBodyBytes caps request bodies. Zero means 64 KiB, ample for an appointment.
	MaxBodyBytes int64
	// KeyCacheTTL is how long an authenticated API key is trusted without asking the
	// database again, so also how long a revoked key may keep working. Zero means 10 s;
	// negative turns the cache off.
	KeyCacheTTL time.Duration
	// Journey serves the scheduling settings API and the customer's link pages (/a/{token}).
	// Nil leaves those routes answering 500.
	Journey *journey.Service
	// Rooms serves the video room: agent and customer room pages, signaling, the room
	// script, and the video settings API.
	Rooms *room.Rooms
	// Notify serves the notification settings, templates, delivery log and .ics files.
	// Nil leaves those routes answering 500.
	Notify *notify.Service
	// Webhooks manages webhook subscriptions and their delivery logs. Nil leaves those
	// routes answering 500.
	Webhooks *webhook.Service
	// Retention serves the data retention settings and erasure requests. Nil leaves those
	// routes answering 500.
	Retention *retention.Service
	// Widget serves the self-scheduling widget (its script and page) and decides its
	// public endpoints: availability without a key, challenges, bookings. Nil leaves
	// those answering 500; keyed availability needs it too.
	Widget *widget.Service
	// Sandbox is the base URL of the built-in Genesys Cloud sandbox when it stands in for
	// a real organization, linked from the home page; "" otherwise.
	Sandbox string
	// Hosts are the host names this service answers to (hostcheck.New with the public
	// and instance URLs); requests naming another get 421, against DNS rebinding. The zero
	// value answers any host.
	Hosts hostcheck.Hosts
	// LinkGuard counts unknown link tokens per client on every route that takes one (the
	// .ics file, both room pages and their sockets; the journey gets the same guard) and
	// slows the guessers. Nil makes one that trusts no proxy.
	LinkGuard *linkguard.Guard
	// AgentFrameAncestors are the origins allowed to show the agent's room in a frame:
	// Genesys Cloud's desktop (https://apps.<region domain>), or the sandbox. Every other
	// page may be framed by nobody.
	AgentFrameAncestors []string
	// SeparateOps leaves /metrics off this handler: it is served by NewOpsHandler on the
	// operations listener instead (-ops-addr), away from the customers' address.
	SeparateOps bool
	// APIInFlight, when set, counts the REST API requests being served (not the pages,
	// WebSockets and waiting rooms, which last minutes), so that the job runner can yield
	// to them (jobs.RunnerOptions.Busy).
	APIInFlight *atomic.Int64
	// Draining, when it reports true, means the process is shutting down: every new
	// request is refused with 503 and Retry-After before any work starts (requests
	// already running finish), and /readyz says not ready, so that load balancers move
	// on and clients retry elsewhere.
	Draining func() bool
}

// server holds the wired dependencies; its methods are the handlers.
type server struct {
	Deps
	log     *slog.Logger
	clock   clock.Clock
	maxBody int64
	metrics *httpMetrics
	limits  *keyLimiters
	keys    *keyCache
	// idPrefix and idSeq make request ids that are unique across restarts without a
	// crypto/rand read per request.
	idPrefix string
	idSeq    atomic.Uint64
}

// NewServer returns the HTTP handler for the whole service.
func NewServer(d Deps) http.Handler {
	s := &server{Deps: d, log: d.Logger, clock: d.Clock, maxBody: d.MaxBodyBytes}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = clock.Real()
	}
	if s.maxBody <= 0 {
		s.maxBody = 64 << 10
	}
	if s.Registry == nil {
		s.Registry = prometheus.NewRegistry()
	}
	s.metrics = newHTTPMetrics(s.Registry, s.Store)
	s.limits = newKeyLimiters(d.RateLimit, d.RateBurst)
	ttl := d.KeyCacheTTL
	if ttl == 0 {
		ttl = 10 * time.Second
	}
	s.keys = newKeyCache(ttl)
	if s.LinkGuard == nil {
		s.LinkGuard = linkguard.New(linkguard.Options{})
	}
	var b [4]byte
	rand.Read(b[:])
	s.idPrefix = hex.EncodeToString(b[:])

	mux := http.NewServeMux()
	s.routes(mux)
	return s.observe(mux)
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	apiKeyKey
)

// requestID returns the correlation id of the request in ctx.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// observe wraps the mux: it gives each request a correlation id, recovers panics into
// a 500, and records metrics and a debug log line labelled by route pattern. The pattern,
// never the path, because paths carry ids and customers' link tokens.
func (s *server) observe(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := s.idPrefix + "-" + strconv.FormatUint(s.idSeq.Add(1), 36)
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
		sw := &statusWriter{ResponseWriter: w}
		if !s.edge(sw, r) {
			s.metrics.observe("unmatched", sw.status, time.Since(start))
			return
		}
		if s.Draining != nil && s.Draining() && r.URL.Path != "/healthz" && r.URL.Path != "/readyz" {
			sw.Header().Set("Connection", "close")
			s.error(sw, r, errDraining)
			s.metrics.observe("draining", http.StatusServiceUnavailable, time.Since(start))
			return
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.error(sw, r, fmt.Errorf("panic: %v", p))
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			if status >= 500 && clientGone(r) {
				// The failure followed from the client hanging up (a cancelled database
				// read, a write to a closed connection): not the server's fault.
				status = StatusClientClosed
			}
			// ServeMux sets r.Pattern on this same request when it matches a route.
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			elapsed := time.Since(start)
			s.metrics.observe(route, status, elapsed)
			s.log.DebugContext(r.Context(), "request", "request_id", id, "method", r.Method,
				"route", route, "status", status, "duration_ms", float64(elapsed.Microseconds())/1000)
		}()
		mux.ServeHTTP(sw, r)
	})
}

// StatusClientClosed is the status recorded (in metrics and the debug log) for a request
// whose client hung up before it was answered, as nginx's 499 "client closed request".
// Such a request is neither a server error (500) nor logged at ERROR level; what the
// client was sent, if anything, no longer matters.
const StatusClientClosed = 499

// clientGone reports whether the client of r has hung up: its context was cancelled.
// (net/http cancels it when the connection closes; server shutdown does not.)
func clientGone(r *http.Request) bool {
	return errors.Is(r.Context().Err(), context.Canceled)
}

// statusWriter remembers the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		withBaselineCSP(w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
		withBaselineCSP(w.Header())
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (flush, hijack for
// websockets, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// NewOpsHandler returns the handler of the operations listener (-ops-addr): /metrics,
// /healthz and /readyz, for Prometheus and the orchestrator, on an address customers do
// not reach. Pair it with Deps.SeparateOps on NewServer, sharing the same Deps.
func NewOpsHandler(d Deps) http.Handler {
	s := &server{Deps: d, log: d.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.Registry == nil {
		s.Registry = prometheus.NewRegistry()
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.handleMetrics())
	mux.Handle("GET /healthz", s.handleHealthz())
	mux.Handle("GET /readyz", s.handleReadyz())
	return s.Hosts.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		mux.ServeHTTP(w, r)
	}))
}
