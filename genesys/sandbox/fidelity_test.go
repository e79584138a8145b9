package sandbox

// The fidelity suite pins the sandbox's wire format to the facts file
// (testdata/genesys-cloud.md, a copy of the project's shared Genesys Cloud facts): field
// names, error bodies and status codes, checked over raw HTTP and WebSocket with generic
// JSON maps, never with the sandbox's (or the client's) structs. Every field name the suite
// asserts must also appear in the facts file, so neither the sandbox nor the facts can move
// alone; the client's tests run against this sandbox, so the client cannot either.

import (
	"go/parser"
	gotoken "go/token"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// facts is the facts file's text.
func facts(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/genesys-cloud.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// inFacts fails unless every name appears in the facts file as a word.
func inFacts(t *testing.T, names ...string) {
	t.Helper()
	f := facts(t)
	for _, n := range names {
		if !containsWord(f, n) {
			t.Errorf("field %q is asserted by the fidelity suite but absent from the facts file", n)
		}
	}
}

func containsWord(text, word string) bool {
	isWord := func(r byte) bool {
		return r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	}
	for i := 0; ; {
		j := strings.Index(text[i:], word)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(word)
		if (j == 0 || !isWord(text[j-1])) && (end == len(text) || !isWord(text[end])) {
			return true
		}
		i = j + 1
	}
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// exactKeys checks that m has exactly these keys, each one named in the facts file.
func exactKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	inFacts(t, keys...)
	want := slices.Clone(keys)
	sort.Strings(want)
	if got := keysOf(m); !slices.Equal(got, want) {
		t.Errorf("%s: keys %v, want exactly %v", what, got, want)
	}
}

// hasKeys checks that m has at least these keys, each one named in the facts file.
func hasKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	inFacts(t, keys...)
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: key %q missing from %v", what, k, keysOf(m))
		}
	}
}

func obj(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%v is not an object", v)
	}
	return m
}

func TestFidelityOAuth(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.tokenRequest(Demo.APIClient.ID, Demo.APIClient.Secret, url.Values{"grant_type": {"client_credentials"}})
	wantStatus(t, r, 200)
	m := r.json(t)
	exactKeys(t, "token", m, "access_token", "token_type", "expires_in")
	if m["expires_in"] != float64(86400) {
		t.Errorf("default expires_in %v, want 86400", m["expires_in"])
	}
	inFacts(t, "client_credentials", "authorization_code", "invalid_client", "S256", "code_challenge", "code_challenge_method", "redirect_uri", "response_type", "state", "client_id")

	r = e.tokenRequest(Demo.APIClient.ID, "wrong", url.Values{"grant_type": {"client_credentials"}})
	wantStatus(t, r, 401)
	m = r.json(t)
	exactKeys(t, "oauth error", m, "error", "error_description")
	if m["error"] != "invalid_client" {
		t.Errorf("error %v", m["error"])
	}
}

func TestFidelityErrorBody(t *testing.T) {
	e := newEnv(t, Options{RequestsPerMinute: 1})
	sms := e.token(Demo.SMSClient)
	errorKeys := []string{"message", "code", "status", "entityId", "entityName", "messageWithParams", "messageParams", "contextId", "details", "errors"}
	check := func(what string, r resp, status int) {
		t.Helper()
		wantStatus(t, r, status)
		m := r.json(t)
		exactKeys(t, what, m, errorKeys...)
		corr := r.header.Get("Inin-Correlation-Id")
		inFacts(t, "Inin-Correlation-Id")
		if corr == "" || m["contextId"] != corr {
			t.Errorf("%s: contextId %v, Inin-Correlation-Id %q", what, m["contextId"], corr)
		}
		if m["status"] != float64(status) {
			t.Errorf("%s: status field %v", what, m["status"])
		}
		if _, ok := m["details"].([]any); !ok {
			t.Errorf("%s: details is not a list", what)
		}
		if _, ok := m["errors"].([]any); !ok {
			t.Errorf("%s: errors is not a list", what)
		}
	}
	check("400", e.do("POST", "/api/v2/conversations/messages/agentless", sms, map[string]any{}), 400)
	check("401", e.do("GET", "/api/v2/routing/sms/phonenumbers", "nope", nil), 401)
	check("403", e.do("GET", "/api/v2/routing/email/outbound/domains", e.token(Demo.SMSClient), nil), 403)
	check("501", e.do("GET", "/api/v2/analytics/conversations/details", "", nil), 501)
	r := e.do("GET", "/api/v2/routing/sms/phonenumbers", sms, nil)
	check("429", r, 429)
	inFacts(t, "Retry-After")
	if r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// Every successful answer carries the correlation id too.
	if r := e.tokenRequest(Demo.SMSClient.ID, Demo.SMSClient.Secret, url.Values{"grant_type": {"client_credentials"}}); r.header.Get("Inin-Correlation-Id") == "" {
		t.Error("token answer without Inin-Correlation-Id")
	}
}

