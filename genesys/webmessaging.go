package genesys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"rendezvous/clock"
)

// Web messaging error codes Rendezvous reacts to.
const (
	GuestCodeSessionExpired     = 4006
	GuestCodeSessionNotFound    = 4007
	GuestCodeAttributesTooLarge = 4013
	GuestCodeTooManyRequests    = 4029
)

// ErrAttributesTooLarge is wrapped when custom attributes exceed the session's
// maxCustomDataBytes (checked before sending) or when Genesys answers 4013.
var ErrAttributesTooLarge = errors.New("custom attributes too large")

// ErrGuestDisconnected is wrapped when the socket dropped while a request waited for its
// answer: the message may or may not have reached Genesys (KindAmbiguous).
var ErrGuestDisconnected = errors.New("web messaging socket disconnected")

// ErrSessionLost is reported when a resume found the session gone (expired or closed)
// and Genesys opened a new, empty one instead.
var ErrSessionLost = errors.New("web messaging session lost")

// ErrGuestClosed is returned by calls on a session that was closed or ended.
var ErrGuestClosed = errors.New("web messaging session closed")

// GuestError is an error frame from the web messaging service: a response of class
// "string" whose code is the error code (4006, 4013, 5000, or an HTTP-like 400/403) and
// whose body is plain text, a TooManyRequestsErrorMessage (code 429, errorCode 4029), or
// a SessionExpiredEvent (reported with Code 4006).
type GuestError struct {
	Class   string
	Code    int
	Message string
	// RetryAfter is the wait asked for by TooManyRequestsErrorMessage (code 4029).
	RetryAfter time.Duration
}

// Error reports the class, code and message.
func (e *GuestError) Error() string {
	return fmt.Sprintf("genesys web messaging: %s %d: %s", e.Class, e.Code, e.Message)
}

// Is matches ErrAttributesTooLarge for code 4013.
func (e *GuestError) Is(target error) bool {
	return target == ErrAttributesTooLarge && e.Code == GuestCodeAttributesTooLarge
}

// GuestConfig configures a web messaging guest session.
type GuestConfig struct {
	// URL is the web messaging endpoint (Endpoints.WebMessaging), without query.
	URL string
	// DeploymentID is the Messenger deployment key.
	DeploymentID string
	// Token identifies the guest; empty means a new random one. Store it (it is
	// GuestSession.Token) to resume the same conversation after a restart.
	Token string
	// Origin is sent as the Origin header; Genesys checks it against the deployment's
	// allowed domains.
	Origin string
	// Application is the application query parameter; empty means "rendezvous".
	Application string
	// HTTPClient is used for the WebSocket handshake; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Clock paces messages, keep-alives, retry-after and reconnect waits; nil means real.
	Clock clock.Clock
	// Logger receives connection notes; nil discards them.
	Logger *slog.Logger
	// PingInterval is the keep-alive period: a WebSocket-level ping, as Genesys' official
	// transport SDK sends every 15 s; a pong not back within the interval counts as a
	// dropped socket (and the session resumes). 0 means 15 s, negative disables it.
	PingInterval time.Duration
	// MinSendInterval spaces onMessage frames (Genesys allows 2 per second per session);
	// 0 means 500 ms, negative disables pacing.
	MinSendInterval time.Duration
	// ReconnectBackoff is the base wait between resume attempts after the first, which is
	// immediate; 0 means 1 s.
	ReconnectBackoff time.Duration
	// MaxReconnectAttempts bounds automatic resumes after a drop; 0 means 8, negative
	// disables automatic resume (call Resume yourself).
	MaxReconnectAttempts int
	// RequestTimeout bounds the wait for the answer to a frame; 0 means 15 s.
	RequestTimeout time.Duration
	// Sockets, when set, supplies a socket opened ahead of time for the session's first
	// connection and opens the next one (see GuestSockets). Resumes dial their own.
	Sockets *GuestSockets
}

// SessionInfo is the body of the SessionResponse to configureSession.
type SessionInfo struct {
	Connected          bool `json:"connected"`
	NewSession         bool `json:"newSession"`
	ReadOnly           bool `json:"readOnly"`
	MaxCustomDataBytes int  `json:"maxCustomDataBytes"`
	DurationSeconds    int  `json:"durationSeconds,omitempty"`
	// ExpirationDate is when the session ends, in Unix seconds.
	ExpirationDate epochSeconds `json:"expirationDate,omitempty"`
}

// epochSeconds reads expirationDate, which Genesys sends as Unix seconds; a numeric string
// or an ISO-8601 string is accepted too, since the exact type is not documented.
type epochSeconds int64

