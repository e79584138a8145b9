// Package journey is the customer's side of an appointment: the organization's scheduling
// settings, the page behind the customer's link with its waiting room and live progress,
// and the creation of the appointment's one Genesys Cloud web messaging interaction.
//
// The interaction is created by the customer opening the link (a plain GET) inside the
// live window, never by a background job: the first request of any instance inserts the
// appointment's row in journey_interactions (its primary key picks the single winner
// across instances), opens a web messaging guest session with a token kept sealed in that
// row, and sends the presence join. Everyone else, and the winner after a restart, finds
// the row and resumes the same guest session; a lease lets another instance take over
// from a winner that died before the agent joined.
//
// Waiting pages learn that their appointment started from one clock timer per distinct
// start instant (see starts), so ten thousand waiting customers cost ten thousand blocked
// goroutines and one timer, and are all told within milliseconds of the start.
package journey

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/linkguard"
	"rendezvous/secret"
	"rendezvous/store"
)

// Guest is the Genesys Cloud web messaging guest API as the journey uses it. The adapter
// over the genesys package's guest client satisfies it; tests may use the same adapter
// against the sandbox.
type Guest interface {
	// Open connects a guest for session token on the Messenger deployment and configures
	// the session, resuming it when it already exists.
	Open(ctx context.Context, deploymentID, token string) (GuestSession, error)
}

// GuestSession is one open guest connection.
type GuestSession interface {
	// Join sends the presence join that starts the conversation, carrying attrs as the
	// customer's custom attributes.
	Join(ctx context.Context, attrs map[string]string) error
	// Say sends a visible text message from the customer.
	Say(ctx context.Context, text string) error
	// WaitAgent blocks until the agent has joined the conversation (the agent's first
	// message, or a presence join should Genesys send one), the connection fails, or ctx
	// ends.
	WaitAgent(ctx context.Context) error
	// End ends the customer's side of the conversation, so that the agent is not left
	// with nobody once the video call is over, and closes the connection. A session that
	// is already gone is nothing to end.
	End(ctx context.Context) error
	// Close closes the connection without ending the conversation.
	Close() error
}

// RoomLinks gives the agent's link to the appointment's video room; the room package
// provides the real one.
type RoomLinks interface {
	AgentLink(a *rendezvous.Appointment) string
}

// QueueFinder looks a Genesys Cloud queue up by exact name (genesys.Client.QueueByName
// through an adapter).
type QueueFinder interface {
	QueueExists(ctx context.Context, name string) (bool, error)
}

// Genesys gives each organization its own Genesys Cloud parts, from its own connection
// (the wiring's per-organization registry). An organization without a connection gets an
// error matching rendezvous.ErrNotConnected, never another organization's parts.
type Genesys interface {
	// Guest opens web messaging sessions on the organization's web messaging host.
	Guest(ctx context.Context, orgID string) (Guest, error)
	// Queues looks queues up in the organization's Genesys Cloud.
	Queues(ctx context.Context, orgID string) (QueueFinder, error)
	// Callbacks is the organization's API client for the callbacks channel.
	Callbacks(ctx context.Context, orgID string) (Callbacks, error)
	// KnowsUser reports whether the organization's Genesys Cloud has this user: false
	// with a nil error when Genesys answered that it does not.
	KnowsUser(ctx context.Context, orgID, userID string) (bool, error)
}

