package room

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"rendezvous"
)

// The seam for external video engines
//
// Everything outside this package that sends a person into a meeting (the Genesys
// interaction's agent link, notifications, the customer's page) needs only a URL per
// side, which is what Engine gives. The built-in WebRTC room (*Rooms) is one Engine. An
// external engine such as LiveKit or Jitsi is another: it creates or names its room for
// the appointment and returns its own join URL, or one of ours that carries a token it
// issued. Joins and leaves in an external engine are reported by its webhooks, which
// would call the same status rules (the customer's join starts the appointment; the
// deadline job decides a no-show); that part is left for when such an engine is added.
// URLEngine below is the smallest external engine: rooms named by URL, as Jitsi Meet does.

// URLEngine is an Engine for services that open a meeting by URL alone (Jitsi Meet and
// similar): both sides get Base + "/" + a room name derived from the appointment with a
// keyed hash, so the name is stable and cannot be guessed from the appointment id.
type URLEngine struct {
	// Base is the engine's meeting URL prefix, e.g. "https://meet.jit.si".
	Base string
	// Key names rooms; at least 32 bytes.
	Key []byte
}

// JoinURL implements Engine.
func (e URLEngine) JoinURL(_ context.Context, a *rendezvous.Appointment, side Side) (string, error) {
	if side != Agent && side != Customer {
		return "", ErrUnknownSide
	}
	if len(e.Key) < 32 {
		return "", errors.New("room: URLEngine.Key must hold at least 32 bytes")
	}
	m := hmac.New(sha256.New, e.Key)
	m.Write([]byte(a.OrgID + "\x00" + a.ID))
	name := "rdv-" + hex.EncodeToString(m.Sum(nil)[:12])
	return strings.TrimRight(e.Base, "/") + "/" + url.PathEscape(name), nil
}

// EngineLinks adapts an Engine to the customer journey's RoomLinks (AgentLink(a) string),
// so swapping the built-in room for an external engine is a change in the wiring only.
type EngineLinks struct {
	Engine Engine
}

// AgentLink returns the agent's join URL, or "" when the engine cannot issue one (the
// interaction then goes without a link rather than not at all).
func (l EngineLinks) AgentLink(a *rendezvous.Appointment) string {
	u, err := l.Engine.JoinURL(context.Background(), a, Agent)
	if err != nil {
		return ""
	}
	return u
}

// ParseICEServers reads the process-level default ICE servers from a setting: either a
// JSON array in RTCPeerConnection's shape
// ([{"urls":["turn:turn.example.com:3478"],"username":"u","credential":"c"}]) or a
// comma-separated list of URLs without credentials ("stun:stun.example.com:3478,...").
// An empty string means none.
func ParseICEServers(s string) ([]ICEServer, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var set Settings
	if strings.HasPrefix(s, "[") {
		if err := json.Unmarshal([]byte(s), &set.ICEServers); err != nil {
			return nil, fmt.Errorf("ICE servers: not a JSON array of {urls, username, credential}: %w", err)
		}
	} else {
		for _, u := range strings.Split(s, ",") {
			if u = strings.TrimSpace(u); u != "" {
				set.ICEServers = append(set.ICEServers, ICEServer{URLs: []string{u}})
			}
		}
	}
	if err := set.Validate(); err != nil {
		return nil, fmt.Errorf("ICE servers: %w", err)
	}
	return set.ICEServers, nil
}
