package genesys_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"rendezvous/clock"
	"rendezvous/genesys"
)

// fakeMessenger is a small web messaging server written from the Genesys Cloud facts
// file (not from the sandbox), so that the guest client is held to the wire as Genesys
// speaks it by something that shares no code with the sandbox: configureSession, echo
// and closeSession are answered with a "response" carrying the request's tracingId; an
// onMessage with the inbound echo of the message (a "message" of class StructuredMessage,
// direction Inbound, same tracingId); errors with a "response" of class "string", the
// error code as code and plain text as body, untagged; TooManyRequestsErrorMessage with
// an object body; SessionExpiredEvent as a "response" with code 200 and an empty body.
type fakeMessenger struct {
	mu         sync.Mutex
	frames     []map[string]any // every client frame, in order
	frameConn  []int            // the index in conns of the socket each frame came on
	conns      []*websocket.Conn
	gone       map[int]bool // sockets whose client went away
	sessions   map[string]bool
	rateLimits int  // answer this many onMessage frames with 4029
	expireNext bool // answer the next onMessage with SessionExpiredEvent and close
	noisy      bool // push an agent typing event and a stranger's echo before each ack
	origin     string
	// deaf, when set, is the socket index that stops reading (and so answering pings)
	// once its session is configured, until deafUntil closes.
	deaf      *int
	deafUntil chan struct{}
	// maxCustomDataBytes and maxText are the session's limits (64 and 4096 by default).
	maxCustomDataBytes, maxText int
}

func newMessenger(t *testing.T) (*fakeMessenger, *httptest.Server) {
	m := &fakeMessenger{sessions: map[string]bool{}, maxCustomDataBytes: 64, maxText: 4096}
	srv := httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(srv.Close)
	return m, srv
}

