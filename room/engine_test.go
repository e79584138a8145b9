package room_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"rendezvous"
	"rendezvous/room"
	"rendezvous/store"
)

// Both the built-in room and an external engine sit behind the same interface.
var (
	_ room.Engine = (*room.Rooms)(nil)
	_ room.Engine = room.URLEngine{}
)

func TestBuiltInJoinURLs(t *testing.T) {
	e := newEnv(t, store.SQLite)
	ctx := context.Background()
	agent, err := e.rooms.JoinURL(ctx, e.a, room.Agent)
	if err != nil || agent != e.rooms.AgentLink(e.a) || !strings.HasPrefix(agent, "https://rdv.example/room/agent/") {
		t.Errorf("agent join URL %q, %v", agent, err)
	}
	cust, err := e.rooms.JoinURL(ctx, e.a, room.Customer)
	if err != nil || cust != "https://rdv.example/room/customer/"+e.a.LinkToken {
		t.Errorf("customer join URL %q, %v", cust, err)
	}
	if _, err := e.rooms.JoinURL(ctx, e.a, "observer"); !errors.Is(err, room.ErrUnknownSide) {
		t.Errorf("third party join URL: %v", err)
	}
	if got := (room.EngineLinks{Engine: e.rooms}).AgentLink(e.a); got != agent {
		t.Errorf("EngineLinks.AgentLink = %q, want %q", got, agent)
	}
}

func TestURLEngine(t *testing.T) {
	eng := room.URLEngine{Base: "https://meet.example.org/", Key: []byte(strings.Repeat("u", 32))}
	a := &rendezvous.Appointment{ID: "a1", OrgID: "o1"}
	b := &rendezvous.Appointment{ID: "a2", OrgID: "o1"}
	ctx := context.Background()
	ua, err := eng.JoinURL(ctx, a, room.Agent)
	if err != nil || !strings.HasPrefix(ua, "https://meet.example.org/rdv-") || strings.Contains(ua, "a1") {
		t.Fatalf("agent URL %q, %v", ua, err)
	}
	uc, _ := eng.JoinURL(ctx, a, room.Customer)
	ub, _ := eng.JoinURL(ctx, b, room.Agent)
	if uc != ua || ub == ua {
		t.Errorf("same meeting for both sides, another for another appointment: %q %q %q", ua, uc, ub)
	}
	if got := (room.EngineLinks{Engine: eng}).AgentLink(a); got != ua {
		t.Errorf("EngineLinks over URLEngine: %q", got)
	}
	if got := (room.EngineLinks{Engine: room.URLEngine{}}).AgentLink(a); got != "" {
		t.Errorf("EngineLinks with a failing engine: %q, want empty", got)
	}
}

func TestParseICEServers(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    int
		wantErr string
	}{
		{"", 0, ""},
		{"stun:stun.example.com:3478, stun:stun2.example.com", 2, ""},
		{`[{"urls":["turn:turn.example.com:3478?transport=tcp"],"username":"u","credential":"c"}]`, 1, ""},
		{`[{"urls":["turn:turn.example.com"]}]`, 0, "iceServers[0]"},
		{"http://stun.example.com", 0, "scheme"},
		{"stun://stun.example.com", 0, "right after the scheme"},
		{"turn:t.example.com?transport=sctp", 0, "transport"},
		{`[{"urls":`, 0, "JSON"},
	} {
		got, err := room.ParseICEServers(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want one mentioning %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || len(got) != tc.want {
			t.Errorf("%q: %+v, %v; want %d servers", tc.in, got, err, tc.want)
		}
	}
}
