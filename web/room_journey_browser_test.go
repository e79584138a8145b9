package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/genesys"
	"rendezvous/genesys/sandbox"
	"rendezvous/journey"
	"rendezvous/room"
	"rendezvous/store"
	"rendezvous/store/storetest"
	"rendezvous/web"
)

// TestJourneyToRoomInBrowser is the browser test: the customer opens the link
// early and sees the waiting room; the fake clock reaches the start and the page moves
// on by itself; the Genesys interaction reaches the assigned agent in the sandbox, who
// answers; the customer's page switches to the video room without a reload; the agent
// opens the room link the interaction carries; both peers connect and media flows.
func TestJourneyToRoomInBrowser(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC))
	sb := sandbox.New(sandbox.Options{Clock: clk})
	t.Cleanup(sb.Close)
	sbSrv := httptest.NewServer(sb.Handler())
	t.Cleanup(sbSrv.Close)
	demo := sandbox.Demo

	st := storetest.OpenWith(t, store.SQLite, store.Options{Clock: clk})
	ctx := context.Background()
	if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "demo", Name: "Demo"}); err != nil {
		t.Fatal(err)
	}
	gc := genesys.New(genesys.Config{
		Endpoints: genesys.Endpoints{API: sbSrv.URL, Login: sbSrv.URL},
		ClientID:  demo.APIClient.ID, ClientSecret: demo.APIClient.Secret,
	})
	// The server's URL is known only once it listens; the handler is set right after.
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)

	var j *journey.Service
	rooms, err := room.New(room.Options{
		Store: st, Key: []byte(strings.Repeat("j", 32)), PublicURL: srv.URL,
		Grace:    func(ctx context.Context, org string) (time.Duration, error) { return j.GraceFor(ctx, org) },
		OnChange: func(id string) { j.Notify(id) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rooms.Close)
	j, err = journey.New(journey.Options{
		Store:     st,
		PublicURL: srv.URL,
		Guest:     journey.WebMessaging{URL: "ws" + strings.TrimPrefix(sbSrv.URL, "http") + "/v1", Origin: srv.URL},
		Queues:    journey.GenesysQueues{Client: gc},
		Defaults:  journey.DefaultSettings(demo.AgentDeploymentID, demo.QueueDeploymentID, demo.PlainQueue.Name),
		RoomLinks: rooms,
		PollEvery: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	h = web.NewServer(web.Deps{Store: st, Clock: clk, PublicURL: srv.URL, Journey: j, Rooms: rooms})

	agentID := demo.Agents[1].ID
	start := clk.Now().Add(2 * time.Hour)
	a, err := rendezvous.NewAppointment("demo", rendezvous.AppointmentInput{
		Start: start, DurationMinutes: 30, TimeZone: "Europe/Athens", Title: "Video consultation", AgentUserID: agentID,
		Customers:   []rendezvous.Customer{{Name: "Eleni", Email: "eleni@example.com", Language: "el"}},
		Interaction: rendezvous.Interaction{Routing: rendezvous.Routing{Type: rendezvous.RoutingFlow}},
	}, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	a, _, err = st.CreateAppointment(ctx, a, store.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}

	browser := newBrowser(t)
	customer := browser
	// The waiting room, half an hour early.
	clk.Set(start.Add(-30 * time.Minute))
	if err := chromedp.Do(customer,
		chromedp.Navigate(srv.URL+"/a/"+a.LinkToken),
		chromedp.WaitVisible("#countdown"),
	); err != nil {
		t.Fatal(err)
	}
	// A marker that a reload would wipe out.
	if _, err := chromedp.Run(customer, chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`)); err != nil {
		t.Fatal(err)
	}

	// The start: the page goes live by itself and its GET starts the interaction, which
	// is offered to the assigned agent; the agent answers in the sandbox.
	clk.Set(start)
	wctx, cancel := context.WithTimeout(ctx, browserWait)
	defer cancel()
	var conv sandbox.Conversation
	if err := sb.WaitFor(wctx, func() bool {
		for _, c := range sb.Conversations() {
			if c.MediaType == "message" && c.OfferedAgentID == agentID {
				conv = c
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("no conversation offered to the agent: %v", err)
	}
	if _, err := sb.Answer(agentID); err != nil {
		t.Fatalf("answer: %v", err)
	}
	// The agent greets first (Genesys documents no presence event for the answer).
	if err := sb.AgentSendText(agentID, conv.ID, "Hello Eleni"); err != nil {
		t.Fatalf("agent text: %v", err)
	}
	// The agent's room link is what the interaction carries.
	var agentLink string
	for _, p := range conv.Participants {
		if p.Purpose == "customer" {
			agentLink = p.Attributes[journey.AgentRoomLinkAttribute]
		}
	}
	if agentLink != rooms.AgentLink(a) {
		t.Fatalf("interaction carries agent link %q, want %q", agentLink, rooms.AgentLink(a))
	}

	// The customer's page mounts the room without a reload and waits for the agent.
	waitRoomState(t, customer, "customer", "waiting_agent")
	if same, err := chromedp.Run(customer, chromedp.Evaluate[bool](`window.__sameDocument === true`)); err != nil || !same {
		t.Fatalf("the customer's page was reloaded on the way to the room (%v)", err)
	}

	agent := newTab(t, browser)
	if err := chromedp.Do(agent, chromedp.Navigate(agentLink)); err != nil {
		t.Fatal(err)
	}
	waitRoomState(t, agent, "agent", "connected", customer)
	waitRoomState(t, customer, "customer", "connected", agent)
	waitMediaFlowing(t, agent, "agent")
	waitMediaFlowing(t, customer, "customer")
	got, err := st.Appointment(ctx, "demo", a.ID)
	if err != nil || got.Status != rendezvous.StatusInProgress {
		t.Fatalf("appointment %v, %v; want in progress", got.Status, err)
	}
}
