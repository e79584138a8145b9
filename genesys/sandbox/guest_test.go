package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// guest is a web messaging guest socket speaking raw JSON frames.
type guest struct {
	t     *testing.T
	ws    *websocket.Conn
	token string
	dep   string
}

func (e *env) dialGuest(dep, token string, header http.Header) *guest {
	e.t.Helper()
	g, res, err := e.tryDial(dep, header)
	if err != nil {
		e.t.Fatalf("dial: %v (%v)", err, res)
	}
	g.token = token
	return g
}

func (e *env) tryDial(dep string, header http.Header) (*guest, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/v1?deploymentId=" + dep + "&application=test"
	ws, res, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return nil, res, err
	}
	g := &guest{t: e.t, ws: ws, dep: dep}
	e.t.Cleanup(func() { ws.CloseNow() })
	return g, res, nil
}

func (g *guest) send(frame map[string]any) {
	g.t.Helper()
	b, _ := json.Marshal(frame)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.ws.Write(ctx, websocket.MessageText, b); err != nil {
		g.t.Fatalf("write: %v", err)
	}
}

// next reads one server frame.
func (g *guest) next() map[string]any {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := g.ws.Read(ctx)
	if err != nil {
		g.t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		g.t.Fatalf("frame is not JSON: %s", b)
	}
	return m
}

// expect reads one frame and checks its type and class.
func (g *guest) expect(typ, class string) map[string]any {
	g.t.Helper()
	f := g.next()
	if f["type"] != typ || f["class"] != class {
		g.t.Fatalf("frame %v, want %s %s", f, typ, class)
	}
	return f
}

func body(f map[string]any) map[string]any { return f["body"].(map[string]any) }

// nextOf reads frames until one of class arrives (skipping what the agent side pushes).
func (g *guest) nextOf(class string) map[string]any {
	g.t.Helper()
	for {
		if f := g.next(); f["class"] == class {
			return f
		}
	}
}

// expectError reads an error frame: class "string" with the error code as the frame's
// code and a plain-text body, without a tracingId.
func (g *guest) expectError(code int) map[string]any {
	g.t.Helper()
	f := g.expect("response", "string")
	if text, _ := f["body"].(string); f["code"] != float64(code) || text == "" {
		g.t.Fatalf("error frame %v, want code %d and a text body", f, code)
	}
	if _, tagged := f["tracingId"]; tagged {
		g.t.Fatalf("error frame %v carries a tracingId", f)
	}
	return f
}

// expectRateLimit reads a TooManyRequestsErrorMessage.
func (g *guest) expectRateLimit() map[string]any {
	g.t.Helper()
	f := g.expect("response", "TooManyRequestsErrorMessage")
	if b := body(f); f["code"] != float64(429) || b["errorCode"] != float64(4029) || b["errorMessage"] == "" {
		g.t.Fatalf("429 frame %v", f)
	}
	return f
}

func (g *guest) configure(startNew bool) map[string]any {
	g.t.Helper()
	f := map[string]any{"action": "configureSession", "token": g.token, "deploymentId": g.dep}
	if startNew {
		f["startNew"] = true
	}
	g.send(f)
	return body(g.expect("response", "SessionResponse"))
}

func (g *guest) join(attrs map[string]string) {
	g.t.Helper()
	g.send(map[string]any{"action": "onMessage", "token": g.token, "tracingId": "join-1", "message": map[string]any{
		"type":    "Event",
		"events":  []any{map[string]any{"eventType": "Presence", "presence": map[string]any{"type": "Join"}}},
		"channel": map[string]any{"metadata": map[string]any{"customAttributes": attrs}},
	}})
	g.expectInbound("join-1")
}

// expectInbound reads the inbound echo that acknowledges an onMessage: a "message" of
// class StructuredMessage, direction Inbound, carrying the request's tracingId.
func (g *guest) expectInbound(tracingID string) map[string]any {
	g.t.Helper()
	f := g.expect("message", "StructuredMessage")
	if body(f)["direction"] != "Inbound" || f["tracingId"] != tracingID {
		g.t.Fatalf("inbound echo %v, want direction Inbound and tracingId %q", f, tracingID)
	}
	return body(f)
}

