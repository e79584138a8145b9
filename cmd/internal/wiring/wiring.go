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
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"rendezvous"
	"rendezvous/app"
	"rendezvous/clock"
	"rendezvous/connections"
	"rendezvous/genesys"
	"rendezvous/genesys/sandbox"
	"rendezvous/hostcheck"
	"rendezvous/jobs"
	"rendezvous/journey"
	"rendezvous/linkguard"
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

// DefaultOrgID is the organization the command line's Genesys settings (or the built-in
// sandbox) connect, while it has no connection of its own in the database: the demo
// organization, which a single-organization deployment uses.
const DefaultOrgID = "demo"

// Genesys is the command line's Genesys Cloud connection, for the DefaultOrgID
// organization (other organizations have their own, set with rendezvous org connect).
// With no Region and no APIURL, the built-in sandbox is started on SandboxAddr instead.
type Genesys struct {
	Region          string
	APIURL          string
	LoginURL        string
	WebMessagingURL string
	ClientID        string
	ClientSecret    string
	// OrgID is the Genesys Cloud organization id, by which staff sign-in recognises the
	// organization.
	OrgID string
	// SignInClientID and SignInClientSecret are the staff sign-in OAuth client.
	SignInClientID     string
	SignInClientSecret string
	SandboxAddr        string
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

// connection is the command line's connection as the registry takes it.
func (g Genesys) connection(e genesys.Endpoints) *connections.Default {
	return &connections.Default{OrgID: DefaultOrgID,
		Connection: rendezvous.GenesysConnection{APIURL: e.API, LoginURL: e.Login, WebMessagingURL: e.WebMessaging,
			OrgID: strings.ToLower(strings.TrimSpace(g.OrgID)), APIClientID: g.ClientID, SignInClientID: g.SignInClientID},
		APIClientSecret: g.ClientSecret, SignInClientSecret: g.SignInClientSecret}
}

// Options are what the service is built from.
type Options struct {
	Store *store.Store
	// Key is the secrets key; the room derives its link-signing key from it.
	Key []byte
	// PreviousKeys are secrets keys being rotated out (see secret.NewBox); agent room
	// links they signed keep working.
	PreviousKeys [][]byte
	Clock        clock.Clock
	Logger       *slog.Logger
	PublicURL    string
	Genesys      Genesys
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
	// TrustedProxies are the reverse proxies whose Forwarded / X-Forwarded-For headers
	// name the client (linkguard.ParseTrustedProxies); empty trusts none.
	TrustedProxies []netip.Prefix
	// AllowedHosts are host names the service answers to besides those of PublicURL and
	// InstanceURL (and any IP literal); requests for other names get 421.
	AllowedHosts []string
	// FrameAncestors are the origins allowed to frame the agent's room; empty means
	// Genesys Cloud's desktop of the configured region (https://apps.<domain>), or the
	// sandbox.
	FrameAncestors []string
	// SeparateOps serves /metrics only on Service.OpsHandler (the -ops-addr listener).
	SeparateOps bool
	// Instance names this instance on the job leases it takes; see
	// jobs.RunnerOptions.Instance.
	Instance string
	// Draining reports that the process is shutting down; see web.Deps.Draining.
	Draining func() bool
	// WidgetDifficulty is the widget's proof of work in leading zero bits; 0 means the
	// widget's default.
	WidgetDifficulty int
	// WidgetUnlimited turns the widget's per-address and per-origin limits off, for load
	// tests whose requests all come from one address.
	WidgetUnlimited bool
	// GenesysRequestsPerMinute is each Genesys OAuth client's limit, shared by every
	// instance on the database; 0 means 300, Genesys' default.
	GenesysRequestsPerMinute int
	// Sandbox, when set, is used as the built-in sandbox instead of starting one (tests
	// that serve it themselves, with several Genesys organizations); its base URL is
	// SandboxURL.
	Sandbox    *sandbox.Sandbox
	SandboxURL string
	// Staff configures the staff app.
	Staff Staff
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
	// OpsHandler serves /metrics, /healthz and /readyz for the operations listener.
	OpsHandler http.Handler
	// Connections gives each organization its Genesys Cloud connection (staff sign-in
	// finds the organization and its sign-in client there).
	Connections *connections.Registry

	journey      *journey.Service
	sockets      *genesys.GuestSockets // web messaging sockets opened ahead for the journey
	rooms        *room.Rooms
	notify       *notify.Service
	staff        *app.App
	sandbox      *sandbox.Sandbox
	closeOnce    sync.Once
	sessionsOnce sync.Once
}

// Close releases what New started (the sandbox's server stops with New's ctx). It may be
// called more than once.
func (s *Service) Close() { s.closeOnce.Do(s.close) }

// CloseSessions ends the customers' waiting pages and the video rooms, which hold
// connections that an HTTP server's Shutdown does not wait for, so that a shutdown can
// close them first and then let ordinary requests and jobs finish; Close does the rest.
// It may be called more than once.
func (s *Service) CloseSessions() { s.sessionsOnce.Do(s.closeSessions) }

func (s *Service) closeSessions() {
	if s.journey != nil {
		s.journey.Close()
	}
	if s.rooms != nil {
		s.rooms.Close()
	}
}

func (s *Service) close() {
	s.CloseSessions()
	s.sockets.Close()
	if s.sandbox != nil {
		s.sandbox.Close()
	}
}

// New builds the service. With no Genesys Cloud organization configured it starts the
// built-in sandbox on o.Genesys.SandboxAddr, served until ctx ends and tracked by wg.
func New(ctx context.Context, wg *sync.WaitGroup, o Options) (*Service, error) {
	s := &Service{sockets: &genesys.GuestSockets{}}
	log := o.Logger
	var def *connections.Default
	var defaults journey.Settings
	switch {
	case o.Sandbox != nil:
		s.SandboxURL = o.SandboxURL
		def, defaults = sandboxDefault(o.SandboxURL)
	case o.Genesys.UseSandbox():
		sb := sandbox.New(sandbox.Options{Clock: o.Clock, Logger: log})
		url, err := ServeSandbox(ctx, wg, sb, o.Genesys.SandboxAddr, log, o.AllowedHosts...)
		if err != nil {
			sb.Close()
			return nil, err
		}
		s.sandbox, s.SandboxURL = sb, url
		def, defaults = sandboxDefault(url)
	default:
		endpoints, err := o.Genesys.Endpoints()
		if err != nil {
			return nil, err
		}
		def = o.Genesys.connection(endpoints)
	}
	reg, err := connections.New(connections.Options{Store: o.Store, Clock: o.Clock, Logger: log,
		Default: def, RequestsPerMinute: o.GenesysRequestsPerMinute})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Connections = reg

	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	// Without a Genesys user, messages greet the customer on behalf of "your agent".
	agentName := func(ctx context.Context, orgID, userID string) (string, error) {
		u, err := reg.User(ctx, orgID, userID)
		return u.Name, err
	}

	// One guard for every route that takes a link token, so a guesser has one budget.
	guard := linkguard.New(linkguard.Options{TrustedProxies: o.TrustedProxies})

	// The room and the journey refer to each other (the journey hands out room links; the
	// room asks the journey's grace period and wakes its pages), so the room reads the
	// journey through closures that run only after both exist.
	var j *journey.Service
	rooms, err := room.New(room.Options{
		Store: o.Store, Clock: o.Clock, Logger: log.With("component", "room"), Key: o.Key, PreviousKeys: o.PreviousKeys, PublicURL: o.PublicURL,
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
		// The customer's page falls back to the language the organization's messages do.
		OrgLanguage: func(ctx context.Context, orgID string) string {
			if s.notify == nil {
				return ""
			}
			set, err := s.notify.Settings(ctx, orgID)
			if err != nil {
				return ""
			}
			return set.DefaultLanguage
		},
		Genesys:       orgGenesys{reg: reg, origin: o.PublicURL, sockets: s.sockets},
		RoomLinks:     rooms,
		Defaults:      defaults,
		DefaultsOrgID: DefaultOrgID,
		LinkGuard:     guard,
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("customer journey: %w", err)
	}
	s.journey = j

	s.notify, err = notify.New(notify.Options{Store: o.Store, Clock: o.Clock, Logger: log, Endpoints: reg.Endpoints, Pacer: reg.Pacer,
		RequestsPerMinute: o.GenesysRequestsPerMinute, PublicURL: o.PublicURL, AgentName: agentName})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("notifications: %w", err)
	}
	if s.SandboxURL != "" {
		// The demo organization sends its notifications through the sandbox from the
		// first booking. A database without it (created for production) is left alone.
		if org, err := o.Store.Org(ctx, DefaultOrgID); err == nil && !org.Genesys.Configured() {
			if err := s.notify.SeedDemo(ctx, DefaultOrgID, sandbox.Demo); err != nil {
				s.Close()
				return nil, err
			}
		}
	}

	// Webhook receivers may be local and plain HTTP only in the demo mode (the sandbox).
	s.Webhooks = webhook.New(webhook.Options{Store: o.Store, Clock: o.Clock, Logger: log.With("component", "webhook"),
		AllowPrivate: s.SandboxURL != ""})
	s.Retention = retention.New(o.Store, o.Clock, log.With("component", "retention"))
	wo := widget.Options{Store: o.Store, Clock: o.Clock, Logger: log.With("component", "widget"),
		PublicURL: o.PublicURL, Key: o.Key, NotificationsEnabled: s.notify.EnabledForNewBooking, Difficulty: o.WidgetDifficulty}
	if o.WidgetUnlimited {
		wo.PerClient, wo.PerOrigin, wo.MaxPerContact = -1, -1, -1
	}
	wid, err := widget.New(wo)
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
		Workers: o.JobWorkers, Busy: busy, Instance: o.Instance, Critical: CriticalJobKinds})

	frames := o.FrameAncestors
	if len(frames) == 0 {
		frames = genesysDesktops(s.SandboxURL, def)
	}
	admin := app.Admin{Journey: s.journey, Notify: s.notify, Rooms: s.rooms, Webhooks: s.Webhooks, Retention: s.Retention, Widget: wid}
	if s.staff, err = newStaff(o, reg, s, frames, admin); err != nil {
		s.Close()
		return nil, err
	}
	// With several instances on PostgreSQL, each one's live pages hear every instance's
	// changes through the database; SQLite has one instance and its in-process hub.
	if o.Store.Dialect() == store.Postgres {
		shareChanges(ctx, wg, s.staff, o.Store, log.With("component", "app"))
	}
	// Only now that every part exists: a handler taken from a part not yet built (a nil
	// receiver) panicked on every event, and each event was retried ten times.
	s.registerJobs()
	deps := web.Deps{
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
		Staff:     s.staff,

		APIInFlight: apiInFlight,

		Draining: o.Draining,

		Hosts:               hostcheck.New(append([]string{o.PublicURL, o.InstanceURL}, o.AllowedHosts...)...),
		LinkGuard:           guard,
		AgentFrameAncestors: frames,
		SeparateOps:         o.SeparateOps,
	}
	s.Handler = web.NewServer(deps)
	s.OpsHandler = web.NewOpsHandler(deps)
	return s, nil
}

