package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/room"
	"rendezvous/store"
	"rendezvous/store/storetest"
	"rendezvous/web"
	"rendezvous/web/webtest"
)

// roomEnv is a server with the video room on a fresh database, one appointment booked
// an hour after the fake clock's start, and an administrator API key.
type roomEnv struct {
	t      *testing.T
	srv    *httptest.Server
	st     *store.Store
	clock  *clock.Fake
	rooms  *room.Rooms
	a      *rendezvous.Appointment
	client *http.Client
	key    string
}

func newRoomEnv(t *testing.T, dialect string, lang string) *roomEnv {
	t.Helper()
	clk := clock.NewFake(now)
	st := storetest.OpenWith(t, dialect, store.Options{Clock: clk})
	ctx := context.Background()
	if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "demo", Name: "Demo"}); err != nil {
		t.Fatal(err)
	}
	_, secret, err := st.CreateAPIKey(ctx, "demo", "admin", rendezvous.AllScopes())
	if err != nil {
		t.Fatal(err)
	}
	rooms, err := room.New(room.Options{Store: st, Key: []byte(strings.Repeat("r", 32)), PublicURL: "https://meet.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rooms.Close)
	srv := httptest.NewServer(web.NewServer(web.Deps{Store: st, Clock: clk, PublicURL: "https://meet.example.com", Rooms: rooms}))
	t.Cleanup(srv.Close)
	a, err := rendezvous.NewAppointment("demo", rendezvous.AppointmentInput{
		Start: now.Add(time.Hour), DurationMinutes: 30, TimeZone: "Europe/Athens", AgentUserID: "agent-1",
		Customers: []rendezvous.Customer{{Name: "Eleni", Email: "eleni@example.com", Language: lang}},
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	saved, _, err := st.CreateAppointment(ctx, a, store.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	check := webtest.New(t, web.OpenAPI)
	return &roomEnv{t: t, srv: srv, st: st, clock: clk, rooms: rooms, a: saved, key: secret,
		client: &http.Client{Transport: check.RoundTripper(srv.Client().Transport)}}
}

func (e *roomEnv) get(path string) (int, string, http.Header) {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestRoomPages(t *testing.T) {
	e := newRoomEnv(t, store.SQLite, "el")
	agentPath := room.AgentPath(e.rooms.AgentKey(e.a))
	customerPath := room.CustomerPath(e.a.LinkToken)

	// Before the start the customer is told when the room opens; the agent may come early.
	e.clock.Set(e.a.Start.Add(-10 * time.Minute))
	if code, body, _ := e.get(customerPath); code != http.StatusConflict || !strings.Contains(body, "13:00") || !strings.Contains(body, `lang="el"`) {
		t.Errorf("customer before start: %d\n%s", code, body)
	}
	code, body, h := e.get(agentPath)
	if code != http.StatusOK || h.Get("Cache-Control") != "no-store" || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("agent page: %d %v", code, h)
	}
	wantSignal := `"signalingURL":"` + room.SignalingPath(room.Agent, e.rooms.AgentKey(e.a)) + `"`
	if !strings.Contains(body, wantSignal) || !strings.Contains(body, `"role":"agent"`) || !strings.Contains(body, "/static/room/room.js") {
		t.Errorf("agent page lacks its room config (%s):\n%s", wantSignal, body)
	}
	if !strings.Contains(body, "Monday, May 4, 2026, 1:00 PM (EEST, Greece time)") {
		t.Errorf("agent page does not say which appointment:\n%s", body)
	}
	// In the agent's language, as the browser asks for it.
	req, _ := http.NewRequest("GET", e.srv.URL+agentPath, nil)
	req.Header.Set("Accept-Language", "de-DE,de;q=0.9,en;q=0.5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "Montag, 4. Mai 2026, 13:00 Uhr") || !strings.Contains(string(b), `lang="de"`) {
		t.Errorf("agent page in German:\n%s", b)
	}

	e.clock.Set(e.a.Start)
	if code, body, _ := e.get(customerPath); code != http.StatusOK || !strings.Contains(body, `"role":"customer"`) || !strings.Contains(body, `"lang":"el"`) {
		t.Errorf("customer at start: %d\n%s", code, body)
	}

	// Each link admits only its side; unknown links say nothing more.
	for _, p := range []string{
		room.AgentPath(e.a.LinkToken),
		room.CustomerPath(e.rooms.AgentKey(e.a)),
		room.CustomerPath("nope"),
		room.AgentPath("ZGVtbw." + e.a.ID + ".AAAAAAAAAAAAAAAAAAAAAA"),
	} {
		if code, _, _ := e.get(p); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, code)
		}
		if code, _, _ := e.get(p + "/ws"); code != http.StatusNotFound {
			t.Errorf("GET %s/ws: %d, want 404", p, code)
		}
	}

	// Over: 410.
	if _, err := e.st.UpdateAppointment(context.Background(), "demo", e.a.ID, 0, func(a *rendezvous.Appointment) (string, error) {
		return "cancelled", a.Cancel("", e.clock.Now())
	}); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := e.get(agentPath); code != http.StatusGone {
		t.Errorf("agent page after cancel: %d, want 410", code)
	}

	// The script and stylesheet.
	for path, ct := range map[string]string{"/static/room/room.js": "javascript", "/static/room/room.css": "text/css"} {
		code, body, h := e.get(path)
		if code != http.StatusOK || !strings.Contains(h.Get("Content-Type"), ct) || len(body) < 500 {
			t.Errorf("GET %s: %d %s (%d bytes)", path, code, h.Get("Content-Type"), len(body))
		}
	}
	if _, body, _ := e.get("/static/room/room.js"); !strings.Contains(body, "RendezvousRoom") || !strings.Contains(body, "mount") {
		t.Error("room.js does not define RendezvousRoom.mount")
	}
}

// do sends an API request with the env's key through the OpenAPI conformance checker.
func (e *roomEnv) do(method, path, body string) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestVideoSettingsAPI(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := newRoomEnv(t, d, "en")
			code, got := e.do("GET", "/api/v1/settings/video", "")
			if code != http.StatusOK || got["default"] != true || got["updatedAt"] != nil {
				t.Fatalf("GET before any PUT: %d %v", code, got)
			}

			// Every problem is named with its field.
			code, got = e.do("PUT", "/api/v1/settings/video", `{"iceServers":[{"urls":["http://x"]},{"urls":["turn:turn.example.com:3478"]}]}`)
			if code != http.StatusUnprocessableEntity {
				t.Fatalf("invalid PUT: %d %v", code, got)
			}
			fields := map[string]bool{}
			for _, p := range got["errors"].([]any) {
				fields[p.(map[string]any)["field"].(string)] = true
			}
			if !fields["iceServers[0].urls[0]"] || !fields["iceServers[1]"] {
				t.Errorf("problems %v", got["errors"])
			}
			if code, _ := e.do("PUT", "/api/v1/settings/video", `{"iceServers":[],"extra":1}`); code != http.StatusBadRequest {
				t.Errorf("unknown field: %d", code)
			}

			body := `{"iceServers":[{"urls":["stun:stun.example.com:3478"]},
				{"urls":["turn:turn.example.com:3478?transport=udp"],"username":"rdv","credential":"s3cret-turn-pass"}]}`
			code, got = e.do("PUT", "/api/v1/settings/video", body)
			if code != http.StatusOK || got["default"] != false {
				t.Fatalf("PUT: %d %v", code, got)
			}
			// The credential is never shown again, only its hint.
			putAt := got["updatedAt"]
			code, got = e.do("GET", "/api/v1/settings/video", "")
			turn := got["iceServers"].([]any)[1].(map[string]any)
			if code != http.StatusOK || turn["credential"] != nil || turn["credentialHint"] != "••••pass" {
				t.Fatalf("GET: %d %v", code, got)
			}
			// It says when they were saved, as the PUT did.
			if putAt == nil || got["updatedAt"] != putAt {
				t.Errorf("GET updatedAt %v, PUT said %v", got["updatedAt"], putAt)
			}
			// Editing without retyping the credential keeps it; the browsers get it.
			if code, got := e.do("PUT", "/api/v1/settings/video", `{"iceServers":[{"urls":["turn:turn.example.com:3478?transport=udp"],"username":"rdv"}]}`); code != http.StatusOK {
				t.Fatalf("PUT without credential: %d %v", code, got)
			}
			ice, err := e.rooms.ICEServers(context.Background(), "demo")
			if err != nil || len(ice) != 1 || ice[0].Credential != "s3cret-turn-pass" {
				t.Errorf("ICE servers for the browsers: %+v, %v", ice, err)
			}
			// The stored settings are sealed: the credential is not in the database in clear.
			raw, _, err := e.st.RoomSettings(context.Background(), "demo")
			if err != nil || strings.Contains(string(raw), "s3cret") {
				t.Errorf("stored settings reveal the credential (%v)", err)
			}
		})
	}
}

