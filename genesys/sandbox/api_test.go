package sandbox

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestClientCredentials(t *testing.T) {
	e := newEnv(t, Options{})
	d := e.sb.Demo()

	r := e.tokenRequest(d.SMSClient.ID, d.SMSClient.Secret, url.Values{"grant_type": {"client_credentials"}})
	wantStatus(t, r, http.StatusOK)
	m := r.json(t)
	if m["token_type"] != "bearer" || m["expires_in"] != float64(86400) || m["access_token"] == "" {
		t.Fatalf("token body %s", r.body)
	}

	for name, tc := range map[string]struct {
		id, secret string
		form       url.Values
		status     int
		code       string
	}{
		"bad secret":     {d.SMSClient.ID, "nope", url.Values{"grant_type": {"client_credentials"}}, 401, "invalid_client"},
		"unknown client": {"who", "x", url.Values{"grant_type": {"client_credentials"}}, 401, "invalid_client"},
		"no basic auth":  {"", "", url.Values{"grant_type": {"client_credentials"}}, 401, "invalid_client"},
		"bad grant":      {d.SMSClient.ID, d.SMSClient.Secret, url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type"},
		"login client":   {d.LoginClient.ID, d.LoginClient.Secret, url.Values{"grant_type": {"client_credentials"}}, 400, "unauthorized_client"},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.tokenRequest(tc.id, tc.secret, tc.form)
			wantStatus(t, r, tc.status)
			if got := r.json(t); got["error"] != tc.code || got["error_description"] == "" {
				t.Fatalf("body %s", r.body)
			}
		})
	}
}

func TestTokenExpiryAndBearer(t *testing.T) {
	e := newEnv(t, Options{TokenLifetime: time.Hour})
	tok := e.token(Demo.APIClient)
	wantStatus(t, e.do("GET", "/api/v2/routing/queues", tok, nil), http.StatusOK)
	wantError(t, e.do("GET", "/api/v2/routing/queues", "", nil), 401, "authentication.required")
	wantError(t, e.do("GET", "/api/v2/routing/queues", "garbage", nil), 401, "bad.credentials")
	e.clock.Advance(time.Hour)
	wantError(t, e.do("GET", "/api/v2/routing/queues", tok, nil), 401, "bad.credentials")
}

func TestPermissions(t *testing.T) {
	e := newEnv(t, Options{})
	sms := e.token(Demo.SMSClient)
	email := e.token(Demo.EmailClient)
	wantError(t, e.do("GET", "/api/v2/routing/email/outbound/domains", sms, nil), 403, "missing.any.permissions")
	wantError(t, e.do("GET", "/api/v2/routing/sms/phonenumbers", email, nil), 403, "missing.any.permissions")
	wantError(t, e.do("POST", "/api/v2/conversations/callbacks", sms, map[string]any{}), 403, "missing.any.permissions")
	wantStatus(t, e.do("GET", "/api/v2/routing/sms/phonenumbers", sms, nil), 200)
	wantStatus(t, e.do("GET", "/api/v2/routing/email/outbound/domains", email, nil), 200)
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, Options{RequestsPerMinute: 3})
	tok := e.token(Demo.APIClient)
	for range 3 {
		wantStatus(t, e.do("GET", "/api/v2/users/"+Demo.Agents[0].ID, tok, nil), 200)
	}
	e.clock.Advance(20 * time.Second)
	r := e.do("GET", "/api/v2/users/"+Demo.Agents[0].ID, tok, nil)
	wantError(t, r, 429, "too.many.requests")
	if got := r.header.Get("Retry-After"); got != "40" {
		t.Fatalf("Retry-After %q, want 40", got)
	}
	// Another token has its own budget.
	wantStatus(t, e.do("GET", "/api/v2/users/"+Demo.Agents[0].ID, e.token(Demo.APIClient), nil), 200)
	e.clock.Advance(40 * time.Second)
	wantStatus(t, e.do("GET", "/api/v2/users/"+Demo.Agents[0].ID, tok, nil), 200)
}

