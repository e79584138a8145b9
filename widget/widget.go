// Package widget is the self-scheduling widget: the script a company's web page embeds
// (widget.js), the page it frames (the day and slot picker and the booking form), and the
// rules of its public endpoints: which web origins may embed an organization's widget,
// the limits that stop a bot from booking every slot (per client address, per origin, per
// contact, and a proof-of-work challenge), and the booking itself, checked against the
// queue's availability schedule inside the writing transaction.
//
// The REST handlers (GET /api/v1/availability, POST /api/v1/widget/bookings, ...) live in
// package web with the rest of the API and call this package; the script and the page are
// served from here.
package widget

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/availability"
	"rendezvous/clock"
	"rendezvous/store"
)

// Chat modes a widget may be configured with (its data-chat-mode attribute).
const (
	// ChatModeQueue routes the customer's interaction to the schedule's queue.
	ChatModeQueue = "genesys-cloud"
	// ChatModeFlow routes it through the Architect flow to an agent chosen at booking.
	ChatModeFlow = "genesys-web-messaging"
	// ChatModeWebChat is Genesys' retired ACD web chat: refused.
	ChatModeWebChat = "genesys-web-chat"
)

// Options configures a Service.
type Options struct {
	Store  *store.Store
	Clock  clock.Clock
	Logger *slog.Logger
	// PublicURL is the service's base URL: the frame's origin and the links' base.
	PublicURL string
	// Key is the secrets key; the challenge key is derived from it.
	Key []byte
	// Difficulty is the proof-of-work in leading zero bits; 0 means 16.
	Difficulty int
	// MaxPerContact bookings per phone number or email within a day; 0 means 3, negative
	// no limit.
	MaxPerContact int
	// PerOrigin is how many bookings one embedding origin may make per minute (bursts of
	// twice that); 0 means 30, negative no limit.
	PerOrigin float64
	// PerClient is how many public requests one client address may make per second
	// (bursts of ten times that); 0 means 5, negative no limit.
	PerClient float64
	// NotificationsEnabled reports the organization's notification switch for a new
	// booking; nil means on.
	NotificationsEnabled func(ctx context.Context, orgID string) bool
}

// Service serves the widget and books through it.
type Service struct {
	o          Options
	log        *slog.Logger
	clock      clock.Clock
	challenges *Challenges
	perOrigin  *limiters
	perClient  *limiters
}

// New returns a widget service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("widget: a store is required")
	}
	if len(o.Key) == 0 {
		return nil, errors.New("widget: a secrets key is required")
	}
	s := &Service{o: o, log: o.Logger, clock: o.Clock}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = clock.Real()
	}
	d := o.Difficulty
	if d == 0 {
		// About 65,000 hashes: a fraction of a second in a browser, while the customer
		// types; a bot pays it for every booking.
		d = 16
	}
	s.challenges = NewChallenges(o.Key, d, 15*time.Minute)
	if s.o.MaxPerContact == 0 {
		s.o.MaxPerContact = 3
	}
	if s.o.PerOrigin == 0 {
		s.o.PerOrigin = 30
	}
	if s.o.PerClient == 0 {
		s.o.PerClient = 5
	}
	s.perOrigin = newLimiters(s.o.PerOrigin/60, int(2*s.o.PerOrigin))
	s.perClient = newLimiters(s.o.PerClient, int(10*s.o.PerClient))
	return s, nil
}

// Difficulty is the proof-of-work the service asks, in leading zero bits.
func (s *Service) Difficulty() int { return s.challenges.Difficulty }

// Issue returns a proof-of-work challenge for a booking in orgID and when it expires.
func (s *Service) Issue(orgID string) (string, time.Time, error) {
	return s.challenges.Issue(orgID, s.clock.Now())
}

// AllowClient takes one request from the client address's allowance; false means refuse
// it with 429, and how long to wait.
func (s *Service) AllowClient(addr string) (bool, time.Duration) {
	wait := s.perClient.reserve(addr, s.clock.Now())
	return wait == 0, wait
}

// ErrOriginNotAllowed is wrapped when a web origin may not embed the organization's widget.
var ErrOriginNotAllowed = rendezvous.WithDetail(fmt.Errorf("widget origin not allowed: %w", rendezvous.ErrForbidden),
	"This web site may not embed the scheduling widget; an administrator can add its origin to the allowed origins.")

// OriginAllowed reports whether origin ("https://host[:port]") may embed orgID's widget
// or call its public endpoints from a browser. The service's own origin always may.
func (s *Service) OriginAllowed(ctx context.Context, orgID, origin string) (bool, error) {
	if origin == "" {
		return false, nil
	}
	if own, err := url.Parse(s.o.PublicURL); err == nil && strings.EqualFold(origin, own.Scheme+"://"+own.Host) {
		return true, nil
	}
	allowed, _, err := s.o.Store.WidgetOrigins(ctx, orgID)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, origin) }), nil
}