func TestAppointmentRoomAPI(t *testing.T) {
	e := newRoomEnv(t, store.SQLite, "en")
	ctx := context.Background()
	code, got := e.do("GET", "/api/v1/appointments/"+e.a.ID+"/room", "")
	if code != http.StatusOK || got["agentLink"] != e.rooms.AgentLink(e.a) || len(got["sessions"].([]any)) != 0 {
		t.Fatalf("before anyone came: %d %v", code, got)
	}
	id, err := e.st.RoomJoin(ctx, "demo", e.a.ID, "customer", e.a.Start)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.RoomLeave(ctx, id, e.a.Start.Add(10*time.Minute), "hangup"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.RoomJoin(ctx, "demo", e.a.ID, "agent", e.a.Start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	code, got = e.do("GET", "/api/v1/appointments/"+e.a.ID+"/room", "")
	ss := got["sessions"].([]any)
	if code != http.StatusOK || len(ss) != 2 {
		t.Fatalf("sessions: %d %v", code, got)
	}
	first, second := ss[0].(map[string]any), ss[1].(map[string]any)
	if first["side"] != "customer" || first["joinedAt"] != "2026-05-04T10:00:00Z" || first["leftAt"] != "2026-05-04T10:10:00Z" ||
		first["leftReason"] != "hangup" || second["side"] != "agent" || second["leftAt"] != nil {
		t.Errorf("sessions %v", ss)
	}
	if code, _ := e.do("GET", "/api/v1/appointments/nope/room", ""); code != http.StatusNotFound {
		t.Errorf("unknown appointment: %d", code)
	}
}
