package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/store"
)

func TestCreateGetAndLink(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := e.do("POST", "/api/v1/appointments", booking("agent-1", 24))
	wantStatus(t, r, http.StatusCreated)
	a := r.json(t)
	id := a["id"].(string)
	if a["status"] != "scheduled" || a["version"] != 1.0 {
		t.Errorf("status, version = %v, %v; want scheduled, 1", a["status"], a["version"])
	}
	if a["start"] != "2026-05-05T09:00:00Z" || a["startLocal"] != "2026-05-05T12:00:00+03:00" || a["end"] != "2026-05-05T09:30:00Z" {
		t.Errorf("times = %v, %v, %v", a["start"], a["startLocal"], a["end"])
	}
	cust := a["customers"].([]any)[0].(map[string]any)
	if cust["phone"] != "+306912345678" {
		t.Errorf("phone = %v, want canonical E.164 +306912345678", cust["phone"])
	}
	link := a["links"].(map[string]any)["customer"].(string)
	if !strings.HasPrefix(link, "https://meet.example.com/a/") || len(link) < len("https://meet.example.com/a/")+22 {
		t.Errorf("links.customer = %q, want the public URL + /a/ + a long token", link)
	}
	if got := r.header.Get("ETag"); got != `"1"` {
		t.Errorf("ETag = %q, want \"1\"", got)
	}
	if got := r.header.Get("Location"); got != "/api/v1/appointments/"+id {
		t.Errorf("Location = %q", got)
	}

	g := e.do("GET", "/api/v1/appointments/"+id, nil)
	wantStatus(t, g, http.StatusOK)
	if got := g.json(t); got["id"] != id || got["links"].(map[string]any)["customer"] != link {
		t.Errorf("GET returned %v", got)
	}
	wantProblem(t, e.do("GET", "/api/v1/appointments/no-such-id", nil), http.StatusNotFound)
}

func TestValidationNamesEveryField(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := booking("agent-1", 24)
	b["start"] = "tomorrow at noon"
	b["timeZone"] = "Mars/Olympus"
	b["durationMinutes"] = 1
	b["customers"] = []any{map[string]any{"name": "A", "phone": "0691234", "email": "not-an-email"}}
	b["interaction"] = map[string]any{"routing": map[string]any{"type": "GENESYS_CLOUD_QUEUE"}}
	m := wantProblem(t, e.do("POST", "/api/v1/appointments", b), http.StatusUnprocessableEntity,
		"start", "timeZone", "durationMinutes", "customers[0].phone", "customers[0].email",
		"interaction.routing.properties.queueName")
	if m["type"] != "/problems/validation" {
		t.Errorf("type = %v", m["type"])
	}
	for _, fe := range m["errors"].([]any) {
		f := fe.(map[string]any)
		if f["field"] == "start" && strings.Contains(f["message"].(string), "required") {
			t.Errorf("an unparseable start is reported as missing: %v", f["message"])
		}
	}

	past := booking("agent-1", -1)
	wantProblem(t, e.do("POST", "/api/v1/appointments", past), http.StatusUnprocessableEntity, "start")

	none := booking("agent-1", 24)
	none["customers"] = []any{}
	wantProblem(t, e.do("POST", "/api/v1/appointments", none), http.StatusUnprocessableEntity, "customers")
}