func TestFidelityAgentlessSMS(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.token(Demo.SMSClient)
	req := map[string]any{"fromAddress": Demo.SMSNumber, "toAddress": "+33612345678", "toAddressMessengerType": "sms",
		"textBody": "hello", "useExistingActiveConversation": true}
	inFacts(t, keysOf(req)...)
	r := e.do("POST", "/api/v2/conversations/messages/agentless", tok, req)
	if r.status/100 != 2 {
		t.Fatalf("status %d", r.status)
	}
	m := r.json(t)
	hasKeys(t, "sms response", m, "id", "conversationId", "fromAddress", "toAddress", "messengerType", "textBody", "timestamp", "selfUri")
	if m["messengerType"] != "sms" {
		t.Errorf("messengerType %v", m["messengerType"])
	}
	if _, err := time.Parse(time.RFC3339, m["timestamp"].(string)); err != nil {
		t.Errorf("timestamp %v: %v", m["timestamp"], err)
	}

	r = e.do("GET", "/api/v2/routing/sms/phonenumbers", tok, nil)
	wantStatus(t, r, 200)
	m = r.json(t)
	hasKeys(t, "number listing", m, "entities", "pageSize", "pageNumber", "total", "pageCount")
	hasKeys(t, "number", obj(t, m["entities"].([]any)[0]), "phoneNumber", "phoneNumberType", "phoneNumberStatus")

	// The limits of the facts file, at the boundary.
	req["textBody"] = strings.Repeat("x", 765)
	wantStatus(t, e.do("POST", "/api/v2/conversations/messages/agentless", tok, req), 202)
	req["textBody"] = strings.Repeat("x", 766)
	wantError(t, e.do("POST", "/api/v2/conversations/messages/agentless", tok, req), 400, "bad.request")
}

func TestFidelityAgentlessEmail(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.token(Demo.EmailClient)
	req := map[string]any{"senderType": "Outbound", "fromAddress": map[string]any{"email": "no-reply@" + Demo.EmailDomain, "name": "Acme"},
		"toAddresses": []any{map[string]any{"email": "jane@example.com", "name": "Jane"}}, "replyToAddress": map[string]any{"email": "desk@example.com"},
		"subject": "s", "textBody": "t", "htmlBody": "<p>t</p>"}
	inFacts(t, keysOf(req)...)
	inFacts(t, "email", "name", "Outbound")
	r := e.do("POST", "/api/v2/conversations/emails/agentless", tok, req)
	if r.status/100 != 2 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	m := r.json(t)
	hasKeys(t, "email response", m, "id", "conversationId", "senderType", "fromAddress", "toAddresses", "subject", "dateCreated", "selfUri")
	exactKeys(t, "fromAddress", obj(t, m["fromAddress"]), "email", "name")

	r = e.do("GET", "/api/v2/routing/email/outbound/domains", tok, nil)
	wantStatus(t, r, 200)
	hasKeys(t, "domain listing", r.json(t), "entities", "total")
	d := obj(t, r.json(t)["entities"].([]any)[0])
	hasKeys(t, "domain", d, "senderType")
	inFacts(t, "Unknown", "EmailDomain", "MockEmailDomain", "EmailSmtpDomain")
	if st, _ := d["senderType"].(string); !slices.Contains([]string{"Unknown", "EmailDomain", "MockEmailDomain", "EmailSmtpDomain"}, st) {
		t.Errorf("senderType %q is none of Genesys' values", st)
	}
	inFacts(t, "domainId")
	r = e.do("GET", "/api/v2/routing/email/outbound/domains/"+Demo.EmailDomain, tok, nil)
	wantStatus(t, r, 200)
	wantError(t, e.do("GET", "/api/v2/routing/email/outbound/domains/nope.example", tok, nil), 404, "not.found")

	req["subject"] = strings.Repeat("s", 400)
	wantStatus(t, e.do("POST", "/api/v2/conversations/emails/agentless", tok, req), 202)
	req["subject"] = strings.Repeat("s", 401)
	wantError(t, e.do("POST", "/api/v2/conversations/emails/agentless", tok, req), 400, "bad.request")
}