// UnmarshalJSON accepts a number, a numeric string or an ISO-8601 string.
func (e *epochSeconds) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		f, err := n.Float64()
		if err != nil {
			return err
		}
		*e = epochSeconds(f)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("expirationDate: %w", err)
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		*e = epochSeconds(t.Unix())
		return nil
	}
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		return fmt.Errorf("expirationDate %q: %w", s, err)
	}
	*e = epochSeconds(f)
	return nil
}

// ChannelMetadata carries the custom attributes of a guest message.
type ChannelMetadata struct {
	CustomAttributes map[string]string `json:"customAttributes,omitempty"`
}

// MessageFrom is the sender shown on an agent message.
type MessageFrom struct {
	Nickname  string `json:"nickname,omitempty"`
	ID        string `json:"id,omitempty"`
	IDType    string `json:"idType,omitempty"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	Image     string `json:"image,omitempty"`
}

// MessageChannel is the channel part of a structured message.
type MessageChannel struct {
	Time      string           `json:"time,omitempty"`
	MessageID string           `json:"messageId,omitempty"`
	Type      string           `json:"type,omitempty"`
	From      *MessageFrom     `json:"from,omitempty"`
	Metadata  *ChannelMetadata `json:"metadata,omitempty"`
}

// PresenceEvent is a presence change (Join, Leave, Disconnect, ...).
type PresenceEvent struct {
	Type string `json:"type"`
}

// TypingEvent says the other side is typing.
type TypingEvent struct {
	Type     string `json:"type"`
	Duration int    `json:"duration,omitempty"`
}

// MessageEvent is one entry of StructuredMessage.Events.
type MessageEvent struct {
	EventType string         `json:"eventType"`
	Presence  *PresenceEvent `json:"presence,omitempty"`
	Typing    *TypingEvent   `json:"typing,omitempty"`
}

// StructuredMessage is a message or event frame body (class StructuredMessage).
type StructuredMessage struct {
	ID        string          `json:"id,omitempty"`
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	Direction string          `json:"direction,omitempty"`
	Channel   *MessageChannel `json:"channel,omitempty"`
	Events    []MessageEvent  `json:"events,omitempty"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
}

// GuestEventType names what a GuestEvent reports.
type GuestEventType string

// Guest event types.
const (
	// GuestAgentText is a text message from the agent (or a bot) to the guest.
	GuestAgentText GuestEventType = "agent_text"
	// GuestTyping says the agent is typing.
	GuestTyping GuestEventType = "typing"
	// GuestPresenceJoin and GuestPresenceLeave report presence events. An Outbound
	// Disconnect (a Leave) is documented: the agent or the flow ended the conversation. An
	// Outbound Join on the agent's answer is not documented, so do not wait for one alone;
	// Inbound ones come from another connection of this guest.
	GuestPresenceJoin  GuestEventType = "presence_join"
	GuestPresenceLeave GuestEventType = "presence_leave"
	// GuestMessage is any other structured message (for example the guest's own
	// message echoed to another connection).
	GuestMessage GuestEventType = "message"
	// GuestErrorEvent is an error frame not tied to a request of ours.
	GuestErrorEvent GuestEventType = "error"
	// GuestDisconnected says the socket dropped; a resume follows unless disabled.
	GuestDisconnected GuestEventType = "disconnected"
	// GuestResumed says the session was resumed with the same token on a new socket.
	GuestResumed GuestEventType = "resumed"
	// GuestSessionEnded says the session is over (expired, closed, or resume gave up);
	// no more events follow.
	GuestSessionEnded GuestEventType = "session_ended"
)

// GuestEvent is something that happened on a guest session.
type GuestEvent struct {
	Type GuestEventType
	// Message is the structured message behind message, text, typing and presence
	// events.
	Message *StructuredMessage
	// Err explains error, disconnected and session_ended events.
	Err error
	// At is when the event was received, on the session's clock.
	At time.Time
}

// serverFrame is every frame Genesys sends. What a frame is depends on Class, never on
// Type: an onMessage is acknowledged by a "message" (its inbound echo), errors and
// SessionExpiredEvent come as "response".
type serverFrame struct {
	Type      string          `json:"type"`
	Class     string          `json:"class"`
	Code      int             `json:"code"`
	Body      json.RawMessage `json:"body"`
	TracingID string          `json:"tracingId,omitempty"`
}

type frameResult struct {
	frame serverFrame
	err   error
}

// answerKind is what acknowledges a request when Genesys leaves the tracingId out of its
// answer (the official SDK's fixtures show untagged answers too).
type answerKind int

const (
	answerSession answerKind = iota // configureSession, closeSession: a SessionResponse
	answerEcho                      // echo: the message back as a StructuredMessage response
	answerInbound                   // onMessage: the inbound echo of the message
)

