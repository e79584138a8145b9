package room

import (
	"encoding/json"
	"fmt"
	"sync"

	"rendezvous"
)

// Peer is one connected browser as the hub sees it. The websocket connection implements
// it; tests record the messages.
type Peer interface {
	// Send queues msg for the browser without blocking; false means the queue is full
	// and the peer should be dropped.
	Send(msg []byte) bool
	// Close ends the connection with a machine-readable reason ("replaced", "ended", ...).
	// It must not block and may be called more than once.
	Close(reason string)
}

// Hub relays signaling messages (SDP offers and answers, ICE candidates) between the two
// sides of each room on this instance. It keeps no media and no history: a message for a
// side that is not connected is dropped, because the browsers renegotiate from scratch
// whenever the peer comes (back), which they learn from the "peer" message.
//
// Every join or leave starts a new epoch of the room. Browsers tag what they send with
// the epoch they last heard of, and the hub drops messages of an older epoch, so an offer
// made for a connection that has since been replaced never reaches its successor.
type Hub struct {
	mu    sync.Mutex
	rooms map[string]*hubRoom
}

type hubRoom struct {
	epoch   uint64
	members map[Side]*Member
}

// Member is one side's place in a room, held while its connection lasts.
type Member struct {
	hub  *Hub
	room string
	side Side
	peer Peer
}

// ErrUnknownSide refuses a join by anyone other than the agent or the customer.
var ErrUnknownSide = fmt.Errorf("a room admits only the agent and the customer: %w", rendezvous.ErrForbidden)

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{rooms: make(map[string]*hubRoom)} }

// Message types the hub sends to browsers.
type welcomeMsg struct {
	Side  Side   `json:"side"`
	Epoch uint64 `json:"epoch"`
	// Peer says whether the other side is connected now.
	Peer bool `json:"peer"`
	// Polite is the perfect-negotiation role: the customer yields on offer collisions.
	Polite bool `json:"polite"`
	// Extra carries what the service adds, such as the ICE servers.
	Extra map[string]any `json:"-"`
}

type peerMsg struct {
	Type    string `json:"type"` // "peer"
	Epoch   uint64 `json:"epoch"`
	Present bool   `json:"present"`
}

type signalMsg struct {
	Type string          `json:"type"` // "signal"
	Data json.RawMessage `json:"data"`
}

type endedMsg struct {
	Type   string `json:"type"` // "ended"
	Reason string `json:"reason"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("room: marshal %T: %v", v, err)) // only our own plain structs
	}
	return b
}

func (w welcomeMsg) encode() []byte {
	m := map[string]any{"type": "welcome", "side": w.Side, "epoch": w.Epoch, "peer": w.Peer, "polite": w.Polite}
	for k, v := range w.Extra {
		if _, taken := m[k]; !taken {
			m[k] = v
		}
	}
	return mustJSON(m)
}

// Join puts p into room as side. A connection already there for the same side is closed
// with reason "replaced" (a reload or a reconnect wins over the stale connection). The
// new member gets a "welcome" message, with extra's fields added, before anything else;
// the other side, if present, is told that its peer (re)arrived.
func (h *Hub) Join(room string, side Side, p Peer, extra map[string]any) (*Member, error) {
	if side != Agent && side != Customer {
		return nil, ErrUnknownSide
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[room]
	if r == nil {
		r = &hubRoom{members: make(map[Side]*Member, 2)}
		h.rooms[room] = r
	}
	if old := r.members[side]; old != nil {
		old.peer.Close("replaced")
	}
	r.epoch++
	m := &Member{hub: h, room: room, side: side, peer: p}
	r.members[side] = m
	other := r.members[side.Other()]
	p.Send(welcomeMsg{Side: side, Epoch: r.epoch, Peer: other != nil, Polite: side == Customer, Extra: extra}.encode())
	if other != nil {
		h.send(other, mustJSON(peerMsg{Type: "peer", Epoch: r.epoch, Present: true}))
	}
	return m, nil
}

// send delivers msg to m, dropping m when its queue is full: a browser that cannot keep
// up with signaling is gone in all but name, and its reconnect will start afresh.
// h.mu must be held.
func (h *Hub) send(m *Member, msg []byte) {
	if !m.peer.Send(msg) {
		m.peer.Close("slow")
	}
}

// Relay forwards a signaling payload from m to the other side, if that side is
// connected and the payload was made in the room's current epoch. It reports whether the
// payload was delivered.
func (m *Member) Relay(epoch uint64, data json.RawMessage) bool {
	h := m.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[m.room]
	if r == nil || r.members[m.side] != m || r.epoch != epoch {
		return false
	}
	other := r.members[m.side.Other()]
	if other == nil {
		return false
	}
	h.send(other, mustJSON(signalMsg{Type: "signal", Data: data}))
	return true
}

// Current reports whether m is still its side's connection (not replaced, not ended).
func (m *Member) Current() bool {
	h := m.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[m.room]
	return r != nil && r.members[m.side] == m
}

// Leave takes m out of its room and tells the other side. It reports whether m was still
// its side's connection (false after a replacement or an End) and whether the room is
// now empty on this instance.
func (m *Member) Leave() (wasCurrent, empty bool) {
	h := m.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[m.room]
	if r == nil || r.members[m.side] != m {
		return false, r == nil || len(r.members) == 0
	}
	delete(r.members, m.side)
	r.epoch++
	if other := r.members[m.side.Other()]; other != nil {
		h.send(other, mustJSON(peerMsg{Type: "peer", Epoch: r.epoch, Present: false}))
		return true, false
	}
	delete(h.rooms, m.room)
	return true, true
}

// End closes the room for everyone in it: each side is told the call ended with reason
// and its connection is closed.
func (h *Hub) End(room, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[room]
	if r == nil {
		return
	}
	delete(h.rooms, room)
	for _, m := range r.members {
		m.peer.Send(mustJSON(endedMsg{Type: "ended", Reason: reason}))
		m.peer.Close("ended")
	}
}

// Kick closes side's connection to room, if any, with reason; the other side is told
// its peer left.
func (h *Hub) Kick(room string, side Side, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[room]
	if r == nil || r.members[side] == nil {
		return
	}
	m := r.members[side]
	delete(r.members, side)
	r.epoch++
	m.peer.Send(mustJSON(endedMsg{Type: "ended", Reason: reason}))
	m.peer.Close("ended")
	if other := r.members[side.Other()]; other != nil {
		h.send(other, mustJSON(peerMsg{Type: "peer", Epoch: r.epoch, Present: false}))
	} else {
		delete(h.rooms, room)
	}
}

// Present lists the sides connected to room on this instance.
func (h *Hub) Present(room string) []Side {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Side
	if r := h.rooms[room]; r != nil {
		for _, s := range []Side{Agent, Customer} {
			if r.members[s] != nil {
				out = append(out, s)
			}
		}
	}
	return out
}
