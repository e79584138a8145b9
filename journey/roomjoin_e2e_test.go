package journey_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"rendezvous/genesys/sandbox"
	"rendezvous/journey"
	"rendezvous/room"
	"rendezvous/store"
)

// The agent answers while the service restarts, so the agent's presence join from web
// messaging reaches nobody; the agent then opens the room link. The customer's page must
// still move on to "agent joined": the room's own join record stands in for the lost event.
func TestEndToEndAgentInRoomAfterLostJoin(t *testing.T) {
	w := newWorld(t, store.SQLite)
	ctx := context.Background()
	agent := sandbox.Demo.Agents[1].ID
	start := w.clk.Now().Add(2 * time.Hour)
	id, link := w.book(start, agent, map[string]any{"type": "GENESYS_CLOUD_FLOW"})

	w.clk.Set(start)
	if code, _ := w.getPage(link, true); code != 200 {
		t.Fatalf("live GET: %d", code)
	}
	w.waitSandbox("a routed conversation", func(cs []sandbox.Conversation) bool { return len(messaging(cs)) == 1 })
	next := w.events(link)
	for v := next(); v.Progress != journey.ProgressWaitingAgent; v = next() {
	}

	w.restart(func() {
		if _, err := w.sb.Answer(agent); err != nil {
			t.Fatalf("answer: %v", err)
		}
	})
	it, err := w.st.JourneyInteractionOf(ctx, id)
	if err != nil || it.Progress != string(journey.ProgressWaitingAgent) {
		t.Fatalf("stored progress after the lost join: %+v %v", it, err)
	}
	// The browser's stream reconnects to the new instance and still waits.
	next = w.events(link)
	if v := next(); v.Progress != journey.ProgressWaitingAgent || v.Room {
		t.Fatalf("after the restart: %+v", v)
	}

	// The agent opens the room: the signaling connection is recorded and wakes the page.
	a, err := w.st.Appointment(ctx, "demo", id)
	if err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(w.srv.URL, "http") + room.SignalingPath(room.Agent, w.rooms.AgentKey(a))
	c, resp, err := websocket.Dial(dctx, u, nil)
	if err != nil {
		t.Fatalf("agent signaling: %v %+v", err, resp)
	}
	defer c.CloseNow()

	v := next()
	for !v.Room {
		v = next()
	}
	if v.Progress != journey.ProgressAgentJoined {
		t.Fatalf("with the agent in the room: %+v", v)
	}
	if code, body := w.getPage(link, true); code != 200 || !strings.Contains(body, `"progress":"agent_joined"`) || !strings.Contains(body, `"room":true`) {
		t.Fatalf("page after the agent joined the room: %d %s", code, body)
	}
}
