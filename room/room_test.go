package room_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/room"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// env is one room service on a real store, served over a real HTTP server.
type env struct {
	t     *testing.T
	st    *store.Store
	clk   *clock.Fake
	rooms *room.Rooms
	srv   *httptest.Server
	a     *rendezvous.Appointment
	reg   *prometheus.Registry
}

var t0 = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, dialect string) *env {
	t.Helper()
	clk := clock.NewFake(t0)
	st := storetest.OpenWith(t, dialect, store.Options{Clock: clk})
	ctx := context.Background()
	if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "o1", Name: "Org"}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	rooms, err := room.New(room.Options{Store: st, Key: []byte(strings.Repeat("k", 32)), PublicURL: "https://rdv.example", Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(signaling(rooms))
	t.Cleanup(srv.Close)
	t.Cleanup(rooms.Close)

	a, err := rendezvous.NewAppointment("o1", rendezvous.AppointmentInput{
		Start: t0.Add(time.Hour), DurationMinutes: 30, TimeZone: "Europe/Athens", AgentUserID: "agent-1",
		Customers: []rendezvous.Customer{{Name: "C", Email: "c@example.com"}},
	}, t0)
	if err != nil {
		t.Fatal(err)
	}
	saved, _, err := st.CreateAppointment(ctx, a, store.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, st: st, clk: clk, rooms: rooms, srv: srv, a: saved, reg: reg}
}

// signaling serves rooms' signaling endpoints at /room/{side}/{key}/ws, refusing as the
// web package does: 404 for a bad link, 403 for an unknown side, 409 when not open.
func signaling(rooms *room.Rooms) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /room/{side}/{key}/ws", func(w http.ResponseWriter, r *http.Request) {
		side := room.Side(r.PathValue("side"))
		a, err := rooms.Authorize(r.Context(), side, r.PathValue("key"))
		if err == nil {
			err = rooms.Serve(w, r, a, side)
		}
		switch {
		case err == nil:
		case errors.Is(err, rendezvous.ErrNotFound):
			http.Error(w, err.Error(), http.StatusNotFound)
		case errors.Is(err, rendezvous.ErrForbidden):
			http.Error(w, err.Error(), http.StatusForbidden)
		case errors.Is(err, room.ErrNotYet), errors.Is(err, room.ErrClosed):
			http.Error(w, err.Error(), http.StatusConflict)
		default:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	return mux
}

// client is one browser's signaling connection.
type client struct {
	t    *testing.T
	c    *websocket.Conn
	msgs chan map[string]any
	err  chan error
}

// dial connects side with key and returns the HTTP status when refused.
func (e *env) dial(side room.Side, key string) (*client, int) {
	e.t.Helper()
	return e.dialPath(room.SignalingPath(side, key))
}

func (e *env) dialPath(path string) (*client, int) {
	e.t.Helper()
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + path
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		if resp != nil {
			return nil, resp.StatusCode
		}
		e.t.Fatalf("dial %s: %v", path, err)
	}
	cl := &client{t: e.t, c: c, msgs: make(chan map[string]any, 32), err: make(chan error, 1)}
	go func() {
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				cl.err <- err
				close(cl.msgs)
				return
			}
			var m map[string]any
			json.Unmarshal(b, &m)
			cl.msgs <- m
		}
	}()
	e.t.Cleanup(func() { c.CloseNow() })
	return cl, http.StatusSwitchingProtocols
}

func (c *client) next(wantType string) map[string]any {
	c.t.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			c.t.Fatalf("connection closed waiting for %q: %v", wantType, <-c.err)
		}
		if m["type"] != wantType {
			c.t.Fatalf("got %v, want a %q message", m, wantType)
		}
		return m
	case <-time.After(10 * time.Second):
		c.t.Fatalf("no %q message within 10s", wantType)
	}
	return nil
}

// closedWith waits for the server to close the connection and returns the close code.
func (c *client) closedWith() websocket.StatusCode {
	c.t.Helper()
	for {
		select {
		case _, ok := <-c.msgs:
			if !ok {
				return websocket.CloseStatus(<-c.err)
			}
		case <-time.After(10 * time.Second):
			c.t.Fatal("connection not closed within 10s")
		}
	}
}

