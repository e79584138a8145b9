package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/store"
	"rendezvous/store/storetest"
	"rendezvous/web"
	"rendezvous/web/webtest"
	"rendezvous/widget"
)

// The host page's origin in these tests.
const hostOrigin = "https://bank.example"

// newWidgetEnv is newEnv with the widget service, a low proof-of-work difficulty and
// limits out of the way (tests of the limits set their own).
func newWidgetEnv(t *testing.T, dialect string, wo widget.Options) *env {
	t.Helper()
	clk := clock.NewFake(now)
	st := storetest.OpenWith(t, dialect, store.Options{Clock: clk})
	ctx := context.Background()
	if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "demo", Name: "Demo"}); err != nil {
		t.Fatal(err)
	}
	_, secret, err := st.CreateAPIKey(ctx, "demo", "test", rendezvous.AllScopes())
	if err != nil {
		t.Fatal(err)
	}
	wo.Store, wo.Clock, wo.PublicURL, wo.Key = st, clk, "https://meet.example.com", []byte("0123456789abcdef0123456789abcdef")
	if wo.Difficulty == 0 {
		wo.Difficulty = 4
	}
	if wo.PerClient == 0 {
		wo.PerClient = 1000
	}
	if wo.PerOrigin == 0 {
		wo.PerOrigin = 100000
	}
	wid, err := widget.New(wo)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.NewServer(web.Deps{Store: st, Clock: clk, PublicURL: "https://meet.example.com", Widget: wid}))
	t.Cleanup(srv.Close)
	check := webtest.New(t, web.OpenAPI)
	return &env{t: t, srv: srv, st: st, clock: clk, check: check,
		client: &http.Client{Transport: check.RoundTripper(srv.Client().Transport)}, key: secret}
}

// schedule is a weekday 09:00–12:00 schedule in Athens, half-hour slots.
func schedule(capacity int, agents ...string) map[string]any {
	hours := []any{map[string]any{"start": "09:00", "end": "12:00"}}
	ag := []any{}
	for _, a := range agents {
		ag = append(ag, map[string]any{"userId": a})
	}
	return map[string]any{
		"timeZone":         "Europe/Athens",
		"weeklyHours":      map[string]any{"monday": hours, "tuesday": hours, "wednesday": hours, "thursday": hours, "friday": hours},
		"slotMinutes":      30,
		"minNoticeMinutes": 60,
		"horizonDays":      30,
		"capacity":         capacity,
		"agents":           ag,
	}
}

