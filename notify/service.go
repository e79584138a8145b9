package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/genesys"
	"rendezvous/jobs"
	"rendezvous/secret"
	"rendezvous/store"
)

// Job kinds this package handles.
const (
	// EventJobKind is this package's own appointment event job (Args: store.EventArgs),
	// enqueued when an appointment's channel choices change; the store's event job for
	// every appointment change reaches HandleAppointmentEvent too (see the package doc).
	EventJobKind = "notify.appointment_event"
	// SendJobKind sends one delivery (Args: {"deliveryId"}).
	SendJobKind = "notify.send"
	// ReminderJobKind sends one reminder, like SendJobKind. It is a kind of its own so
	// that the job runner can give reminders its reserved lane (jobs.RunnerOptions.Critical):
	// a reminder due now must not wait behind a backlog of confirmations.
	ReminderJobKind = "notify.reminder"
)

// sendMaxAttempts bounds the tries of one delivery by the job queue.
const sendMaxAttempts = 8

// Options configure a Service.
type Options struct {
	// Store is the database. Required.
	Store *store.Store
	// Clock is the time source; nil means the store's clock.
	Clock clock.Clock
	// Logger receives delivery notes (never addresses or secrets); nil discards them.
	Logger *slog.Logger
	// Secrets seals the OAuth client secrets; nil means the store's box. Required one way
	// or the other: secrets are never stored in the clear.
	Secrets *secret.Box
	// Endpoints gives an organization's Genesys Cloud base URLs, from its own connection
	// (an organization without one gets an error matching rendezvous.ErrNotConnected and
	// sends nothing). FixedEndpoints serves a test of one organization. Required.
	Endpoints func(ctx context.Context, orgID string) (genesys.Endpoints, error)
	// Pacer, when set, gives the pace of one OAuth client shared by every instance (the
	// wiring's, through the database); nil paces each client in this process only.
	Pacer func(e genesys.Endpoints, clientID string) genesys.Pacer
	// HTTPClient is used for Genesys calls; nil means the genesys package default.
	HTTPClient *http.Client
	// RequestsPerMinute is the client-side rate limit per OAuth client; 0 means 300,
	// Genesys' default.
	RequestsPerMinute int
	// PublicURL is the base URL of customer links, without a trailing slash.
	PublicURL string
	// AgentName returns the display name of an agent (a Genesys user id) for templates;
	// nil or an error falls back to "your agent" in the customer's language.
	AgentName func(ctx context.Context, orgID, userID string) (string, error)
}

// FixedEndpoints gives every organization the same endpoints, for tests of one
// organization.
func FixedEndpoints(e genesys.Endpoints) func(context.Context, string) (genesys.Endpoints, error) {
	return func(context.Context, string) (genesys.Endpoints, error) { return e, nil }
}

// Service is the notifications of every organization. Create it with New; it is safe for
// concurrent use.
type Service struct {
	st      *store.Store
	clock   clock.Clock
	log     *slog.Logger
	secrets *secret.Box
	o       Options

	mu      sync.Mutex
	clients map[string]*sendClient
	// channelPacers remembers, per organization and channel, the pacer its sends last
	// went through, so that a send bound to wait for a later slot is deferred to it
	// before any of the work of preparing it (see HandleSend).
	channelPacers sync.Map // org + "\x00" + channel → *pacer
	// backlogs serialises deferBacklog per organization, so that workers finding the
	// same backlog at once read and defer it once.
	backlogs sync.Map // org → *backlog

	// enabled caches EnabledForNewBooking per organization (see enabledTTL).
	enabledMu sync.Mutex
	enabled   map[string]cachedEnabled

	// names caches agents' display names (see agentName).
	namesMu sync.Mutex
	names   map[string]*cachedName
}

// enabledTTL is how long an instance trusts its copy of an organization's notification
// switch for new bookings. Reading it from the database cost every booking a round trip
// before its own transaction; a change saved here shows at once (PutSettings forgets the
// copy), one saved on another instance within this time. (Wall-clock time on purpose: it
// is about a cache's freshness, not appointment time.)
const enabledTTL = 5 * time.Second