func (c *client) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	if err := c.c.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

func epoch(m map[string]any) uint64 { return uint64(m["epoch"].(float64)) }

// waitStatus polls the store until the appointment reaches want.
func (e *env) waitStatus(want rendezvous.Status) *rendezvous.Appointment {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, err := e.st.Appointment(context.Background(), e.a.OrgID, e.a.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		if a.Status == want {
			return a
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("status %s, want %s", a.Status, want)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, not waiting for time to pass
	}
}

// waitClosedSessions polls until the appointment has n closed sessions and returns them all.
func (e *env) waitClosedSessions(n int) []store.RoomSession {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ss, err := e.st.RoomSessions(context.Background(), e.a.OrgID, e.a.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		closed := 0
		for _, s := range ss {
			if !s.LeftAt.IsZero() {
				closed++
			}
		}
		if closed >= n {
			return ss
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d closed sessions, want %d: %+v", closed, n, ss)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCallFromJoinToHangUp(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d)
			e.clk.Set(e.a.Start)
			agentKey := e.rooms.AgentKey(e.a)

			agent, code := e.dial(room.Agent, agentKey)
			if agent == nil {
				t.Fatalf("agent refused with %d", code)
			}
			w := agent.next("welcome")
			if w["peer"] != false || w["side"] != "agent" {
				t.Errorf("agent welcome %v", w)
			}
			// The agent alone does not start the appointment.
			if a, _ := e.st.Appointment(context.Background(), "o1", e.a.ID); a.Status != rendezvous.StatusScheduled {
				t.Errorf("status after the agent joined: %s", a.Status)
			}

			e.clk.Advance(time.Minute)
			cust, code := e.dial(room.Customer, e.a.LinkToken)
			if cust == nil {
				t.Fatalf("customer refused with %d", code)
			}
			cw := cust.next("welcome")
			if cw["peer"] != true || cw["polite"] != true {
				t.Errorf("customer welcome %v", cw)
			}
			started := e.waitStatus(rendezvous.StatusInProgress)
			if !started.StartedAt.Equal(t0.Add(time.Hour + time.Minute)) {
				t.Errorf("StartedAt %v", started.StartedAt)
			}
			p := agent.next("peer")
			if p["present"] != true || epoch(p) != epoch(cw) {
				t.Errorf("agent told %v", p)
			}

			// Offer and answer go across.
			cust.send(map[string]any{"type": "signal", "epoch": epoch(cw), "data": map[string]any{"description": map[string]string{"type": "offer", "sdp": "v=0"}}})
			if got := agent.next("signal"); got["data"].(map[string]any)["description"].(map[string]any)["type"] != "offer" {
				t.Errorf("agent got %v", got)
			}
			agent.send(map[string]any{"type": "signal", "epoch": epoch(p), "data": map[string]any{"candidate": "c1"}})
			if got := cust.next("signal"); got["data"].(map[string]any)["candidate"] != "c1" {
				t.Errorf("customer got %v", got)
			}

			// The metrics count both connections and the two relayed messages (the sender
			// counts a message once it is handed over, so a moment after the peer may read it).
			if n := metricSum(t, e.reg, "rendezvous_room_connections"); n != 2 {
				t.Errorf("connections gauge %v, want 2", n)
			}
			if n := waitMetric(t, e.reg, "rendezvous_room_signals_relayed_total", 2); n != 2 {
				t.Errorf("relayed %v messages, want 2", n)
			}

			// The agent hangs up: both are told, both connections close, the meeting is completed.
			e.clk.Advance(20 * time.Minute)
			agent.send(map[string]any{"type": "hangup"})
			for _, c := range []*client{agent, cust} {
				if m := c.next("ended"); m["reason"] != "hangup" {
					t.Errorf("ended %v", m)
				}
				if code := c.closedWith(); code != 4002 {
					t.Errorf("close code %d, want 4002", code)
				}
			}
			done := e.waitStatus(rendezvous.StatusCompleted)
			if !done.EndedAt.Equal(t0.Add(time.Hour + 21*time.Minute)) {
				t.Errorf("EndedAt %v", done.EndedAt)
			}
			ss := e.waitClosedSessions(2)
			if len(ss) != 2 || ss[0].Side != "agent" || ss[1].Side != "customer" ||
				!ss[0].JoinedAt.Equal(e.a.Start) || !ss[1].JoinedAt.Equal(e.a.Start.Add(time.Minute)) {
				t.Fatalf("sessions %+v", ss)
			}
			reasons := map[string]string{ss[0].Side: ss[0].LeftReason, ss[1].Side: ss[1].LeftReason}
			if reasons["agent"] != "hangup" || reasons["customer"] != "ended" {
				t.Errorf("leave reasons %v", reasons)
			}

			// A completed appointment's room no longer opens.
			if c, code := e.dial(room.Customer, e.a.LinkToken); c != nil || code != http.StatusConflict {
				t.Errorf("join after completion: %d", code)
			}
		})
	}
}

