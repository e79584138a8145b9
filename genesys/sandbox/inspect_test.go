package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func (e *env) list(path string) []map[string]any {
	e.t.Helper()
	r := e.do("GET", path, "", nil)
	wantStatus(e.t, r, 200)
	var out []map[string]any
	if err := json.Unmarshal(r.body, &out); err != nil {
		e.t.Fatalf("%s: %v", path, err)
	}
	return out
}

func (e *env) form(path string, v url.Values) resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.send(req)
}

func TestInspectionContract(t *testing.T) {
	e := newEnv(t, Options{})
	sms := e.token(Demo.SMSClient)
	wantStatus(t, e.do("POST", "/api/v2/conversations/messages/agentless", sms, map[string]any{"fromAddress": Demo.SMSNumber,
		"toAddress": "+33612345678", "toAddressMessengerType": "sms", "textBody": "hi"}), 202)
	out := e.list("/sandbox/outbox")
	if len(out) != 1 {
		t.Fatalf("outbox %v", out)
	}
	hasAll(t, out[0], "channel", "from", "to", "text", "time", "conversationId")

	users := e.list("/sandbox/users")
	if len(users) < 4 {
		t.Fatalf("users %v", users)
	}
	hasAll(t, users[0], "id", "name", "email", "role", "presence", "routingStatus", "queueIds")
	queues := e.list("/sandbox/queues")
	hasAll(t, queues[0], "id", "name", "routingMethod", "routingRules", "alertingTimeoutSeconds", "memberIds")
	clients := e.list("/sandbox/oauth-clients")
	if len(clients) != 4 {
		t.Fatalf("clients %v", clients)
	}
	hasAll(t, clients[0], "id", "secret", "name", "grantType", "permissions")

	_, c := e.startGuest(Demo.AgentDeploymentID, "g", map[string]string{Demo.AgentAttribute: Demo.Agents[1].ID})
	convs := e.list("/sandbox/conversations")
	hasAll(t, convs[0], "id", "mediaType", "participants", "queueId", "state", "offeredAgentId", "transcript")
	if convs[0]["offeredAgentId"] != Demo.Agents[1].ID {
		t.Fatalf("conversation %v", convs[0])
	}
	p := convs[0]["participants"].([]any)[0].(map[string]any)
	if p["attributes"].(map[string]any)[Demo.AgentAttribute] != Demo.Agents[1].ID {
		t.Fatalf("participant %v", p)
	}

	// Acting as an agent over HTTP.
	wantStatus(t, e.do("POST", "/sandbox/agents/"+Demo.Agents[0].ID+"/answer", "", nil), http.StatusConflict)
	r := e.do("POST", "/sandbox/agents/"+Demo.Agents[1].ID+"/answer", "", nil)
	wantStatus(t, r, 200)
	if r.json(t)["conversationId"] != c.ID {
		t.Fatalf("answer %s", r.body)
	}
	wantStatus(t, e.do("POST", "/sandbox/agents/"+Demo.Agents[1].ID+"/messages", "", map[string]any{"conversationId": c.ID, "text": "hello"}), 200)
	wantStatus(t, e.do("POST", "/sandbox/conversations/"+c.ID+"/disconnect", "", nil), 200)
	wantStatus(t, e.do("POST", "/sandbox/conversations/nope/disconnect", "", nil), 404)
	wantStatus(t, e.do("POST", "/sandbox/agents/"+Demo.Agents[0].ID+"/presence", "", map[string]any{"presence": "OFFLINE"}), 200)
	wantStatus(t, e.do("POST", "/sandbox/agents/"+Demo.Agents[0].ID+"/presence", "", map[string]any{"presence": "LUNCH"}), 400)
	wantStatus(t, e.do("POST", "/sandbox/agents/"+Demo.Agents[0].ID+"/decline", "", nil), http.StatusConflict)
	if u := e.list("/sandbox/users")[0]; u["presence"] != "OFFLINE" || u["routingStatus"] != "OFF_QUEUE" {
		t.Fatalf("user %v", u)
	}
	if tr := e.conversation(c.ID).Transcript; tr[len(tr)-2].Text != "hello" {
		t.Fatalf("transcript %+v", tr)
	}
}

func hasAll(t *testing.T, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("key %q missing from %v", k, m)
		}
	}
}

