package journey_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/genesys"
	"rendezvous/genesys/sandbox"
	"rendezvous/jobs"
	"rendezvous/journey"
	"rendezvous/room"
	"rendezvous/store"
	"rendezvous/store/storetest"
	"rendezvous/web"
)

// world is the whole product on one machine: the real HTTP server with the journey wired,
// a real store, and the Genesys Cloud sandbox reached through the real client, all on one
// fake clock.
type world struct {
	t   testing.TB
	clk *clock.Fake
	sb  *sandbox.Sandbox
	st  *store.Store
	j   *journey.Service
	srv *httptest.Server
	key string
	// wsURL is the sandbox's web messaging endpoint.
	wsURL string
	// rooms serves the video room; its joins wake the journey as in production.
	rooms *room.Rooms

	jo journey.Options
	// mu guards h and j, which restart replaces while the server runs.
	mu sync.Mutex
	h  http.Handler
}

// journey returns the current journey service (restart replaces it).
func (w *world) journey() *journey.Service {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.j
}

// worldOption adjusts the journey's options, given the Genesys client of the world.
type worldOption func(o *journey.Options, gc *genesys.Client)

func newWorld(t testing.TB, dialect string, opts ...worldOption) *world {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC))
	sb := sandbox.New(sandbox.Options{Clock: clk})
	t.Cleanup(sb.Close)
	sbSrv := httptest.NewServer(sb.Handler())
	t.Cleanup(sbSrv.Close)
	demo := sandbox.Demo

	st := storetest.OpenWith(t, dialect, store.Options{Clock: clk})
	ctx := context.Background()
	if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "demo", Name: "Demo"}); err != nil {
		t.Fatal(err)
	}
	_, key, err := st.CreateAPIKey(ctx, "demo", "e2e", rendezvous.AllScopes())
	if err != nil {
		t.Fatal(err)
	}
	gc := genesys.New(genesys.Config{
		Endpoints: genesys.Endpoints{API: sbSrv.URL, Login: sbSrv.URL},
		ClientID:  demo.APIClient.ID, ClientSecret: demo.APIClient.Secret,
		Clock: clk, // the sandbox's time: token expiry and the callback horizon are judged on it
	})
	w := &world{t: t, clk: clk, sb: sb, st: st, key: key, wsURL: "ws" + strings.TrimPrefix(sbSrv.URL, "http") + "/v1"}
	// The server's own URL is known only once it listens; the handler reads it late.
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		h := w.h
		w.mu.Unlock()
		h.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.srv.Close)
	// Sockets opened ahead, as the service has them (cmd/internal/wiring).
	sockets := &genesys.GuestSockets{}
	t.Cleanup(sockets.Close)
	jo := journey.Options{
		Store:     st,
		PublicURL: w.srv.URL,
		Guest:     journey.WebMessaging{URL: w.wsURL, Origin: w.srv.URL, Sockets: sockets},
		Queues:    journey.GenesysQueues{Client: gc},
		Defaults:  journey.DefaultSettings(demo.AgentDeploymentID, demo.QueueDeploymentID, demo.PlainQueue.Name),
		PollEvery: 20 * time.Millisecond,
	}
	for _, o := range opts {
		o(&jo, gc)
	}
	w.jo = jo
	w.rooms, err = room.New(room.Options{
		Store: st, Clock: clk, Key: []byte(strings.Repeat("k", 32)), PublicURL: w.srv.URL,
		Grace: func(ctx context.Context, orgID string) (time.Duration, error) {
			return w.journey().GraceFor(ctx, orgID)
		},
		OnChange: func(id string) { w.journey().Notify(id) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.rooms.Close)
	w.start()
	return w
}

// start runs a journey service on the world's store and serves it.
func (w *world) start() {
	w.t.Helper()
	j, err := journey.New(w.jo)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { j.Close() })
	h := web.NewServer(web.Deps{Store: w.st, Clock: w.clk, PublicURL: w.srv.URL, Journey: j, Rooms: w.rooms})
	w.mu.Lock()
	w.j, w.h = j, h
	w.mu.Unlock()
}

// restart stops the journey service as a shutdown does and starts a new one, as a
// redeploy does: whatever Genesys sends in between reaches nobody.
func (w *world) restart(between func()) {
	w.t.Helper()
	w.journey().Close()
	between()
	w.start()
}