func TestScheduleAPI(t *testing.T) {
	e := newWidgetEnv(t, store.SQLite, widget.Options{})
	r := e.do("PUT", "/api/v1/settings/schedules/Mortgages", map[string]any{
		"timeZone": "Mars/Base", "slotMinutes": 2, "weeklyHours": map[string]any{"monday": []any{map[string]any{"start": "9", "end": "17:00"}}},
	})
	wantProblem(t, r, http.StatusUnprocessableEntity, "timeZone", "slotMinutes", "weeklyHours.monday[0].start", "capacity")

	r = e.do("PUT", "/api/v1/settings/schedules/Mortgages", schedule(0, "agent-1", "agent-2"))
	wantStatus(t, r, http.StatusOK)
	if m := r.json(t); m["queueName"] != "Mortgages" || m["version"].(float64) != 1 {
		t.Fatalf("saved: %v", m)
	}
	// What GET answers can be sent back as it is.
	got := e.do("GET", "/api/v1/settings/schedules/Mortgages", nil)
	wantStatus(t, got, http.StatusOK)
	wantStatus(t, e.do("PUT", "/api/v1/settings/schedules/Mortgages", string(got.body), "If-Match", `"1"`), http.StatusOK)
	wantProblem(t, e.do("PUT", "/api/v1/settings/schedules/Mortgages", schedule(1), "If-Match", `"1"`), http.StatusPreconditionFailed)
	body := schedule(1)
	body["queueName"] = "Loans"
	wantProblem(t, e.do("PUT", "/api/v1/settings/schedules/Mortgages", body), http.StatusUnprocessableEntity, "queueName")

	list := e.do("GET", "/api/v1/settings/schedules", nil).json(t)
	if items := list["items"].([]any); len(items) != 1 {
		t.Fatalf("list: %v", list)
	}
	readOnly := e.newKey("demo", rendezvous.ScopeAppointmentsRead)
	wantProblem(t, e.do("GET", "/api/v1/settings/schedules", nil, "Authorization", "Bearer "+readOnly), http.StatusForbidden)

	wantStatus(t, e.do("DELETE", "/api/v1/settings/schedules/Mortgages", nil), http.StatusNoContent)
	wantProblem(t, e.do("GET", "/api/v1/settings/schedules/Mortgages", nil), http.StatusNotFound)

	wantProblem(t, e.do("PUT", "/api/v1/settings/widget", map[string]any{"allowedOrigins": []any{"https://bank.example/path", "ftp://x"}}),
		http.StatusUnprocessableEntity, "allowedOrigins[0]", "allowedOrigins[1]")
	r = e.do("PUT", "/api/v1/settings/widget", map[string]any{"allowedOrigins": []any{"HTTPS://Bank.Example"}})
	wantStatus(t, r, http.StatusOK)
	if o := r.json(t)["allowedOrigins"].([]any); len(o) != 1 || o[0] != hostOrigin {
		t.Fatalf("origins: %v", o)
	}
}

func TestAvailabilityAPI(t *testing.T) {
	e := newWidgetEnv(t, store.SQLite, widget.Options{})
	wantStatus(t, e.do("PUT", "/api/v1/settings/schedules/Mortgages", schedule(0, "agent-1", "agent-2")), http.StatusOK)
	wantStatus(t, e.do("PUT", "/api/v1/settings/widget", map[string]any{"allowedOrigins": []any{hostOrigin}}), http.StatusOK)
	// agent-1 has an appointment from the API on Tuesday 5 May 10:00 Athens (07:00Z).
	b := booking("agent-1", 22)
	wantStatus(t, e.do("POST", "/api/v1/appointments", b), http.StatusCreated)

	q := url.Values{"queue": {"Mortgages"}, "from": {"2026-05-05T00:00:00+03:00"}, "to": {"2026-05-06T00:00:00+03:00"}, "timeZone": {"America/New_York"}}
	r := e.do("GET", "/api/v1/availability?"+q.Encode(), nil)
	wantStatus(t, r, http.StatusOK)
	slots := r.json(t)["slots"].([]any)
	if len(slots) != 6 {
		t.Fatalf("%d slots, want 6: %s", len(slots), r.body)
	}
	first := slots[0].(map[string]any)
	if first["start"] != "2026-05-05T02:00:00-04:00" || first["date"] != "2026-05-05" || first["remaining"].(float64) != 2 {
		t.Errorf("first slot = %v", first)
	}
	if s := slots[2].(map[string]any); s["remaining"].(float64) != 1 {
		t.Errorf("10:00 Athens should have one place left (agent-1 is booked): %v", s)
	}

	// Public: org required; a browser on an allowed origin gets CORS, another nothing.
	wantProblem(t, e.do("GET", "/api/v1/availability?"+q.Encode(), nil, "Authorization", ""), http.StatusUnprocessableEntity, "org")
	q.Set("org", "demo")
	r = e.do("GET", "/api/v1/availability?"+q.Encode(), nil, "Authorization", "", "Origin", hostOrigin)
	wantStatus(t, r, http.StatusOK)
	if r.header.Get("Access-Control-Allow-Origin") != hostOrigin {
		t.Errorf("no CORS header for an allowed origin: %v", r.header)
	}
	r = e.do("GET", "/api/v1/availability?"+q.Encode(), nil, "Authorization", "", "Origin", "https://evil.example")
	wantProblem(t, r, http.StatusForbidden)
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS header for a refused origin")
	}
	q.Set("queue", "Nope")
	wantProblem(t, e.do("GET", "/api/v1/availability?"+q.Encode(), nil, "Authorization", ""), http.StatusNotFound)
	q.Set("queue", "Mortgages")
	q.Set("to", "2026-09-01T00:00:00Z")
	wantProblem(t, e.do("GET", "/api/v1/availability?"+q.Encode(), nil), http.StatusUnprocessableEntity, "to")
}

