package room_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/room"
	"rendezvous/store"
)

// A TURN server given by its shared secret never reaches a browser: each side of each room
// gets its own credential, in the TURN REST API form coturn checks, expiring an hour after
// the room closes.
func TestTURNCredentialsPerRoomAndSide(t *testing.T) {
	e := newEnv(t, store.SQLite)
	ctx := context.Background()
	const shared = "a-long-random-static-auth-secret"
	_, _, err := e.rooms.PutSettings(ctx, "o1", room.Settings{ICEServers: []room.ICEServer{
		{URLs: []string{"stun:stun.example.com:3478"}},
		{URLs: []string{"turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349"}, Secret: shared},
	}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, side := range []room.Side{room.Agent, room.Customer} {
		ice, err := e.rooms.ICEServersFor(ctx, e.a, side)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(ice)
		if strings.Contains(string(b), shared) || strings.Contains(string(b), `"secret"`) {
			t.Fatalf("the shared secret reaches the browser: %s", b)
		}
		turn := ice[1]
		exp, tag, ok := strings.Cut(turn.Username, ":")
		if !ok || tag != e.a.ID+"-"+string(side) {
			t.Fatalf("username %q is not expiry:tag for this room and side", turn.Username)
		}
		unix, _ := strconv.ParseInt(exp, 10, 64)
		want := e.a.End().Add(room.DefaultGrace).Add(room.TURNTTLAfterEnd)
		if !time.Unix(unix, 0).Equal(want) {
			t.Errorf("expiry %s, want %s", time.Unix(unix, 0).UTC(), want)
		}
		m := hmac.New(sha1.New, []byte(shared))
		m.Write([]byte(turn.Username))
		if turn.Credential != base64.StdEncoding.EncodeToString(m.Sum(nil)) {
			t.Errorf("credential is not base64(HMAC-SHA1(secret, username))")
		}
		seen[turn.Username+turn.Credential] = true
		if ice[0].Username != "" || ice[0].Credential != "" {
			t.Errorf("the STUN server got credentials: %+v", ice[0])
		}
	}
	if len(seen) != 2 {
		t.Fatal("both sides got the same credential")
	}
	// Another appointment gets other credentials.
	other, _ := rendezvous.NewAppointment("o1", rendezvous.AppointmentInput{Start: t0.Add(3 * time.Hour), DurationMinutes: 30,
		TimeZone: "Europe/Athens", AgentUserID: "agent-2", Customers: []rendezvous.Customer{{Name: "D", Email: "d@example.com"}}}, t0)
	saved, _, err := e.st.CreateAppointment(ctx, other, store.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	ice, _ := e.rooms.ICEServersFor(ctx, saved, room.Customer)
	if seen[ice[1].Username+ice[1].Credential] {
		t.Fatal("another room got the same credential")
	}
	// A call running past its end gets at least an hour from now.
	e.clk.Set(e.a.End().Add(room.DefaultGrace).Add(2 * time.Hour))
	ice, _ = e.rooms.ICEServersFor(ctx, e.a, room.Customer)
	exp, _, _ := strings.Cut(ice[1].Username, ":")
	if unix, _ := strconv.ParseInt(exp, 10, 64); unix < e.clk.Now().Add(room.TURNTTLAfterEnd).Unix() {
		t.Errorf("a late call's credential expires at %d, before an hour from now", unix)
	}
	// The settings API never shows the secret, and keeps it when it is sent back empty.
	set, _, _ := e.rooms.Settings(ctx, "o1")
	red := set.Redacted()
	if red.ICEServers[1].Secret == shared || !strings.HasSuffix(red.ICEServers[1].Secret, "cret") {
		t.Errorf("redacted secret: %q", red.ICEServers[1].Secret)
	}
	kept, _, err := e.rooms.PutSettings(ctx, "o1", room.Settings{ICEServers: []room.ICEServer{
		{URLs: []string{"turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349"}}}})
	if err != nil || kept.ICEServers[0].Secret != shared {
		t.Fatalf("secret not kept: %v", err)
	}
}

func TestTURNSecretValidation(t *testing.T) {
	for _, bad := range []room.ICEServer{
		{URLs: []string{"stun:stun.example.com"}, Secret: "a-long-random-static-auth-secret"},
		{URLs: []string{"turn:turn.example.com"}, Secret: "a-long-random-static-auth-secret", Username: "u", Credential: "c"},
		{URLs: []string{"turn:turn.example.com"}, Secret: "short"},
		{URLs: []string{"turn:turn.example.com"}},
		{URLs: []string{"turn:turn.example.com"}, Username: "u\r\n", Credential: "c"},
	} {
		if err := (room.Settings{ICEServers: []room.ICEServer{bad}}).Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	ice, err := room.ParseICEServers(`[{"urls":["turn:turn.example.com:3478"],"secret":"a-long-random-static-auth-secret"}]`)
	if err != nil || ice[0].Secret == "" {
		t.Fatalf("the -ice-servers setting does not take a secret: %v", err)
	}
}