// Options configures a Service.
type Options struct {
	Store  *store.Store
	Clock  clock.Clock  // defaults to the store's clock
	Logger *slog.Logger // defaults to discarding
	// Genesys gives each organization's Genesys Cloud parts; when nil, Guest, Queues
	// and Callbacks below serve every organization (tests of one organization).
	Genesys Genesys
	// Guest opens web messaging sessions when Genesys is nil; one or the other is
	// required for the live phase.
	Guest Guest
	// Secrets seals guest session tokens at rest; defaults to the store's box (required).
	Secrets *secret.Box
	// PublicURL is the service's public base URL, e.g. https://rdv.example.com.
	PublicURL string
	// RoomLinks gives the agent's room link; nil uses PublicURL + "/r/" + appointment id.
	RoomLinks RoomLinks
	// Queues checks queue names for API bookings with queue routing; nil accepts any.
	Queues QueueFinder
	// Callbacks is the Genesys Cloud client of the callbacks scheduling channel (the API
	// client, with conversation:callback:create and :edit); nil leaves that channel's
	// appointments without Genesys callbacks.
	Callbacks Callbacks
	// Defaults are the settings of an organization whose administrator saved none (for the
	// demo organization: the sandbox's seeded deployment keys).
	Defaults Settings
	// DefaultsOrgID, when set, limits Defaults to that organization; the others start
	// from DefaultSettings with no deployment keys, since another organization's keys
	// would route its customers into that organization's Genesys Cloud.
	DefaultsOrgID string
	// RoomScript is the URL of the room UI script the page loads when the agent joined
	// (default "/static/room/room.js").
	RoomScript string
	// Lease is how long a winner owns an interaction without renewing (default 30 s).
	Lease time.Duration
	// LinkGuard counts unknown links per client and slows whoever guesses; share one
	// with every other route that takes a link token. Nil makes one from GuessBurst and
	// GuessEvery that trusts no proxy.
	LinkGuard *linkguard.Guard
	// GuessBurst and GuessEvery bound unknown-link lookups per client when LinkGuard is
	// nil: GuessBurst misses at once, then one more each GuessEvery (defaults 20 and 6 s).
	GuessBurst int
	GuessEvery time.Duration
	// OrgLanguage returns an organization's default language for customers (the one its
	// messages fall back to), which the pages use for a customer whose own language they
	// do not offer and whose browser names none they do; nil or "" means English.
	OrgLanguage func(ctx context.Context, orgID string) string
	// PollEvery is how often a live page re-reads the interaction's progress from the
	// database, which is how it learns of progress made by another instance (default 2 s).
	PollEvery time.Duration
}

// Service runs the customer journey. Create it with New; it is safe for concurrent use.
type Service struct {
	o       Options
	st      *store.Store
	clock   clock.Clock
	log     *slog.Logger
	box     *secret.Box
	owner   string
	starts  *starts
	changes *notifier
	park    *parking
	guesses *linkguard.Guard
	pages   *pages

	ctx    context.Context // ends at Close; drives sessions beyond the request that began them
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	driving map[string]bool // appointment ids whose interaction this instance drives
	known   map[string]bool // appointment ids known to have an interaction row

	setMu    sync.Mutex
	setCache map[string]cachedSettings

	// beforeReschedule, when set (tests only), runs between the self-service reschedule's
	// check of the free times and its write, to stage a booking that races it.
	beforeReschedule func()
}

// New returns a journey service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("journey: Options.Store is required")
	}
	if o.Clock == nil {
		o.Clock = o.Store.Clock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Secrets == nil {
		o.Secrets = o.Store.Secrets()
	}
	if o.Secrets == nil {
		return nil, errors.New("journey: a secrets box is required to keep guest session tokens at rest")
	}
	if o.RoomScript == "" {
		o.RoomScript = "/static/room/room.js"
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.LinkGuard == nil {
		o.LinkGuard = linkguard.New(linkguard.Options{Burst: o.GuessBurst, Every: o.GuessEvery})
	}
	if o.PollEvery <= 0 {
		o.PollEvery = 2 * time.Second
	}
	if o.Defaults.SchedulingChannel == "" {
		o.Defaults = DefaultSettings("", "", "")
	}
	o.PublicURL = strings.TrimSuffix(o.PublicURL, "/")
	var id [8]byte
	rand.Read(id[:])
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		o: o, st: o.Store, clock: o.Clock, log: o.Logger, box: o.Secrets,
		owner:   hex.EncodeToString(id[:]),
		starts:  newStarts(o.Clock),
		changes: newNotifier(),
		park:    newParking(o.Clock),
		guesses: o.LinkGuard,
		ctx:     ctx, cancel: cancel,
		driving:  map[string]bool{},
		known:    map[string]bool{},
		setCache: map[string]cachedSettings{},
	}
	p, err := newPages()
	if err != nil {
		s.park.close()
		return nil, err
	}
	s.pages = p
	return s, nil
}

