package sandbox

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"rendezvous/clock"
)

// Options configure a Sandbox. The zero value works: the demo organization, the real clock,
// no logs and Genesys' default limits.
type Options struct {
	// Clock is the sandbox's time; nil means clock.Real().
	Clock clock.Clock
	// Logger receives one line per unmodelled request, refused request and routing event;
	// nil discards them.
	Logger *slog.Logger
	// TokenLifetime is the access tokens' expires_in; 0 means 86400 s (Genesys' default).
	TokenLifetime time.Duration
	// RequestsPerMinute is the API rate limit per access token; 0 means 300, negative
	// means no limit.
	RequestsPerMinute int
	// RateLimitPerClient counts the API rate limit per OAuth client, across all its tokens,
	// instead of per token: the stricter reading of Genesys' limit (its community
	// describes it per client), which catches several processes that each hold a token
	// and together send more than the limit.
	RateLimitPerClient bool
	// EmailsPerMinute is the org's agentless email limit; 0 means 300, negative no limit.
	EmailsPerMinute int
	// WebMessagesPerSecond is web messaging's per-session message rate; 0 means 2,
	// negative no limit.
	WebMessagesPerSecond int
	// MaxCustomDataBytes bounds a web messaging message's custom attributes (UTF-8 bytes of
	// keys and values); 0 means 2048.
	MaxCustomDataBytes int
	// MaxTextLength bounds a web messaging text (characters); 0 means 4096.
	MaxTextLength int
	// SessionDuration is how long a web messaging session lives; 0 means 72 h.
	SessionDuration time.Duration
	// AgentJoinPresence pushes an Outbound Presence Join to the guest when an agent
	// answers. Genesys does not document that it does, so it is off by default: a client
	// must know the agent is there from the agent's first message or otherwise.
	AgentJoinPresence bool
}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = 86400 * time.Second
	}
	if o.RequestsPerMinute == 0 {
		o.RequestsPerMinute = 300
	}
	if o.EmailsPerMinute == 0 {
		o.EmailsPerMinute = 300
	}
	if o.WebMessagesPerSecond == 0 {
		o.WebMessagesPerSecond = 2
	}
	if o.MaxCustomDataBytes <= 0 {
		o.MaxCustomDataBytes = 2048
	}
	if o.MaxTextLength <= 0 {
		o.MaxTextLength = 4096
	}
	if o.SessionDuration <= 0 {
		o.SessionDuration = 72 * time.Hour
	}
	return o
}

// Sandbox is one in-memory Genesys Cloud organization. It is safe for concurrent use.
type Sandbox struct {
	opts    Options
	clock   clock.Clock
	log     *slog.Logger
	handler http.Handler

	// mu guards everything below. Network writes never happen under it: frames for guests
	// are queued on each socket's channel.
	mu              sync.Mutex
	changed         chan struct{}
	version         int64 // counts state changes, for the console's long poll
	closed          bool
	org             DemoOrg // the demo organization, seeded first
	tenants         map[string]*tenant
	tenantOrder     []string
	users           map[string]*user
	userOrder       []string
	queues          map[string]*queue
	queueOrder      []string
	flows           map[string]*Flow
	deployments     map[string]*deployment
	deploymentOrder []string
	clients         map[string]*oauthClient
	clientOrder     []string

	tokens map[string]*token
	codes  map[string]*authCode
	limits map[string]*window // per access token (or OAuth client, RateLimitPerClient)
	calls  []APICall

	outbox    []OutboxMessage
	convs     map[string]*conversation
	convOrder []string
	sessions  map[string]*wmSession // by deployment id + "/" + guest token
	conns     map[*wmConn]bool
	faults    []*activeFault
	freeSeq   int64
}

// New returns a sandbox seeded with the demo organization (see Demo).
func New(opts Options) *Sandbox {
	opts = opts.withDefaults()
	s := &Sandbox{
		opts:        opts,
		clock:       opts.Clock,
		log:         opts.Logger.With("component", "genesys_sandbox"),
		changed:     make(chan struct{}),
		users:       map[string]*user{},
		queues:      map[string]*queue{},
		flows:       map[string]*Flow{},
		deployments: map[string]*deployment{},
		clients:     map[string]*oauthClient{},
		tokens:      map[string]*token{},
		codes:       map[string]*authCode{},
		limits:      map[string]*window{},
		convs:       map[string]*conversation{},
		sessions:    map[string]*wmSession{},
		conns:       map[*wmConn]bool{},
	}
	s.mu.Lock()
	s.seedLocked()
	s.mu.Unlock()
	s.handler = s.routes()
	return s
}

// Handler serves the whole sandbox: login (/oauth/...), platform API (/api/v2/...), web
// messaging (/v1) and the inspection API and console (/sandbox/...).
func (s *Sandbox) Handler() http.Handler { return s.handler }

// Close stops every timer-driven activity and closes every guest socket. The handler keeps
// answering afterwards, but nothing is routed any more.
func (s *Sandbox) Close() {
	s.mu.Lock()
	s.closed = true
	for _, c := range s.convs {
		c.stopTimers()
	}
	conns := s.connListLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.kill()
	}
}

// Changed returns a channel that is closed at the next state change (a message accepted,
// a conversation created, offered, answered or ended, a presence set, a guest frame). Take
// the channel, check the state, then wait on it: no change is missed.
func (s *Sandbox) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// WaitFor blocks until cond returns true (checked now and after every state change) or
// ctx ends. cond may call the sandbox's inspection methods.
func (s *Sandbox) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		ch := s.Changed()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notifyLocked wakes every Changed waiter.
func (s *Sandbox) notifyLocked() {
	s.version++
	close(s.changed)
	s.changed = make(chan struct{})
}

// afterFunc schedules f on the sandbox clock; f runs with the lock held and then notifies,
// unless the sandbox was closed meanwhile.
func (s *Sandbox) afterFunc(d time.Duration, f func()) clock.Timer {
	return s.clock.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return
		}
		f()
		s.notifyLocked()
	})
}

// window counts events in fixed windows of the sandbox clock: a simple model of Genesys'
// per-minute (API, email) and per-second (web messaging) limits.
type window struct {
	start time.Time
	count int
}

// take records one event against a limit of n per period and, when the limit is already
// reached, returns how long until the window reopens.
func (w *window) take(now time.Time, n int, period time.Duration) (ok bool, retryAfter time.Duration) {
	if n < 0 {
		return true, 0
	}
	if w.start.IsZero() || now.Sub(w.start) >= period {
		w.start, w.count = now, 0
	}
	if w.count >= n {
		return false, w.start.Add(period).Sub(now)
	}
	w.count++
	return true, 0
}

// retrySeconds rounds a wait up to whole seconds, at least 1, for Retry-After.
func retrySeconds(d time.Duration) int {
	secs := int((d + time.Second - 1) / time.Second)
	return max(secs, 1)
}