func TestEachLinkAdmitsOnlyItsSide(t *testing.T) {
	e := newEnv(t, store.SQLite)
	e.clk.Set(e.a.Start)
	agentKey := e.rooms.AgentKey(e.a)
	parts := strings.Split(agentKey, ".")
	forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	for _, tc := range []struct {
		name string
		side room.Side
		key  string
	}{
		{"customer token on the agent side", room.Agent, e.a.LinkToken},
		{"agent key on the customer side", room.Customer, agentKey},
		{"forged agent key", room.Agent, forged},
		{"agent key of another org", room.Agent, "bzI." + parts[1] + "." + parts[2]},
		{"unknown customer token", room.Customer, strings.Repeat("x", 43)},
	} {
		if c, code := e.dial(tc.side, tc.key); c != nil || code != http.StatusNotFound {
			t.Errorf("%s: got %d, want 404", tc.name, code)
		}
	}
	// A third party has no side to join as, whatever token it holds.
	if c, code := e.dialPath("/room/observer/" + e.a.LinkToken + "/ws"); c != nil || code != http.StatusForbidden {
		t.Errorf("third party: got %d, want refused", code)
	}
	if _, err := e.rooms.Authorize(context.Background(), room.Side("observer"), e.a.LinkToken); !errors.Is(err, rendezvous.ErrForbidden) {
		t.Errorf("third party authorised: %v", err)
	}
	if !strings.HasPrefix(e.rooms.AgentLink(e.a), "https://rdv.example/room/agent/") {
		t.Errorf("agent link %q", e.rooms.AgentLink(e.a))
	}
}

