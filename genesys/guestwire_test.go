package genesys_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"rendezvous/clock"
	"rendezvous/genesys"
	"rendezvous/genesys/sandbox"
)

// wireBackend is a web messaging server the guest wire scenario runs against: the small
// fake written from the facts file, or the sandbox.
type wireBackend struct {
	cfg genesys.GuestConfig // URL, DeploymentID, Origin, HTTPClient, Clock
	// attrs are the join's custom attributes (they route the conversation to an agent).
	attrs map[string]string
	// agentSays has the agent answer and write text to the guest.
	agentSays func(t *testing.T, text string)
	// received lists what the server received from the guest, in order: "Join",
	// "Text:<text>", "Clear".
	received func() []string
	// expire makes the session expire.
	expire func(t *testing.T)
}

// runGuestWire is the guest client's wire scenario, the same against every backend: the
// presence Join and the agent's link text are acknowledged by their inbound echo (so
// they succeed at once, once each); an error frame is a *GuestError with its code and
// text and leaves the session usable; the agent's text arrives as an event; Clear ends the
// customer's side and the session; a session that expires ends and is never taken for a
// success.
func runGuestWire(t *testing.T, b wireBackend) {
	ctx := context.Background()
	dial := func(token string) *genesys.GuestSession {
		t.Helper()
		cfg := b.cfg
		cfg.Token, cfg.PingInterval, cfg.MinSendInterval = token, -1, -1
		cfg.RequestTimeout = 5 * time.Second // a missed acknowledgement fails the test within it
		g, err := genesys.DialGuest(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Close() })
		return g
	}
	g := dial("wire-1")
	if !g.Info().NewSession || g.Info().MaxCustomDataBytes == 0 {
		t.Fatalf("session info = %+v", g.Info())
	}
	if err := g.Join(ctx, b.attrs); err != nil {
		t.Fatalf("join: %v", err)
	}
	link := "Video appointment with Jane Doe: join the customer here https://rdv.example/r/ap-1"
	if err := g.SendText(ctx, link, nil); err != nil {
		t.Fatalf("agent link text: %v", err)
	}
	if got := strings.Join(b.received(), " | "); got != "Join | Text:"+link {
		t.Fatalf("server received %q, want the join and the link once each", got)
	}

	b.agentSays(t, "Hello, joining the video now")
	if ev := nextEvent(t, g, genesys.GuestAgentText); ev.Message.Text != "Hello, joining the video now" || ev.Message.Direction != "Outbound" {
		t.Fatalf("agent text = %+v", ev.Message)
	}

	// An error answer (class "string", code 4011) is the request's failure, with Genesys'
	// code and text; the session goes on.
	err := g.SendText(ctx, strings.Repeat("x", 101), nil)
	var ge *genesys.GuestError
	if !errors.As(err, &ge) || ge.Code != 4011 || ge.Message == "" {
		t.Fatalf("too long a text: %v", err)
	}
	if k, _ := genesys.Classify(err); k != genesys.KindPermanent {
		t.Fatalf("kind of 4011 = %v", k)
	}
	if err := g.SendText(ctx, "still here", nil); err != nil {
		t.Fatalf("after an error: %v", err)
	}

	// The end of the call: Clear ends the customer's side and the session.
	if err := g.Clear(ctx); err != nil {
		t.Fatalf("clear: %v", err)
	}
	if got := b.received(); got[len(got)-1] != "Clear" {
		t.Fatalf("server received %v, want Clear last", got)
	}
	if err := g.SendText(ctx, "anyone?", nil); !errors.Is(err, genesys.ErrGuestClosed) {
		t.Fatalf("send after clear: %v", err)
	}

	// Expiry: SessionExpiredEvent ends the session; nothing after it succeeds.
	g2 := dial("wire-2")
	if err := g2.Join(ctx, b.attrs); err != nil {
		t.Fatalf("second join: %v", err)
	}
	b.expire(t)
	if ev := nextEvent(t, g2, genesys.GuestSessionEnded); ev.Err == nil {
		t.Fatal("session ended without a reason")
	}
	if err := g2.SendText(ctx, "hello?", nil); !errors.Is(err, genesys.ErrGuestClosed) {
		t.Fatalf("send after expiry: %v", err)
	}
}