// text sends a Text onMessage with tracingId "text:"+s.
func (g *guest) text(s string) {
	g.t.Helper()
	g.send(map[string]any{"action": "onMessage", "token": g.token, "tracingId": "text:" + s, "message": map[string]any{"type": "Text", "text": s}})
}

// startGuest opens a session on dep and joins with attrs; it returns the conversation.
func (e *env) startGuest(dep, token string, attrs map[string]string) (*guest, Conversation) {
	e.t.Helper()
	g := e.dialGuest(dep, token, nil)
	g.configure(false)
	g.join(attrs)
	convs := e.sb.Conversations()
	if len(convs) == 0 {
		e.t.Fatal("the join started no conversation")
	}
	return g, convs[len(convs)-1]
}

func TestGuestSessionAndConversation(t *testing.T) {
	e := newEnv(t, Options{AgentJoinPresence: true})
	g := e.dialGuest(Demo.AgentDeploymentID, "guest-1", nil)
	sr := g.configure(false)
	if sr["connected"] != true || sr["newSession"] != true || sr["readOnly"] != false || sr["maxCustomDataBytes"] != float64(2048) {
		t.Fatalf("session response %v", sr)
	}
	if sr["durationSeconds"] != float64(72*3600) || sr["expirationDate"] != float64(epoch.Add(72*time.Hour).Unix()) {
		t.Fatalf("session duration %v", sr)
	}

	chloe := Demo.Agents[2]
	g.join(map[string]string{Demo.AgentAttribute: chloe.ID, "appointmentId": "apt-1"})
	convs := e.sb.Conversations()
	if len(convs) != 1 {
		t.Fatalf("conversations %+v", convs)
	}
	c := convs[0]
	if c.MediaType != MediaMessage || c.QueueID != Demo.VideoQueue.ID || c.State != StateAlerting || c.OfferedAgentID != chloe.ID {
		t.Fatalf("conversation %+v", c)
	}
	if got := c.Participants[0].Attributes; c.Participants[0].Purpose != "customer" || got[Demo.AgentAttribute] != chloe.ID || got["appointmentId"] != "apt-1" {
		t.Fatalf("customer participant %+v", c.Participants[0])
	}

	if _, err := e.sb.Answer(chloe.ID); err != nil {
		t.Fatal(err)
	}
	f := g.expect("message", "StructuredMessage")
	b := body(f)
	ev := b["events"].([]any)[0].(map[string]any)
	if b["direction"] != "Outbound" || b["type"] != "Event" || ev["eventType"] != "Presence" || ev["presence"].(map[string]any)["type"] != "Join" {
		t.Fatalf("join frame %v", f)
	}
	if nick := b["channel"].(map[string]any)["from"].(map[string]any)["nickname"]; nick != chloe.Name {
		t.Fatalf("from %v", nick)
	}

	if err := e.sb.AgentSendText(chloe.ID, c.ID, "Hello, I am joining the video now"); err != nil {
		t.Fatal(err)
	}
	b = body(g.expect("message", "StructuredMessage"))
	if b["direction"] != "Outbound" || b["type"] != "Text" || b["text"] != "Hello, I am joining the video now" {
		t.Fatalf("text frame %v", b)
	}

	g.text("Thanks!")
	b = g.expectInbound("text:Thanks!")
	if b["text"] != "Thanks!" {
		t.Fatalf("echo %v", b)
	}
	tr := e.conversation(c.ID).Transcript
	if len(tr) != 4 || tr[3].Direction != "Inbound" || tr[3].Text != "Thanks!" || tr[2].Text != "Hello, I am joining the video now" {
		t.Fatalf("transcript %+v", tr)
	}

	if err := e.sb.Disconnect(c.ID); err != nil {
		t.Fatal(err)
	}
	b = body(g.expect("message", "StructuredMessage"))
	if ev := b["events"].([]any)[0].(map[string]any); ev["presence"].(map[string]any)["type"] != "Disconnect" {
		t.Fatalf("disconnect frame %v", b)
	}
	if got := e.conversation(c.ID); got.State != StateDisconnected {
		t.Fatalf("state %s", got.State)
	}
	// The next text starts a new conversation in the same session.
	e.clock.Advance(time.Second)
	g.text("One more question")
	g.expectInbound("text:One more question")
	if n := len(e.sb.Conversations()); n != 2 {
		t.Fatalf("%d conversations", n)
	}
	if m, c, all := e.sb.ConversationCount("message"), e.sb.ConversationCount("callback"), e.sb.ConversationCount(""); m != 2 || c != 0 || all != 2 {
		t.Fatalf("counted %d message, %d callback, %d in all; want 2, 0, 2", m, c, all)
	}
}