func (m *fakeMessenger) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("deploymentId") != "dep-1" {
		http.Error(w, "unknown deployment", http.StatusBadRequest)
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	m.mu.Lock()
	m.conns = append(m.conns, conn)
	idx := len(m.conns) - 1
	m.origin = r.Header.Get("Origin")
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		if m.gone == nil {
			m.gone = map[int]bool{}
		}
		m.gone[idx] = true
		m.mu.Unlock()
	}()
	ctx := context.Background()
	send := func(v any) {
		b, _ := json.Marshal(v)
		conn.Write(ctx, websocket.MessageText, b)
	}
	fail := func(code int, text string) {
		send(map[string]any{"type": "response", "class": "string", "code": code, "body": text})
	}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		var f map[string]any
		json.Unmarshal(data, &f)
		m.mu.Lock()
		m.frames = append(m.frames, f)
		m.frameConn = append(m.frameConn, idx)
		limited, expire, noisy := false, false, m.noisy
		if f["action"] == "onMessage" {
			switch {
			case m.expireNext:
				m.expireNext, expire = false, true
			case m.rateLimits > 0:
				m.rateLimits--
				limited = true
			}
		}
		tok, _ := f["token"].(string)
		isNew := !m.sessions[tok]
		if f["action"] == "configureSession" && tok != "" {
			m.sessions[tok] = true
		}
		maxAttrs, maxText := m.maxCustomDataBytes, m.maxText
		m.mu.Unlock()
		tracingID, _ := f["tracingId"].(string)
		answer := func(typ, class string, body any) {
			send(map[string]any{"type": typ, "class": class, "code": 200, "body": body, "tracingId": tracingID})
		}
		switch f["action"] {
		case "configureSession":
			if tok == "" || f["deploymentId"] != "dep-1" {
				fail(4020, "Missing token or deploymentId")
				continue
			}
			answer("response", "SessionResponse", map[string]any{"connected": true, "newSession": isNew, "readOnly": false,
				"maxCustomDataBytes": maxAttrs})
			m.mu.Lock()
			deaf := m.deaf != nil && *m.deaf == idx
			m.mu.Unlock()
			if deaf {
				<-m.deafUntil // a network that lets nothing through any more: no pong either
				return
			}
		case "echo":
			answer("response", "StructuredMessage", map[string]any{"id": "echo-id", "type": "Text", "text": "ping", "direction": "Inbound"})
		case "closeSession":
			answer("response", "SessionResponse", map[string]any{"connected": false, "newSession": false})
			conn.Close(websocket.StatusNormalClosure, "")
			return
		case "onMessage":
			msg, _ := f["message"].(map[string]any)
			switch {
			case expire:
				send(map[string]any{"type": "response", "class": "SessionExpiredEvent", "code": 200, "body": map[string]any{}})
				conn.Close(websocket.StatusNormalClosure, "")
				return
			case limited:
				send(map[string]any{"type": "response", "class": "TooManyRequestsErrorMessage", "code": 429,
					"body": map[string]any{"retryAfter": 3, "errorCode": 4029, "errorMessage": "Message rate too high for this session"}})
				continue
			case msg == nil || msg["type"] == nil:
				fail(4020, "Missing message")
				continue
			}
			if text, _ := msg["text"].(string); len([]rune(text)) > maxText {
				fail(4011, "Message exceeded the maximum length")
				continue
			}
			if attrs := customAttributes(msg); attrs > maxAttrs {
				fail(4013, fmt.Sprintf("Custom Attributes in channel metadata is larger than %d bytes", maxAttrs))
				continue
			}
			if noisy {
				// Frames no request of this guest caused: the agent typing, and the echo of
				// another connection's message, tagged with that connection's id.
				send(map[string]any{"type": "message", "class": "StructuredMessage", "code": 200, "body": map[string]any{
					"id": "typing-1", "type": "Event", "direction": "Outbound",
					"events": []any{map[string]any{"eventType": "Typing", "typing": map[string]any{"type": "On", "duration": 5000}}}}})
				send(map[string]any{"type": "message", "class": "StructuredMessage", "code": 200, "tracingId": "someone-else",
					"body": map[string]any{"id": "other-1", "type": "Text", "text": "from another tab", "direction": "Inbound"}})
			}
			echo := maps.Clone(msg)
			echo["id"], echo["direction"] = "echo-"+tracingID, "Inbound"
			answer("message", "StructuredMessage", echo)
			if presenceOf(msg) == "Clear" {
				// Clearing the conversation ends the session (the official SDK's
				// end-user-clear sequence).
				send(map[string]any{"type": "message", "class": "SessionClearedEvent", "code": 200, "body": map[string]any{}})
				send(map[string]any{"type": "message", "class": "ConnectionClosedEvent", "code": 200, "body": map[string]any{}})
				conn.Close(websocket.StatusNormalClosure, "")
				return
			}
		default:
			fail(5000, "Request failed.")
		}
	}
}

// customAttributes is the size of a message's custom attributes as Genesys counts it.
func customAttributes(msg map[string]any) int {
	ch, _ := msg["channel"].(map[string]any)
	md, _ := ch["metadata"].(map[string]any)
	attrs, _ := md["customAttributes"].(map[string]any)
	n := 0
	for k, v := range attrs {
		s, _ := v.(string)
		n += len(k) + len(s)
	}
	return n
}

// presenceOf returns the presence type of an Event message, "" for none.
func presenceOf(msg map[string]any) string {
	evs, _ := msg["events"].([]any)
	for _, e := range evs {
		ev, _ := e.(map[string]any)
		if p, ok := ev["presence"].(map[string]any); ok {
			s, _ := p["type"].(string)
			return s
		}
	}
	return ""
}

func (m *fakeMessenger) push(t *testing.T, body map[string]any) {
	t.Helper()
	m.mu.Lock()
	conn := m.conns[len(m.conns)-1]
	m.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"type": "message", "class": "StructuredMessage", "code": 200, "body": body})
	if err := conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

func (m *fakeMessenger) actions() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, f := range m.frames {
		out = append(out, f["action"].(string))
	}
	return out
}