// CriticalJobKinds are the job kinds whose lateness a person notices at once: the video
// room's deadlines (no-show, empty room), the Genesys callback made at the appointment
// time, and reminders. They have reserved workers (jobs.RunnerOptions.Critical), so a
// backlog of confirmations never holds them up.
var CriticalJobKinds = []string{room.DeadlineJobKind, room.EmptyJobKind, journey.CallbackJobKind, notify.ReminderJobKind}

// sandboxDefault is the demo organization's connection to the sandbox at url, and its
// scheduling defaults: the sandbox's seeded Messenger deployments.
func sandboxDefault(url string) (*connections.Default, journey.Settings) {
	demo := sandbox.Demo
	def := &connections.Default{OrgID: DefaultOrgID, Connection: rendezvous.GenesysConnection{
		APIURL: url, LoginURL: url, WebMessagingURL: "ws" + strings.TrimPrefix(url, "http") + "/v1",
		OrgID: demo.OrgID, APIClientID: demo.APIClient.ID, SignInClientID: demo.LoginClient.ID},
		APIClientSecret: demo.APIClient.Secret, SignInClientSecret: demo.LoginClient.Secret}
	return def, journey.DefaultSettings(demo.AgentDeploymentID, demo.QueueDeploymentID, demo.PlainQueue.Name)
}