type cachedEnabled struct {
	on bool
	at time.Time
}

// sendClient is one OAuth client's Genesys client and the pacer of its sends.
type sendClient struct {
	*genesys.Client
	pacer *pacer
	// shared is set when the client is paced through the database (Options.Pacer): its
	// sends then also take their slot there (pacer spreads this instance's backlog, the
	// shared pace keeps every instance together under the limit).
	shared bool
}

// pacingShare is the part of the rate limit the pacer uses: a little headroom absorbs the
// jitter between when we send and when Genesys counts, and the odd non-send call (token
// checks, verification codes) on the same client.
const pacingShare = 0.995

// New returns the notification service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("notify: Store is required")
	}
	if o.Endpoints == nil {
		return nil, errors.New("notify: Endpoints is required")
	}
	s := &Service{st: o.Store, clock: o.Clock, log: o.Logger, secrets: o.Secrets, o: o, clients: map[string]*sendClient{}}
	if s.clock == nil {
		s.clock = o.Store.Clock()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "notify")
	if s.secrets == nil {
		s.secrets = o.Store.Secrets()
	}
	if s.secrets == nil {
		return nil, errors.New("notify: a secrets box is required to keep OAuth client secrets")
	}
	s.o.PublicURL = strings.TrimSuffix(o.PublicURL, "/")
	return s, nil
}

// Register adds this package's job handlers to a runner.
func (s *Service) Register(r *jobs.Runner) {
	r.Handle(EventJobKind, s.HandleAppointmentEvent)
	r.Handle(SendJobKind, s.HandleSend)
	r.Handle(ReminderJobKind, s.HandleSend)
}

// Settings returns the organization's notification settings, the defaults when none were
// saved.
func (s *Service) Settings(ctx context.Context, orgID string) (Settings, error) {
	b, err := s.st.NotifySettings(ctx, orgID)
	if errors.Is(err, rendezvous.ErrNotFound) {
		return DefaultSettings(), nil
	}
	if err != nil {
		return Settings{}, err
	}
	set := DefaultSettings()
	if err := json.Unmarshal(b, &set); err != nil {
		return Settings{}, fmt.Errorf("notification settings of %s: %w", orgID, err)
	}
	return set, nil
}

// PutSettings validates and saves the organization's notification settings.
func (s *Service) PutSettings(ctx context.Context, orgID string, set Settings) (Settings, error) {
	if set.ReminderOffsetsMinutes == nil {
		set.ReminderOffsetsMinutes = []int{}
	}
	if set.FollowUpOffsetsMinutes == nil {
		set.FollowUpOffsetsMinutes = []int{}
	}
	if set.DefaultLanguage == "" {
		set.DefaultLanguage = DefaultLanguage
	}
	if err := set.Validate(); err != nil {
		return Settings{}, err
	}
	b, err := json.Marshal(set)
	if err != nil {
		return Settings{}, fmt.Errorf("encode settings: %w", err)
	}
	if err := s.st.PutNotifySettings(ctx, orgID, b); err != nil {
		return Settings{}, err
	}
	s.enabledMu.Lock()
	delete(s.enabled, orgID)
	s.enabledMu.Unlock()
	return set, nil
}

// EnabledForNewBooking is the organization's switch, for the booking code to snapshot into
// rendezvous.Appointment.NotificationsEnabled. When the settings cannot be read it answers
// true (and logs): a missed confirmation is worse than an unwanted one, and unverified
// channels send nothing anyway.
func (s *Service) EnabledForNewBooking(ctx context.Context, orgID string) bool {
	s.enabledMu.Lock()
	c, ok := s.enabled[orgID]
	s.enabledMu.Unlock()
	if ok && time.Since(c.at) < enabledTTL {
		return c.on
	}
	set, err := s.Settings(ctx, orgID)
	if err != nil {
		s.log.Error("read notification settings for a booking", "org_id", orgID, "error", err)
		return true
	}
	s.enabledMu.Lock()
	if s.enabled == nil {
		s.enabled = map[string]cachedEnabled{}
	}
	s.enabled[orgID] = cachedEnabled{on: set.Enabled, at: time.Now()}
	s.enabledMu.Unlock()
	return set.Enabled
}