func TestReconnectReplacesTheConnection(t *testing.T) {
	e := newEnv(t, store.SQLite)
	e.clk.Set(e.a.Start)
	agent, _ := e.dial(room.Agent, e.rooms.AgentKey(e.a))
	agent.next("welcome")
	cust1, _ := e.dial(room.Customer, e.a.LinkToken)
	cust1.next("welcome")
	agent.next("peer")

	cust2, _ := e.dial(room.Customer, e.a.LinkToken)
	w := cust2.next("welcome")
	if code := cust1.closedWith(); code != 4001 {
		t.Errorf("replaced connection closed with %d, want 4001", code)
	}
	if p := agent.next("peer"); p["present"] != true || epoch(p) != epoch(w) {
		t.Errorf("agent told %v", p)
	}
	// Only one customer session is open; the first was closed as replaced.
	ss, err := e.st.RoomSessions(context.Background(), "o1", e.a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 3 || ss[1].LeftReason != "replaced" || !ss[2].LeftAt.IsZero() {
		t.Errorf("sessions %+v", ss)
	}
}

func TestCustomerTooEarlyOrTooLate(t *testing.T) {
	e := newEnv(t, store.SQLite)
	e.clk.Set(e.a.Start.Add(-time.Minute))
	if c, code := e.dial(room.Customer, e.a.LinkToken); c != nil || code != http.StatusConflict {
		t.Errorf("customer before the start: %d, want 409", code)
	}
	// The agent may come early to check camera and microphone.
	if c, code := e.dial(room.Agent, e.rooms.AgentKey(e.a)); c == nil {
		t.Errorf("agent a minute early refused with %d", code)
	}
	e.clk.Set(e.a.End().Add(room.DefaultGrace))
	if c, code := e.dial(room.Customer, e.a.LinkToken); c != nil || code != http.StatusConflict {
		t.Errorf("customer after end plus grace: %d, want 409", code)
	}
}

func TestAdmit(t *testing.T) {
	start := t0
	a := func(s rendezvous.Status) *rendezvous.Appointment {
		return &rendezvous.Appointment{Status: s, Start: start, Duration: 30 * time.Minute}
	}
	grace, early := 10*time.Minute, 30*time.Minute
	for _, tc := range []struct {
		name string
		a    *rendezvous.Appointment
		side room.Side
		now  time.Time
		want error
	}{
		{"customer before start", a(rendezvous.StatusScheduled), room.Customer, start.Add(-time.Second), room.ErrNotYet},
		{"customer at start", a(rendezvous.StatusScheduled), room.Customer, start, nil},
		{"customer within grace", a(rendezvous.StatusScheduled), room.Customer, start.Add(39 * time.Minute), nil},
		{"customer after grace", a(rendezvous.StatusScheduled), room.Customer, start.Add(40 * time.Minute), room.ErrClosed},
		{"customer back late while in progress", a(rendezvous.StatusInProgress), room.Customer, start.Add(3 * time.Hour), nil},
		{"agent early", a(rendezvous.StatusScheduled), room.Agent, start.Add(-30 * time.Minute), nil},
		{"agent too early", a(rendezvous.StatusScheduled), room.Agent, start.Add(-31 * time.Minute), room.ErrNotYet},
		{"completed", a(rendezvous.StatusCompleted), room.Agent, start, room.ErrClosed},
		{"no-show", a(rendezvous.StatusNoShow), room.Customer, start, room.ErrClosed},
		{"cancelled", a(rendezvous.StatusCancelled), room.Customer, start, room.ErrClosed},
	} {
		if got := room.Admit(tc.a, tc.side, tc.now, grace, early); !errors.Is(got, tc.want) || (tc.want == nil && got != nil) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// runJobs runs the pending jobs of kind through h, as the job runner would.
func (e *env) runJobs(kind string, h func(context.Context, *store.Job) error) int {
	e.t.Helper()
	js, err := e.st.Jobs(context.Background(), e.a.OrgID, kind)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, j := range js {
		if j.State != store.JobPending || j.RunAt.After(e.clk.Now()) {
			continue
		}
		if err := h(context.Background(), j); err != nil {
			e.t.Fatalf("%s job: %v", kind, err)
		}
		n++
	}
	return n
}

// pendingAt returns the run times of the pending jobs of kind.
func (e *env) pendingAt(kind string) []time.Time {
	e.t.Helper()
	js, err := e.st.Jobs(context.Background(), e.a.OrgID, kind)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []time.Time
	for _, j := range js {
		if j.State == store.JobPending {
			out = append(out, j.RunAt)
		}
	}
	return out
}

func TestNoShowWhenTheCustomerNeverCame(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			event := func(ev string, version int) {
				j := &store.Job{OrgID: "o1", Kind: room.EventJobKind, Args: store.EventArgs{AppointmentID: e.a.ID, Event: ev, Version: version}}
				if err := e.rooms.HandleAppointmentEvent(ctx, j); err != nil {
					t.Fatal(err)
				}
			}
			event("created", 1)
			if at := e.pendingAt(room.DeadlineJobKind); len(at) != 1 || !at[0].Equal(e.a.End().Add(room.DefaultGrace)) {
				t.Fatalf("deadline jobs at %v", at)
			}
			// A reschedule moves the deadline: one pending job, at the new end plus grace.
			newStart := e.a.Start.Add(2 * time.Hour)
			moved, err := e.st.UpdateAppointment(ctx, "o1", e.a.ID, 0, func(a *rendezvous.Appointment) (string, error) {
				return "rescheduled", a.Apply(rendezvous.AppointmentPatch{Start: &newStart}, e.clk.Now())
			})
			if err != nil {
				t.Fatal(err)
			}
			event("rescheduled", moved.Version)
			if at := e.pendingAt(room.DeadlineJobKind); len(at) != 1 || !at[0].Equal(moved.End().Add(room.DefaultGrace)) {
				t.Fatalf("deadline jobs after reschedule at %v", at)
			}

			// The agent waits in vain; at the old deadline nothing is due.
			e.clk.Set(moved.Start)
			agent, _ := e.dial(room.Agent, e.rooms.AgentKey(moved))
			agent.next("welcome")
			e.clk.Set(e.a.End().Add(room.DefaultGrace))
			if n := e.runJobs(room.DeadlineJobKind, e.rooms.HandleDeadline); n != 0 {
				t.Fatalf("%d deadline jobs ran before the new deadline", n)
			}
			e.clk.Set(moved.End().Add(room.DefaultGrace))
			if n := e.runJobs(room.DeadlineJobKind, e.rooms.HandleDeadline); n != 1 {
				t.Fatalf("%d deadline jobs ran", n)
			}
			a := e.waitStatus(rendezvous.StatusNoShow)
			if !a.EndedAt.Equal(moved.End().Add(room.DefaultGrace)) {
				t.Errorf("EndedAt %v", a.EndedAt)
			}
			// The waiting agent is let go.
			if m := agent.next("ended"); m["reason"] != "no_show" {
				t.Errorf("agent told %v", m)
			}
		})
	}
}