// pending is the request waiting for its answer.
type pending struct {
	tracingID string
	kind      answerKind
	ch        chan frameResult
}

// answers reports whether f, which carries no tracingId, is the answer p waits for.
func (p *pending) answers(f serverFrame) bool {
	if isErrorFrame(f) {
		return true // errors are never tagged in the SDK's fixtures: the one waiting owns it
	}
	switch f.Class {
	case "SessionResponse":
		return p.kind == answerSession
	case "StructuredMessage":
		var m struct {
			Direction string `json:"direction"`
		}
		if json.Unmarshal(f.Body, &m) != nil || m.Direction != "Inbound" {
			return false
		}
		return p.kind == answerInbound || p.kind == answerEcho && f.Type == "response"
	}
	return false
}

// GuestSession is one web messaging guest: one token, at most one socket at a time, and
// automatic resume of the same session after the socket drops. It is safe for concurrent
// use. Create it with DialGuest; end it with Close (socket only) or EndSession.
type GuestSession struct {
	cfg   GuestConfig
	token string
	clock clock.Clock
	log   *slog.Logger

	ctx    context.Context // lives until Close
	cancel context.CancelFunc

	reqSem chan struct{} // one request/answer exchange at a time on the socket

	mu           sync.Mutex
	conn         *websocket.Conn
	gen          int // bumps with each socket so a stale reader does not act
	waiter       *pending
	closing      bool // closeSession or a Clear was sent: the socket's end is expected
	info         SessionInfo
	lastSend     time.Time
	ended        bool
	configured   bool // a socket has been configured: only then does a drop resume
	reconnecting bool
	events       chan GuestEvent // set once in DialGuest, closed by finish
	eventsDone   bool
	pingTimer    clock.Timer
}

// DialGuest connects, configures the session with cfg.Token (resuming it when Genesys
// still knows it) and starts reading events and sending keep-alives.
func DialGuest(ctx context.Context, cfg GuestConfig) (*GuestSession, error) {
	if cfg.URL == "" || cfg.DeploymentID == "" {
		return nil, invalid("dial web messaging", "URL and DeploymentID are required")
	}
	if cfg.Token == "" {
		cfg.Token = uuid.NewString()
	}
	if cfg.Application == "" {
		cfg.Application = "rendezvous"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = 15 * time.Second
	}
	if cfg.MinSendInterval == 0 {
		cfg.MinSendInterval = 500 * time.Millisecond
	}
	cfg.ReconnectBackoff = cmp0(cfg.ReconnectBackoff, time.Second)
	if cfg.MaxReconnectAttempts == 0 {
		cfg.MaxReconnectAttempts = 8
	}
	cfg.RequestTimeout = cmp0(cfg.RequestTimeout, 15*time.Second)
	s := newGuestSession(cfg)
	var spare *websocket.Conn
	if u, _, err := s.endpoint(); err == nil && cfg.Sockets != nil {
		spare = cfg.Sockets.take(s.socketKey(u))
	}
	if err := s.connect(ctx, spare); err != nil {
		var ge *GuestError
		if spare == nil || errors.As(err, &ge) || ctx.Err() != nil {
			s.cancel()
			return nil, err
		}
		// The spare had gone stale (Genesys closed it): start over on a socket of our
		// own, in a new session. Closing the failed one ends its resume before that could
		// configure the token on a socket of its own.
		s.Close()
		s.log.Info("spare web messaging socket unusable; dialling", "err", err)
		s = newGuestSession(cfg)
		if err := s.connect(ctx, nil); err != nil {
			s.cancel()
			return nil, err
		}
	}
	if cfg.Sockets != nil {
		s.refillSockets()
	}
	return s, nil
}

// newGuestSession is a session of cfg (defaults applied), not yet connected.
func newGuestSession(cfg GuestConfig) *GuestSession {
	ctx, cancel := context.WithCancel(context.Background())
	return &GuestSession{
		cfg:    cfg,
		token:  cfg.Token,
		clock:  cfg.Clock,
		log:    cfg.Logger.With("component", "genesys_webmessaging", "deployment_id", cfg.DeploymentID),
		ctx:    ctx,
		cancel: cancel,
		reqSem: make(chan struct{}, 1),
		events: make(chan GuestEvent, 256),
	}
}

