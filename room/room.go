package room

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/store"
)

// Side is one of the two parties of a room.
type Side string

// The two sides of a room.
const (
	Agent    Side = "agent"
	Customer Side = "customer"
)

// Other returns the opposite side.
func (s Side) Other() Side {
	if s == Agent {
		return Customer
	}
	return Agent
}

// Engine issues the URL a side opens to join an appointment's meeting. The built-in
// WebRTC room (*Rooms) is one implementation; an external engine such as LiveKit or Jitsi
// implements it by creating its room and returning its own join URL or a URL carrying
// its token. Callers (the customer journey, notifications) depend on this interface only.
type Engine interface {
	JoinURL(ctx context.Context, a *rendezvous.Appointment, side Side) (string, error)
}

// Job kinds the room handles. The wiring routes each to the handler of the same name.
const (
	// EventJobKind is the room's own appointment event job (Args: store.EventArgs),
	// from when each area had one per change. The service now hands the room its share of
	// the store's single event job (store.EventJobKind); either way the handler is
	// HandleAppointmentEvent.
	EventJobKind = "room.appointment_event"
	// DeadlineJobKind runs at the end of an appointment plus the grace period; handle it
	// with HandleDeadline.
	DeadlineJobKind = "room.deadline"
	// EmptyJobKind runs EmptyGrace after the room became empty; handle it with HandleEmpty.
	EmptyJobKind = "room.empty"
)

// Defaults of Options.
const (
	// DefaultGrace is the grace period after the end when Options.Grace is nil.
	DefaultGrace = 15 * time.Minute
	// DefaultEmptyGrace is how long an empty room waits before completing.
	DefaultEmptyGrace = 2 * time.Minute
	// DefaultAgentEarly is how long before the start the agent may enter.
	DefaultAgentEarly = 30 * time.Minute
)

// Options configures Rooms.
type Options struct {
	// Store records sessions and statuses. Required.
	Store *store.Store
	// Clock defaults to the store's clock.
	Clock clock.Clock
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Key signs agent links. Required, at least 32 bytes; pass the service's secrets key
	// (the room derives its own key from it, so the key itself never signs anything).
	Key []byte
	// PreviousKeys are secrets keys being rotated out: agent links they signed still open
	// their rooms, so a rotation does not strand the links already in Genesys interactions.
	PreviousKeys [][]byte
	// PublicURL is the service's public base URL ("https://meet.example.com"), for links.
	PublicURL string
	// ICEServers are the STUN/TURN servers of organizations that saved none. Nil means a
	// public STUN server is not assumed: browsers then connect on host and server-reflexive
	// candidates they find themselves, enough on one network.
	ICEServers []ICEServer
	// Grace returns how long after an appointment's end the customer may still come,
	// per organization (the customer journey's setting). Nil means DefaultGrace.
	Grace func(ctx context.Context, orgID string) (time.Duration, error)
	// EmptyGrace is how long a room stays open after both sides left before the
	// appointment is completed. Zero means DefaultEmptyGrace.
	EmptyGrace time.Duration
	// AgentEarly is how long before the start the agent may open the room. Zero means
	// DefaultAgentEarly.
	AgentEarly time.Duration
	// InstanceURL is this instance's base URL as the other instances reach it (for
	// example "http://10.0.0.5:8080"). With several instances on one database, set it on
	// each: the first instance a room's side reaches hosts that room's signaling and the
	// others forward the WebSocket to it, so both sides always meet in one process.
	// Empty means a single instance, which hosts every room itself.
	InstanceURL string
	// Metrics receives the room's Prometheus series (connections, joins, relayed
	// messages). Nil records them nowhere.
	Metrics prometheus.Registerer
	// OnChange is called with an appointment id when someone joins or leaves, so other
	// parts (the customer's page) can look again without polling. Optional.
	OnChange func(appointmentID string)
}

// Rooms is the built-in video room service.
type Rooms struct {
	o       Options
	st      *store.Store
	clock   clock.Clock
	log     *slog.Logger
	linkKey []byte
	oldKeys [][]byte // link keys derived from Options.PreviousKeys
	hub     *Hub
	metrics *metrics

	// conns tracks open websocket connections so Close can end them on shutdown.
	mu    sync.Mutex
	conns map[*wsPeer]struct{}
}