func TestDeadlineIsNoOpWhenTheCustomerCame(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			if err := e.rooms.HandleAppointmentEvent(ctx, &store.Job{OrgID: "o1", Kind: room.EventJobKind,
				Args: store.EventArgs{AppointmentID: e.a.ID, Event: "created", Version: 1}}); err != nil {
				t.Fatal(err)
			}
			e.clk.Set(e.a.Start.Add(5 * time.Minute))
			cust, _ := e.dial(room.Customer, e.a.LinkToken)
			cust.next("welcome")
			e.waitStatus(rendezvous.StatusInProgress)

			// Still in the room at the deadline: the meeting runs on, nothing changes.
			e.clk.Set(e.a.End().Add(room.DefaultGrace))
			if n := e.runJobs(room.DeadlineJobKind, e.rooms.HandleDeadline); n != 1 {
				t.Fatalf("%d deadline jobs ran", n)
			}
			if a, _ := e.st.Appointment(ctx, "o1", e.a.ID); a.Status != rendezvous.StatusInProgress {
				t.Fatalf("status %s after the deadline with the customer in the room", a.Status)
			}

			// The customer leaves (closes the tab): the room is empty, a check is scheduled.
			cust.c.Close(websocket.StatusGoingAway, "")
			e.waitClosedSessions(1)
			var at []time.Time
			for deadline := time.Now().Add(10 * time.Second); len(at) == 0 && time.Now().Before(deadline); {
				if at = e.pendingAt(room.EmptyJobKind); len(at) == 0 {
					time.Sleep(5 * time.Millisecond) // polling the store, not waiting for time
				}
			}
			if len(at) != 1 || !at[0].Equal(e.clk.Now().Add(room.DefaultEmptyGrace)) {
				t.Fatalf("empty checks at %v", at)
			}
			// Nobody comes back within the empty grace: the meeting is completed.
			e.clk.Advance(room.DefaultEmptyGrace)
			if n := e.runJobs(room.EmptyJobKind, e.rooms.HandleEmpty); n != 1 {
				t.Fatalf("%d empty checks ran", n)
			}
			e.waitStatus(rendezvous.StatusCompleted)
		})
	}
}