// endpoint is the socket URL of the session and the handshake headers.
func (s *GuestSession) endpoint() (string, http.Header, error) {
	u, err := url.Parse(s.cfg.URL)
	if err != nil {
		return "", nil, fmt.Errorf("genesys: web messaging url: %w", err)
	}
	q := u.Query()
	q.Set("deploymentId", s.cfg.DeploymentID)
	q.Set("application", s.cfg.Application)
	u.RawQuery = q.Encode()
	h := http.Header{}
	if s.cfg.Origin != "" {
		h.Set("Origin", s.cfg.Origin)
	}
	return u.String(), h, nil
}

// socketKey names the endpoint u of the session in cfg.Sockets: sockets are
// interchangeable when their URL (with the deployment) and Origin are.
func (s *GuestSession) socketKey(u string) string { return u + "\x00" + s.cfg.Origin }

// refillSockets has cfg.Sockets open the next socket for the session's endpoint.
func (s *GuestSession) refillSockets() {
	u, h, err := s.endpoint()
	if err != nil {
		return
	}
	client := s.cfg.HTTPClient
	s.cfg.Sockets.refill(s.socketKey(u), func(ctx context.Context) (*websocket.Conn, error) {
		conn, _, err := dialSocket(ctx, client, u, h)
		return conn, err
	}, s.cfg.RequestTimeout)
}

// Token returns the guest token; store it to resume this session later with DialGuest.
func (s *GuestSession) Token() string { return s.token }

// Info returns the latest SessionResponse (maxCustomDataBytes, newSession, ...).
func (s *GuestSession) Info() SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

// Events delivers what the agent and the service do. Drain it: when 256 events are
// waiting, further ones are dropped (and logged) rather than stalling the socket. It is
// closed after GuestSessionEnded or Close.
func (s *GuestSession) Events() <-chan GuestEvent { return s.events }

func (s *GuestSession) emit(ev GuestEvent) {
	ev.At = s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eventsDone {
		return
	}
	select {
	case s.events <- ev:
	default:
		s.log.Warn("web messaging event dropped, consumer too slow", "event", string(ev.Type))
	}
}

// finish closes the events channel once; no event follows. The session is marked ended
// before the last event goes out, so a consumer reacting to that event already finds
// every call answering ErrGuestClosed.
func (s *GuestSession) finish(ev *GuestEvent) {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	if ev != nil {
		s.emit(*ev)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.eventsDone {
		close(s.events)
		s.eventsDone = true
	}
	if s.pingTimer != nil {
		s.pingTimer.Stop()
	}
}

// connect configures the session on conn, or on a socket it opens when conn is nil.
func (s *GuestSession) connect(ctx context.Context, conn *websocket.Conn) error {
	if conn == nil {
		u, h, err := s.endpoint()
		if err != nil {
			return err
		}
		dctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
		defer cancel()
		c, resp, err := dialSocket(dctx, s.cfg.HTTPClient, u, h)
		if err != nil {
			if resp != nil {
				return fmt.Errorf("genesys: web messaging connect: handshake status %d: %w", resp.StatusCode, err)
			}
			return fmt.Errorf("genesys: web messaging connect: %w", err)
		}
		conn = c
	}
	// Hold the request slot from the moment the socket is installed until the session is
	// configured, so that no message leaves on an unconfigured socket.
	select {
	case s.reqSem <- struct{}{}:
	case <-ctx.Done():
		conn.Close(websocket.StatusNormalClosure, "")
		return ctx.Err()
	}
	defer func() { <-s.reqSem }()
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		conn.Close(websocket.StatusNormalClosure, "")
		return ErrGuestClosed
	}
	old := s.conn
	s.gen++
	gen := s.gen
	s.conn = conn
	s.mu.Unlock()
	if old != nil {
		old.Close(websocket.StatusNormalClosure, "replaced")
	}
	go s.read(conn, gen)
	s.schedulePing(conn, gen)

	f, err := s.exchange(ctx, answerSession, map[string]any{"action": "configureSession", "token": s.token, "deploymentId": s.cfg.DeploymentID})
	if err != nil {
		conn.Close(websocket.StatusNormalClosure, "configure failed")
		return fmt.Errorf("genesys: web messaging configure session: %w", err)
	}
	var info SessionInfo
	if err := json.Unmarshal(f.Body, &info); err != nil {
		return fmt.Errorf("genesys: web messaging configure session: decode %s: %w", f.Class, err)
	}
	s.mu.Lock()
	s.info = info
	s.configured = true
	s.mu.Unlock()
	s.log.Info("web messaging session configured", "new_session", info.NewSession, "read_only", info.ReadOnly)
	return nil
}

// read consumes one socket's frames until it fails.
func (s *GuestSession) read(conn *websocket.Conn, gen int) {
	for {
		_, data, err := conn.Read(s.ctx)
		if err != nil {
			s.dropped(gen, err)
			return
		}
		var f serverFrame
		if err := json.Unmarshal(data, &f); err != nil {
			s.log.Warn("web messaging frame not understood", "err", err)
			continue
		}
		s.handleFrame(f)
	}
}