// New returns the room service.
func New(o Options) (*Rooms, error) {
	if o.Store == nil {
		return nil, errors.New("room: Options.Store is required")
	}
	if len(o.Key) < 32 {
		return nil, errors.New("room: Options.Key must hold at least 32 bytes")
	}
	if o.Clock == nil {
		o.Clock = o.Store.Clock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.EmptyGrace <= 0 {
		o.EmptyGrace = DefaultEmptyGrace
	}
	if o.AgentEarly <= 0 {
		o.AgentEarly = DefaultAgentEarly
	}
	if o.ICEServers == nil {
		o.ICEServers = []ICEServer{} // the browsers are sent an array, never null
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	o.InstanceURL = strings.TrimRight(o.InstanceURL, "/")
	met, err := newMetrics(o.Metrics)
	if err != nil {
		return nil, err
	}
	derive := func(key []byte) []byte {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte("rendezvous room agent links v1"))
		return mac.Sum(nil)
	}
	var oldKeys [][]byte
	for _, k := range o.PreviousKeys {
		oldKeys = append(oldKeys, derive(k))
	}
	return &Rooms{
		o: o, st: o.Store, clock: o.Clock, log: o.Logger,
		linkKey: derive(o.Key),
		oldKeys: oldKeys,
		hub:     NewHub(),
		metrics: met,
		conns:   make(map[*wsPeer]struct{}),
	}, nil
}

// Hub returns the signaling hub of this instance.
func (r *Rooms) Hub() *Hub { return r.hub }

// AgentKey returns the secret part of a's agent link: "<org>.<appointment id>.<mac>".
// The organization is base64url-encoded so that any id fits the path. The MAC covers the
// assigned agent too, so reassigning the appointment retires the previous agent's link.
func (r *Rooms) AgentKey(a *rendezvous.Appointment) string {
	org := base64.RawURLEncoding.EncodeToString([]byte(a.OrgID))
	return org + "." + a.ID + "." + r.agentMAC(a.OrgID, a.ID, a.AgentUserID)
}

func (r *Rooms) agentMAC(orgID, id, agentUserID string) string {
	return agentMAC(r.linkKey, orgID, id, agentUserID)
}

// validAgentMAC reports whether mac is a's agent MAC under the current link key or one
// derived from a previous secrets key.
func (r *Rooms) validAgentMAC(a *rendezvous.Appointment, mac string) bool {
	for _, k := range append([][]byte{r.linkKey}, r.oldKeys...) {
		want := agentMAC(k, a.OrgID, a.ID, a.AgentUserID)
		if subtle.ConstantTimeCompare([]byte(want), []byte(mac)) == 1 {
			return true
		}
	}
	return false
}

func agentMAC(linkKey []byte, orgID, id, agentUserID string) string {
	m := hmac.New(sha256.New, linkKey)
	m.Write([]byte(orgID))
	m.Write([]byte{0})
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(agentUserID))
	// 128 bits are as unguessable as the customer's link and keep the URL short.
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// AgentLink returns the URL of the agent's side of a's room, to put into the Genesys
// interaction. It matches journey.RoomLinks.
func (r *Rooms) AgentLink(a *rendezvous.Appointment) string {
	return r.o.PublicURL + AgentPath(r.AgentKey(a))
}

// CustomerLink returns the URL of the customer's standalone room page. The customer
// journey embeds the room in its own page instead; this one serves engines' JoinURL.
func (r *Rooms) CustomerLink(a *rendezvous.Appointment) string {
	return r.o.PublicURL + CustomerPath(a.LinkToken)
}

// JoinURL implements Engine for the built-in room.
func (r *Rooms) JoinURL(_ context.Context, a *rendezvous.Appointment, side Side) (string, error) {
	switch side {
	case Agent:
		return r.AgentLink(a), nil
	case Customer:
		if a.LinkToken == "" {
			return "", fmt.Errorf("customer link of %s: token not available", a.ID)
		}
		return r.CustomerLink(a), nil
	}
	return "", ErrUnknownSide
}

// Paths of the room's pages and signaling endpoints, relative to the public URL.

// AgentPath is the agent's room page for an agent key.
func AgentPath(key string) string { return "/room/agent/" + url.PathEscape(key) }

// CustomerPath is the customer's standalone room page for a customer link token.
func CustomerPath(token string) string { return "/room/customer/" + url.PathEscape(token) }

// SignalingPath is the WebSocket endpoint of side for its key (agent key or customer
// link token): the page path plus "/ws".
func SignalingPath(side Side, key string) string {
	if side == Agent {
		return AgentPath(key) + "/ws"
	}
	return CustomerPath(key) + "/ws"
}

// errBadLink is returned for any link that does not open a room, whatever the reason,
// so a caller learns nothing about which appointments exist.
var errBadLink = fmt.Errorf("this room link is not valid: %w", rendezvous.ErrNotFound)

// Authorize returns the appointment whose room key opens for side: the agent key for
// Agent, the customer link token for Customer. A key of the other side, a forged or
// unknown key all give the same ErrNotFound.
func (r *Rooms) Authorize(ctx context.Context, side Side, key string) (*rendezvous.Appointment, error) {
	switch side {
	case Customer:
		if !rendezvous.IsLinkToken(key) { // cannot exist: no database round trip
			return nil, errBadLink
		}
		a, err := r.st.AppointmentByLinkToken(ctx, key)
		if errors.Is(err, rendezvous.ErrNotFound) {
			return nil, errBadLink
		}
		return a, err
	case Agent:
		parts := strings.Split(key, ".")
		if len(parts) != 3 {
			return nil, errBadLink
		}
		org, err := base64.RawURLEncoding.DecodeString(parts[0])
		// A key whose parts cannot be an organization id and an appointment id (which
		// UUIDs are) cannot exist: no database round trip, and no odd byte in a query.
		if err != nil || len(org) == 0 || len(org) > 200 || rendezvous.CheckLine(string(org)) != nil ||
			!rendezvous.IsID(parts[1]) || len(parts[2]) != 22 {
			return nil, errBadLink
		}
		a, err := r.st.Appointment(ctx, string(org), parts[1])
		if errors.Is(err, rendezvous.ErrNotFound) {
			return nil, errBadLink
		}
		if err != nil {
			return nil, err
		}
		if !r.validAgentMAC(a, parts[2]) {
			return nil, errBadLink
		}
		return a, nil
	}
	return nil, ErrUnknownSide
}

// grace returns the organization's grace period after the end.
func (r *Rooms) grace(ctx context.Context, orgID string) time.Duration {
	if r.o.Grace == nil {
		return DefaultGrace
	}
	g, err := r.o.Grace(ctx, orgID)
	if err != nil {
		r.log.WarnContext(ctx, "room: grace period unavailable, using the default", "org_id", orgID, "error", err)
		return DefaultGrace
	}
	return g
}

// Errors of Admit. Both wrap rendezvous.ErrConflict; the pages tell them apart.
var (
	// ErrNotYet: too early to enter the room.
	ErrNotYet = fmt.Errorf("the room is not open yet: %w", rendezvous.ErrConflict)
	// ErrClosed: the appointment is over, cancelled, or too late to join.
	ErrClosed = fmt.Errorf("this appointment is over: %w", rendezvous.ErrConflict)
)

// Admit decides whether side may enter a's room at instant now, given the grace
// period after the end and how early the agent may come. It is the one rule behind the
// pages and the signaling endpoint.
//
// The customer may enter from the start: the customer's page switches to the room at
// the start on the server's clock, and before that the waiting room is the place to be.
// The agent may enter agentEarly before it, to check camera and microphone. Neither
// may enter once the appointment is final, nor after the end plus grace unless the
// meeting is still in progress (someone dropped out and comes back late).
func Admit(a *rendezvous.Appointment, side Side, now time.Time, grace, agentEarly time.Duration) error {
	if a.Status.Final() {
		return ErrClosed
	}
	if now.Before(opensAt(a, side, agentEarly)) {
		return ErrNotYet
	}
	if a.Status != rendezvous.StatusInProgress && !now.Before(a.End().Add(grace)) {
		return ErrClosed
	}
	return nil
}

// Check applies Admit to side entering a's room now, with the organization's grace.
func (r *Rooms) Check(ctx context.Context, a *rendezvous.Appointment, side Side) error {
	return Admit(a, side, r.clock.Now(), r.grace(ctx, a.OrgID), r.o.AgentEarly)
}

// Opens returns when side may first enter a's room.
func (r *Rooms) Opens(a *rendezvous.Appointment, side Side) time.Time {
	return opensAt(a, side, r.o.AgentEarly)
}

// opensAt is when side may first enter a's room: the start, or agentEarly before it for
// the agent.
func opensAt(a *rendezvous.Appointment, side Side, agentEarly time.Duration) time.Time {
	if side == Agent {
		return a.Start.Add(-agentEarly)
	}
	return a.Start
}