func TestFidelityPermissions(t *testing.T) {
	// The permission names the facts file gives are the ones the sandbox checks.
	inFacts(t, PermMessageCreate, PermSMSNumberView, PermEmailCreate, PermAgentlessEmailSend,
		PermCallbackCreate, PermCallbackEdit, PermQueueView, PermDisconnect, PermEmailManage, PermEmailView)
	// The permission that does not exist is checked nowhere.
	if f := facts(t); !strings.Contains(f, "no permission named\n`routing:email:outbound:view`") && !strings.Contains(f, "no permission named `routing:email:outbound:view`") {
		t.Error("the facts file no longer says routing:email:outbound:view does not exist")
	}
	for _, p := range allPermissions() {
		if p == "routing:email:outbound:view" {
			t.Error("the sandbox checks a permission Genesys does not have")
		}
	}
	e := newEnv(t, Options{})
	for _, c := range []struct {
		client       DemoClient
		method, path string
		body         any
	}{
		{Demo.EmailClient, "POST", "/api/v2/conversations/messages/agentless", map[string]any{}},
		{Demo.SMSClient, "POST", "/api/v2/conversations/emails/agentless", map[string]any{}},
		{Demo.SMSClient, "GET", "/api/v2/routing/queues", nil},
		{Demo.SMSClient, "POST", "/api/v2/conversations/callbacks", map[string]any{}},
		{Demo.SMSClient, "PATCH", "/api/v2/conversations/callbacks", map[string]any{}},
		{Demo.SMSClient, "PATCH", "/api/v2/conversations/callbacks/x", map[string]any{"state": "disconnected"}},
		{Demo.SMSClient, "POST", "/api/v2/conversations/callbacks/bulk/disconnect", map[string]any{}},
		{Demo.SMSClient, "GET", "/api/v2/routing/email/outbound/domains", nil},
		{Demo.SMSClient, "GET", "/api/v2/routing/email/outbound/domains/" + Demo.EmailDomain, nil},
	} {
		wantError(t, e.do(c.method, c.path, e.token(c.client), c.body), 403, "missing.any.permissions")
	}
}