func TestUnreadableRequestsAre400WithTheField(t *testing.T) {
	e := newEnv(t, envOptions{maxBody: 4096})
	unknown := booking("agent-1", 24)
	unknown["colour"] = "blue"
	m := wantProblem(t, e.do("POST", "/api/v1/appointments", unknown), http.StatusBadRequest, "colour")
	if !strings.Contains(m["detail"].(string), "colour") {
		t.Errorf("detail %q does not name the field", m["detail"])
	}

	nested := booking("agent-1", 24)
	nested["customers"] = []any{map[string]any{"name": "A", "phone": "+306912345678", "fax": "1"}}
	wantProblem(t, e.do("POST", "/api/v1/appointments", nested), http.StatusBadRequest, "customers[0].fax")

	wrong := booking("agent-1", 24)
	wrong["durationMinutes"] = "30"
	m = wantProblem(t, e.do("POST", "/api/v1/appointments", wrong), http.StatusBadRequest, "durationMinutes")
	if d := m["detail"].(string); !strings.Contains(d, "whole number") || !strings.Contains(d, "string") {
		t.Errorf("detail %q does not say what was expected and what came", d)
	}

	wrongNested := booking("agent-1", 24)
	wrongNested["customers"] = []any{map[string]any{"name": 7, "phone": "+306912345678"}}
	wantProblem(t, e.do("POST", "/api/v1/appointments", wrongNested), http.StatusBadRequest, "customers[0].name")

	deep := booking("agent-1", 24)
	deep["interaction"] = map[string]any{"routing": map[string]any{"type": "GENESYS_CLOUD_QUEUE", "properties": map[string]any{"queue": "x"}}}
	wantProblem(t, e.do("POST", "/api/v1/appointments", deep), http.StatusBadRequest, "interaction.routing.properties.queue")

	fields := booking("agent-1", 24)
	fields["interaction"] = map[string]any{"routing": map[string]any{"type": "GENESYS_CLOUD_FLOW"}, "customFields": map[string]any{"n": 5}}
	wantProblem(t, e.do("POST", "/api/v1/appointments", fields), http.StatusBadRequest, "interaction.customFields.n")

	frac := booking("agent-1", 24)
	frac["durationMinutes"] = 30.5
	wantProblem(t, e.do("POST", "/api/v1/appointments", frac), http.StatusBadRequest, "durationMinutes")

	m = wantProblem(t, e.do("POST", "/api/v1/appointments", `{"start": "2026-05-05T09:00:00Z",`), http.StatusBadRequest)
	if !strings.Contains(m["detail"].(string), "malformed JSON") {
		t.Errorf("detail = %q", m["detail"])
	}
	wantProblem(t, e.do("POST", "/api/v1/appointments", `[1,2]`), http.StatusBadRequest)
	wantProblem(t, e.do("POST", "/api/v1/appointments", `{} {}`), http.StatusBadRequest)

	big := booking("agent-1", 24)
	big["notes"] = strings.Repeat("x", 5000)
	wantProblem(t, e.do("POST", "/api/v1/appointments", big), http.StatusRequestEntityTooLarge)

	wantProblem(t, e.do("POST", "/api/v1/appointments", "start=x", "Content-Type", "application/x-www-form-urlencoded"),
		http.StatusUnsupportedMediaType)
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := e.do("GET", "/api/v1/appointments", nil, "Authorization", "")
	wantProblem(t, r, http.StatusUnauthorized)
	if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
	}
	wantProblem(t, e.do("GET", "/api/v1/appointments", nil, "Authorization", "Bearer rdv_wrong"), http.StatusUnauthorized)

	readOnly := e.newKey("demo", rendezvous.ScopeAppointmentsRead)
	wantProblem(t, e.do("POST", "/api/v1/appointments", booking("agent-1", 24), "Authorization", "Bearer "+readOnly), http.StatusForbidden)
	wantStatus(t, e.do("GET", "/api/v1/appointments", nil, "Authorization", "Bearer "+readOnly), http.StatusOK)

	// Another organization's key sees nothing of demo's.
	id := e.do("POST", "/api/v1/appointments", booking("agent-1", 24)).json(t)["id"].(string)
	other := "Bearer " + e.newKey("acme", rendezvous.AllScopes()...)
	wantProblem(t, e.do("GET", "/api/v1/appointments/"+id, nil, "Authorization", other), http.StatusNotFound)
	wantProblem(t, e.do("PATCH", "/api/v1/appointments/"+id, map[string]any{"title": "x"}, "Authorization", other), http.StatusNotFound)
	wantProblem(t, e.do("POST", "/api/v1/appointments/"+id+"/cancel", nil, "Authorization", other), http.StatusNotFound)
	list := e.do("GET", "/api/v1/appointments", nil, "Authorization", other).json(t)
	if n := len(list["items"].([]any)); n != 0 {
		t.Errorf("other org lists %d appointments, want 0", n)
	}
}