// bookBody is a widget booking of start for the n-th customer, with a solved challenge.
func (e *env) bookBody(chatMode, start string, n int) map[string]any {
	e.t.Helper()
	c := e.do("GET", "/api/v1/widget/challenge?org=demo", nil, "Authorization", "").json(e.t)
	ch := c["challenge"].(string)
	return map[string]any{
		"org": "demo", "queue": "Mortgages", "chatMode": chatMode, "start": start, "timeZone": "Europe/Athens",
		"language": "el", "name": fmt.Sprintf("Customer %d", n), "email": fmt.Sprintf("c%d@example.com", n), "consent": true,
		"challenge": ch, "nonce": widget.Solve(ch, int(c["difficulty"].(float64))), "origin": hostOrigin,
	}
}

func TestWidgetBookingRules(t *testing.T) {
	e := newWidgetEnv(t, store.SQLite, widget.Options{MaxPerContact: 2})
	wantStatus(t, e.do("PUT", "/api/v1/settings/schedules/Mortgages", schedule(0, "agent-1", "agent-2")), http.StatusOK)
	book := func(body map[string]any) response {
		return e.do("POST", "/api/v1/widget/bookings", body, "Authorization", "")
	}
	slot := "2026-05-05T09:00:00+03:00"

	// No allowed origins yet: refused.
	wantProblem(t, book(e.bookBody("genesys-cloud", slot, 1)), http.StatusForbidden)
	wantStatus(t, e.do("PUT", "/api/v1/settings/widget", map[string]any{"allowedOrigins": []any{hostOrigin}}), http.StatusOK)

	b := e.bookBody("genesys-web-chat", slot, 1)
	wantProblem(t, book(b), http.StatusUnprocessableEntity, "chatMode")
	b = e.bookBody("genesys-cloud", slot, 1)
	b["consent"] = false
	wantProblem(t, book(b), http.StatusUnprocessableEntity, "consent")
	b = e.bookBody("genesys-cloud", slot, 1)
	b["nonce"] = "x"
	if widget.LeadingZeroBits(b["challenge"].(string), "x") < 4 {
		wantProblem(t, book(b), http.StatusUnprocessableEntity, "nonce")
	}
	for _, bad := range []string{"2026-05-05T09:10:00+03:00", "2026-05-09T09:00:00+03:00", "2026-05-04T12:30:00+03:00", "2026-07-01T09:00:00+03:00"} {
		wantProblem(t, book(e.bookBody("genesys-cloud", bad, 1)), http.StatusUnprocessableEntity, "start")
	}

	// Queue routing: no agent, the queue's name.
	b = e.bookBody("genesys-cloud", slot, 1)
	r := book(b)
	wantStatus(t, r, http.StatusCreated)
	id := r.json(t)["id"].(string)
	a, err := e.st.Appointment(context.Background(), "demo", id)
	if err != nil {
		t.Fatal(err)
	}
	if a.AgentUserID != "" || a.Interaction.Routing.Type != rendezvous.RoutingQueue || a.Interaction.Routing.QueueName != "Mortgages" ||
		a.Duration != 30*time.Minute || a.Customers[0].Language != "el" {
		t.Errorf("queue booking stored as %+v", a)
	}
	// The same challenge does not book twice.
	b["start"] = "2026-05-05T10:00:00+03:00"
	wantProblem(t, book(b), http.StatusConflict)

	// Flow routing: the free agent with fewer bookings that day.
	r = book(e.bookBody("genesys-web-messaging", slot, 2))
	wantStatus(t, r, http.StatusCreated)
	a, _ = e.st.Appointment(context.Background(), "demo", r.json(t)["id"].(string))
	if a.Interaction.Routing.Type != rendezvous.RoutingFlow || (a.AgentUserID != "agent-1" && a.AgentUserID != "agent-2") {
		t.Errorf("flow booking stored as %+v", a)
	}
	first := a.AgentUserID
	r = book(e.bookBody("genesys-web-messaging", "2026-05-05T10:00:00+03:00", 3))
	wantStatus(t, r, http.StatusCreated)
	a, _ = e.st.Appointment(context.Background(), "demo", r.json(t)["id"].(string))
	if a.AgentUserID == first {
		t.Errorf("second flow booking went to %s again, who already has one that day", first)
	}

	// 09:00 is now full (one queue booking, one agent booked, two agents): the nearest free.
	r = book(e.bookBody("genesys-cloud", slot, 4))
	m := wantProblem(t, r, http.StatusConflict)
	if alts, _ := m["alternatives"].([]any); len(alts) == 0 {
		t.Errorf("no alternatives offered: %s", r.body)
	}

	// Per contact: customer 1 booked once; a second is fine, a third is refused.
	wantStatus(t, book(e.bookBody("genesys-cloud", "2026-05-05T11:00:00+03:00", 1)), http.StatusCreated)
	r = book(e.bookBody("genesys-cloud", "2026-05-05T11:30:00+03:00", 1))
	wantProblem(t, r, http.StatusTooManyRequests)
	if r.header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
}