func TestFidelityCallbacks(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.token(Demo.APIClient)
	req := map[string]any{
		"routingData": map[string]any{"queueId": Demo.VideoQueue.ID, "priority": 1, "skillIds": []string{}, "languageId": "",
			"preferredAgentIds": []string{}, "scoredAgents": []any{map[string]any{"agent": map[string]any{"id": Demo.Agents[0].ID}, "score": 100}},
			"routingFlags": []string{"AGENT_OWNED_CALLBACK"}},
		"callbackNumbers": []string{"+33612345678"}, "callbackUserName": "Jane", "callbackScheduledTime": epoch.Add(time.Hour).Format("2006-01-02T15:04:05.000Z"),
		"countryCode": "FR", "validateCallbackNumbers": true, "data": map[string]string{"k": "v"}, "callerId": "+15550100100", "callerIdName": "Acme",
	}
	inFacts(t, keysOf(req)...)
	inFacts(t, keysOf(obj(t, req["routingData"]))...)
	inFacts(t, "agent", "score", "queueId")
	r := e.do("POST", "/api/v2/conversations/callbacks", tok, req)
	wantStatus(t, r, 200)
	m := r.json(t)
	hasKeys(t, "callback response", m, "conversation", "callbackIdentifiers")
	hasKeys(t, "conversation", obj(t, m["conversation"]), "id")
	ident := obj(t, m["callbackIdentifiers"].([]any)[0])
	exactKeys(t, "callback identifier", ident, "type", "id")
	convID := obj(t, m["conversation"])["id"].(string)

	inFacts(t, "yyyy", "MM", "ddTHH", "mm", "ss.SSSZ") // callbackScheduledTime's documented format
	patch := map[string]any{"conversationId": convID, "agentId": Demo.Agents[1].ID, "queueId": Demo.VideoQueue.ID,
		"callbackScheduledTime": epoch.Add(2 * time.Hour).Format(scheduledLayout), "callbackNumbers": []string{"+33612345679"}}
	inFacts(t, keysOf(patch)...)
	wantStatus(t, e.do("PATCH", "/api/v2/conversations/callbacks", tok, patch), 200)
	// PatchCallbackRequest requires agentId.
	delete(patch, "agentId")
	wantError(t, e.do("PATCH", "/api/v2/conversations/callbacks", tok, patch), 400, "bad.request")

	// The queue's agentOwnedRouting says whether it takes owned callbacks and how far
	// ahead; the video queue has a preferred-agent rule.
	inFacts(t, "agentOwnedRouting", "enableAgentOwnedCallbacks", "maxOwnedCallbackDelayHours")
	r = e.do("GET", "/api/v2/routing/queues/"+Demo.VideoQueue.ID, tok, nil)
	wantStatus(t, r, 200)
	aor := obj(t, r.json(t)["agentOwnedRouting"])
	hasKeys(t, "agentOwnedRouting", aor, "enableAgentOwnedCallbacks", "maxOwnedCallbackDelayHours")
	if aor["enableAgentOwnedCallbacks"] != true || aor["maxOwnedCallbackDelayHours"] != float64(720) {
		t.Errorf("video queue agentOwnedRouting %v", aor)
	}

	cancel := map[string]any{"callbackDisconnectIdentifiers": []any{map[string]any{"conversationId": convID, "callbackId": ident["id"]}}}
	inFacts(t, "callbackDisconnectIdentifiers", "conversationId", "callbackId")
	if r := e.do("POST", "/api/v2/conversations/callbacks/bulk/disconnect", tok, cancel); r.status/100 != 2 {
		t.Fatalf("bulk disconnect: %d %s", r.status, r.body)
	}
	id2, _ := e.createCallback(tok, map[string]any{"queueId": Demo.PlainQueue.ID, "callbackNumbers": []string{"+33612345678"}})
	inFacts(t, "disconnected")
	if r := e.do("PATCH", "/api/v2/conversations/callbacks/"+id2, tok, map[string]any{"state": "disconnected"}); r.status/100 != 2 {
		t.Fatalf("patch disconnect: %d %s", r.status, r.body)
	}
	// 30 days ahead is the limit.
	req["callbackScheduledTime"] = epoch.Add(30*24*time.Hour + time.Second).Format(scheduledLayout)
	wantError(t, e.do("POST", "/api/v2/conversations/callbacks", tok, req), 400, "bad.request")
}

func TestFidelityLookups(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.token(Demo.APIClient)
	r := e.do("GET", "/api/v2/routing/queues?name="+url.QueryEscape("Appointments*")+"&pageSize=25&pageNumber=1", tok, nil)
	wantStatus(t, r, 200)
	m := r.json(t)
	hasKeys(t, "queue listing", m, "entities", "pageSize", "pageNumber", "total", "pageCount")
	q := obj(t, m["entities"].([]any)[0])
	hasKeys(t, "queue", q, "id", "name", "mediaSettings", "routingRules")
	hasKeys(t, "message media settings", obj(t, obj(t, q["mediaSettings"])["message"]), "alertingTimeoutSeconds")
	exactKeys(t, "routing rule", obj(t, q["routingRules"].([]any)[0]), "operator", "threshold", "waitSeconds")
	inFacts(t, OperatorMeetsThreshold, OperatorAny)

	r = e.do("GET", "/api/v2/users/"+Demo.Agents[0].ID, tok, nil)
	wantStatus(t, r, 200)
	hasKeys(t, "user", r.json(t), "id", "name")
	r = e.do("POST", "/api/v2/users/search", tok, map[string]any{"query": []any{map[string]any{"type": "EXACT", "fields": []string{"id"}, "value": Demo.Agents[0].ID}}})
	wantStatus(t, r, 200)

	// attributes, as the facts file spells the body.
	id, cb := e.createCallback(tok, map[string]any{"queueId": Demo.PlainQueue.ID, "callbackNumbers": []string{"+33612345678"},
		"callbackScheduledTime": epoch.Add(time.Hour).Format(scheduledLayout)})
	inFacts(t, "attributes")
	if r := e.do("PATCH", "/api/v2/conversations/"+id+"/participants/"+cb+"/attributes", tok, map[string]any{"attributes": map[string]string{"k": "v"}}); r.status/100 != 2 {
		t.Fatalf("attributes: %d", r.status)
	}
}