func dialFake(t *testing.T, srv *httptest.Server, clk clock.Clock, token string) *genesys.GuestSession {
	t.Helper()
	s, err := genesys.DialGuest(context.Background(), genesys.GuestConfig{
		URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1", DeploymentID: "dep-1", Token: token,
		Origin: "https://rendezvous.example", Clock: clk, PingInterval: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func nextEvent(t *testing.T, s *genesys.GuestSession, want genesys.GuestEventType) genesys.GuestEvent {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-s.Events():
			if !ok {
				t.Fatalf("events closed while waiting for %s", want)
			}
			if ev.Type == want {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event within 5s", want)
		}
	}
}

func TestGuestJoinSendAndAgentEvents(t *testing.T) {
	m, srv := newMessenger(t)
	clk := clock.NewFake(t0)
	s := dialFake(t, srv, clk, "guest-1")
	if !s.Info().NewSession || s.Info().MaxCustomDataBytes != 64 || s.Token() != "guest-1" {
		t.Fatalf("info = %+v", s.Info())
	}
	ctx := context.Background()
	if err := s.Join(ctx, map[string]string{"context.auvious.agentUserId": "a1"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.SendText(ctx, "hello", nil) }()
	advanceWhenWaiting(t, clk, 1, 500*time.Millisecond) // 2 messages per second
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := s.Echo(ctx); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	join := m.frames[1]
	m.mu.Unlock()
	msg := join["message"].(map[string]any)
	attrs := msg["channel"].(map[string]any)["metadata"].(map[string]any)["customAttributes"].(map[string]any)
	if msg["type"] != "Event" || attrs["context.auvious.agentUserId"] != "a1" {
		t.Fatalf("join frame = %v", join)
	}
	if got := strings.Join(m.actions(), ","); got != "configureSession,onMessage,onMessage,echo" {
		t.Fatalf("actions = %s", got)
	}
	if m.origin != "https://rendezvous.example" {
		t.Fatalf("Origin = %q", m.origin)
	}

	m.push(t, map[string]any{"type": "Event", "direction": "Outbound", "events": []any{map[string]any{"eventType": "Typing", "typing": map[string]any{"type": "On"}}}})
	m.push(t, map[string]any{"type": "Text", "direction": "Outbound", "text": "Hi, I am Alice"})
	m.push(t, map[string]any{"type": "Event", "direction": "Outbound", "events": []any{map[string]any{"eventType": "Presence", "presence": map[string]any{"type": "Leave"}}}})
	nextEvent(t, s, genesys.GuestTyping)
	if ev := nextEvent(t, s, genesys.GuestAgentText); ev.Message.Text != "Hi, I am Alice" {
		t.Fatalf("agent text = %+v", ev.Message)
	}
	nextEvent(t, s, genesys.GuestPresenceLeave)
}

func TestGuestAttributesOverLimitAreRefusedBeforeSending(t *testing.T) {
	m, srv := newMessenger(t)
	s := dialFake(t, srv, clock.NewFake(t0), "")
	err := s.Join(context.Background(), map[string]string{"context.auvious.note": strings.Repeat("é", 30)})
	if !errors.Is(err, genesys.ErrAttributesTooLarge) {
		t.Fatalf("err = %v, want ErrAttributesTooLarge", err)
	}
	if k, _ := genesys.Classify(err); k != genesys.KindPermanent {
		t.Fatalf("kind = %v", k)
	}
	if got := m.actions(); len(got) != 1 {
		t.Fatalf("frames sent = %v, want only configureSession", got)
	}
}

func TestGuestWaitsRetryAfterOn4029(t *testing.T) {
	m, srv := newMessenger(t)
	clk := clock.NewFake(t0)
	s := dialFake(t, srv, clk, "")
	m.mu.Lock()
	m.rateLimits = 1
	m.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- s.SendText(context.Background(), "hello", nil) }()
	waitFor(t, func() bool { return clk.Pending() > 0 })
	clk.Advance(2 * time.Second)
	if n := len(m.actions()); n != 2 {
		t.Fatalf("re-sent before retryAfter: %d frames", n)
	}
	clk.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.actions(), ","); got != "configureSession,onMessage,onMessage" {
		t.Fatalf("actions = %s", got)
	}
}

func TestGuestResumesSameTokenAfterDrop(t *testing.T) {
	m, srv := newMessenger(t)
	s := dialFake(t, srv, clock.NewFake(t0), "guest-drop")
	m.mu.Lock()
	m.conns[0].CloseNow()
	m.mu.Unlock()
	nextEvent(t, s, genesys.GuestDisconnected)
	nextEvent(t, s, genesys.GuestResumed)
	if s.Info().NewSession {
		t.Fatal("resumed session reported as new")
	}
	m.mu.Lock()
	last := m.frames[len(m.frames)-1]
	m.mu.Unlock()
	if last["action"] != "configureSession" || last["token"] != "guest-drop" {
		t.Fatalf("resume frame = %v", last)
	}
	if err := s.SendText(context.Background(), "still here", nil); err != nil {
		t.Fatal(err)
	}

	// After a restart of the product, dialling with the stored token re-attaches.
	s.Close()
	again := dialFake(t, srv, clock.NewFake(t0), s.Token())
	if again.Info().NewSession {
		t.Fatal("re-attached session reported as new")
	}
}

// configuredOn returns the index of the socket that configured token's session, or -1.
func (m *fakeMessenger) configuredOn(token string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, f := range m.frames {
		if f["action"] == "configureSession" && f["token"] == token {
			return m.frameConn[i]
		}
	}
	return -1
}

// waitFor polls cond on the messenger's state for up to 5 seconds.
func (m *fakeMessenger) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		m.mu.Lock()
		ok := cond()
		m.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(time.Millisecond) // another goroutine's socket, not the fake clock
	}
}

