package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"rendezvous/clock"
)

// Web messaging error codes: the code of an error frame (class "string"), and errorCode
// in the body of TooManyRequestsErrorMessage.
const (
	wmSessionExpired  = 4006
	wmSessionNotFound = 4007
	wmMessageTooLong  = 4011
	wmCustomDataLarge = 4013
	wmMissingParam    = 4020
	wmRateTooHigh     = 4029
	wmUnexpected      = 5000
)

// wmSession is a guest's web messaging session, identified by the token the guest chose.
type wmSession struct {
	key, token, deploymentID string
	expiresAt                time.Time
	conns                    map[*wmConn]bool
	conv                     *conversation // the active conversation, if any
	rate                     window
	expiry                   clock.Timer
}

// wmConn is one guest socket. Frames are queued on out and written by the conn's own
// goroutine, so the sandbox lock is never held across network I/O.
type wmConn struct {
	ws           *websocket.Conn
	deploymentID string
	session      *wmSession
	out          chan []byte
	done         chan struct{}
}

// kill closes the socket abruptly, as a dropped network would.
func (c *wmConn) kill() { c.ws.CloseNow() }

// send queues a frame; a guest too slow to drain 64 frames is cut off.
func (c *wmConn) send(frame any) {
	b, err := json.Marshal(frame)
	if err != nil {
		panic(err) // frames are sandbox structs: a failure is a bug
	}
	select {
	case c.out <- b:
	case <-c.done:
	default:
		c.kill()
	}
}

// Wire format of web messaging frames.

// serverFrame is every frame the server sends. Type is "response" for the answers to
// configureSession, echo and closeSession, for errors and for SessionExpiredEvent, and
// "message" for the inbound echo that acknowledges an onMessage and for everything pushed.
// Successful answers carry the request's tracingId; errors carry none, as in the official
// SDK's fixtures, so a client must not depend on it.
type serverFrame struct {
	Type      string `json:"type"`
	Class     string `json:"class"`
	Code      int    `json:"code"`
	Body      any    `json:"body"`
	TracingID string `json:"tracingId,omitempty"`
}

type sessionResponse struct {
	Connected              bool  `json:"connected"`
	NewSession             bool  `json:"newSession"`
	ReadOnly               bool  `json:"readOnly"`
	MaxCustomDataBytes     int   `json:"maxCustomDataBytes"`
	DurationSeconds        int   `json:"durationSeconds"`
	ExpirationDate         int64 `json:"expirationDate"`
	ClearedExistingSession bool  `json:"clearedExistingSession"`
}