func TestFidelityUserSignIn(t *testing.T) {
	e := newEnv(t, Options{})
	verifier := "a-verifier-of-at-least-forty-three-characters-0123456789"
	q := url.Values{"response_type": {"code"}, "client_id": {Demo.LoginClient.ID}, "redirect_uri": {"http://localhost:8080/auth/callback"},
		"code_challenge": {s256(verifier)}, "code_challenge_method": {"S256"}, "state": {"xyz"}}
	r := e.do("GET", "/oauth/authorize?"+q.Encode(), "", nil)
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.body), Demo.Agents[0].Name) {
		t.Fatal("the sign-in page does not list the users")
	}
	form := url.Values{}
	for k, v := range q {
		form[k] = v
	}
	form.Set("userId", Demo.Supervisor.ID)
	req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/authorize", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r = e.send(req)
	wantStatus(t, r, http.StatusFound)
	loc, _ := url.Parse(r.header.Get("Location"))
	if loc.Query().Get("state") != "xyz" || loc.Query().Get("code") == "" || loc.Path != "/auth/callback" {
		t.Fatalf("redirect %s", loc)
	}
	code := loc.Query().Get("code")

	// Public client: client_id and code_verifier, no secret.
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {q.Get("redirect_uri")},
		"client_id": {Demo.LoginClient.ID}, "code_verifier": {"wrong-verifier"}}
	r = e.tokenRequest("", "", exchange)
	wantStatus(t, r, 400)
	exactKeys(t, "oauth error", r.json(t), "error", "error_description")
	// A failed exchange burns the code, as OAuth requires; sign in again.
	r = e.send(req)
	loc, _ = url.Parse(r.header.Get("Location"))
	exchange.Set("code", loc.Query().Get("code"))
	exchange.Set("code_verifier", verifier)
	r = e.tokenRequest("", "", exchange)
	wantStatus(t, r, 200)
	tok := r.json(t)["access_token"].(string)

	r = e.do("GET", "/api/v2/users/me?expand=organization", tok, nil)
	wantStatus(t, r, 200)
	m := r.json(t)
	hasKeys(t, "me", m, "id", "name", "email", "organization")
	if m["id"] != Demo.Supervisor.ID || obj(t, m["organization"])["id"] != Demo.OrgID {
		t.Fatalf("me %s", r.body)
	}
	// The code is single use.
	wantStatus(t, e.tokenRequest("", "", exchange), 400)
}