// handleFrame routes a frame: to the request waiting for it (same tracingId or, when
// Genesys left the id out, the kind of answer the request expects), else to the events.
// The class says what a frame is; its type does not (an onMessage is acknowledged by a
// "message", errors come as "response").
func (s *GuestSession) handleFrame(f serverFrame) {
	switch f.Class {
	case "SessionExpiredEvent", "ConnectionClosedEvent":
		s.sessionOver(f)
		return
	}
	s.mu.Lock()
	w := s.waiter
	mine := w != nil && (f.TracingID != "" && f.TracingID == w.tracingID || f.TracingID == "" && w.answers(f))
	if mine {
		s.waiter = nil
	}
	s.mu.Unlock()
	if mine {
		w.ch <- frameResult{frame: f}
		return
	}
	s.handlePush(f)
}

// sessionOver ends the session on SessionExpiredEvent (a "response" with code 200 and an
// empty body, which is never a success) or ConnectionClosedEvent (closed from another
// connection, or after a Clear): resuming would only fail, so it stops here.
func (s *GuestSession) sessionOver(f serverFrame) {
	s.mu.Lock()
	conn, w := s.conn, s.waiter
	s.conn, s.waiter = nil, nil
	s.gen++
	s.mu.Unlock()
	var cause error = fmt.Errorf("%w: %s", ErrGuestClosed, f.Class)
	if f.Class == "SessionExpiredEvent" {
		cause = &GuestError{Class: f.Class, Code: GuestCodeSessionExpired, Message: "the session expired"}
	}
	if w != nil {
		w.ch <- frameResult{err: cause}
	}
	if conn != nil {
		conn.Close(websocket.StatusNormalClosure, "session ended")
	}
	s.finish(&GuestEvent{Type: GuestSessionEnded, Err: fmt.Errorf("genesys web messaging: %w", cause)})
}

// handlePush turns a frame no request waits for into events.
func (s *GuestSession) handlePush(f serverFrame) {
	switch {
	case isErrorFrame(f):
		ge := frameError(f)
		if ge.Code == GuestCodeSessionExpired || ge.Code == GuestCodeSessionNotFound {
			s.sessionOver(serverFrame{Class: "SessionExpiredEvent"})
			return
		}
		s.emit(GuestEvent{Type: GuestErrorEvent, Err: ge})
	case f.Class == "StructuredMessage":
		var m StructuredMessage
		if err := json.Unmarshal(f.Body, &m); err != nil {
			s.log.Warn("web messaging message not understood", "err", err)
			return
		}
		s.emit(GuestEvent{Type: messageEventType(&m), Message: &m})
	case f.Class == "SessionResponse":
		var info SessionInfo
		if json.Unmarshal(f.Body, &info) == nil {
			s.mu.Lock()
			s.info = info
			s.mu.Unlock()
		}
	default:
		// SessionClearedEvent and classes Rendezvous has no use for (attachments, JWT).
		s.log.Debug("web messaging frame ignored", "class", f.Class)
	}
}

func messageEventType(m *StructuredMessage) GuestEventType {
	if m.Type == "Text" && m.Direction == "Outbound" {
		return GuestAgentText
	}
	for _, e := range m.Events {
		switch {
		case e.EventType == "Typing":
			return GuestTyping
		case e.EventType == "Presence" && e.Presence != nil && e.Presence.Type == "Join":
			return GuestPresenceJoin
		case e.EventType == "Presence" && e.Presence != nil && (e.Presence.Type == "Leave" || e.Presence.Type == "Disconnect"):
			return GuestPresenceLeave
		}
	}
	return GuestMessage
}

// frameError builds a *GuestError from an error frame. Genesys sends class "string"
// with the error code as the frame's code and plain text as body; only
// TooManyRequestsErrorMessage has an object body ({retryAfter, errorCode, errorMessage}).
// An object body with errorCode is read too, for answers that carry one.
func frameError(f serverFrame) *GuestError {
	ge := &GuestError{Class: f.Class, Code: f.Code}
	var str string
	var b struct {
		ErrorCode    int     `json:"errorCode"`
		ErrorMessage string  `json:"errorMessage"`
		RetryAfter   float64 `json:"retryAfter"`
	}
	switch {
	case json.Unmarshal(f.Body, &str) == nil:
		ge.Message = str
	case json.Unmarshal(f.Body, &b) == nil:
		if b.ErrorCode != 0 {
			ge.Code = b.ErrorCode
		}
		ge.Message = b.ErrorMessage
		ge.RetryAfter = time.Duration(b.RetryAfter * float64(time.Second))
	default:
		ge.Message = string(f.Body)
	}
	if (f.Class == "TooManyRequestsErrorMessage" || ge.Code == http.StatusTooManyRequests) && ge.Code < 4000 {
		ge.Code = GuestCodeTooManyRequests
	}
	return ge
}