func TestUnmodelled(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.token(Demo.APIClient)
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v2/conversations"},
		{"DELETE", "/api/v2/users/me"},
		{"GET", "/api/v2/webchat/guest/conversations"},
		{"PUT", "/oauth/token"},
	} {
		r := e.do(c.method, c.path, tok, nil)
		wantError(t, r, 501, "not.implemented")
		if r.header.Get("Inin-Correlation-Id") == "" {
			t.Fatal("no correlation id")
		}
	}
}

func TestAgentlessSMS(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.token(Demo.SMSClient)
	ok := map[string]any{"fromAddress": Demo.SMSNumber, "toAddress": "+33612345678", "toAddressMessengerType": "sms", "textBody": "Your appointment is at 10:00"}
	r := e.do("POST", "/api/v2/conversations/messages/agentless", tok, ok)
	wantStatus(t, r, http.StatusAccepted)
	m := r.json(t)
	if m["conversationId"] == "" || m["toAddress"] != "+33612345678" || m["messengerType"] != "sms" || m["timestamp"] != "2025-03-10T09:00:00.000Z" {
		t.Fatalf("body %s", r.body)
	}
	out := e.sb.Outbox()
	if len(out) != 1 || out[0].Channel != "sms" || out[0].Text != "Your appointment is at 10:00" || out[0].ConversationID != m["conversationId"] {
		t.Fatalf("outbox %+v", out)
	}

	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range ok {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	for name, body := range map[string]any{
		"no from":            with("fromAddress", nil),
		"unprovisioned from": with("fromAddress", "+15559999999"),
		"no to":              with("toAddress", nil),
		"not E.164":          with("toAddress", "0612345678"),
		"no type":            with("toAddressMessengerType", nil),
		"no text":            with("textBody", nil),
		"text too long":      with("textBody", strings.Repeat("a", 766)),
		"unknown field":      with("text", "hi"),
		"malformed":          "{",
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, e.do("POST", "/api/v2/conversations/messages/agentless", tok, body), 400, "bad.request")
		})
	}
	wantStatus(t, e.do("POST", "/api/v2/conversations/messages/agentless", tok, with("textBody", strings.Repeat("é", 765))), 202)
	wantError(t, e.do("POST", "/api/v2/conversations/messages/agentless", tok, with("toAddressMessengerType", "whatsapp")), 501, "not.implemented")
}

func TestAgentlessEmail(t *testing.T) {
	e := newEnv(t, Options{EmailsPerMinute: 2})
	tok := e.token(Demo.EmailClient)
	from := "no-reply@" + Demo.EmailDomain
	body := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{"senderType": "Outbound", "fromAddress": map[string]any{"email": from, "name": "Acme"},
			"toAddresses": []any{map[string]any{"email": "jane@example.com", "name": "Jane"}},
			"subject":     "Your appointment", "textBody": "See you", "htmlBody": "<p>See you</p>"}
		if mod != nil {
			mod(m)
		}
		return m
	}
	r := e.do("POST", "/api/v2/conversations/emails/agentless", tok, body(nil))
	wantStatus(t, r, http.StatusAccepted)
	m := r.json(t)
	if m["senderType"] != "Outbound" || m["subject"] != "Your appointment" || m["conversationId"] == "" || m["dateCreated"] == "" {
		t.Fatalf("body %s", r.body)
	}
	out := e.sb.Outbox()
	if len(out) != 1 || out[0].Channel != "email" || out[0].To != "jane@example.com" || out[0].From != from || out[0].Body != "See you" {
		t.Fatalf("outbox %+v", out)
	}
	for name, mod := range map[string]func(m map[string]any){
		"two recipients": func(m map[string]any) {
			m["toAddresses"] = []any{map[string]any{"email": "a@x.com"}, map[string]any{"email": "b@x.com"}}
		},
		"no recipient":     func(m map[string]any) { m["toAddresses"] = []any{} },
		"unknown domain":   func(m map[string]any) { m["fromAddress"] = map[string]any{"email": "no-reply@gmail.com"} },
		"inbound sender":   func(m map[string]any) { m["senderType"] = "Inbound" },
		"no subject":       func(m map[string]any) { delete(m, "subject") },
		"subject too long": func(m map[string]any) { m["subject"] = strings.Repeat("s", 401) },
		"no body":          func(m map[string]any) { delete(m, "textBody"); delete(m, "htmlBody") },
		"bad recipient":    func(m map[string]any) { m["toAddresses"] = []any{map[string]any{"email": "not an email"}} },
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, e.do("POST", "/api/v2/conversations/emails/agentless", tok, body(mod)), 400, "bad.request")
		})
	}
	wantStatus(t, e.do("POST", "/api/v2/conversations/emails/agentless", tok, body(nil)), 202)
	r = e.do("POST", "/api/v2/conversations/emails/agentless", tok, body(nil))
	wantError(t, r, 429, "too.many.requests")
	if r.header.Get("Retry-After") != "60" {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
}