func TestFidelityWebMessaging(t *testing.T) {
	e := newEnv(t, Options{})
	inFacts(t, "deploymentId", "application", "action", "configureSession", "onMessage", "echo", "closeSession", "token", "startNew",
		"closeAllConnections", "message", "customAttributes", "channel", "metadata", "events", "eventType", "Presence", "presence", "Join", "Text", "Event",
		"tracingId")
	g := e.dialGuest(Demo.AgentDeploymentID, "fidelity", nil)
	g.send(map[string]any{"action": "configureSession", "token": "fidelity", "deploymentId": Demo.AgentDeploymentID, "tracingId": "t-configure"})
	f := g.next()
	exactKeys(t, "frame", f, "type", "class", "code", "body", "tracingId")
	if f["type"] != "response" || f["class"] != "SessionResponse" || f["tracingId"] != "t-configure" {
		t.Fatalf("frame %v", f)
	}
	inFacts(t, "response", "SessionResponse")
	hasKeys(t, "session response", body(f), "connected", "newSession", "readOnly", "maxCustomDataBytes", "durationSeconds", "expirationDate")

	// An onMessage (the presence Join) is acknowledged by its inbound echo: a "message",
	// not a "response", with the request's tracingId.
	g.send(map[string]any{"action": "onMessage", "token": "fidelity", "tracingId": "t-join", "message": map[string]any{
		"type": "Event", "events": []any{map[string]any{"eventType": "Presence", "presence": map[string]any{"type": "Join"}}},
		"channel": map[string]any{"metadata": map[string]any{"customAttributes": map[string]string{Demo.AgentAttribute: Demo.Agents[0].ID}}}}})
	f = g.next()
	exactKeys(t, "inbound echo", f, "type", "class", "code", "body", "tracingId")
	inFacts(t, "StructuredMessage", "Outbound", "Inbound", "message")
	if f["type"] != "message" || f["class"] != "StructuredMessage" || f["code"] != float64(200) || f["tracingId"] != "t-join" || body(f)["direction"] != "Inbound" {
		t.Fatalf("join acknowledgement %v", f)
	}
	hasKeys(t, "inbound echo body", body(f), "id", "type", "direction", "channel", "events")

	// The agent answers: Genesys documents no Outbound presence Join, so the next frame
	// the guest sees is the agent's first message.
	if _, err := e.sb.Answer(Demo.Agents[0].ID); err != nil {
		t.Fatal(err)
	}
	convID := e.sb.Conversations()[0].ID
	if err := e.sb.AgentSendText(Demo.Agents[0].ID, convID, "Hello"); err != nil {
		t.Fatal(err)
	}
	f = g.next()
	exactKeys(t, "frame", f, "type", "class", "code", "body")
	if f["type"] != "message" || f["class"] != "StructuredMessage" {
		t.Fatalf("frame %v", f)
	}
	b := body(f)
	hasKeys(t, "structured message", b, "id", "type", "text", "direction", "channel")
	if b["direction"] != "Outbound" || b["text"] != "Hello" {
		t.Errorf("agent frame %v", b)
	}

	// A text is acknowledged the same way; the echo action is answered with a response.
	g.text("hello")
	b = g.expectInbound("text:hello")
	hasKeys(t, "echo", b, "id", "type", "text", "direction", "channel")
	g.text("too fast")
	f = g.next()
	inFacts(t, "TooManyRequestsErrorMessage", "errorCode", "errorMessage", "retryAfter", "429", "4029")
	if f["type"] != "response" || f["class"] != "TooManyRequestsErrorMessage" || f["code"] != float64(429) {
		t.Fatalf("frame %v", f)
	}
	exactKeys(t, "429 body", body(f), "errorCode", "errorMessage", "retryAfter")
	e.clock.Advance(time.Second)
	g.send(map[string]any{"action": "echo", "token": "fidelity", "tracingId": "t-echo", "message": map[string]any{"type": "Text", "text": "ping"}})
	f = g.expect("response", "StructuredMessage")
	if f["tracingId"] != "t-echo" || body(f)["text"] != "ping" || body(f)["direction"] != "Inbound" {
		t.Fatalf("echo answer %v", f)
	}

	// Errors: a "response" of class "string", the error code as the frame's code, a
	// plain-text body.
	g.send(map[string]any{"action": "onMessage", "tracingId": "t-bad", "message": map[string]any{"type": "Text", "text": "x"}})
	f = g.expectError(wmMissingParam)
	inFacts(t, "string")
	exactKeys(t, "error frame", f, "type", "class", "code", "body")

	// Every error code the sandbox answers with is one of the facts file's.
	for _, code := range []int{wmSessionExpired, wmSessionNotFound, wmMessageTooLong, wmCustomDataLarge, wmMissingParam, wmRateTooHigh, wmUnexpected} {
		inFacts(t, strconv.Itoa(code))
	}

	// SessionExpiredEvent comes as a "response" with code 200 and an empty body.
	e.clock.Advance(72 * time.Hour)
	f = g.nextOf("SessionExpiredEvent")
	inFacts(t, "SessionExpiredEvent", "ConnectionClosedEvent", "200")
	exactKeys(t, "expiry frame", f, "type", "class", "code", "body")
	if f["type"] != "response" || f["code"] != float64(200) || len(body(f)) != 0 {
		t.Fatalf("expiry frame %v", f)
	}
}

// TestOwnWireStructs keeps the sandbox independent of the client: were it to share the
// client's structs, a field misspelt in both would pass every test.
func TestOwnWireStructs(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := gotoken.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			if p := strings.Trim(imp.Path.Value, `"`); p == "rendezvous/genesys" {
				t.Errorf("%s imports the client package %s", f, p)
			}
		}
	}
}