// Close stops the sessions this instance drives and gives up their leases so another
// instance can resume them at once.
func (s *Service) Close() error {
	s.cancel()
	s.wg.Wait()
	s.park.close()
	return nil
}

// Settings returns the organization's scheduling settings, or its defaults when none were
// saved.
func (s *Service) Settings(ctx context.Context, orgID string) (Settings, error) {
	s.setMu.Lock()
	c, ok := s.setCache[orgID]
	s.setMu.Unlock()
	if ok && time.Since(c.at) < settingsTTL {
		return c.set, nil
	}
	set, err := s.loadSettings(ctx, orgID)
	if err != nil {
		return Settings{}, err
	}
	s.cacheSettings(orgID, set)
	return set, nil
}

// settingsTTL is how long an instance trusts its copy of an organization's settings; a
// change saved on another instance shows within it. (Wall-clock time on purpose: it is
// about freshness of a cache, not about appointment time.)
const settingsTTL = 5 * time.Second

type cachedSettings struct {
	set Settings
	at  time.Time
}

func (s *Service) cacheSettings(orgID string, set Settings) {
	s.setMu.Lock()
	defer s.setMu.Unlock()
	if len(s.setCache) > 10_000 {
		clear(s.setCache)
	}
	s.setCache[orgID] = cachedSettings{set: set, at: time.Now()}
}

func (s *Service) loadSettings(ctx context.Context, orgID string) (Settings, error) {
	defaults := s.o.Defaults
	if s.o.DefaultsOrgID != "" && orgID != s.o.DefaultsOrgID {
		defaults = DefaultSettings("", "", "")
	}
	body, updated, err := s.st.JourneySettings(ctx, orgID)
	if errors.Is(err, rendezvous.ErrNotFound) {
		return defaults, nil
	}
	if err != nil {
		return Settings{}, err
	}
	set := defaults
	if err := json.Unmarshal(body, &set); err != nil {
		return Settings{}, fmt.Errorf("scheduling settings of %s: %w", orgID, err)
	}
	set.UpdatedAt = updated
	return set, nil
}

// PutSettings validates and saves the organization's scheduling settings; a
// *rendezvous.ValidationError names every problem.
func (s *Service) PutSettings(ctx context.Context, orgID string, set Settings) (Settings, error) {
	if set.WaitingRoomMedia.Kind == "" {
		set.WaitingRoomMedia.Kind = MediaNone
	}
	err := set.Validate(func(id string) bool {
		owner, _, _, err := s.st.JourneyMedia(ctx, id)
		return err == nil && owner == orgID
	})
	if err != nil {
		return Settings{}, err
	}
	set.UpdatedAt = time.Time{}
	body, err := json.Marshal(set)
	if err != nil {
		return Settings{}, fmt.Errorf("encode scheduling settings: %w", err)
	}
	updated, err := s.st.PutJourneySettings(ctx, orgID, body)
	if err != nil {
		return Settings{}, err
	}
	set.UpdatedAt = updated
	s.cacheSettings(orgID, set)
	return set, nil
}

// MaxMediaBytes is the largest waiting-room file an administrator may upload.
const MaxMediaBytes = 20 << 20

// mediaTypes are the upload types a browser plays or shows inline in every engine.
var mediaTypes = map[string]string{
	"video/mp4": MediaVideo, "video/webm": MediaVideo,
	"image/png": MediaImage, "image/jpeg": MediaImage, "image/gif": MediaImage, "image/webp": MediaImage,
}