func TestQueues(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.token(Demo.APIClient)
	names := func(r resp) []string {
		var out []string
		for _, q := range r.json(t)["entities"].([]any) {
			out = append(out, q.(map[string]any)["name"].(string))
		}
		return out
	}
	r := e.do("GET", "/api/v2/routing/queues?name=Appointments", tok, nil)
	wantStatus(t, r, 200)
	if got := strings.Join(names(r), "|"); got != "Appointments Video|Appointments" {
		t.Fatalf("prefix match gave %q", got)
	}
	r = e.do("GET", "/api/v2/routing/queues?name=*video", tok, nil)
	if got := strings.Join(names(r), "|"); got != "Appointments Video" {
		t.Fatalf("wildcard gave %q", got)
	}
	r = e.do("GET", "/api/v2/routing/queues?pageSize=1&pageNumber=2", tok, nil)
	m := r.json(t)
	if m["total"] != float64(2) || m["pageCount"] != float64(2) || m["pageNumber"] != float64(2) || len(names(r)) != 1 {
		t.Fatalf("paging %s", r.body)
	}
	wantError(t, e.do("GET", "/api/v2/routing/queues?pageSize=x", tok, nil), 400, "bad.request")
	wantError(t, e.do("GET", "/api/v2/routing/queues?divisionId=1", tok, nil), 501, "not.implemented")
	r = e.do("GET", "/api/v2/routing/queues/"+Demo.VideoQueue.ID, tok, nil)
	wantStatus(t, r, 200)
	if rules := r.json(t)["routingRules"].([]any); len(rules) != 1 {
		t.Fatalf("rules %s", r.body)
	}
	wantError(t, e.do("GET", "/api/v2/routing/queues/nope", tok, nil), 404, "not.found")
}

func TestUsers(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.token(Demo.APIClient)
	a := Demo.Agents[1]
	r := e.do("GET", "/api/v2/users/"+a.ID+"?expand=presence,routingStatus", tok, nil)
	wantStatus(t, r, 200)
	m := r.json(t)
	if m["name"] != a.Name || m["email"] != a.Email || m["presence"] == nil || m["routingStatus"].(map[string]any)["status"] != "IDLE" {
		t.Fatalf("user %s", r.body)
	}
	wantError(t, e.do("GET", "/api/v2/users/nope", tok, nil), 404, "not.found")
	wantError(t, e.do("GET", "/api/v2/users/"+a.ID+"?expand=skills", tok, nil), 400, "bad.request")
	wantError(t, e.do("GET", "/api/v2/users/me", tok, nil), 400, "user.context.required")

	search := map[string]any{"query": []any{map[string]any{"type": "EXACT", "fields": []string{"email"}, "value": a.Email}}}
	r = e.do("POST", "/api/v2/users/search", tok, search)
	wantStatus(t, r, 200)
	m = r.json(t)
	if m["total"] != float64(1) || m["results"].([]any)[0].(map[string]any)["id"] != a.ID {
		t.Fatalf("search %s", r.body)
	}
	r = e.do("POST", "/api/v2/users/search", tok, map[string]any{"query": []any{map[string]any{"type": "CONTAINS", "fields": []string{"name", "email"}, "value": "demo.rendezvous"}}})
	if r.json(t)["total"] != float64(4) {
		t.Fatalf("contains search %s", r.body)
	}
	wantError(t, e.do("POST", "/api/v2/users/search", tok, map[string]any{"query": []any{}}), 400, "bad.request")
	wantError(t, e.do("POST", "/api/v2/users/search", tok, map[string]any{"query": []any{map[string]any{"type": "FUZZY", "fields": []string{"name"}, "value": "x"}}}), 400, "bad.request")
}