type tooManyRequests struct {
	RetryAfter   int    `json:"retryAfter"`
	ErrorCode    int    `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

type wmFrom struct {
	Nickname string `json:"nickname"`
	ID       string `json:"id"`
	IDType   string `json:"idType"`
}

type wmChannel struct {
	Time      string    `json:"time,omitempty"`
	MessageID string    `json:"messageId,omitempty"`
	From      *wmFrom   `json:"from,omitempty"`
	Metadata  *wmMetaIn `json:"metadata,omitempty"`
}

type wmMetaIn struct {
	CustomAttributes map[string]string `json:"customAttributes,omitempty"`
}

type wmPresence struct {
	Type string `json:"type"`
}

type wmEvent struct {
	EventType string      `json:"eventType"`
	Presence  *wmPresence `json:"presence,omitempty"`
	Typing    *struct {
		Type     string `json:"type"`
		Duration int    `json:"duration,omitempty"`
	} `json:"typing,omitempty"`
}

// structuredMessage is the body of a StructuredMessage frame (and a guest's message).
type structuredMessage struct {
	ID                string            `json:"id,omitempty"`
	Type              string            `json:"type"`
	Text              string            `json:"text,omitempty"`
	Direction         string            `json:"direction,omitempty"`
	Channel           *wmChannel        `json:"channel,omitempty"`
	Events            []wmEvent         `json:"events,omitempty"`
	Metadata          map[string]string `json:"metadata,omitempty"`
	OriginatingEntity string            `json:"originatingEntity,omitempty"`
}

// clientFrame is every frame a guest sends.
type clientFrame struct {
	Action              string             `json:"action"`
	Token               string             `json:"token"`
	DeploymentID        string             `json:"deploymentId,omitempty"`
	StartNew            bool               `json:"startNew,omitempty"`
	CloseAllConnections bool               `json:"closeAllConnections,omitempty"`
	Message             *structuredMessage `json:"message,omitempty"`
	TracingID           string             `json:"tracingId,omitempty"`
}

// errorFrame is an error as Genesys sends it: class "string", the error code as the
// frame's code, and the message as a plain-text body.
func errorFrame(code int, msg string) serverFrame {
	return serverFrame{Type: "response", Class: "string", Code: code, Body: msg}
}

// handleWebMessaging serves the guest WebSocket at GET /v1?deploymentId=&application=.
// Refusals before the upgrade (missing or unknown deployment, origin not allowed) are
// plain HTTP errors, since there is no socket yet to carry a frame.
func (s *Sandbox) handleWebMessaging() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		depID := r.URL.Query().Get("deploymentId")
		if depID == "" {
			s.writeAPIError(w, r, badRequest("deploymentId", "The deploymentId query parameter is required."))
			return
		}
		s.mu.Lock()
		dep := s.deployments[depID]
		var allowed []string
		if dep != nil {
			allowed = dep.allowedDomains // SetAllowedDomains replaces the slice, never edits it
		}
		s.mu.Unlock()
		if dep == nil {
			s.writeAPIError(w, r, notFound("The deployment %s was not found.", depID))
			return
		}
		if origin := r.Header.Get("Origin"); !originAllowed(allowed, origin) {
			s.writeAPIError(w, r, &apiError{status: http.StatusForbidden, code: "origin.not.allowed",
				message: fmt.Sprintf("The origin %q is not an allowed domain of deployment %s.", origin, depID)})
			return
		}
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			s.log.Info("sandbox web messaging upgrade failed", "err", err)
			return
		}
		ws.SetReadLimit(1 << 20)
		c := &wmConn{ws: ws, deploymentID: depID, out: make(chan []byte, 64), done: make(chan struct{})}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			ws.CloseNow()
			return
		}
		s.conns[c] = true
		s.mu.Unlock()
		go c.writeLoop()
		s.readLoop(c)
	})
}

// originAllowed checks an Origin against a deployment's allowed domains (hosts, optionally
// with a leading "*." wildcard, or full origins). No domains means all are allowed.
func originAllowed(domains []string, origin string) bool {
	if len(domains) == 0 {
		return true
	}
	u, err := url.Parse(origin)
	if origin == "" || err != nil || u.Host == "" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	for _, d := range domains {
		d = strings.ToLower(strings.TrimSpace(d))
		if du, err := url.Parse(d); err == nil && du.Host != "" {
			if strings.EqualFold(du.Scheme+"://"+du.Host, u.Scheme+"://"+u.Host) {
				return true
			}
			continue
		}
		if suffix, ok := strings.CutPrefix(d, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
		} else if host == d {
			return true
		}
	}
	return false
}

func (c *wmConn) writeLoop() {
	for {
		select {
		case b := <-c.out:
			if b == nil {
				c.ws.Close(websocket.StatusNormalClosure, "session closed")
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := c.ws.Write(ctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				c.kill()
				return
			}
		case <-c.done:
			return
		}
	}
}

func (s *Sandbox) readLoop(c *wmConn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		if c.session != nil {
			delete(c.session.conns, c)
		}
		s.mu.Unlock()
		close(c.done)
		c.kill()
	}()
	for {
		typ, b, err := c.ws.Read(context.Background())
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			c.send(errorFrame(wmUnexpected, "Frames must be JSON text."))
			continue
		}
		var f clientFrame
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			// Tolerate fields the sandbox does not know, as Genesys would, but say so.
			if err2 := json.Unmarshal(b, &f); err2 != nil {
				c.send(errorFrame(wmUnexpected, "The frame is not valid JSON: "+err2.Error()))
				continue
			}
			s.log.Warn("sandbox web messaging frame with unknown fields", "err", err)
		}
		s.mu.Lock()
		s.handleFrameLocked(c, &f)
		s.notifyLocked()
		s.mu.Unlock()
	}
}

func (s *Sandbox) handleFrameLocked(c *wmConn, f *clientFrame) {
	switch f.Action {
	case "":
		c.send(errorFrame(wmMissingParam, "The action is missing."))
	case "configureSession":
		s.configureSessionLocked(c, f)
	case "onMessage", "echo", "closeSession":
		sess := c.session
		if f.Token == "" {
			c.send(errorFrame(wmMissingParam, "The token is missing."))
			return
		}
		if sess == nil || sess.token != f.Token {
			c.send(errorFrame(wmSessionNotFound, "No session is configured for this token on this connection."))
			return
		}
		if !s.clock.Now().Before(sess.expiresAt) {
			c.send(errorFrame(wmSessionExpired, "The session has expired."))
			return
		}
		switch f.Action {
		case "onMessage":
			s.onMessageLocked(c, sess, f.Message, f.TracingID)
		case "echo":
			s.echoLocked(c, f.Message, f.TracingID)
		default:
			s.closeSessionLocked(c, sess, f.CloseAllConnections, f.TracingID)
		}
	default:
		s.log.Error("genesys sandbox: unmodelled web messaging action", "action", f.Action)
		c.send(errorFrame(wmUnexpected, fmt.Sprintf("The sandbox does not model the action %q.", f.Action)))
	}
}

func (s *Sandbox) configureSessionLocked(c *wmConn, f *clientFrame) {
	if f.Token == "" || f.DeploymentID == "" {
		c.send(errorFrame(wmMissingParam, "configureSession needs token and deploymentId."))
		return
	}
	if f.DeploymentID != c.deploymentID {
		c.send(errorFrame(wmMissingParam, "deploymentId differs from the one the socket was opened with."))
		return
	}
	now := s.clock.Now()
	key := c.deploymentID + "/" + f.Token
	sess := s.sessions[key]
	if sess != nil && !now.Before(sess.expiresAt) {
		c.send(errorFrame(wmSessionExpired, "The session has expired."))
		return
	}
	resp := sessionResponse{Connected: true, MaxCustomDataBytes: s.opts.MaxCustomDataBytes}
	if sess != nil && f.StartNew {
		// A new session replaces the old one: its conversation ends and its other sockets
		// are told.
		if sess.conv != nil {
			s.disconnectLocked(sess.conv)
		}
		s.endSessionLocked(sess, c, "ConnectionClosedEvent")
		sess, resp.ClearedExistingSession = nil, true
	}
	if sess == nil {
		sess = &wmSession{key: key, token: f.Token, deploymentID: c.deploymentID,
			expiresAt: now.Add(s.opts.SessionDuration), conns: map[*wmConn]bool{}}
		s.sessions[key] = sess
		sess.expiry = s.afterFunc(s.opts.SessionDuration, func() { s.expireSessionLocked(sess) })
		resp.NewSession = true
	}
	if c.session != nil && c.session != sess {
		delete(c.session.conns, c)
	}
	c.session = sess
	sess.conns[c] = true
	resp.DurationSeconds = int(sess.expiresAt.Sub(now) / time.Second)
	resp.ExpirationDate = sess.expiresAt.Unix()
	c.send(serverFrame{Type: "response", Class: "SessionResponse", Code: http.StatusOK, Body: resp, TracingID: f.TracingID})
}

// endSessionLocked pushes a closing event to the session's sockets other than except,
// closes them, and forgets the session.
func (s *Sandbox) endSessionLocked(sess *wmSession, except *wmConn, class string) {
	for conn := range sess.conns {
		if conn == except {
			continue
		}
		// SessionExpiredEvent comes as a "response" (code 200, empty body), the official
		// SDK's fixtures show; ConnectionClosedEvent as a "message".
		typ := "message"
		if class == "SessionExpiredEvent" {
			typ = "response"
		}
		conn.send(serverFrame{Type: typ, Class: class, Code: http.StatusOK, Body: map[string]any{}})
		conn.session = nil
		conn.closeAfterFlush()
	}
	sess.conns = map[*wmConn]bool{}
	if sess.expiry != nil {
		sess.expiry.Stop()
	}
	delete(s.sessions, sess.key)
}

// closeAfterFlush closes a socket normally once the frames queued before it are written:
// a nil frame on out is the writer's signal to close.
func (c *wmConn) closeAfterFlush() {
	select {
	case c.out <- nil:
	case <-c.done:
	default:
		c.kill()
	}
}

func (s *Sandbox) expireSessionLocked(sess *wmSession) {
	if s.sessions[sess.key] != sess {
		return
	}
	s.log.Info("sandbox web messaging session expired")
	if sess.conv != nil {
		s.disconnectLocked(sess.conv)
	}
	s.endSessionLocked(sess, nil, "SessionExpiredEvent")
}

func (s *Sandbox) closeSessionLocked(c *wmConn, sess *wmSession, all bool, tracingID string) {
	c.send(serverFrame{Type: "response", Class: "SessionResponse", Code: http.StatusOK, TracingID: tracingID,
		Body: sessionResponse{Connected: false, MaxCustomDataBytes: s.opts.MaxCustomDataBytes,
			DurationSeconds: int(sess.expiresAt.Sub(s.clock.Now()) / time.Second), ExpirationDate: sess.expiresAt.Unix()}})
	if all {
		for conn := range sess.conns {
			if conn != c {
				conn.send(serverFrame{Type: "message", Class: "ConnectionClosedEvent", Code: http.StatusOK, Body: map[string]any{}})
				conn.session = nil
				conn.closeAfterFlush()
			}
		}
		sess.conns = map[*wmConn]bool{}
	}
	delete(sess.conns, c)
	c.session = nil
	c.closeAfterFlush()
}

func (s *Sandbox) echoLocked(c *wmConn, m *structuredMessage, tracingID string) {
	if m == nil {
		c.send(errorFrame(wmMissingParam, "echo needs a message."))
		return
	}
	c.send(serverFrame{Type: "response", Class: "StructuredMessage", Code: http.StatusOK, TracingID: tracingID,
		Body: structuredMessage{ID: uuid.NewString(), Type: m.Type, Text: m.Text, Direction: "Inbound",
			Channel: &wmChannel{Time: formatTime(s.clock.Now())}, Metadata: m.Metadata}})
}

// onMessageLocked handles a guest message: validation, the per-session rate, then the
// conversation (started by a Presence Join or the first Text). It is acknowledged by the
// inbound echo of the message, a "message" carrying the request's tracingId, which every
// socket of the session receives; a Presence Clear also ends the session (its sockets get
// SessionClearedEvent, then ConnectionClosedEvent, and are closed), as the official
// transport SDK describes.
func (s *Sandbox) onMessageLocked(c *wmConn, sess *wmSession, m *structuredMessage, tracingID string) {
	if m == nil || m.Type == "" {
		c.send(errorFrame(wmMissingParam, "onMessage needs a message with a type."))
		return
	}
	var attrs map[string]string
	if m.Channel != nil && m.Channel.Metadata != nil {
		attrs = m.Channel.Metadata.CustomAttributes
	}
	size := 0
	for k, v := range attrs {
		size += len(k) + len(v)
	}
	if size > s.opts.MaxCustomDataBytes {
		c.send(errorFrame(wmCustomDataLarge, fmt.Sprintf("Custom attributes take %d bytes, more than the maximum of %d.", size, s.opts.MaxCustomDataBytes)))
		return
	}
	var join, clear bool
	switch m.Type {
	case "Text":
		if m.Text == "" {
			c.send(errorFrame(wmMissingParam, "A Text message needs text."))
			return
		}
		if utf8.RuneCountInString(m.Text) > s.opts.MaxTextLength {
			c.send(errorFrame(wmMessageTooLong, fmt.Sprintf("The message is longer than %d characters.", s.opts.MaxTextLength)))
			return
		}
	case "Event":
		if len(m.Events) == 0 {
			c.send(errorFrame(wmMissingParam, "An Event message needs events."))
			return
		}
		for _, e := range m.Events {
			switch {
			case e.EventType == "Presence" && e.Presence != nil && e.Presence.Type == "Join":
				join = true
			case e.EventType == "Presence" && e.Presence != nil && e.Presence.Type == "Clear":
				clear = true
			case e.EventType == "Typing" && e.Typing != nil:
			default:
				s.log.Error("genesys sandbox: unmodelled web messaging event", "event_type", e.EventType)
				c.send(errorFrame(wmUnexpected, fmt.Sprintf("The sandbox does not model the event %q.", e.EventType)))
				return
			}
		}
	default:
		s.log.Error("genesys sandbox: unmodelled web messaging message type", "type", m.Type)
		c.send(errorFrame(wmUnexpected, fmt.Sprintf("The sandbox does not model the message type %q.", m.Type)))
		return
	}
	now := s.clock.Now()
	if ok, wait := sess.rate.take(now, s.opts.WebMessagesPerSecond, time.Second); !ok {
		c.send(serverFrame{Type: "response", Class: "TooManyRequestsErrorMessage", Code: http.StatusTooManyRequests,
			Body: tooManyRequests{RetryAfter: retrySeconds(wait), ErrorCode: wmRateTooHigh,
				ErrorMessage: fmt.Sprintf("Message rate too high for this session: at most %d per second.", s.opts.WebMessagesPerSecond)}})
		return
	}

	echo := structuredMessage{ID: uuid.NewString(), Type: m.Type, Text: m.Text, Direction: "Inbound", Events: m.Events,
		Channel: &wmChannel{Time: formatTime(now), MessageID: uuid.NewString()}, Metadata: m.Metadata}
	ack := serverFrame{Type: "message", Class: "StructuredMessage", Code: http.StatusOK, Body: echo, TracingID: tracingID}
	if clear {
		if conv := sess.conv; conv != nil {
			conv.transcript = append(conv.transcript, TranscriptEntry{Time: now, Direction: "Inbound", Type: m.Type, Event: eventName(m.Events)})
			s.disconnectLocked(conv)
		}
		for conn := range sess.conns {
			conn.send(ack)
			conn.send(serverFrame{Type: "message", Class: "SessionClearedEvent", Code: http.StatusOK, Body: map[string]any{}})
		}
		s.endSessionLocked(sess, nil, "ConnectionClosedEvent")
		return
	}
	conv, started := sess.conv, false
	if conv == nil && (join || m.Type == "Text") {
		conv, started = s.startWebConversationLocked(sess, attrs), true
	} else if conv != nil {
		maps.Copy(conv.customer().attributes, attrs)
	}
	if conv != nil {
		entry := TranscriptEntry{Time: now, Direction: "Inbound", Type: m.Type, Text: m.Text}
		if m.Type == "Event" {
			entry.Event = eventName(m.Events)
		}
		conv.transcript = append(conv.transcript, entry)
	}
	for conn := range sess.conns {
		conn.send(ack)
	}
	if started && conv.flowError != "" {
		s.sendAgentEventLocked(conv, "", "Disconnect")
	}
}

func eventName(events []wmEvent) string {
	var names []string
	for _, e := range events {
		switch {
		case e.Presence != nil:
			names = append(names, e.EventType+" "+e.Presence.Type)
		case e.Typing != nil:
			names = append(names, e.EventType+" "+e.Typing.Type)
		default:
			names = append(names, e.EventType)
		}
	}
	return strings.Join(names, ", ")
}

// startWebConversationLocked creates the guest's conversation and runs the deployment's
// flow on it.
func (s *Sandbox) startWebConversationLocked(sess *wmSession, attrs map[string]string) *conversation {
	c := s.newConversationLocked(MediaMessage, "Guest", maps.Clone(attrs))
	c.deploymentID, c.session = sess.deploymentID, sess
	sess.conv = c
	dep := s.deployments[sess.deploymentID]
	flow := s.flows[dep.flowID]
	q, preferred, err := s.runFlowLocked(dep.org, flow, c.customer().attributes)
	if err != nil {
		// A flow that cannot transfer disconnects, as an Architect flow's failure path
		// would; the reason is visible in inspection and in the log.
		c.flowError = err.Error()
		s.log.Warn("sandbox flow failed", "conversation_id", c.id, "flow", flow.Name, "err", err)
		s.disconnectLocked(c)
		return c
	}
	s.enqueueLocked(c, q, preferred)
	return c
}

// runFlowLocked evaluates a flow of the organization org on the customer's participant
// data; it sees only that organization's queues and users.
func (s *Sandbox) runFlowLocked(org string, f *Flow, attrs map[string]string) (*queue, []ScoredAgent, error) {
	var q *queue
	if f.QueueID != "" {
		q = s.queueInLocked(f.QueueID, org)
		if q == nil {
			return nil, nil, fmt.Errorf("flow %s: queue %s does not exist", f.Name, f.QueueID)
		}
	} else {
		name := attrs[f.QueueNameAttribute]
		if name == "" {
			return nil, nil, fmt.Errorf("flow %s: participant attribute %s (the queue name) is missing", f.Name, f.QueueNameAttribute)
		}
		for _, id := range s.queueOrder {
			if qu := s.queues[id]; qu.org == org && qu.name == name {
				q = qu
			}
		}
		if q == nil {
			return nil, nil, fmt.Errorf("flow %s: no queue is named %q (participant attribute %s)", f.Name, name, f.QueueNameAttribute)
		}
	}
	var preferred []ScoredAgent
	if f.PreferredAgentAttribute != "" {
		// FindUserById of an unknown id gives no agent: the transfer goes ahead without a
		// preferred agent, as the Architect expression would.
		if id := attrs[f.PreferredAgentAttribute]; id != "" && s.userInLocked(id, org) != nil {
			score := f.PreferredAgentScore
			if score == 0 {
				score = defaultPreferredScore
			}
			preferred = []ScoredAgent{{UserID: id, Score: score}}
		}
	}
	return q, preferred, nil
}

// sendAgentEventLocked pushes a Presence event (Join, Disconnect) to the guest, from the
// agent userID or, when empty, from the system.
func (s *Sandbox) sendAgentEventLocked(c *conversation, userID, presence string) {
	events := []wmEvent{{EventType: "Presence", Presence: &wmPresence{Type: presence}}}
	s.pushOutboundLocked(c, userID, structuredMessage{Type: "Event", Events: events})
	c.transcript = append(c.transcript, TranscriptEntry{Time: s.clock.Now(), Direction: "Outbound", Type: "Event", Event: eventName(events), UserID: userID})
}

// sendAgentTextLocked pushes an agent's text to the guest.
func (s *Sandbox) sendAgentTextLocked(c *conversation, userID, text string) {
	s.pushOutboundLocked(c, userID, structuredMessage{Type: "Text", Text: text, OriginatingEntity: "Human"})
	c.transcript = append(c.transcript, TranscriptEntry{Time: s.clock.Now(), Direction: "Outbound", Type: "Text", Text: text, UserID: userID})
}

// pushOutboundLocked sends an Outbound StructuredMessage to every socket of the
// conversation's session. A guest with no socket open misses it, as with Genesys, where the
// history API (not modelled) would return it.
func (s *Sandbox) pushOutboundLocked(c *conversation, userID string, m structuredMessage) {
	if c.session == nil {
		return
	}
	m.ID, m.Direction = uuid.NewString(), "Outbound"
	m.Channel = &wmChannel{Time: formatTime(s.clock.Now()), MessageID: m.ID}
	if u := s.users[userID]; u != nil {
		m.Channel.From = &wmFrom{Nickname: u.name, ID: u.id, IDType: "Opaque"}
	}
	for conn := range c.session.conns {
		conn.send(serverFrame{Type: "message", Class: "StructuredMessage", Code: http.StatusOK, Body: m})
	}
}

// DropSockets closes every guest web messaging socket abruptly, as a network failure
// would. Sessions survive: a guest resumes with configureSession and the same token.
func (s *Sandbox) DropSockets() {
	s.mu.Lock()
	conns := s.connListLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.kill()
	}
}

func (s *Sandbox) connListLocked() []*wmConn {
	out := make([]*wmConn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// SetAllowedDomains sets the allowed domains of a Messenger deployment; none means all.
func (s *Sandbox) SetAllowedDomains(deploymentID string, domains ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deployments[deploymentID]
	if d == nil {
		return fmt.Errorf("deployment %s: %w", deploymentID, ErrNotFound)
	}
	d.allowedDomains = slices.Clone(domains)
	return nil
}