func TestEmptyCheckWaitsForTheLastLeave(t *testing.T) {
	e := newEnv(t, store.SQLite)
	e.clk.Set(e.a.Start)
	cust, _ := e.dial(room.Customer, e.a.LinkToken)
	cust.next("welcome")
	e.waitStatus(rendezvous.StatusInProgress)
	cust.c.Close(websocket.StatusGoingAway, "")
	e.waitClosedSessions(1)

	// The customer comes back a minute later and leaves again.
	e.clk.Advance(time.Minute)
	cust2, _ := e.dial(room.Customer, e.a.LinkToken)
	cust2.next("welcome")
	cust2.c.Close(websocket.StatusGoingAway, "")
	e.waitClosedSessions(2)

	// The first check finds a more recent leave and looks again later.
	e.clk.Advance(room.DefaultEmptyGrace - time.Minute)
	if n := e.runJobs(room.EmptyJobKind, e.rooms.HandleEmpty); n != 1 {
		t.Fatalf("%d empty checks ran", n)
	}
	if a, _ := e.st.Appointment(context.Background(), "o1", e.a.ID); a.Status != rendezvous.StatusInProgress {
		t.Fatalf("completed %v after the customer's last leave", e.clk.Now().Sub(e.a.Start))
	}
	e.clk.Advance(time.Minute)
	if n := e.runJobs(room.EmptyJobKind, e.rooms.HandleEmpty); n != 1 {
		t.Fatalf("%d empty checks ran", n)
	}
	e.waitStatus(rendezvous.StatusCompleted)
}

// A session another instance left open when it crashed stops counting once its
// heartbeat is old; one seen recently (connected to another instance) still counts.
func TestDeadlineIgnoresLeftoversOfACrashedInstance(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d)
			ctx := context.Background()
			id, err := e.st.RoomJoin(ctx, "o1", e.a.ID, "customer", e.a.Start)
			if err != nil {
				t.Fatal(err)
			}
			e.clk.Set(e.a.Start)
			if _, err := e.st.UpdateAppointment(ctx, "o1", e.a.ID, 0, func(a *rendezvous.Appointment) (string, error) {
				return "started", a.MarkStarted(e.clk.Now())
			}); err != nil {
				t.Fatal(err)
			}
			deadline := &store.Job{OrgID: "o1", Kind: room.DeadlineJobKind, Args: map[string]string{"appointmentId": e.a.ID}}
			e.clk.Set(e.a.End().Add(room.DefaultGrace))

			// Seen a minute ago by another instance: still in the room.
			if err := e.st.RoomSeen(ctx, id, e.clk.Now().Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
			if err := e.rooms.HandleDeadline(ctx, deadline); err != nil {
				t.Fatal(err)
			}
			if a, _ := e.st.Appointment(ctx, "o1", e.a.ID); a.Status != rendezvous.StatusInProgress {
				t.Fatalf("status %s with a live session elsewhere", a.Status)
			}
			// The overrunning meeting is looked at again later.
			if at := e.pendingAt(room.DeadlineJobKind); len(at) != 1 || !at[0].Equal(e.clk.Now().Add(15*time.Minute)) {
				t.Fatalf("follow-up deadline checks at %v", at)
			}
			// By then the session has gone unseen (its instance crashed): the meeting is over.
			e.clk.Advance(15 * time.Minute)
			if n := e.runJobs(room.DeadlineJobKind, e.rooms.HandleDeadline); n != 1 {
				t.Fatalf("%d deadline checks ran", n)
			}
			e.waitStatus(rendezvous.StatusCompleted)
		})
	}
}