func TestGuestSocketsSkipTheHandshake(t *testing.T) {
	m, srv := newMessenger(t)
	sockets := &genesys.GuestSockets{}
	t.Cleanup(sockets.Close)
	dial := func(token string) *genesys.GuestSession {
		t.Helper()
		s, err := genesys.DialGuest(context.Background(), genesys.GuestConfig{
			URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1", DeploymentID: "dep-1", Token: token,
			Origin: "https://rendezvous.example", Clock: clock.NewFake(t0), PingInterval: -1, Sockets: sockets,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}

	// The first session dials its own socket and has the next one opened behind it.
	dial("guest-1")
	waitSpare(t, sockets)
	if on := m.configuredOn("guest-1"); on != 0 {
		t.Fatalf("first session configured on socket %d, want 0", on)
	}
	// The next one starts on that spare, with no handshake of its own.
	second := dial("guest-2")
	if on := m.configuredOn("guest-2"); on != 1 {
		t.Fatalf("second session configured on socket %d, want the spare (1)", on)
	}
	if err := second.SendText(context.Background(), "hello", nil); err != nil {
		t.Fatal(err)
	}
	waitSpare(t, sockets)
	// The server records a socket just after the client has it.
	m.waitFor(t, "the spare on the server", func() bool { return len(m.conns) == 3 })

	// Genesys closed the spare meanwhile: the session dials its own and works.
	m.mu.Lock()
	m.conns[2].CloseNow()
	m.mu.Unlock()
	third := dial("guest-3")
	if on := m.configuredOn("guest-3"); on <= 2 {
		t.Fatalf("third session configured on socket %d, want a new one after the closed spare", on)
	}
	if err := third.SendText(context.Background(), "still fine", nil); err != nil {
		t.Fatal(err)
	}

	// Close hangs the spare up.
	waitSpare(t, sockets)
	sockets.Close()
	if n := sockets.Spares(); n != 0 {
		t.Fatalf("%d spares after Close", n)
	}
	m.waitFor(t, "every spare closed", func() bool {
		for i := range m.conns {
			if m.configuredOnLocked(i) == "" && !m.gone[i] {
				return false
			}
		}
		return true
	})
}

// waitSpare waits up to 5 seconds for a spare socket to be ready.
func waitSpare(t *testing.T, p *genesys.GuestSockets) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for p.Spares() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no spare socket within 5 s")
		}
		time.Sleep(time.Millisecond) // the socket is dialled by another goroutine
	}
}