// client returns the cached Genesys client of one OAuth client, so that every delivery of
// the organization's channel shares one token and one pacer.
//
// Sends are paced here, smoothly at pacingShare of the limit with a burst no larger than
// the rest of the limit, rather than by
// the Genesys client's own limiter, which keeps a tenth of the minute's budget as a burst
// and refills the rest: safe, but in a long burst of reminders it sends at only 90% of the
// limit. A smooth pace never puts more than the limit into any minute, however Genesys
// aligns its window, and uses almost all of it. The client's limiter is set to twice the
// limit so that it stays out of the way of the pacer while still guarding other calls.
//
// The client is on the organization's own endpoints (Options.Endpoints); with a shared
// Pacer its sends are paced through the database instead, across every instance.
func (s *Service) client(ctx context.Context, orgID, clientID, clientSecret string) (*sendClient, error) {
	ep, err := s.o.Endpoints(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("Genesys Cloud connection of %s: %w", orgID, err)
	}
	sum := sha256.Sum256([]byte(ep.API + "\x00" + ep.Login + "\x00" + clientID + "\x00" + clientSecret))
	key := hex.EncodeToString(sum[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[key]; ok {
		return c, nil
	}
	rpm := s.o.RequestsPerMinute
	if rpm <= 0 {
		rpm = 300
	}
	cfg := genesys.Config{
		Endpoints:         ep,
		ClientID:          clientID,
		ClientSecret:      clientSecret,
		HTTPClient:        s.o.HTTPClient,
		RequestsPerMinute: 2 * rpm,
		Clock:             s.clock,
		Logger:            s.log,
		// A longer Retry-After, or a shared slot further away, goes back to the job
		// queue, which defers the job rather than hold a worker.
		MaxRetryAfter: maxInlineWait,
	}
	if s.o.Pacer != nil {
		cfg.Pacer = s.o.Pacer(ep, clientID)
	}
	c := &sendClient{
		Client: genesys.New(cfg),
		shared: cfg.Pacer != nil,
		// Half the headroom is a small burst (messages due together start at once); a
		// minute then holds at most pacingShare×rpm + burst + 1 < rpm sends, the other half
		// absorbing the jitter between our clock and Genesys' window.
		pacer: newPacer(float64(rpm)*pacingShare/60, max(1, int(float64(rpm)*(1-pacingShare)/2))),
	}
	s.clients[key] = c
	return c, nil
}

// wait waits d on the service's clock, or until ctx ends.
func (s *Service) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	done := make(chan struct{})
	t := s.clock.AfterFunc(d, func() { close(done) })
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	}
}

// maskPhone keeps the country code's first digits and the last two digits.
func maskPhone(p string) string {
	if len(p) <= 6 {
		return strings.Repeat("•", len(p))
	}
	return p[:4] + strings.Repeat("•", len(p)-6) + p[len(p)-2:]
}

// maskEmail keeps the first character of the local part and the domain.
func maskEmail(e string) string {
	at := strings.LastIndexByte(e, '@')
	if at < 1 {
		return "•••"
	}
	return e[:1] + "•••" + e[at:]
}

func mask(ch Channel, addr string) string {
	if ch == ChannelSMS {
		return maskPhone(addr)
	}
	return maskEmail(addr)
}

// timePtr returns nil for the zero time, and the time in UTC otherwise, for JSON views.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// sendFailed turns a failure before anything was sent (no connection, no send slot
// soon enough) into the job's outcome: a pace too far ahead comes back when its slot is
// due, a missing connection is not retried, anything else retries with backoff.
func sendFailed(err error) error {
	switch kind, wait := genesys.Classify(err); kind {
	case genesys.KindRetryAfter:
		return jobs.RetryAfter(wait, err)
	case genesys.KindPermanent:
		return jobs.Permanent(err)
	}
	return err
}
