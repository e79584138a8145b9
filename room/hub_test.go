package room

import (
	"encoding/json"
	"errors"
	"testing"

	"rendezvous"
)

// chanPeer is a Peer whose messages land in a slice, for hub tests.
type chanPeer struct {
	msgs   []map[string]any
	closed string
	full   bool
}

func (p *chanPeer) Send(msg []byte) bool {
	if p.full {
		return false
	}
	var m map[string]any
	if err := json.Unmarshal(msg, &m); err != nil {
		panic(err)
	}
	p.msgs = append(p.msgs, m)
	return true
}

func (p *chanPeer) Close(reason string) {
	if p.closed == "" {
		p.closed = reason
	}
}

// take returns and forgets the messages received so far.
func (p *chanPeer) take() []map[string]any {
	m := p.msgs
	p.msgs = nil
	return m
}

func epochOf(t *testing.T, m map[string]any) uint64 {
	t.Helper()
	e, ok := m["epoch"].(float64)
	if !ok {
		t.Fatalf("message %v has no epoch", m)
	}
	return uint64(e)
}

func TestHubRelaysBetweenTheTwoSides(t *testing.T) {
	h := NewHub()
	agent, cust := &chanPeer{}, &chanPeer{}
	ma, err := h.Join("a1", Agent, agent, map[string]any{"iceServers": []string{"stun:x"}})
	if err != nil {
		t.Fatal(err)
	}
	w := agent.take()
	if len(w) != 1 || w[0]["type"] != "welcome" || w[0]["peer"] != false || w[0]["polite"] != false || w[0]["iceServers"] == nil {
		t.Fatalf("agent welcome = %v", w)
	}
	// Alone in the room, nothing is relayed.
	if ma.Relay(epochOf(t, w[0]), json.RawMessage(`{"x":1}`)) {
		t.Error("relay to an empty side reported delivered")
	}

	mc, err := h.Join("a1", Customer, cust, nil)
	if err != nil {
		t.Fatal(err)
	}
	cw := cust.take()
	if len(cw) != 1 || cw[0]["type"] != "welcome" || cw[0]["peer"] != true || cw[0]["polite"] != true {
		t.Fatalf("customer welcome = %v", cw)
	}
	epoch := epochOf(t, cw[0])
	ap := agent.take()
	if len(ap) != 1 || ap[0]["type"] != "peer" || ap[0]["present"] != true || epochOf(t, ap[0]) != epoch {
		t.Fatalf("agent told %v, want peer present in epoch %d", ap, epoch)
	}

	if !mc.Relay(epoch, json.RawMessage(`{"description":{"type":"offer","sdp":"o"}}`)) {
		t.Fatal("offer not relayed")
	}
	if !ma.Relay(epoch, json.RawMessage(`{"description":{"type":"answer","sdp":"a"}}`)) {
		t.Fatal("answer not relayed")
	}
	got := agent.take()
	if len(got) != 1 || got[0]["type"] != "signal" || got[0]["data"].(map[string]any)["description"].(map[string]any)["sdp"] != "o" {
		t.Errorf("agent got %v", got)
	}
	got = cust.take()
	if len(got) != 1 || got[0]["data"].(map[string]any)["description"].(map[string]any)["sdp"] != "a" {
		t.Errorf("customer got %v", got)
	}
	// A message of an older epoch is dropped.
	if ma.Relay(epoch-1, json.RawMessage(`{}`)) {
		t.Error("stale epoch relayed")
	}

	// The customer leaves: the agent hears it, the room is not empty.
	wasCurrent, empty := mc.Leave()
	if !wasCurrent || empty {
		t.Errorf("Leave = %v, %v; want true, false", wasCurrent, empty)
	}
	left := agent.take()
	if len(left) != 1 || left[0]["type"] != "peer" || left[0]["present"] != false {
		t.Errorf("agent told %v, want peer absent", left)
	}
	if wasCurrent, empty := ma.Leave(); !wasCurrent || !empty {
		t.Errorf("last Leave = %v, %v; want true, true", wasCurrent, empty)
	}
	if p := h.Present("a1"); len(p) != 0 {
		t.Errorf("present after both left: %v", p)
	}
}