func TestRateLimitPerKey(t *testing.T) {
	e := newEnv(t, envOptions{rateLimit: 1, rateBurst: 3})
	for i := range 3 {
		wantStatus(t, e.do("GET", "/api/v1/appointments", nil), http.StatusOK)
		_ = i
	}
	r := e.do("GET", "/api/v1/appointments", nil)
	wantProblem(t, r, http.StatusTooManyRequests)
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", r.header.Get("Retry-After"))
	}
	// Another key has its own bucket.
	other := e.newKey("demo", rendezvous.ScopeAppointmentsRead)
	wantStatus(t, e.do("GET", "/api/v1/appointments", nil, "Authorization", "Bearer "+other), http.StatusOK)
	// The fake clock moves on and the key may call again.
	e.clock.Advance(time.Second)
	wantStatus(t, e.do("GET", "/api/v1/appointments", nil), http.StatusOK)
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := booking("agent-1", 24)
	first := e.do("POST", "/api/v1/appointments", b, "Idempotency-Key", "k-1")
	wantStatus(t, first, http.StatusCreated)
	again := e.do("POST", "/api/v1/appointments", b, "Idempotency-Key", "k-1")
	wantStatus(t, again, http.StatusCreated)
	if string(again.body) != string(first.body) {
		t.Errorf("replay body differs:\n%s\n%s", first.body, again.body)
	}
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay lacks Idempotent-Replayed: true")
	}
	b["title"] = "Something else"
	wantProblem(t, e.do("POST", "/api/v1/appointments", b, "Idempotency-Key", "k-1"), http.StatusConflict)
	list := e.do("GET", "/api/v1/appointments", nil).json(t)
	if n := len(list["items"].([]any)); n != 1 {
		t.Errorf("%d appointments after replays, want 1", n)
	}
}

func TestListFiltersAndPages(t *testing.T) {
	e := newEnv(t, envOptions{})
	for h := 1; h <= 5; h++ {
		wantStatus(t, e.do("POST", "/api/v1/appointments", booking("agent-1", h)), http.StatusCreated)
	}
	wantStatus(t, e.do("POST", "/api/v1/appointments", booking("agent-2", 1)), http.StatusCreated)

	var starts []string
	cursor := ""
	for pages := 0; ; pages++ {
		q := "/api/v1/appointments?agentUserId=agent-1&status=scheduled&limit=2"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		page := e.do("GET", q, nil)
		wantStatus(t, page, http.StatusOK)
		m := page.json(t)
		for _, it := range m["items"].([]any) {
			starts = append(starts, it.(map[string]any)["start"].(string))
		}
		next, _ := m["next"].(string)
		if next == "" || pages > 5 {
			break
		}
		cursor = next
	}
	if len(starts) != 5 || starts[0] != "2026-05-04T10:00:00Z" || starts[4] != "2026-05-04T14:00:00Z" {
		t.Errorf("paged starts = %v, want agent-1's five in order", starts)
	}

	from := now.Add(2 * time.Hour).Format(time.RFC3339)
	to := now.Add(4 * time.Hour).Format(time.RFC3339)
	m := e.do("GET", "/api/v1/appointments?from="+from+"&to="+to, nil).json(t)
	if n := len(m["items"].([]any)); n != 2 {
		t.Errorf("window [+2h, +4h) has %d appointments, want 2", n)
	}
	wantProblem(t, e.do("GET", "/api/v1/appointments?status=done&limit=0&from=yesterday", nil),
		http.StatusUnprocessableEntity, "status", "limit", "from")
}