// orgGenesys gives the journey each organization's Genesys parts from the registry.
type orgGenesys struct {
	reg     *connections.Registry
	origin  string
	sockets *genesys.GuestSockets
}

func (g orgGenesys) Guest(ctx context.Context, orgID string) (journey.Guest, error) {
	ep, err := g.reg.Endpoints(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return journey.WebMessaging{URL: ep.WebMessaging, Origin: g.origin, Sockets: g.sockets}, nil
}

func (g orgGenesys) Queues(ctx context.Context, orgID string) (journey.QueueFinder, error) {
	gc, err := g.reg.Client(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return journey.GenesysQueues{Client: gc}, nil
}

func (g orgGenesys) Callbacks(ctx context.Context, orgID string) (journey.Callbacks, error) {
	gc, err := g.reg.Client(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return gc, nil
}

func (g orgGenesys) KnowsUser(ctx context.Context, orgID, userID string) (bool, error) {
	_, err := g.reg.User(ctx, orgID, userID)
	if errors.Is(err, connections.ErrUnknownUser) {
		return false, nil
	}
	return err == nil, err
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
		s.notify.HandleAppointmentEvent, s.staff.HandleAppointmentEvent, s.Webhooks.HandleAppointmentEvent))
	// Each area's own event job, from before: still handled, for such jobs left in a database.
	r.Handle(JourneyEventJobKind, s.journey.HandleAppointmentEvent)
	r.Handle(room.EventJobKind, s.rooms.HandleAppointmentEvent)
	r.Handle(journey.CallbackJobKind, s.journey.HandleCallbackSync)
	r.Handle(journey.InteractionEndJobKind, s.journey.HandleInteractionEnd)
	r.Handle(room.DeadlineJobKind, s.rooms.HandleDeadline)
	r.Handle(room.EmptyJobKind, s.rooms.HandleEmpty)
	s.notify.Register(r)
	s.Webhooks.Register(r)
	s.Retention.Register(r)
}

// ServeSandbox serves sb on addr until ctx ends and returns its base URL. It answers only
// for its own address and hosts (and IP literals), so that no web page can read its outbox
// or OAuth clients through DNS rebinding, and refuses cross-site form posts to its console
// (http.CrossOriginProtection), as the product does.
func ServeSandbox(ctx context.Context, wg *sync.WaitGroup, sb *sandbox.Sandbox, addr string, log *slog.Logger, hosts ...string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("Genesys Cloud sandbox: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: SandboxHandler(sb, append([]string{ln.Addr().String()}, hosts...)...), ReadHeaderTimeout: 10 * time.Second,
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

// SandboxHandler is sb's handler behind the protections ServeSandbox gives it: only the
// given hosts (and IP literals), and no cross-site form posts.
func SandboxHandler(sb *sandbox.Sandbox, hosts ...string) http.Handler {
	return hostcheck.New(hosts...).Handler(http.NewCrossOriginProtection().Handler(sb.Handler()))
}

// genesysDesktops are the origins that may frame the agent's room by default: the
// sandbox's agent desktop, or else Genesys Cloud's desktop (https://apps.<domain>) of every
// region, since each organization may be in its own, plus the default connection's when
// its API URL is set explicitly. All of them are Genesys Cloud's own.
func genesysDesktops(sandboxURL string, def *connections.Default) []string {
	if sandboxURL != "" {
		return []string{sandboxURL}
	}
	var out []string
	add := func(api string) {
		if rest, ok := strings.CutPrefix(api, "https://api."); ok {
			o := "https://apps." + strings.TrimSuffix(rest, "/")
			if !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	for _, r := range genesys.Regions() {
		if e, err := genesys.RegionEndpoints(r); err == nil {
			add(e.API)
		}
	}
	if def != nil {
		add(def.Connection.APIURL)
	}
	return out
}