func TestHubSecondConnectionReplacesFirst(t *testing.T) {
	h := NewHub()
	agent, cust1, cust2 := &chanPeer{}, &chanPeer{}, &chanPeer{}
	ma, _ := h.Join("a1", Agent, agent, nil)
	mc1, _ := h.Join("a1", Customer, cust1, nil)
	oldEpoch := epochOf(t, cust1.take()[0])
	agent.take()

	_, err := h.Join("a1", Customer, cust2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cust1.closed != "replaced" {
		t.Errorf("first customer connection closed with %q, want replaced", cust1.closed)
	}
	newEpoch := epochOf(t, cust2.take()[0])
	if newEpoch == oldEpoch {
		t.Fatal("epoch did not move on replacement")
	}
	// The agent is told its peer (re)arrived, so it renegotiates with the new connection.
	if m := agent.take(); len(m) != 1 || m[0]["type"] != "peer" || m[0]["present"] != true || epochOf(t, m[0]) != newEpoch {
		t.Errorf("agent told %v", m)
	}
	// The replaced connection can no longer speak, and its leaving changes nothing.
	if mc1.Relay(newEpoch, json.RawMessage(`{}`)) || mc1.Current() {
		t.Error("replaced connection still relays")
	}
	if wasCurrent, _ := mc1.Leave(); wasCurrent {
		t.Error("replaced connection's Leave reported current")
	}
	if m := agent.take(); len(m) != 0 {
		t.Errorf("agent told %v after the replaced connection left", m)
	}
	// An offer the agent made for the old connection does not reach the new one.
	if ma.Relay(oldEpoch, json.RawMessage(`{}`)) {
		t.Error("offer of the old epoch relayed to the new connection")
	}
	if !ma.Relay(newEpoch, json.RawMessage(`{}`)) || len(cust2.take()) != 1 {
		t.Error("current relay failed")
	}
}

func TestHubRefusesThirdParty(t *testing.T) {
	h := NewHub()
	h.Join("a1", Agent, &chanPeer{}, nil)
	h.Join("a1", Customer, &chanPeer{}, nil)
	intruder := &chanPeer{}
	for _, side := range []Side{"", "supervisor", "observer"} {
		if _, err := h.Join("a1", side, intruder, nil); !errors.Is(err, ErrUnknownSide) || !errors.Is(err, rendezvous.ErrForbidden) {
			t.Errorf("join as %q: %v, want ErrUnknownSide", side, err)
		}
	}
	if len(intruder.msgs) != 0 || len(h.Present("a1")) != 2 {
		t.Errorf("intruder got %v; present %v", intruder.msgs, h.Present("a1"))
	}
}

func TestHubEndClosesEveryone(t *testing.T) {
	h := NewHub()
	agent, cust := &chanPeer{}, &chanPeer{}
	ma, _ := h.Join("a1", Agent, agent, nil)
	h.Join("a1", Customer, cust, nil)
	agent.take()
	cust.take()
	h.End("a1", "hangup")
	for name, p := range map[string]*chanPeer{"agent": agent, "customer": cust} {
		m := p.take()
		if len(m) != 1 || m[0]["type"] != "ended" || m[0]["reason"] != "hangup" || p.closed != "ended" {
			t.Errorf("%s: messages %v closed %q", name, m, p.closed)
		}
	}
	if wasCurrent, _ := ma.Leave(); wasCurrent {
		t.Error("Leave after End reported current")
	}
}

func TestHubDropsSlowPeer(t *testing.T) {
	h := NewHub()
	agent, cust := &chanPeer{}, &chanPeer{}
	h.Join("a1", Agent, agent, nil)
	mc, _ := h.Join("a1", Customer, cust, nil)
	agent.full = true
	mc.Relay(epochOf(t, cust.take()[0]), json.RawMessage(`{}`))
	if agent.closed != "slow" {
		t.Errorf("full peer closed with %q, want slow", agent.closed)
	}
}