func TestRescheduleEditReassignWithIfMatch(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.do("POST", "/api/v1/appointments", booking("agent-1", 24)).json(t)["id"].(string)
	wantStatus(t, e.do("POST", "/api/v1/appointments", booking("agent-2", 26)), http.StatusCreated)
	path := "/api/v1/appointments/" + id

	r := e.do("PATCH", path, map[string]any{"start": now.Add(25 * time.Hour).Format(time.RFC3339), "durationMinutes": 45}, "If-Match", `"1"`)
	wantStatus(t, r, http.StatusOK)
	if m := r.json(t); m["version"] != 2.0 || m["start"] != "2026-05-05T10:00:00Z" || m["durationMinutes"] != 45.0 {
		t.Errorf("after reschedule: %v", m)
	}
	if r.header.Get("ETag") != `"2"` {
		t.Errorf("ETag = %q", r.header.Get("ETag"))
	}
	wantProblem(t, e.do("PATCH", path, map[string]any{"title": "late"}, "If-Match", `"1"`), http.StatusPreconditionFailed)
	wantProblem(t, e.do("PATCH", path, map[string]any{"title": "x"}, "If-Match", "soon"), http.StatusBadRequest, "If-Match")

	edit := e.do("PATCH", path, map[string]any{"title": "Renamed", "notes": "bring ID",
		"customers": []any{map[string]any{"name": "Nikos", "email": "nikos@example.com"}}}, "If-Match", `"2"`)
	wantStatus(t, edit, http.StatusOK)
	if m := edit.json(t); m["title"] != "Renamed" || m["customers"].([]any)[0].(map[string]any)["name"] != "Nikos" {
		t.Errorf("after edit: %v", m)
	}

	// agent-2 is busy at +26h: moving there with agent-2 overlaps.
	wantProblem(t, e.do("PATCH", path, map[string]any{"agentUserId": "agent-2", "start": now.Add(26 * time.Hour).Format(time.RFC3339)}), http.StatusConflict)
	re := e.do("PATCH", path, map[string]any{"agentUserId": "agent-2"})
	wantStatus(t, re, http.StatusOK)
	if m := re.json(t); m["agentUserId"] != "agent-2" || m["version"] != 4.0 {
		t.Errorf("after reassign: %v", m)
	}
	wantProblem(t, e.do("PATCH", path, map[string]any{"start": "2020-01-01T00:00:00Z", "timeZone": "Nowhere"}),
		http.StatusUnprocessableEntity, "start", "timeZone")
	wantProblem(t, e.do("PATCH", path, map[string]any{"colour": "red"}), http.StatusBadRequest, "colour")
}

func TestCancel(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.do("POST", "/api/v1/appointments", booking("agent-1", 24)).json(t)["id"].(string)
	path := "/api/v1/appointments/" + id
	wantProblem(t, e.do("POST", path+"/cancel", map[string]any{"reason": "x"}, "If-Match", `"7"`), http.StatusPreconditionFailed)
	r := e.do("POST", path+"/cancel", map[string]any{"reason": "Customer asked"}, "If-Match", `"1"`)
	wantStatus(t, r, http.StatusOK)
	m := r.json(t)
	if m["status"] != "cancelled" || m["cancelReason"] != "Customer asked" || m["cancelledAt"] != "2026-05-04T09:00:00Z" {
		t.Errorf("after cancel: %v", m)
	}
	wantProblem(t, e.do("POST", path+"/cancel", nil), http.StatusConflict)
	wantProblem(t, e.do("PATCH", path, map[string]any{"title": "x"}), http.StatusConflict)
	// The agent is free again at that time.
	wantStatus(t, e.do("POST", "/api/v1/appointments", booking("agent-1", 24)), http.StatusCreated)
}

// TestParallelBookingOneWins books the same agent and time from 50 clients at once:
// exactly one may succeed.
func TestParallelBookingOneWins(t *testing.T) {
	for _, d := range []string{store.SQLite, store.Postgres} {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, envOptions{dialect: d})
			const n = 50
			codes := make(chan int, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					b := booking("agent-1", 24)
					b["title"] = fmt.Sprintf("attempt %d", i)
					codes <- e.do("POST", "/api/v1/appointments", b).status
				})
			}
			close(start)
			wg.Wait()
			close(codes)
			got := map[int]int{}
			for c := range codes {
				got[c]++
			}
			if got[http.StatusCreated] != 1 || got[http.StatusConflict] != n-1 {
				t.Errorf("status counts = %v, want one 201 and %d 409", got, n-1)
			}
		})
	}
}

// TestServerErrorsShowACorrelationIDNotTheCause breaks the database under the server: the
// caller gets a 500 with a correlation id and none of the cause.
func TestServerErrorsShowACorrelationIDNotTheCause(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.do("POST", "/api/v1/appointments", booking("agent-1", 24)).json(t)["id"].(string)
	e.st.Close()
	r := e.do("GET", "/api/v1/appointments/"+id, nil)
	m := wantProblem(t, r, http.StatusInternalServerError)
	if m["correlationId"] == "" || m["correlationId"] != r.header.Get("X-Request-Id") {
		t.Errorf("correlationId = %v, X-Request-Id = %q; want the same, non-empty", m["correlationId"], r.header.Get("X-Request-Id"))
	}
	if d := m["detail"].(string); strings.Contains(d, "sql") || strings.Contains(d, id) {
		t.Errorf("detail shows the cause: %q", d)
	}
}
