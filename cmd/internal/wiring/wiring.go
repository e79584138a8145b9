// Package wiring assembles the Rendezvous service from its parts: the Genesys Cloud
// organization (or the built-in sandbox), the customer journey, the video room,
// notifications, the job runner with a handler for every job kind, and the HTTP handler.
//
// It is the one place that knows how the parts fit, shared by cmd/rendezvous (which reads
// flags and environment into Options) and cmd/rdvbench (which measures exactly what
// rendezvous serve runs). It reads no configuration itself.
package wiring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"rendezvous/clock"
	"rendezvous/genesys"
	"rendezvous/genesys/sandbox"
	"rendezvous/jobs"
	"rendezvous/journey"
	"rendezvous/notify"
	"rendezvous/retention"
	"rendezvous/room"
	"rendezvous/store"
	"rendezvous/web"
	"rendezvous/webhook"
	"rendezvous/widget"
)

// JourneyEventJobKind is the job kind of the customer journey's share of an appointment
// event (journey.Service.HandleAppointmentEvent), from when each area had a job of its
// own per change; it is still handled, for such jobs left in a database.
const JourneyEventJobKind = "journey.appointment_event"

// Genesys says which Genesys Cloud organization to talk to. With no Region and no APIURL,
// the built-in sandbox is started on SandboxAddr instead.
type Genesys struct {
	Region          string
	APIURL          string
	LoginURL        string
	WebMessagingURL string
	ClientID        string
	ClientSecret    string
	SandboxAddr     string
}

// UseSandbox reports whether no Genesys Cloud organization is configured.
func (g Genesys) UseSandbox() bool { return g.Region == "" && g.APIURL == "" }

// Endpoints returns the real organization's endpoints: the region's, with any explicit
// overrides.
func (g Genesys) Endpoints() (genesys.Endpoints, error) {
	var e genesys.Endpoints
	if g.Region != "" {
		var err error
		e, err = genesys.RegionEndpoints(g.Region)
		if err != nil {
			return e, fmt.Errorf("-genesys-region: %w", err)
		}
	}
	if g.APIURL != "" {
		e.API = g.APIURL
	}
	if g.LoginURL != "" {
		e.Login = g.LoginURL
	}
	if g.WebMessagingURL != "" {
		e.WebMessaging = g.WebMessagingURL
	}
	if e.API == "" || e.Login == "" || e.WebMessaging == "" {
		return e, errors.New("set -genesys-region, or all of -genesys-api-url, -genesys-login-url and -genesys-webmessaging-url")
	}
	return e, nil
}

// Options are what the service is built from.
type Options struct {
	Store *store.Store
	// Key is the secrets key; the room derives its link-signing key from it.
	Key       []byte
	Clock     clock.Clock
	Logger    *slog.Logger
	PublicURL string
	Genesys   Genesys
	// RateLimit is API requests per second per key; rate.Inf for none.
	RateLimit  rate.Limit
	JobWorkers int
	// Registry receives the metrics /metrics serves; nil means a fresh one.
	Registry *prometheus.Registry
	// ICEServers are the video room's default STUN/TURN servers.
	ICEServers []room.ICEServer
	// InstanceURL is this instance's base URL as other instances reach it; see
	// room.Options.InstanceURL.
	InstanceURL string
}

// Service is the assembled service.
type Service struct {
	// Handler serves every route (web.NewServer).
	Handler http.Handler
	// Runner runs the background jobs; call Run.
	Runner *jobs.Runner
	// SandboxURL is the built-in sandbox's base URL, or "" with a real organization.
	SandboxURL string
	// Retention erases expired personal data; serve calls its Schedule at start.
	Retention *retention.Service
	// Webhooks sends the organizations' webhook deliveries.
	Webhooks *webhook.Service

	journey   *journey.Service
	sockets   *genesys.GuestSockets // web messaging sockets opened ahead for the journey
	rooms     *room.Rooms
	notify    *notify.Service
	sandbox   *sandbox.Sandbox
	closeOnce sync.Once
}