func TestGuestQueueRoutingByName(t *testing.T) {
	e := newEnv(t, Options{})
	g, c := e.startGuest(Demo.QueueDeploymentID, "g", map[string]string{Demo.QueueAttribute: Demo.PlainQueue.Name})
	if c.QueueID != Demo.PlainQueue.ID || c.State != StateAlerting || c.OfferedAgentID != Demo.Agents[0].ID {
		t.Fatalf("conversation %+v", c)
	}
	// A queue name that does not exist fails the flow, loudly; the guest is told.
	g, c = e.startGuest(Demo.QueueDeploymentID, "h", map[string]string{Demo.QueueAttribute: "Nope"})
	if c.State != StateDisconnected || !strings.Contains(c.FlowError, "Nope") {
		t.Fatalf("conversation %+v", c)
	}
	b := body(g.expect("message", "StructuredMessage"))
	if ev := b["events"].([]any)[0].(map[string]any); b["direction"] != "Outbound" || ev["presence"].(map[string]any)["type"] != "Disconnect" {
		t.Fatalf("flow failure frame %v", b)
	}
}

func TestGuestFrameErrors(t *testing.T) {
	e := newEnv(t, Options{MaxTextLength: 10})
	g := e.dialGuest(Demo.AgentDeploymentID, "guest-err", nil)

	g.send(map[string]any{"action": "onMessage", "token": "guest-err", "message": map[string]any{"type": "Text", "text": "hi"}})
	g.expectError(4007)
	g.send(map[string]any{"action": "configureSession", "deploymentId": Demo.AgentDeploymentID})
	g.expectError(4020)
	g.configure(false)
	g.send(map[string]any{"action": "onMessage", "message": map[string]any{"type": "Text", "text": "hi"}})
	g.expectError(4020)
	g.send(map[string]any{"action": "onMessage", "token": "guest-err", "message": map[string]any{"type": "Text"}})
	g.expectError(4020)
	g.text("this is far too long")
	g.expectError(4011)
	g.send(map[string]any{"action": "onMessage", "token": "guest-err", "message": map[string]any{"type": "Text", "text": "hi",
		"channel": map[string]any{"metadata": map[string]any{"customAttributes": map[string]string{"k": strings.Repeat("v", 2048)}}}}})
	g.expectError(4013)
	g.send(map[string]any{"action": "getJwt", "token": "guest-err"})
	g.expectError(5000)
	if len(e.sb.Conversations()) != 0 {
		t.Fatal("a refused frame started a conversation")
	}

	// Keep-alive.
	g.send(map[string]any{"action": "echo", "token": "guest-err", "message": map[string]any{"type": "Text", "text": "ping"}})
	if b := body(g.expect("response", "StructuredMessage")); b["text"] != "ping" {
		t.Fatalf("echo %v", b)
	}
}

func TestGuestRateLimit(t *testing.T) {
	e := newEnv(t, Options{})
	g := e.dialGuest(Demo.QueueDeploymentID, "guest-rate", nil)
	g.configure(false)
	g.join(map[string]string{Demo.QueueAttribute: Demo.PlainQueue.Name})
	g.text("second")
	g.expectInbound("text:second")
	g.text("third")
	f := g.expectRateLimit()
	if body(f)["retryAfter"] != float64(1) {
		t.Fatalf("429 frame %v", f)
	}
	e.clock.Advance(time.Second)
	g.text("fourth")
	g.expectInbound("text:fourth")
}