// UploadMedia stores a waiting-room file after checking its size and that its bytes are
// of the declared type, and returns the Media value to put in the settings.
func (s *Service) UploadMedia(ctx context.Context, orgID, contentType string, body []byte) (Media, error) {
	var p rendezvous.Problems
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
	kind, ok := mediaTypes[ct]
	switch {
	case len(body) == 0:
		p.Add("file", "is empty")
	case len(body) > MaxMediaBytes:
		p.Add("file", "is %d bytes; the limit is %d MiB", len(body), MaxMediaBytes>>20)
	case !ok:
		p.Add("file", "has type %q; upload an MP4 or WebM video, or a PNG, JPEG, GIF or WebP image", ct)
	case !sniffMatches(ct, body):
		p.Add("file", "does not contain %s data; check the file", ct)
	}
	if err := p.Err(); err != nil {
		return Media{}, err
	}
	id, err := s.st.PutJourneyMedia(ctx, orgID, ct, body)
	if err != nil {
		return Media{}, err
	}
	return Media{Kind: kind, UploadID: id}, nil
}

// guest returns the organization's web messaging client, or nil without an error when
// none is configured at all.
func (s *Service) guest(ctx context.Context, orgID string) (Guest, error) {
	if s.o.Genesys != nil {
		return s.o.Genesys.Guest(ctx, orgID)
	}
	return s.o.Guest, nil
}

// hasGuest reports whether web messaging is configured at all.
func (s *Service) hasGuest() bool { return s.o.Genesys != nil || s.o.Guest != nil }

// callbacks returns the organization's callbacks client, or nil without an error when
// none is configured at all.
func (s *Service) callbacks(ctx context.Context, orgID string) (Callbacks, error) {
	if s.o.Genesys != nil {
		return s.o.Genesys.Callbacks(ctx, orgID)
	}
	return s.o.Callbacks, nil
}

// hasCallbacks reports whether the callbacks channel can reach Genesys at all.
func (s *Service) hasCallbacks() bool { return s.o.Genesys != nil || s.o.Callbacks != nil }

// CheckQueue reports, for an API booking with queue routing, whether queueName names an
// existing queue of the organization's Genesys Cloud: nil when it does, a
// *rendezvous.ValidationError on interaction.routing.properties.queueName when it does
// not, rendezvous.ErrNotConnected when the organization has no Genesys connection.
func (s *Service) CheckQueue(ctx context.Context, orgID, queueName string) error {
	if strings.TrimSpace(queueName) == "" {
		return nil
	}
	queues := s.o.Queues
	if s.o.Genesys != nil {
		var err error
		if queues, err = s.o.Genesys.Queues(ctx, orgID); err != nil {
			return fmt.Errorf("check queue: %w", err)
		}
	}
	if queues == nil {
		return nil
	}
	ok, err := queues.QueueExists(ctx, queueName)
	if err != nil {
		return fmt.Errorf("check queue: %w", err)
	}
	if !ok {
		var p rendezvous.Problems
		p.Add("interaction.routing.properties.queueName", "names no Genesys Cloud queue (%q); use the exact queue name from Admin > Contact Center > Queues", queueName)
		return p.Err()
	}
	return nil
}