// Close releases what New started (the sandbox's server stops with New's ctx). It may be
// called more than once.
func (s *Service) Close() { s.closeOnce.Do(s.close) }

func (s *Service) close() {
	if s.journey != nil {
		s.journey.Close()
	}
	s.sockets.Close()
	if s.rooms != nil {
		s.rooms.Close()
	}
	if s.sandbox != nil {
		s.sandbox.Close()
	}
}

// New builds the service. With no Genesys Cloud organization configured it starts the
// built-in sandbox on o.Genesys.SandboxAddr, served until ctx ends and tracked by wg.
func New(ctx context.Context, wg *sync.WaitGroup, o Options) (*Service, error) {
	s := &Service{sockets: &genesys.GuestSockets{}}
	log := o.Logger
	var endpoints genesys.Endpoints
	clientID, clientSecret := o.Genesys.ClientID, o.Genesys.ClientSecret
	var defaults journey.Settings
	if o.Genesys.UseSandbox() {
		s.sandbox = sandbox.New(sandbox.Options{Clock: o.Clock, Logger: log})
		url, err := ServeSandbox(ctx, wg, s.sandbox, o.Genesys.SandboxAddr, log)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.SandboxURL = url
		demo := sandbox.Demo
		endpoints = genesys.Endpoints{API: url, Login: url, WebMessaging: "ws" + strings.TrimPrefix(url, "http") + "/v1"}
		clientID, clientSecret = demo.APIClient.ID, demo.APIClient.Secret
		defaults = journey.DefaultSettings(demo.AgentDeploymentID, demo.QueueDeploymentID, demo.PlainQueue.Name)
	} else {
		var err error
		if endpoints, err = o.Genesys.Endpoints(); err != nil {
			return nil, err
		}
	}

	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	var queues journey.QueueFinder
	var callbacks journey.Callbacks
	// Without a Genesys client, messages greet the customer on behalf of "your agent".
	var agentName func(ctx context.Context, orgID, userID string) (string, error)
	if clientID != "" {
		gc := genesys.New(genesys.Config{Endpoints: endpoints, ClientID: clientID, ClientSecret: clientSecret, Clock: o.Clock, Logger: log})
		queues = journey.GenesysQueues{Client: gc}
		// The callbacks channel reuses the API client, which in the sandbox's demo org
		// (and per the administrator guide) carries the callback permissions.
		callbacks = gc
		agentName = func(ctx context.Context, _, userID string) (string, error) {
			u, err := gc.User(ctx, userID)
			return u.Name, err
		}
	}

	// The room and the journey refer to each other (the journey hands out room links; the
	// room asks the journey's grace period and wakes its pages), so the room reads the
	// journey through closures that run only after both exist.
	var j *journey.Service
	rooms, err := room.New(room.Options{
		Store: o.Store, Clock: o.Clock, Logger: log.With("component", "room"), Key: o.Key, PublicURL: o.PublicURL,
		Grace:       func(ctx context.Context, orgID string) (time.Duration, error) { return j.GraceFor(ctx, orgID) },
		OnChange:    func(id string) { j.Notify(id) },
		ICEServers:  o.ICEServers,
		InstanceURL: o.InstanceURL,
		Metrics:     o.Registry,
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("video room: %w", err)
	}
	s.rooms = rooms
	j, err = journey.New(journey.Options{
		Store: o.Store, Clock: o.Clock, Logger: log.With("component", "journey"), PublicURL: o.PublicURL,
		Guest:     journey.WebMessaging{URL: endpoints.WebMessaging, Origin: o.PublicURL, Sockets: s.sockets},
		Queues:    queues,
		Callbacks: callbacks,
		RoomLinks: rooms,
		Defaults:  defaults,
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("customer journey: %w", err)
	}
	s.journey = j

	s.notify, err = notify.New(notify.Options{Store: o.Store, Clock: o.Clock, Logger: log, Endpoints: endpoints, PublicURL: o.PublicURL, AgentName: agentName})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("notifications: %w", err)
	}
	if s.sandbox != nil {
		// The demo organization sends its notifications through the sandbox from the
		// first booking. A database without it (created for production) is left alone.
		if _, err := o.Store.Org(ctx, "demo"); err == nil {
			if err := s.notify.SeedDemo(ctx, "demo", sandbox.Demo); err != nil {
				s.Close()
				return nil, err
			}
		}
	}

	// Webhook receivers may be local and plain HTTP only in the demo mode (the sandbox).
	s.Webhooks = webhook.New(webhook.Options{Store: o.Store, Clock: o.Clock, Logger: log.With("component", "webhook"),
		AllowPrivate: s.sandbox != nil})
	s.Retention = retention.New(o.Store, o.Clock, log.With("component", "retention"))
	wid, err := widget.New(widget.Options{Store: o.Store, Clock: o.Clock, Logger: log.With("component", "widget"),
		PublicURL: o.PublicURL, Key: o.Key, NotificationsEnabled: s.notify.EnabledForNewBooking})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("widget: %w", err)
	}

	// Background work yields to API requests once they could keep every core busy: a
	// burst of bookings then gets the cores and its events are worked through after,
	// instead of each job worker taking a client's share (see jobs.RunnerOptions.Busy).
	apiInFlight := &atomic.Int64{}
	busy := func() bool { return apiInFlight.Load() >= int64(runtime.GOMAXPROCS(0)) }
	s.Runner = jobs.NewRunner(o.Store, jobs.RunnerOptions{Clock: o.Clock, Logger: log.With("component", "jobs"),
		Workers: o.JobWorkers, Busy: busy})
	s.registerJobs()

	s.Handler = web.NewServer(web.Deps{
		Store:     o.Store,
		Logger:    log,
		Clock:     o.Clock,
		PublicURL: o.PublicURL,
		Registry:  o.Registry,
		RateLimit: o.RateLimit,
		Journey:   s.journey,
		Rooms:     s.rooms,
		Notify:    s.notify,
		Webhooks:  s.Webhooks,
		Retention: s.Retention,
		Widget:    wid,
		Sandbox:   s.SandboxURL,

		APIInFlight: apiInFlight,
	})
	return s, nil
}