// isErrorFrame reports whether f is an error: class "string" (the body is the error's
// text), TooManyRequestsErrorMessage, Error, or any code of 400 and above.
func isErrorFrame(f serverFrame) bool {
	return f.Code >= 400 || f.Class == "string" || f.Class == "Error" || f.Class == "TooManyRequestsErrorMessage"
}

// dropped handles the end of socket gen: fail the waiting request and resume.
func (s *GuestSession) dropped(gen int, cause error) {
	s.mu.Lock()
	if gen != s.gen || s.ended {
		s.mu.Unlock()
		return
	}
	w := s.waiter
	s.waiter = nil
	s.conn = nil
	if s.closing {
		// The end of the socket after closeSession or a Clear is expected: no resume.
		s.mu.Unlock()
		if w != nil {
			w.ch <- frameResult{err: fmt.Errorf("%w: %v", ErrGuestDisconnected, cause)}
		}
		return
	}
	// Before the first configuration DialGuest is still deciding (and may start over on
	// another socket): nothing to resume yet.
	start := !s.reconnecting && s.cfg.MaxReconnectAttempts > 0 && s.configured
	if start {
		s.reconnecting = true
	}
	s.mu.Unlock()
	if w != nil {
		w.ch <- frameResult{err: fmt.Errorf("%w: %v", ErrGuestDisconnected, cause)}
	}
	if s.ctx.Err() != nil {
		return
	}
	s.log.Warn("web messaging socket dropped", "err", cause)
	s.emit(GuestEvent{Type: GuestDisconnected, Err: cause})
	if start {
		go s.reconnectLoop()
	}
}

// reconnectLoop resumes the session with the same token: at once, then with doubling
// waits, until it works, Genesys says the session is gone, or attempts run out.
func (s *GuestSession) reconnectLoop() {
	defer func() {
		s.mu.Lock()
		s.reconnecting = false
		s.mu.Unlock()
	}()
	wait := s.cfg.ReconnectBackoff
	for attempt := 1; attempt <= s.cfg.MaxReconnectAttempts; attempt++ {
		if attempt > 1 {
			if err := sleepOn(s.ctx, s.clock, wait); err != nil {
				return
			}
			wait = min(wait*2, time.Minute)
		}
		err := s.connect(s.ctx, nil)
		if err == nil {
			s.resumed()
			return
		}
		if s.ctx.Err() != nil || errors.Is(err, ErrGuestClosed) {
			return
		}
		var ge *GuestError
		if errors.As(err, &ge) && (ge.Code == GuestCodeSessionExpired || ge.Code == GuestCodeSessionNotFound) {
			s.finish(&GuestEvent{Type: GuestSessionEnded, Err: err})
			return
		}
		s.log.Warn("web messaging resume failed", "attempt", attempt, "err", err)
	}
	s.finish(&GuestEvent{Type: GuestSessionEnded, Err: fmt.Errorf("genesys web messaging: resume gave up after %d attempts", s.cfg.MaxReconnectAttempts)})
}

// Resume replaces the socket with a new one configured with the same token. Automatic
// resume makes this unnecessary unless it was disabled or gave up.
func (s *GuestSession) Resume(ctx context.Context) error {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return ErrGuestClosed
	}
	s.mu.Unlock()
	if err := s.connect(ctx, nil); err != nil {
		return err
	}
	if !s.resumed() {
		return ErrSessionLost
	}
	return nil
}

// resumed reports a successful reconnection, unless Genesys answered with a new session:
// the old one (and its conversation) is gone, which the owner must learn rather than
// talk into an empty session.
func (s *GuestSession) resumed() bool {
	if s.Info().NewSession {
		s.log.Warn("web messaging session was not resumed; Genesys started a new one")
		s.finish(&GuestEvent{Type: GuestSessionEnded, Err: ErrSessionLost})
		s.Close()
		return false
	}
	s.emit(GuestEvent{Type: GuestResumed})
	return true
}

// request writes one frame and waits for its answer. Error answers become *GuestError.
func (s *GuestSession) request(ctx context.Context, kind answerKind, frame map[string]any) (serverFrame, error) {
	select {
	case s.reqSem <- struct{}{}:
	case <-ctx.Done():
		return serverFrame{}, ctx.Err()
	}
	defer func() { <-s.reqSem }()
	return s.exchange(ctx, kind, frame)
}