func TestReassignRetiresTheAgentLink(t *testing.T) {
	e := newEnv(t, store.SQLite)
	ctx := context.Background()
	e.clk.Set(e.a.Start.Add(-10 * time.Minute))
	oldKey := e.rooms.AgentKey(e.a)
	agent, code := e.dial(room.Agent, oldKey)
	if agent == nil {
		t.Fatalf("agent refused: %d", code)
	}
	agent.next("welcome")

	other := "agent-2"
	moved, err := e.st.UpdateAppointment(ctx, "o1", e.a.ID, 0, func(a *rendezvous.Appointment) (string, error) {
		return "reassigned", a.Apply(rendezvous.AppointmentPatch{AgentUserID: &other}, e.clk.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.rooms.HandleAppointmentEvent(ctx, &store.Job{OrgID: "o1", Kind: room.EventJobKind,
		Args: store.EventArgs{AppointmentID: e.a.ID, Event: "reassigned", Version: moved.Version}}); err != nil {
		t.Fatal(err)
	}
	if m := agent.next("ended"); m["reason"] != "reassigned" {
		t.Errorf("previous agent told %v", m)
	}
	if code := agent.closedWith(); code != 4002 {
		t.Errorf("previous agent's connection closed with %d", code)
	}
	if c, code := e.dial(room.Agent, oldKey); c != nil || code != http.StatusNotFound {
		t.Errorf("previous agent's link after reassignment: %d, want 404", code)
	}
	newKey := e.rooms.AgentKey(moved)
	if newKey == oldKey {
		t.Fatal("reassignment did not change the agent link")
	}
	if c, code := e.dial(room.Agent, newKey); c == nil {
		t.Errorf("new agent's link refused: %d", code)
	}
}

// metricSum adds up every series of the metric name in reg.
func metricSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return sum
}

// waitMetric waits up to 5 seconds for the metric to reach want and returns its value.
func waitMetric(t *testing.T, reg *prometheus.Registry, name string, want float64) float64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := metricSum(t, reg, name)
		if n == want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(time.Millisecond) // another goroutine's counter, not the fake clock
	}
}

// TestSidesOnTwoInstancesMeet runs two instances on one database: the agent reaches one,
// the customer the other, which forwards the customer's signaling to the room's host.
func TestSidesOnTwoInstancesMeet(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d) // instance A: its server and rooms are replaced below
			var servers [2]*httptest.Server
			var instances [2]*room.Rooms
			for i := range 2 {
				var h http.Handler
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
				t.Cleanup(srv.Close)
				rooms, err := room.New(room.Options{Store: e.st, Key: []byte(strings.Repeat("k", 32)), InstanceURL: srv.URL})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(rooms.Close)
				h = signaling(rooms)
				servers[i], instances[i] = srv, rooms
			}
			e.clk.Set(e.a.Start)
			e.srv = servers[0]
			agent, code := e.dial(room.Agent, instances[0].AgentKey(e.a))
			if agent == nil {
				t.Fatalf("agent refused: %d", code)
			}
			agent.next("welcome")
			e.srv = servers[1]
			cust, code := e.dial(room.Customer, e.a.LinkToken)
			if cust == nil {
				t.Fatalf("customer refused: %d", code)
			}
			w := cust.next("welcome")
			if w["peer"] != true {
				t.Fatalf("customer on the other instance does not see the agent: %v", w)
			}
			p := agent.next("peer")
			if p["present"] != true {
				t.Fatalf("agent told %v", p)
			}
			// Both are hosted by instance A; B only forwards.
			if got := instances[0].Hub().Present(e.a.ID); len(got) != 2 {
				t.Errorf("instance A hosts %v", got)
			}
			if got := instances[1].Hub().Present(e.a.ID); len(got) != 0 {
				t.Errorf("instance B hosts %v", got)
			}
			cust.send(map[string]any{"type": "signal", "epoch": epoch(w), "data": map[string]any{"candidate": "c"}})
			if got := agent.next("signal"); got["data"].(map[string]any)["candidate"] != "c" {
				t.Errorf("agent got %v", got)
			}
			agent.send(map[string]any{"type": "signal", "epoch": epoch(p), "data": map[string]any{"candidate": "d"}})
			if got := cust.next("signal"); got["data"].(map[string]any)["candidate"] != "d" {
				t.Errorf("customer got %v", got)
			}

			// Once both left, the room is free to be hosted anywhere.
			agent.c.Close(websocket.StatusGoingAway, "")
			cust.c.Close(websocket.StatusGoingAway, "")
			e.waitClosedSessions(2)
			deadline := time.Now().Add(10 * time.Second)
			for {
				owner, err := e.st.ClaimRoomOwner(context.Background(), e.a.ID, servers[1].URL, e.clk.Now(), time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				if owner == servers[1].URL {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("room still hosted by %s after both left", owner)
				}
				time.Sleep(5 * time.Millisecond) // polling for the release, not waiting for time
			}
		})
	}
}