// book creates an appointment through the API and returns its id and the customer's link.
func (w *world) book(start time.Time, agent string, routing map[string]any) (id, link string) {
	w.t.Helper()
	body, _ := json.Marshal(map[string]any{
		"start": start.Format(time.RFC3339), "durationMinutes": 30, "timeZone": "Europe/Berlin",
		"title": "Video consultation", "agentUserId": agent,
		"customers":   []map[string]any{{"name": "Eva", "email": "eva@example.com", "language": "de"}},
		"interaction": map[string]any{"routing": routing, "customFields": map[string]string{"caseId": "K-17"}},
	})
	req, _ := http.NewRequest("POST", w.srv.URL+"/api/v1/appointments", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+w.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ID    string `json:"id"`
		Links struct {
			Customer string `json:"customer"`
		} `json:"links"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || json.Unmarshal(b, &out) != nil || out.Links.Customer == "" {
		w.t.Fatalf("book: %d %s", resp.StatusCode, b)
	}
	return out.ID, out.Links.Customer
}

func (w *world) getPage(link string, jsonView bool) (int, string) {
	w.t.Helper()
	req, _ := http.NewRequest("GET", link, nil)
	if jsonView {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// events follows the page's event stream as a browser's EventSource does, reconnecting
// whenever the server closes it.
func (w *world) events(link string) func() journey.View {
	w.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w.t.Cleanup(cancel)
	ch := make(chan journey.View, 32)
	go func() {
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, "GET", link+"/events", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					var v journey.View
					json.Unmarshal([]byte(d), &v)
					select {
					case ch <- v:
					case <-ctx.Done():
					}
				}
			}
			resp.Body.Close()
		}
	}()
	return func() journey.View {
		w.t.Helper()
		select {
		case v := <-ch:
			return v
		case <-time.After(15 * time.Second):
			w.t.Fatal("no event within 15 s")
		}
		return journey.View{}
	}
}

// waitSandbox waits until cond holds on the sandbox's conversations.
func (w *world) waitSandbox(what string, cond func([]sandbox.Conversation) bool) []sandbox.Conversation {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var last []sandbox.Conversation
	err := w.sb.WaitFor(ctx, func() bool { last = w.sb.Conversations(); return cond(last) })
	if err != nil {
		w.t.Fatalf("waiting for %s: %v; conversations: %+v", what, err, last)
	}
	return last
}

func messaging(cs []sandbox.Conversation) []sandbox.Conversation {
	var out []sandbox.Conversation
	for _, c := range cs {
		if c.MediaType == "message" {
			out = append(out, c)
		}
	}
	return out
}

// journeyToAgent runs the customer side from the waiting room to "agent joined": check
// inspects the conversation as first routed, route returns the agent who answers, given
// the agent it is offered to at first (empty while it waits in queue).
func (w *world) journeyToAgent(start time.Time, link string, check func(c sandbox.Conversation), route func(offered string) string) {
	w.t.Helper()
	// Open early: the waiting room.
	w.clk.Set(start.Add(-30 * time.Minute))
	code, page := w.getPage(link, false)
	if code != 200 || !strings.Contains(page, `data-phase="waiting"`) || !strings.Contains(page, "Warteraum") {
		w.t.Fatalf("waiting room: %d", code)
	}
	next := w.events(link)
	if v := next(); v.Phase != journey.PhaseWaiting {
		w.t.Fatalf("first event: %+v", v)
	}
	if n := len(messaging(w.sb.Conversations())); n != 0 {
		w.t.Fatalf("%d conversations before the start", n)
	}
	// The clock reaches the start: the page moves on by itself.
	w.clk.Set(start)
	v := next()
	if v.Phase != journey.PhaseLive {
		w.t.Fatalf("at the start: %+v", v)
	}
	// The page's script (or a reload) GETs the link, which starts the interaction.
	if code, _ := w.getPage(link, true); code != 200 {
		w.t.Fatalf("live GET: %d", code)
	}
	convs := w.waitSandbox("a routed conversation", func(cs []sandbox.Conversation) bool {
		return len(messaging(cs)) == 1
	})
	c := messaging(convs)[0]
	check(c)
	for v.Progress != journey.ProgressWaitingAgent {
		v = next()
	}
	agent := route(c.OfferedAgentID)
	if _, err := w.sb.Answer(agent); err != nil {
		w.t.Fatalf("answer: %v", err)
	}
	// Genesys documents no presence event for the agent's answer: the agent's first
	// message is what tells the guest side the agent is there.
	if err := w.sb.AgentSendText(agent, c.ID, "Hello, I am opening the video now"); err != nil {
		w.t.Fatalf("agent text: %v", err)
	}
	for !v.Room {
		v = next()
	}
	if v.Progress != journey.ProgressAgentJoined {
		w.t.Fatalf("final: %+v", v)
	}
	// Reloads afterwards resume, never duplicate.
	for range 3 {
		w.getPage(link, false)
	}
	if n := len(messaging(w.sb.Conversations())); n != 1 {
		w.t.Fatalf("%d conversations after reloads; want 1", n)
	}
}

func customerAttrs(c sandbox.Conversation) map[string]string {
	for _, p := range c.Participants {
		if p.Purpose == "customer" {
			return p.Attributes
		}
	}
	return nil
}

// offeredNow waits until the conversation is offered to someone and returns them.
func (w *world) offeredNow() string {
	w.t.Helper()
	cs := w.waitSandbox("an offer", func(cs []sandbox.Conversation) bool {
		m := messaging(cs)
		return len(m) == 1 && m[0].OfferedAgentID != ""
	})
	return messaging(cs)[0].OfferedAgentID
}

func TestEndToEndFlowRouting(t *testing.T) {
	w := newWorld(t, store.SQLite)
	agent := sandbox.Demo.Agents[1].ID
	start := w.clk.Now().Add(2 * time.Hour)
	id, link := w.book(start, agent, map[string]any{"type": "GENESYS_CLOUD_FLOW"})
	w.journeyToAgent(start, link, func(c sandbox.Conversation) {
		attrs := customerAttrs(c)
		if attrs["context.auvious.agentUserId"] != agent || attrs["context.auvious.appointmentId"] != id || attrs["caseId"] != "K-17" ||
			!strings.HasPrefix(attrs["context.auvious.agentRoomUrl"], w.srv.URL+"/r/") {
			t.Errorf("customer attributes %v", attrs)
		}
		if c.QueueName != sandbox.Demo.VideoQueue.Name {
			t.Errorf("routed to queue %q; want %q", c.QueueName, sandbox.Demo.VideoQueue.Name)
		}
		// The agent sees who is waiting: the name, the title and the local time, as
		// participant data and in the first text.
		if attrs[journey.CustomerNameAttribute] != "Eva" || attrs[journey.AppointmentTitleAttribute] != "Video consultation" ||
			!strings.HasSuffix(attrs[journey.AppointmentTimeAttribute], "Europe/Berlin") {
			t.Errorf("identity attributes %v", attrs)
		}
		linkSent := false
		for _, e := range c.Transcript {
			if e.Direction == "Inbound" && e.Type == "Text" && strings.Contains(e.Text, w.srv.URL+"/r/"+id) {
				linkSent = strings.Contains(e.Text, "Eva") && strings.Contains(e.Text, "Video consultation") && strings.Contains(e.Text, "Europe/Berlin")
			}
		}
		if !linkSent {
			// The text follows the join by the paced interval; wait for it.
			w.waitSandbox("the agent link message", func(cs []sandbox.Conversation) bool {
				for _, e := range messaging(cs)[0].Transcript {
					if e.Type == "Text" && strings.Contains(e.Text, "/r/"+id) {
						return true
					}
				}
				return false
			})
		}
	}, func(string) string {
		if got := w.offeredNow(); got != agent {
			t.Fatalf("offered to %s, want the assigned agent %s", got, agent)
		}
		return agent
	})
}

func TestEndToEndQueueRouting(t *testing.T) {
	w := newWorld(t, store.SQLite)
	start := w.clk.Now().Add(2 * time.Hour)
	_, link := w.book(start, sandbox.Demo.Agents[0].ID, map[string]any{"type": "GENESYS_CLOUD_QUEUE", "properties": map[string]string{"queueName": sandbox.Demo.PlainQueue.Name}})
	w.journeyToAgent(start, link, func(c sandbox.Conversation) {
		attrs := customerAttrs(c)
		if attrs["context.auvious.queueName"] != sandbox.Demo.PlainQueue.Name || c.QueueName != sandbox.Demo.PlainQueue.Name {
			t.Errorf("queue %q, attributes %v", c.QueueName, attrs)
		}
		if _, ok := attrs["context.auvious.agentUserId"]; ok {
			t.Errorf("queue routing carries an agent attribute")
		}
		if c.DeploymentID != sandbox.Demo.QueueDeploymentID {
			t.Errorf("deployment %s", c.DeploymentID)
		}
	}, func(string) string { return w.offeredNow() })
}

func TestEndToEndPreferredAgentOffQueueFallsBack(t *testing.T) {
	w := newWorld(t, store.SQLite)
	agent := sandbox.Demo.Agents[2].ID
	if err := w.sb.SetPresence(agent, sandbox.PresenceAvailable); err != nil { // signed in, off queue
		t.Fatal(err)
	}
	start := w.clk.Now().Add(2 * time.Hour)
	_, link := w.book(start, agent, map[string]any{"type": "GENESYS_CLOUD_FLOW"})
	w.journeyToAgent(start, link, func(c sandbox.Conversation) {
		if customerAttrs(c)["context.auvious.agentUserId"] != agent {
			t.Errorf("attributes %v", customerAttrs(c))
		}
	}, func(offered string) string {
		if offered == agent {
			t.Fatalf("offered to the preferred agent who is off queue")
		}
		// Preferred agent routing holds the interaction for the ring's wait time, then
		// widens to any agent on queue.
		w.clk.Advance(31 * time.Second)
		got := w.offeredNow()
		if got == agent {
			t.Fatalf("offered to the off-queue agent")
		}
		return got
	})
}

// TestEndToEndPreferredAgentTimeout: the preferred agent is on queue but does not answer;
// after the queue's ring time the interaction falls back to another agent.
func TestEndToEndPreferredAgentTimeout(t *testing.T) {
	w := newWorld(t, store.SQLite)
	agent := sandbox.Demo.Agents[0].ID
	start := w.clk.Now().Add(2 * time.Hour)
	_, link := w.book(start, agent, map[string]any{"type": "GENESYS_CLOUD_FLOW"})
	w.journeyToAgent(start, link, func(c sandbox.Conversation) {}, func(string) string {
		if got := w.offeredNow(); got != agent {
			t.Fatalf("first offered to %s, want the preferred %s", got, agent)
		}
		// The preferred agent lets it ring past the timeout.
		w.clk.Advance(61 * time.Second)
		cs := w.waitSandbox("the fallback offer", func(cs []sandbox.Conversation) bool {
			m := messaging(cs)
			return len(m) == 1 && m[0].OfferedAgentID != "" && m[0].OfferedAgentID != agent
		})
		return messaging(cs)[0].OfferedAgentID
	})
}

// TestTwentyOpensAtTheStart: twenty simultaneous opens of one link at the start time
// create one Genesys conversation.
func TestTwentyOpensAtTheStart(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			w := newWorld(t, d)
			start := w.clk.Now().Add(time.Hour)
			id, link := w.book(start, sandbox.Demo.Agents[0].ID, map[string]any{"type": "GENESYS_CLOUD_FLOW"})
			w.clk.Set(start)
			var wg sync.WaitGroup
			gate := make(chan struct{})
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-gate
					resp, err := http.Get(link)
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
				}()
			}
			close(gate)
			wg.Wait()
			w.waitSandbox("the conversation", func(cs []sandbox.Conversation) bool { return len(messaging(cs)) >= 1 })
			// Every open has returned, so every claim is decided; once the winner recorded
			// its join, nobody else can be sending one.
			deadline := time.Now().Add(10 * time.Second)
			for {
				it, err := w.st.JourneyInteractionOf(context.Background(), id)
				if err == nil && it.Progress == "waiting_agent" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("interaction never recorded its join: %+v %v", it, err)
				}
				time.Sleep(5 * time.Millisecond) // polling real work, not waiting for the future
			}
			if n := len(messaging(w.sb.Conversations())); n != 1 {
				t.Fatalf("%d conversations; want exactly 1", n)
			}
		})
	}
}

func TestQueueCheckThroughGenesys(t *testing.T) {
	w := newWorld(t, store.SQLite)
	ctx := context.Background()
	if err := w.j.CheckQueue(ctx, "org", sandbox.Demo.PlainQueue.Name); err != nil {
		t.Fatalf("existing queue: %v", err)
	}
	err := w.j.CheckQueue(ctx, "org", "No Such Queue")
	if err == nil || !strings.Contains(err.Error(), "interaction.routing.properties.queueName") {
		t.Fatalf("missing queue: %v", err)
	}
}

// TestEndToEndCallEndEndsTheConversation: when the video call is over, the customer's side
// of the Genesys conversation ends too (a Presence Clear on the resumed guest session), so
// the agent is asked for wrap-up instead of being left with nobody.
func TestEndToEndCallEndEndsTheConversation(t *testing.T) {
	w := newWorld(t, store.SQLite)
	r := jobs.NewRunner(w.st, jobs.RunnerOptions{Clock: w.clk, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	r.Handle(store.EventJobKind, w.j.HandleAppointmentEvent)
	r.Handle(journey.InteractionEndJobKind, w.j.HandleInteractionEnd)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	agent := sandbox.Demo.Agents[1].ID
	start := w.clk.Now().Add(2 * time.Hour)
	id, link := w.book(start, agent, map[string]any{"type": "GENESYS_CLOUD_FLOW"})
	w.journeyToAgent(start, link, func(sandbox.Conversation) {}, func(offered string) string { return offered })
	conv := messaging(w.sb.Conversations())[0]
	if conv.State != sandbox.StateConnected {
		t.Fatalf("before the end of the call: %s", conv.State)
	}

	// The room marks the appointment started when someone joins, completed on hang-up,
	// twenty minutes later.
	w.clk.Set(w.clk.Now().Add(20 * time.Minute))
	for _, step := range []string{"started", "completed"} {
		if _, err := w.st.UpdateAppointment(ctx, "demo", id, 0, func(a *rendezvous.Appointment) (string, error) {
			if step == "started" {
				return step, a.MarkStarted(w.clk.Now())
			}
			return step, a.MarkCompleted(w.clk.Now())
		}); err != nil {
			t.Fatal(err)
		}
	}
	cs := w.waitSandbox("the customer's side ended", func(cs []sandbox.Conversation) bool {
		return messaging(cs)[0].State == sandbox.StateDisconnected
	})
	cleared := false
	for _, e := range messaging(cs)[0].Transcript {
		cleared = cleared || e.Direction == "Inbound" && e.Event == "Presence Clear"
	}
	if !cleared {
		t.Fatalf("transcript %+v, want the customer's Presence Clear", messaging(cs)[0].Transcript)
	}
	if n := len(messaging(cs)); n != 1 {
		t.Fatalf("%d conversations; ending one must not start another", n)
	}
}

// TestEndToEndIdentityGivesWayToLargeCustomFields: custom fields that leave no room for the
// identity attributes within the deployment's maxCustomDataBytes still start the
// interaction; the agent learns who is waiting from the first text.
func TestEndToEndIdentityGivesWayToLargeCustomFields(t *testing.T) {
	w := newWorld(t, store.SQLite)
	agent := sandbox.Demo.Agents[1].ID
	start := w.clk.Now().Add(2 * time.Hour)
	title := strings.Repeat("T", 200)
	out := w.api("POST", "/api/v1/appointments", map[string]any{
		"start": start.Format(time.RFC3339), "durationMinutes": 30, "timeZone": "Europe/Berlin", "title": title, "agentUserId": agent,
		"customers": []map[string]any{{"name": "Eva", "email": "eva@example.com"}},
		"interaction": map[string]any{"routing": map[string]any{"type": "GENESYS_CLOUD_FLOW"},
			"customFields": map[string]string{"a": strings.Repeat("x", 1000), "b": strings.Repeat("y", 600)}},
	}, http.StatusCreated)
	link := out["links"].(map[string]any)["customer"].(string)
	w.clk.Set(start)
	if code, _ := w.getPage(link, true); code != 200 {
		t.Fatalf("live GET: %d", code)
	}
	cs := w.waitSandbox("the conversation with the link text", func(cs []sandbox.Conversation) bool {
		m := messaging(cs)
		return len(m) == 1 && len(m[0].Transcript) >= 2
	})
	c := messaging(cs)[0]
	attrs := customerAttrs(c)
	if _, ok := attrs[journey.CustomerNameAttribute]; ok || len(attrs["a"]) != 1000 || attrs["context.auvious.agentUserId"] != agent {
		t.Fatalf("attributes %v", attrs)
	}
	if text := c.Transcript[1].Text; !strings.Contains(text, "Eva") || !strings.Contains(text, title) {
		t.Fatalf("first text %q", text)
	}
}