func TestGuestResumeAfterDrop(t *testing.T) {
	e := newEnv(t, Options{})
	g, c := e.startGuest(Demo.AgentDeploymentID, "guest-drop", map[string]string{Demo.AgentAttribute: Demo.Agents[1].ID})
	e.sb.DropSockets()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := g.ws.Read(ctx); err == nil {
		t.Fatal("the socket survived DropSockets")
	}
	if _, err := e.sb.Answer(Demo.Agents[1].ID); err != nil {
		t.Fatal(err)
	}

	g2 := e.dialGuest(Demo.AgentDeploymentID, "guest-drop", nil)
	sr := g2.configure(false)
	if sr["newSession"] != false || sr["connected"] != true {
		t.Fatalf("resume %v", sr)
	}
	if err := e.sb.AgentSendText(Demo.Agents[1].ID, c.ID, "still there?"); err != nil {
		t.Fatal(err)
	}
	if b := body(g2.expect("message", "StructuredMessage")); b["text"] != "still there?" {
		t.Fatalf("after resume %v", b)
	}
	g2.text("yes")
	g2.expectInbound("text:yes")
	if got := e.conversation(c.ID).Transcript; got[len(got)-1].Text != "yes" {
		t.Fatalf("the resumed session is not the same conversation: %+v", got)
	}

	// startNew replaces the session and ends its conversation.
	g3 := e.dialGuest(Demo.AgentDeploymentID, "guest-drop", nil)
	sr = g3.configure(true)
	if sr["newSession"] != true || sr["clearedExistingSession"] != true {
		t.Fatalf("startNew %v", sr)
	}
	g2.next() // the agent's Presence Disconnect
	g2.expect("message", "ConnectionClosedEvent")
	if got := e.conversation(c.ID); got.State != StateDisconnected {
		t.Fatalf("old conversation %s", got.State)
	}
}

func TestGuestSessionExpiry(t *testing.T) {
	e := newEnv(t, Options{SessionDuration: time.Hour})
	g := e.dialGuest(Demo.AgentDeploymentID, "guest-exp", nil)
	g.configure(false)
	e.clock.Advance(time.Hour)
	if f := g.expect("response", "SessionExpiredEvent"); f["code"] != float64(200) || len(body(f)) != 0 {
		t.Fatalf("expiry frame %v", f)
	}
	g2 := e.dialGuest(Demo.AgentDeploymentID, "guest-exp", nil)
	// The expired session is gone: the same token starts afresh.
	if sr := g2.configure(false); sr["newSession"] != true {
		t.Fatalf("after expiry %v", sr)
	}
}

func TestGuestCloseSession(t *testing.T) {
	e := newEnv(t, Options{})
	a := e.dialGuest(Demo.AgentDeploymentID, "guest-close", nil)
	a.configure(false)
	b := e.dialGuest(Demo.AgentDeploymentID, "guest-close", nil)
	b.configure(false)
	a.send(map[string]any{"action": "closeSession", "token": "guest-close", "closeAllConnections": true})
	if sr := body(a.expect("response", "SessionResponse")); sr["connected"] != false {
		t.Fatalf("close %v", sr)
	}
	b.expect("message", "ConnectionClosedEvent")
}

func TestGuestOrigin(t *testing.T) {
	e := newEnv(t, Options{})
	if err := e.sb.SetAllowedDomains(Demo.AgentDeploymentID, "shop.example.com", "*.rendezvous.example"); err != nil {
		t.Fatal(err)
	}
	for origin, ok := range map[string]bool{
		"https://shop.example.com":       true,
		"https://app.rendezvous.example": true,
		"https://evil.example.com":       false,
		"":                               false,
	} {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		_, res, err := e.tryDial(Demo.AgentDeploymentID, h)
		if ok != (err == nil) {
			t.Fatalf("origin %q: err %v", origin, err)
		}
		if !ok && res.StatusCode != http.StatusForbidden {
			t.Fatalf("origin %q: status %d", origin, res.StatusCode)
		}
	}
	if _, res, err := e.tryDial("unknown-deployment", nil); err == nil || res.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown deployment: %v", err)
	}
}