// exchange is request for a caller that holds reqSem. Every frame gets a fresh tracingId,
// as the official SDKs send one, and the answer carrying it is the frame's.
func (s *GuestSession) exchange(ctx context.Context, kind answerKind, frame map[string]any) (serverFrame, error) {
	w := &pending{tracingID: uuid.NewString(), kind: kind, ch: make(chan frameResult, 1)}
	frame["tracingId"] = w.tracingID
	data, err := json.Marshal(frame)
	if err != nil {
		return serverFrame{}, err
	}
	s.mu.Lock()
	conn := s.conn
	if s.ended {
		s.mu.Unlock()
		return serverFrame{}, ErrGuestClosed
	}
	if conn == nil {
		s.mu.Unlock()
		return serverFrame{}, fmt.Errorf("%w: no socket (resuming)", ErrGuestDisconnected)
	}
	s.waiter = w
	s.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	if err := conn.Write(rctx, websocket.MessageText, data); err != nil {
		s.clearWaiter(w)
		return serverFrame{}, fmt.Errorf("%w: write: %v", ErrGuestDisconnected, err)
	}
	select {
	case r := <-w.ch:
		if r.err != nil {
			return serverFrame{}, r.err
		}
		if isErrorFrame(r.frame) {
			return r.frame, frameError(r.frame)
		}
		return r.frame, nil
	case <-rctx.Done():
		s.clearWaiter(w)
		// A late answer without a tracingId would be taken for the next request's; start
		// a clean socket.
		conn.Close(websocket.StatusGoingAway, "answer timeout")
		return serverFrame{}, fmt.Errorf("%w: no answer: %v", ErrGuestDisconnected, rctx.Err())
	}
}

func (s *GuestSession) clearWaiter(w *pending) {
	s.mu.Lock()
	if s.waiter == w {
		s.waiter = nil
	}
	s.mu.Unlock()
}

// AttributesSize is how Genesys measures custom attributes: the UTF-8 bytes of every key
// and value.
func AttributesSize(attrs map[string]string) int {
	n := 0
	for k, v := range attrs {
		n += len(k) + len(v)
	}
	return n
}

func (s *GuestSession) checkAttributes(attrs map[string]string) error {
	limit := s.Info().MaxCustomDataBytes
	if limit > 0 {
		if n := AttributesSize(attrs); n > limit {
			return fmt.Errorf("genesys: web messaging: %w: %d bytes, the deployment allows %d", ErrAttributesTooLarge, n, limit)
		}
	}
	return nil
}

// pace waits until the next onMessage may leave (Genesys allows 2 per second).
func (s *GuestSession) pace(ctx context.Context) error {
	if s.cfg.MinSendInterval < 0 {
		return nil
	}
	s.mu.Lock()
	next := s.lastSend.Add(s.cfg.MinSendInterval)
	now := s.clock.Now()
	if s.lastSend.IsZero() || !now.Before(next) {
		s.lastSend = now
		s.mu.Unlock()
		return nil
	}
	s.lastSend = next
	s.mu.Unlock()
	return sleepOn(ctx, s.clock, next.Sub(now))
}

// maxRateRetries bounds how often one message is re-sent after 4029 (never accepted).
const maxRateRetries = 3

// sendMessage sends an onMessage frame, waiting out 4029 answers.
func (s *GuestSession) sendMessage(ctx context.Context, msg map[string]any, attrs map[string]string) (StructuredMessage, error) {
	if err := s.checkAttributes(attrs); err != nil {
		return StructuredMessage{}, err
	}
	if len(attrs) > 0 {
		msg["channel"] = map[string]any{"metadata": ChannelMetadata{CustomAttributes: attrs}}
	}
	frame := map[string]any{"action": "onMessage", "token": s.token, "message": msg}
	for try := 0; ; try++ {
		if err := s.pace(ctx); err != nil {
			return StructuredMessage{}, err
		}
		f, err := s.request(ctx, answerInbound, frame)
		var ge *GuestError
		if errors.As(err, &ge) && ge.Code == GuestCodeTooManyRequests && try < maxRateRetries {
			wait := ge.RetryAfter
			if wait <= 0 {
				wait = time.Second
			}
			s.log.Info("web messaging rate limited, waiting", "wait", wait)
			if err := sleepOn(ctx, s.clock, wait); err != nil {
				return StructuredMessage{}, err
			}
			continue
		}
		if err != nil {
			return StructuredMessage{}, err
		}
		var m StructuredMessage
		if len(f.Body) > 0 && f.Body[0] == '{' {
			_ = json.Unmarshal(f.Body, &m) // the echo of our own message; best effort
		}
		return m, nil
	}
}