// registerJobs gives the job runner a handler for every job kind.
//
// An appointment change is one job (store.EventJobKind, enqueued in the change's own
// transaction) that the journey, the room, notifications and webhooks each take their
// share of, in turn (jobs.All). Their shares only write to the database and are idempotent; anything
// that can be slow or fail for long, such as a message to Genesys Cloud, is a job of its
// own that a share enqueues, so one area's trouble never holds back another's. A job per
// area instead tripled the queue's work per booking (three rows to insert, claim and
// complete): PostgreSQL bookings reached 0.26–0.36 of raw inserts with it, 0.37–0.39 without
// (BENCHMARKS.md).
func (s *Service) registerJobs() {
	r := s.Runner
	r.Handle(store.EventJobKind, jobs.All(s.journey.HandleAppointmentEvent, s.rooms.HandleAppointmentEvent,
		s.notify.HandleAppointmentEvent, s.Webhooks.HandleAppointmentEvent))
	// Each area's own event job, from before: still handled, for such jobs left in a database.
	r.Handle(JourneyEventJobKind, s.journey.HandleAppointmentEvent)
	r.Handle(room.EventJobKind, s.rooms.HandleAppointmentEvent)
	r.Handle(journey.CallbackJobKind, s.journey.HandleCallbackSync)
	r.Handle(room.DeadlineJobKind, s.rooms.HandleDeadline)
	r.Handle(room.EmptyJobKind, s.rooms.HandleEmpty)
	s.notify.Register(r)
	s.Webhooks.Register(r)
	s.Retention.Register(r)
}

// ServeSandbox serves sb on addr until ctx ends and returns its base URL.
func ServeSandbox(ctx context.Context, wg *sync.WaitGroup, sb *sandbox.Sandbox, addr string, log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("Genesys Cloud sandbox: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: sb.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("Genesys Cloud sandbox stopped", "error", err)
		}
	})
	wg.Go(func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	})
	return "http://" + ln.Addr().String(), nil
}