// configuredOnLocked returns the token configured on socket i, "" for none; m.mu is held.
func (m *fakeMessenger) configuredOnLocked(i int) string {
	for j, f := range m.frames {
		if m.frameConn[j] == i && f["action"] == "configureSession" {
			tok, _ := f["token"].(string)
			return tok
		}
	}
	return ""
}

func TestGuestSocketsDropASpareThatWaitedTooLong(t *testing.T) {
	m, srv := newMessenger(t)
	sockets := &genesys.GuestSockets{MaxIdle: time.Nanosecond}
	t.Cleanup(sockets.Close)
	cfg := genesys.GuestConfig{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1", DeploymentID: "dep-1",
		Clock: clock.NewFake(t0), PingInterval: -1, Sockets: sockets}
	for _, tok := range []string{"guest-a", "guest-b"} {
		cfg.Token = tok
		s, err := genesys.DialGuest(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		waitSpare(t, sockets)
	}
	if on := m.configuredOn("guest-b"); on == 1 {
		t.Fatal("a spare older than MaxIdle was used")
	}
	m.waitFor(t, "the stale spare closed", func() bool { return m.gone[1] })
}

func TestGuestSocketsRenewSparesThenLetThemGo(t *testing.T) {
	m, srv := newMessenger(t)
	sockets := &genesys.GuestSockets{MaxIdle: 20 * time.Millisecond, KeepFor: 300 * time.Millisecond}
	t.Cleanup(sockets.Close)
	used := time.Now()
	s, err := genesys.DialGuest(context.Background(), genesys.GuestConfig{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1",
		DeploymentID: "dep-1", Token: "guest-r", Clock: clock.NewFake(t0), PingInterval: -1, Sockets: sockets})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	waitSpare(t, sockets)

	// While the endpoint was used lately, an aging spare is replaced by a fresh one and
	// closed.
	m.waitFor(t, "renewed spares", func() bool { return len(m.conns) >= 4 && m.gone[1] && m.gone[2] })

	// Once it has not been used for KeepFor, the spare is let go: nothing stays open but
	// the session's own socket.
	time.Sleep(time.Until(used.Add(500 * time.Millisecond))) // real time: past KeepFor and the last renewal
	m.waitFor(t, "the spares let go", func() bool {
		for i := 1; i < len(m.conns); i++ {
			if !m.gone[i] {
				return false
			}
		}
		return true
	})
	if n := sockets.Spares(); n != 0 {
		t.Fatalf("%d spares kept after KeepFor", n)
	}
	m.mu.Lock()
	opened := len(m.conns)
	m.mu.Unlock()
	time.Sleep(100 * time.Millisecond) // real time: would more spares be opened?
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.conns) != opened || m.gone[0] {
		t.Fatalf("after KeepFor: %d sockets opened (was %d), session's own gone: %v", len(m.conns), opened, m.gone[0])
	}
}

func TestGuestPingsAndResumesWhenThePongIsMissing(t *testing.T) {
	m, srv := newMessenger(t)
	first := 0
	m.mu.Lock()
	m.deaf, m.deafUntil = &first, make(chan struct{})
	m.mu.Unlock()
	t.Cleanup(func() { close(m.deafUntil) })
	// The real clock: pings are about the network. A short interval keeps the test short;
	// the default is the official SDK's 15 s.
	s, err := genesys.DialGuest(context.Background(), genesys.GuestConfig{
		URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1", DeploymentID: "dep-1", Token: "guest-ping",
		PingInterval: 200 * time.Millisecond, ReconnectBackoff: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nextEvent(t, s, genesys.GuestDisconnected)
	nextEvent(t, s, genesys.GuestResumed)
	if on := m.configuredOn("guest-ping"); on != 0 {
		t.Fatalf("first configured on socket %d", on)
	}
	m.waitFor(t, "the session configured again on a new socket", func() bool {
		n := 0
		for i, f := range m.frames {
			if f["action"] == "configureSession" && f["token"] == "guest-ping" && m.frameConn[i] > 0 {
				n++
			}
		}
		return n > 0 && m.frames[0]["action"] == "configureSession"
	})
}