func TestLookups(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.do("GET", "/api/v2/routing/sms/phonenumbers", e.token(Demo.SMSClient), nil)
	wantStatus(t, r, 200)
	ents := r.json(t)["entities"].([]any)
	if len(ents) != 1 || ents[0].(map[string]any)["phoneNumber"] != Demo.SMSNumber {
		t.Fatalf("numbers %s", r.body)
	}
	r = e.do("GET", "/api/v2/routing/email/outbound/domains", e.token(Demo.EmailClient), nil)
	ents = r.json(t)["entities"].([]any)
	if len(ents) != 1 || ents[0].(map[string]any)["id"] != Demo.EmailDomain {
		t.Fatalf("domains %s", r.body)
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	e := newEnv(t, Options{})
	base := url.Values{"response_type": {"code"}, "client_id": {Demo.LoginClient.ID}, "redirect_uri": {"http://localhost:8080/cb"},
		"code_challenge": {"abc"}, "code_challenge_method": {"S256"}, "state": {"s1"}}
	with := func(k, v string) string {
		q := url.Values{}
		for kk, vv := range base {
			q[kk] = vv
		}
		q.Set(k, v)
		return "/oauth/authorize?" + q.Encode()
	}
	// No redirect to an unknown client or a bad redirect URI.
	wantStatus(t, e.do("GET", with("client_id", Demo.SMSClient.ID), "", nil), 400)
	wantStatus(t, e.do("GET", with("redirect_uri", "not a url"), "", nil), 400)
	// The others go back to the client with error and state.
	for k, v := range map[string]string{"response_type": "token", "code_challenge_method": "plain"} {
		r := e.do("GET", with(k, v), "", nil)
		wantStatus(t, r, http.StatusFound)
		loc, _ := url.Parse(r.header.Get("Location"))
		if loc.Query().Get("error") == "" || loc.Query().Get("state") != "s1" {
			t.Fatalf("%s=%s: redirect %s", k, v, loc)
		}
	}
	// A confidential exchange without PKCE works with Basic auth; a public one needs PKCE.
	form := url.Values{"response_type": {"code"}, "client_id": {Demo.LoginClient.ID}, "redirect_uri": {"http://localhost:8080/cb"}, "userId": {Demo.Agents[0].ID}}
	code := func() string {
		req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/authorize", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		loc, _ := url.Parse(e.send(req).header.Get("Location"))
		return loc.Query().Get("code")
	}
	exchange := url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {"http://localhost:8080/cb"}, "client_id": {Demo.LoginClient.ID}}
	exchange.Set("code", code())
	if r := e.tokenRequest("", "", exchange); r.status != 400 || r.json(t)["error"] != "invalid_client" {
		t.Fatalf("public client without PKCE: %d %s", r.status, r.body)
	}
	exchange.Set("code", code())
	r := e.tokenRequest(Demo.LoginClient.ID, Demo.LoginClient.Secret, exchange)
	wantStatus(t, r, 200)
	tok := r.json(t)["access_token"].(string)
	me := e.do("GET", "/api/v2/users/me", tok, nil)
	if me.json(t)["id"] != Demo.Agents[0].ID {
		t.Fatalf("me %s", me.body)
	}
	// A user token carries the user's permissions: an agent cannot send SMS.
	wantError(t, e.do("POST", "/api/v2/conversations/messages/agentless", tok, map[string]any{}), 403, "missing.any.permissions")
	exchange.Set("code", code())
	exchange.Set("redirect_uri", "http://localhost:8080/other")
	if r := e.tokenRequest(Demo.LoginClient.ID, Demo.LoginClient.Secret, exchange); r.json(t)["error"] != "invalid_grant" {
		t.Fatalf("redirect mismatch: %s", r.body)
	}
}