// CheckAgent is the booking rule for an assigned agent: agentUserID must be a user of the
// organization's Genesys Cloud. It returns a *rendezvous.ValidationError on field when
// Genesys does not know the user, an error wrapping rendezvous.ErrUnavailable when
// Genesys cannot be asked (no answer, a server error, a rate limit), and rendezvous.ErrNotConnected when the organization has no Genesys
// connection. The API and the staff pages both book through it. Without any Genesys
// configured (tests of one area) every agent is accepted.
func (s *Service) CheckAgent(ctx context.Context, orgID, field, agentUserID string) error {
	if agentUserID == "" || s.o.Genesys == nil {
		return nil
	}
	ok, err := s.o.Genesys.KnowsUser(ctx, orgID, agentUserID)
	switch {
	case errors.Is(err, rendezvous.ErrNotConnected):
		return fmt.Errorf("check agent: %w", err)
	case err != nil:
		s.log.Warn("journey: Genesys Cloud could not be asked about an agent", "org_id", orgID, "error", err)
		return rendezvous.WithDetail(fmt.Errorf("ask Genesys Cloud about agent %s: %w", agentUserID, rendezvous.ErrUnavailable),
			"Genesys Cloud could not be asked whether agent %s exists; try again in a moment.", agentUserID)
	case !ok:
		var p rendezvous.Problems
		p.Add(field, "is not a user of the organization's Genesys Cloud (%q); use the agent's Genesys Cloud user id (Admin > People, or GET /api/v2/users/me as the agent)", agentUserID)
		return p.Err()
	}
	return nil
}

// agentLink is the agent's room link for a.
func (s *Service) agentLink(a *rendezvous.Appointment) string {
	if s.o.RoomLinks != nil {
		return s.o.RoomLinks.AgentLink(a)
	}
	return s.o.PublicURL + "/r/" + a.ID
}

// EventArgs are the arguments of an appointment.event job.
type EventArgs struct {
	AppointmentID string `json:"appointmentId"`
	Event         string `json:"event"`
	Version       int    `json:"version"`
}

// HandleAppointmentEvent is the handler of the "journey.appointment_event" job: it wakes
// this instance's open pages of the appointment so that a reschedule, a cancellation or a
// start shows without reload (pages on other instances pick changes up on their next
// periodic re-read), and on the callbacks channel enqueues the job that creates, moves or
// disconnects the appointment's Genesys scheduled callback (see CallbackJobKind).
func (s *Service) HandleAppointmentEvent(ctx context.Context, j *store.Job) error {
	var a EventArgs
	if err := j.Decode(&a); err != nil {
		return fmt.Errorf("journey: decode appointment event: %w", err)
	}
	s.wake(a.AppointmentID)
	if endsInteraction[a.Event] {
		if err := s.enqueueInteractionEnd(ctx, j.OrgID, a.AppointmentID); err != nil {
			return fmt.Errorf("journey: end the interaction of %s: %w", a.AppointmentID, err)
		}
	}
	if a.Event == "created" {
		// A new appointment has no Genesys callback yet, so outside the callbacks channel
		// there is nothing to sync: skip the callback lookup that every booking would
		// otherwise cost.
		set, err := s.Settings(ctx, j.OrgID)
		if err != nil {
			return fmt.Errorf("journey: settings of %s: %w", j.OrgID, err)
		}
		if set.SchedulingChannel != ChannelCallbacks {
			return nil
		}
	}
	if err := s.enqueueCallbackSync(ctx, j.OrgID, a); err != nil {
		return fmt.Errorf("journey: callback of %s: %w", a.AppointmentID, err)
	}
	return nil
}

// Notify wakes this instance's open pages of an appointment (the room package calls it
// when someone joins or leaves, so pages move on without waiting for a poll).
func (s *Service) Notify(appointmentID string) { s.wake(appointmentID) }

// wake tells this instance's pages of an appointment to look again: streaming pages are
// woken, parked ones are closed so that they reconnect.
func (s *Service) wake(appointmentID string) {
	s.changes.notify(appointmentID)
	s.park.release(appointmentID)
}

// GraceFor returns the organization's grace period after an appointment's end (the room
// package uses it to decide a no-show).
func (s *Service) GraceFor(ctx context.Context, orgID string) (time.Duration, error) {
	set, err := s.Settings(ctx, orgID)
	if err != nil {
		return 0, err
	}
	return set.Grace(), nil
}