func TestConsole(t *testing.T) {
	e := newEnv(t, Options{})
	wantStatus(t, e.do("GET", "/sandbox", "", nil), http.StatusFound)
	g, _ := e.startGuest(Demo.AgentDeploymentID, "g", map[string]string{Demo.AgentAttribute: Demo.Agents[0].ID, "appointmentId": "apt-42"})
	// The customer's first text is what tells the agent who is waiting: it heads the
	// conversation, as in the agent's view of the interaction.
	e.clock.Advance(time.Second)
	g.text("Video appointment with Jane Doe")
	g.expectInbound("text:Video appointment with Jane Doe")
	r := e.do("GET", "/sandbox/", "", nil)
	wantStatus(t, r, 200)
	page := string(r.body)
	for _, want := range []string{Demo.Agents[0].Name, Demo.Supervisor.Name, Demo.VideoQueue.Name, "apt-42", "Answer", Demo.SMSNumber[1:],
		`<blockquote class="first-message">Video appointment with Jane Doe</blockquote>`} {
		if !strings.Contains(page, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	// The console's forms redirect back to it, with the error shown when there is one.
	r = e.form("/sandbox/agents/"+Demo.Agents[0].ID+"/answer", url.Values{})
	wantStatus(t, r, http.StatusSeeOther)
	if r.header.Get("Location") != "/sandbox/" {
		t.Fatalf("location %s", r.header.Get("Location"))
	}
	r = e.form("/sandbox/agents/"+Demo.Agents[0].ID+"/answer", url.Values{})
	loc := r.header.Get("Location")
	if !strings.Contains(loc, "error=") {
		t.Fatalf("location %s", loc)
	}
	r = e.do("GET", loc, "", nil)
	if !strings.Contains(string(r.body), "no interaction is offered") {
		t.Fatal("the console does not show the error")
	}
	wantStatus(t, e.form("/sandbox/agents/"+Demo.Agents[1].ID+"/presence", url.Values{"presence": {"AVAILABLE"}}), http.StatusSeeOther)
	wantStatus(t, e.form("/sandbox/faults", url.Values{"status": {"503"}, "pathPrefix": {"/api/"}, "count": {"2"}}), http.StatusSeeOther)
	if f := e.sb.Faults(); len(f) != 1 || f[0].Status != 503 || f[0].Count != 2 {
		t.Fatalf("faults %+v", f)
	}
	wantStatus(t, e.form("/sandbox/faults/clear", url.Values{}), http.StatusSeeOther)
	if len(e.sb.Faults()) != 0 {
		t.Fatal("faults not cleared")
	}
}

func TestChangesLongPoll(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.do("GET", "/sandbox/changes?after=-1", "", nil)
	v := r.json(t)["version"].(float64)
	done := make(chan float64)
	go func() {
		res, err := http.Get(e.srv.URL + "/sandbox/changes?after=" + strconv.FormatInt(int64(v), 10))
		if err != nil {
			done <- -1
			return
		}
		defer res.Body.Close()
		var m map[string]float64
		json.NewDecoder(res.Body).Decode(&m)
		done <- m["version"]
	}()
	e.sb.SetPresence(Demo.Agents[0].ID, PresenceOffline)
	select {
	case got := <-done:
		if got <= v {
			t.Fatalf("version %v after %v", got, v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the long poll did not return on a change")
	}
}

func TestFaults(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.token(Demo.APIClient)
	e.sb.InjectFault(Fault{PathPrefix: "/api/v2/routing/queues", Count: 2, Status: 503, RetryAfter: 3 * time.Second})
	for range 2 {
		r := e.do("GET", "/api/v2/routing/queues", tok, nil)
		wantError(t, r, 503, "service.unavailable")
		if r.header.Get("Retry-After") != "3" {
			t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
		}
	}
	wantStatus(t, e.do("GET", "/api/v2/routing/queues", tok, nil), 200)

	e.sb.InjectFault(Fault{Method: "POST", PathPrefix: "/oauth/token", Status: 429})
	r := e.tokenRequest(Demo.APIClient.ID, Demo.APIClient.Secret, url.Values{"grant_type": {"client_credentials"}})
	wantStatus(t, r, 429)
	if r.header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	e.token(Demo.APIClient) // one hit only

	// Latency runs on the sandbox clock.
	e.sb.InjectFault(Fault{PathPrefix: "/api/v2/users", Latency: 10 * time.Second})
	done := make(chan int)
	go func() {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v2/users/"+Demo.Agents[0].ID, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		res.Body.Close()
		done <- res.StatusCode
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for e.clock.Pending() == 0 && ctx.Err() == nil {
		time.Sleep(time.Millisecond) // waiting for the request to arm its timer, not for time to pass
	}
	select {
	case <-done:
		t.Fatal("answered before the latency elapsed")
	default:
	}
	e.clock.Advance(10 * time.Second)
	if got := <-done; got != 200 {
		t.Fatalf("status %d", got)
	}

	// Unlimited faults until cleared; /sandbox/ is never faulted.
	e.sb.InjectFault(Fault{Count: -1, Status: 500})
	wantError(t, e.do("GET", "/api/v2/routing/queues", tok, nil), 500, "internal.server.error")
	wantError(t, e.do("GET", "/api/v2/routing/queues", tok, nil), 500, "internal.server.error")
	wantStatus(t, e.do("GET", "/sandbox/users", "", nil), 200)
	wantStatus(t, e.do("DELETE", "/sandbox/faults", "", nil), 200)
	wantStatus(t, e.do("GET", "/api/v2/routing/queues", tok, nil), 200)

	// Over HTTP.
	wantStatus(t, e.do("POST", "/sandbox/faults", "", map[string]any{"pathPrefix": "/api/", "status": 429, "retryAfterSeconds": 7}), 200)
	r = e.do("GET", "/api/v2/routing/queues", tok, nil)
	if r.status != 429 || r.header.Get("Retry-After") != "7" {
		t.Fatalf("%d %q", r.status, r.header.Get("Retry-After"))
	}
	wantStatus(t, e.do("POST", "/sandbox/faults", "", map[string]any{"status": 200}), 400)

	// A refused socket upgrade.
	e.sb.InjectFault(Fault{PathPrefix: "/v1", Status: 503})
	if _, res, err := e.tryDial(Demo.AgentDeploymentID, nil); err == nil || res.StatusCode != 503 {
		t.Fatalf("dial through a fault: %v", err)
	}
}

func TestDropSocketsOverHTTP(t *testing.T) {
	e := newEnv(t, Options{})
	g := e.dialGuest(Demo.AgentDeploymentID, "g", nil)
	g.configure(false)
	wantStatus(t, e.do("POST", "/sandbox/sockets/drop", "", nil), 200)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := g.ws.Read(ctx); err == nil {
		t.Fatal("socket still open")
	}
}