// Own reports whether origin is the service's own (the widget's frame).
func (s *Service) Own(origin string) bool {
	own, err := url.Parse(s.o.PublicURL)
	return err == nil && strings.EqualFold(origin, own.Scheme+"://"+own.Host)
}

// CheckOrigins validates a list of allowed origins as an administrator enters it and
// returns them in canonical form (lower-case scheme and host, no path).
func CheckOrigins(in []string) ([]string, error) {
	var p rendezvous.Problems
	if len(in) > 100 {
		p.Add("allowedOrigins", "has %d origins; the limit is 100", len(in))
		return nil, p.Err()
	}
	out := make([]string, 0, len(in))
	for i, o := range in {
		f := fmt.Sprintf("allowedOrigins[%d]", i)
		u, err := url.Parse(strings.TrimSpace(o))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(o, " \t\r\n\x00*") {
			p.Add(f, "must be a web origin such as https://www.example.com (scheme, host and optional port; no path)")
			continue
		}
		c := strings.ToLower(u.Scheme + "://" + u.Host)
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Availability returns the free slots of queue in orgID starting in [from, to), with the
// compiled plan; ErrNotFound when the queue has no schedule.
func (s *Service) Availability(ctx context.Context, orgID, queue string, from, to time.Time) ([]availability.Slot, *availability.Plan, error) {
	rec, err := s.o.Store.Schedule(ctx, orgID, queue)
	if err != nil {
		return nil, nil, err
	}
	plan, err := availability.Compile(rec.Schedule)
	if err != nil {
		return nil, nil, fmt.Errorf("stored schedule of %q no longer valid: %w", queue, err)
	}
	now := s.clock.Now()
	before, after := plan.Buffers()
	booked, err := s.o.Store.QueueBookings(ctx, orgID, queue, plan.Agents(), from.Add(-before-after-plan.SlotLength()), to.Add(before+after+plan.SlotLength()))
	if err != nil {
		return nil, nil, err
	}
	return plan.Slots(availability.Query{Now: now, From: from, To: to, Booked: booked}), plan, nil
}

// BookRequest is a booking from the widget.
type BookRequest struct {
	OrgID, Queue, ChatMode string
	Start                  time.Time
	TimeZone, Language     string
	Name, Phone, Email     string
	Consent                bool
	Challenge, Nonce       string
	// Origin is the web page the widget is embedded in.
	Origin string
}

// FullError is a refused booking whose slot was taken meanwhile; Alternatives are the
// nearest free slots. It matches rendezvous.ErrConflict.
type FullError struct {
	Alternatives []availability.Slot
}

func (e *FullError) Error() string {
	return "that time was just taken; choose another: " + rendezvous.ErrConflict.Error()
}

// Unwrap makes a FullError a conflict.
func (e *FullError) Unwrap() error { return rendezvous.ErrConflict }

// Book checks req and books it: the challenge, the per-origin limit, the customer's
// details, then, inside the writing transaction, the schedule's rules (the slot offered,
// minimum notice, horizon, capacity), the agent's other appointments, the per-contact
// limit. A taken slot returns a *FullError with the nearest free ones.
func (s *Service) Book(ctx context.Context, req BookRequest) (*rendezvous.Appointment, error) {
	now := s.clock.Now()
	var p rendezvous.Problems
	var routing rendezvous.Routing
	switch req.ChatMode {
	case ChatModeQueue:
		routing = rendezvous.Routing{Type: rendezvous.RoutingQueue, QueueName: req.Queue}
	case ChatModeFlow:
		routing = rendezvous.Routing{Type: rendezvous.RoutingFlow}
	case ChatModeWebChat:
		p.Add("chatMode", "genesys-web-chat is Genesys Cloud's retired ACD web chat and is not supported; use genesys-web-messaging (routing to an agent through a flow) or genesys-cloud (routing to a queue)")
	default:
		p.Add("chatMode", "must be genesys-web-messaging or genesys-cloud")
	}
	if !req.Consent {
		p.Add("consent", "is required: the customer must agree to be contacted about the appointment")
	}
	if req.Challenge == "" {
		p.Add("challenge", "is required")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	if err := s.challenges.Verify(req.OrgID, req.Challenge, req.Nonce, now); err != nil {
		return nil, &rendezvous.ValidationError{Problems: []rendezvous.FieldProblem{{Field: "nonce", Message: err.Error()}}}
	}
	if wait := s.perOrigin.reserve(req.OrgID+" "+req.Origin, now); wait > 0 {
		return nil, &RetryError{Wait: wait, Msg: "too many bookings from this web site just now"}
	}
	rec, err := s.o.Store.Schedule(ctx, req.OrgID, req.Queue)
	if err != nil {
		return nil, err
	}
	plan, err := availability.Compile(rec.Schedule)
	if err != nil {
		return nil, fmt.Errorf("stored schedule of %q no longer valid: %w", req.Queue, err)
	}
	// Flow routing needs an agent to pass NewAppointment's rule; the real one is chosen
	// inside the booking transaction.
	placeholder := ""
	if routing.Type == rendezvous.RoutingFlow {
		placeholder = "chosen-at-booking"
	}
	a, err := rendezvous.NewAppointment(req.OrgID, rendezvous.AppointmentInput{
		Start:           req.Start,
		DurationMinutes: int(plan.SlotLength() / time.Minute),
		TimeZone:        req.TimeZone,
		Title:           "Video appointment",
		Notes:           "Booked by the customer through the scheduling widget on " + req.Origin,
		AgentUserID:     placeholder,
		Customers:       []rendezvous.Customer{{Name: req.Name, Phone: req.Phone, Email: req.Email, Language: req.Language}},
		Interaction: rendezvous.Interaction{Routing: routing, CustomFields: map[string]string{
			rendezvous.FieldSource: rendezvous.SourceWidget, rendezvous.FieldWidgetQueue: req.Queue, rendezvous.FieldWidgetChatMode: req.ChatMode}},
	}, now)
	if err != nil {
		return nil, err
	}
	if routing.Type == rendezvous.RoutingFlow && len(plan.Agents()) == 0 {
		return nil, &rendezvous.ValidationError{Problems: []rendezvous.FieldProblem{{Field: "chatMode",
			Message: "this queue's schedule lists no agents, so there is nobody to route to through the flow; use genesys-cloud"}}}
	}
	a.NotificationsEnabled = s.o.NotificationsEnabled == nil || s.o.NotificationsEnabled(ctx, req.OrgID)
	c := a.Customers[0]
	contact := c.Phone
	if contact == "" {
		contact = c.Email
	}
	sum := sha256.Sum256([]byte(req.OrgID + "\x00" + strings.ToLower(contact)))
	var full *FullError
	saved, err := s.o.Store.BookFromSchedule(ctx, a, store.WidgetBooking{
		Queue: req.Queue, ContactHash: hex.EncodeToString(sum[:]), Origin: req.Origin, Challenge: req.Challenge,
		MaxPerContact: s.o.MaxPerContact, ContactWindow: 24 * time.Hour,
	}, func(rec store.ScheduleRecord, booked []availability.Booking) (string, error) {
		// The schedule as it is now, inside the transaction: an administrator may have
		// changed it since the form loaded.
		plan, err := availability.Compile(rec.Schedule)
		if err != nil {
			return "", fmt.Errorf("stored schedule no longer valid: %w", err)
		}
		if plan.SlotLength() != a.Duration {
			return "", &rendezvous.ValidationError{Problems: []rendezvous.FieldProblem{{Field: "start", Message: "the schedule changed; choose a time again"}}}
		}
		_, err = plan.Check(now, a.Start, booked)
		switch {
		case errors.Is(err, availability.ErrFull):
			full = &FullError{Alternatives: plan.Nearest(now, a.Start, booked, 3)}
			return "", full
		case err != nil:
			return "", &rendezvous.ValidationError{Problems: []rendezvous.FieldProblem{{Field: "start", Message: err.Error()}}}
		}
		if routing.Type != rendezvous.RoutingFlow {
			return "", nil
		}
		free := plan.FreeAgents(a.Start, booked)
		agent := plan.ChooseAgent(free, a.Start, booked, rec.LastAgent)
		if agent == "" {
			full = &FullError{Alternatives: plan.Nearest(now, a.Start, booked, 3)}
			return "", full
		}
		return agent, nil
	})
	if err != nil {
		if full != nil && errors.Is(err, rendezvous.ErrConflict) && !errors.Is(err, store.ErrChallengeSpent) {
			return nil, full
		}
		return nil, err
	}
	return saved, nil
}

// RetryError is a refusal for going too fast; it matches rendezvous.ErrRateLimited.
type RetryError struct {
	Wait time.Duration
	Msg  string
}

func (e *RetryError) Error() string { return e.Msg + ": " + rendezvous.ErrRateLimited.Error() }

// Unwrap makes a RetryError a rate-limit refusal.
func (e *RetryError) Unwrap() error { return rendezvous.ErrRateLimited }