// TestWidgetBookingConcurrency sends 50 bookings at once for one slot with two places, on
// both databases and both routings: exactly two succeed; the others are told it was taken
// and offered other slots.
func TestWidgetBookingConcurrency(t *testing.T) {
	for _, d := range storetest.Dialects() {
		for _, mode := range []string{"genesys-cloud", "genesys-web-messaging"} {
			t.Run(d+"/"+mode, func(t *testing.T) {
				e := newWidgetEnv(t, d, widget.Options{MaxPerContact: 100})
				sch := schedule(2)
				if mode == "genesys-web-messaging" {
					sch = schedule(0, "agent-1", "agent-2")
				}
				wantStatus(t, e.do("PUT", "/api/v1/settings/schedules/Mortgages", sch), http.StatusOK)
				wantStatus(t, e.do("PUT", "/api/v1/settings/widget", map[string]any{"allowedOrigins": []any{hostOrigin}}), http.StatusOK)
				const n = 50
				bodies := make([]map[string]any, n)
				for i := range bodies {
					bodies[i] = e.bookBody(mode, "2026-05-05T09:30:00+03:00", i)
				}
				statuses := make([]int, n)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range n {
					wg.Go(func() {
						<-start
						r := e.do("POST", "/api/v1/widget/bookings", bodies[i], "Authorization", "")
						statuses[i] = r.status
						if r.status == http.StatusConflict {
							if alts, _ := r.json(t)["alternatives"].([]any); len(alts) == 0 {
								t.Errorf("a refused booking got no alternatives: %s", r.body)
							}
						}
					})
				}
				close(start)
				wg.Wait()
				count := map[int]int{}
				for _, s := range statuses {
					count[s]++
				}
				if count[http.StatusCreated] != 2 || count[http.StatusConflict] != n-2 {
					t.Fatalf("statuses = %v, want 2 × 201 and %d × 409", count, n-2)
				}
				list, _, err := e.st.ListAppointments(context.Background(), "demo", store.ListFilter{Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				agents := map[string]bool{}
				for _, a := range list {
					agents[a.AgentUserID] = true
				}
				if len(list) != 2 {
					t.Fatalf("%d appointments stored, want 2", len(list))
				}
				if mode == "genesys-web-messaging" && (!agents["agent-1"] || !agents["agent-2"]) {
					t.Errorf("agents assigned: %v, want both", agents)
				}
			})
		}
	}
}