func TestGuestWireAgainstFactsFake(t *testing.T) {
	m, srv := newMessenger(t)
	m.mu.Lock()
	m.maxCustomDataBytes, m.maxText, m.noisy = 2048, 100, true
	m.mu.Unlock()
	runGuestWire(t, wireBackend{
		cfg: genesys.GuestConfig{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1", DeploymentID: "dep-1",
			Origin: "https://rendezvous.example", Clock: clock.NewFake(t0)},
		attrs: map[string]string{"context.auvious.agentUserId": "agent-1"},
		agentSays: func(t *testing.T, text string) {
			m.push(t, map[string]any{"id": "agent-msg", "type": "Text", "direction": "Outbound", "text": text})
		},
		received: func() []string {
			m.mu.Lock()
			defer m.mu.Unlock()
			var out []string
			for _, f := range m.frames {
				if f["action"] != "onMessage" {
					continue
				}
				msg, _ := f["message"].(map[string]any)
				switch p := presenceOf(msg); {
				case p != "":
					out = append(out, p)
				case msg["type"] == "Text":
					text, _ := msg["text"].(string)
					out = append(out, "Text:"+text)
				}
			}
			// Refused frames were received too, but did nothing: leave them out, as the
			// sandbox's transcript does.
			return dropRefused(out)
		},
		expire: func(t *testing.T) {
			m.mu.Lock()
			conn := m.conns[len(m.conns)-1]
			m.mu.Unlock()
			if err := conn.Write(context.Background(), 1, []byte(`{"type":"response","class":"SessionExpiredEvent","code":200,"body":{}}`)); err != nil {
				t.Fatal(err)
			}
		},
	})
	// Every frame carried a tracingId of its own.
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[string]bool{}
	for _, f := range m.frames {
		id, _ := f["tracingId"].(string)
		if id == "" || seen[id] {
			t.Fatalf("frame %v: tracingId missing or reused", f)
		}
		seen[id] = true
	}
}

// dropRefused removes the texts the scenario knows were refused (longer than 100).
func dropRefused(in []string) []string {
	var out []string
	for _, s := range in {
		if len(s) <= len("Text:")+100 {
			out = append(out, s)
		}
	}
	return out
}

func TestGuestWireAgainstSandbox(t *testing.T) {
	e := newEnv(t, sandbox.Options{MaxTextLength: 100, WebMessagesPerSecond: -1})
	agent := e.demo.Agents[0]
	var convID string
	runGuestWire(t, wireBackend{
		cfg: genesys.GuestConfig{URL: e.endpoints().WebMessaging, DeploymentID: e.demo.AgentDeploymentID,
			Origin: "https://rendezvous.example", HTTPClient: e.srv.Client(), Clock: e.sbClock},
		attrs: map[string]string{e.demo.AgentAttribute: agent.ID},
		agentSays: func(t *testing.T, text string) {
			conv := e.waitConv(t, func(c sandbox.Conversation) bool { return c.OfferedAgentID == agent.ID })
			convID = conv.ID
			if _, err := e.sb.Answer(agent.ID); err != nil {
				t.Fatal(err)
			}
			if err := e.sb.AgentSendText(agent.ID, conv.ID, text); err != nil {
				t.Fatal(err)
			}
		},
		received: func() []string {
			convs := e.sb.Conversations()
			if len(convs) == 0 {
				return nil
			}
			var out []string
			for _, en := range convs[0].Transcript {
				switch {
				case en.Direction != "Inbound":
				case en.Type == "Text":
					out = append(out, "Text:"+en.Text)
				case strings.HasPrefix(en.Event, "Presence "):
					out = append(out, strings.TrimPrefix(en.Event, "Presence "))
				}
			}
			return out
		},
		expire: func(t *testing.T) { e.sbClock.Advance(72 * time.Hour) },
	})
	// Clear disconnected the customer: the agent is not left with nobody.
	if c, _ := e.sb.Conversation(convID); c.State != sandbox.StateDisconnected {
		t.Fatalf("conversation after Clear: %s", c.State)
	}
}

func TestGuestSessionExpiredAnswerIsNoSuccess(t *testing.T) {
	m, srv := newMessenger(t)
	s := dialFake(t, srv, clock.NewFake(t0), "guest-exp")
	m.mu.Lock()
	m.expireNext = true
	m.mu.Unlock()
	err := s.SendText(context.Background(), "hello", nil)
	var ge *genesys.GuestError
	if !errors.As(err, &ge) || ge.Code != genesys.GuestCodeSessionExpired {
		t.Fatalf("send answered by SessionExpiredEvent: %v, want a session-expired error", err)
	}
	nextEvent(t, s, genesys.GuestSessionEnded)
}

func TestGuestDispatchesByClassNotType(t *testing.T) {
	m, srv := newMessenger(t)
	m.mu.Lock()
	m.noisy = true
	m.mu.Unlock()
	ctx := context.Background()
	s, err := genesys.DialGuest(ctx, genesys.GuestConfig{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1", DeploymentID: "dep-1",
		Token: "guest-noise", Clock: clock.NewFake(t0), PingInterval: -1, MinSendInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Join(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// The agent's typing that arrived before the acknowledgement is an event, not the
	// join's answer; another connection's echo (another tracingId) is a message.
	nextEvent(t, s, genesys.GuestTyping)
	if ev := nextEvent(t, s, genesys.GuestMessage); ev.Message.Text != "from another tab" {
		t.Fatalf("stranger's echo = %+v", ev.Message)
	}
	// An untagged error answers the request waiting, whatever its type says.
	m.mu.Lock()
	m.maxText = 3
	m.mu.Unlock()
	var ge *genesys.GuestError
	if err := s.SendText(ctx, "too long", nil); !errors.As(err, &ge) || ge.Code != 4011 || ge.Class != "string" {
		t.Fatalf("error answer: %v", err)
	}
}