// Join starts the conversation without visible text (a presence Join event) and hands
// Genesys the custom attributes, which become the customer's participant data that the
// inbound message flow reads. It fails with ErrAttributesTooLarge before sending when
// the attributes exceed the session's maxCustomDataBytes.
func (s *GuestSession) Join(ctx context.Context, customAttributes map[string]string) error {
	_, err := s.sendMessage(ctx, map[string]any{
		"type":   "Event",
		"events": []MessageEvent{{EventType: "Presence", Presence: &PresenceEvent{Type: "Join"}}},
	}, customAttributes)
	if err != nil {
		return fmt.Errorf("genesys: web messaging join: %w", err)
	}
	return nil
}

// SendText sends a text message from the guest, with optional custom attributes.
func (s *GuestSession) SendText(ctx context.Context, text string, customAttributes map[string]string) error {
	if strings.TrimSpace(text) == "" {
		return invalid("web messaging send", "text is required")
	}
	_, err := s.sendMessage(ctx, map[string]any{"type": "Text", "text": text}, customAttributes)
	if err != nil {
		return fmt.Errorf("genesys: web messaging send: %w", err)
	}
	return nil
}

// Echo sends the echo frame and waits for its answer: a check that the session answers,
// which the keep-alive does not need (it pings at the WebSocket level).
func (s *GuestSession) Echo(ctx context.Context) error {
	_, err := s.request(ctx, answerEcho, map[string]any{"action": "echo", "token": s.token,
		"message": map[string]any{"type": "Text", "text": "ping"}})
	if err != nil {
		return fmt.Errorf("genesys: web messaging echo: %w", err)
	}
	return nil
}

// schedulePing pings socket gen every PingInterval, as the official SDK does, while it is
// the session's socket; a pong not back within the interval closes it, which resumes the
// session on a new one.
func (s *GuestSession) schedulePing(conn *websocket.Conn, gen int) {
	if s.cfg.PingInterval < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.ctx.Err() != nil || s.gen != gen {
		return
	}
	if s.pingTimer != nil {
		s.pingTimer.Stop()
	}
	s.pingTimer = s.clock.AfterFunc(s.cfg.PingInterval, func() {
		s.mu.Lock()
		current := s.gen == gen && !s.ended
		s.mu.Unlock()
		if !current {
			return
		}
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.PingInterval)
		err := conn.Ping(ctx)
		cancel()
		if err != nil {
			if s.ctx.Err() == nil {
				s.log.Info("web messaging pong missing; reconnecting", "err", err)
				conn.CloseNow()
			}
			return
		}
		s.schedulePing(conn, gen)
	})
}

// Close closes the socket and stops the session's goroutines. The Genesys session itself
// lives on (until it expires), so DialGuest with the same token resumes it.
func (s *GuestSession) Close() error {
	s.mu.Lock()
	conn := s.conn
	s.conn = nil
	s.gen++
	s.mu.Unlock()
	s.cancel()
	s.finish(nil)
	if conn != nil {
		return conn.Close(websocket.StatusNormalClosure, "")
	}
	return nil
}

// Clear ends the customer's side of the conversation: a Presence Clear event, which is
// how Genesys' official transport SDK lets the end user leave (Genesys then disconnects
// the customer, the agent is asked for wrap-up, and the session's connections are closed
// with a ConnectionClosedEvent). The Messenger configuration must allow clearing the
// conversation; Genesys refuses the event with a 403 otherwise. The socket is closed
// afterwards either way.
func (s *GuestSession) Clear(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	_, err := s.sendMessage(ctx, map[string]any{
		"type":   "Event",
		"events": []MessageEvent{{EventType: "Presence", Presence: &PresenceEvent{Type: "Clear"}}},
	}, nil)
	cerr := s.Close()
	if err != nil && !errors.Is(err, ErrGuestClosed) && !errors.Is(err, ErrGuestDisconnected) {
		return fmt.Errorf("genesys: web messaging clear: %w", err)
	}
	return cerr
}

// EndSession asks Genesys to close the session (closeSession, all connections), then
// closes the socket. The token cannot be resumed afterwards.
func (s *GuestSession) EndSession(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	_, err := s.request(ctx, answerSession, map[string]any{"action": "closeSession", "token": s.token, "closeAllConnections": true})
	cerr := s.Close()
	if err != nil && !errors.Is(err, ErrGuestDisconnected) && !errors.Is(err, ErrGuestClosed) {
		return fmt.Errorf("genesys: web messaging close session: %w", err)
	}
	return cerr
}
