package genesys_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/genesys"
	"rendezvous/genesys/sandbox"
)

// env is a sandbox served over HTTP plus the clocks of both sides. The client's clock is
// separate from the sandbox's so a test can age the sandbox's tokens without the client
// knowing (the only way to see a 401 from a client that renews before expiry).
type env struct {
	sb        *sandbox.Sandbox
	srv       *httptest.Server
	sbClock   *clock.Fake
	clkClient *clock.Fake
	demo      sandbox.DemoOrg
}

func newEnv(t *testing.T, opts sandbox.Options) *env {
	t.Helper()
	e := &env{sbClock: clock.NewFake(t0), clkClient: clock.NewFake(t0)}
	opts.Clock = e.sbClock
	e.sb = sandbox.New(opts)
	e.srv = httptest.NewServer(e.sb.Handler())
	t.Cleanup(func() {
		e.srv.Close()
		e.sb.Close()
	})
	e.demo = e.sb.Demo()
	return e
}

func (e *env) endpoints() genesys.Endpoints {
	return genesys.Endpoints{API: e.srv.URL, Login: e.srv.URL, WebMessaging: "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/v1"}
}

func (e *env) client(c sandbox.DemoClient) *genesys.Client {
	return genesys.New(genesys.Config{
		Endpoints: e.endpoints(), ClientID: c.ID, ClientSecret: c.Secret,
		HTTPClient: e.srv.Client(), Clock: e.clkClient, BaseBackoff: time.Second,
	})
}

func TestSandboxAgentlessSMS(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	c := e.client(e.demo.SMSClient)
	ctx := context.Background()
	nums, err := c.SMSPhoneNumbers(ctx)
	if err != nil || len(nums) == 0 || nums[0].PhoneNumber != e.demo.SMSNumber {
		t.Fatalf("SMSPhoneNumbers = %+v, %v", nums, err)
	}
	res, err := c.SendSMS(ctx, genesys.SMSRequest{FromAddress: e.demo.SMSNumber, ToAddress: "+33612345678", TextBody: "Your video appointment is confirmed."})
	if err != nil {
		t.Fatal(err)
	}
	out := e.sb.Outbox()
	if len(out) != 1 || out[0].Channel != "sms" || out[0].To != "+33612345678" || out[0].ConversationID != res.ConversationID || res.ConversationID == "" {
		t.Fatalf("outbox = %+v, response %+v", out, res)
	}

	// Validation only Genesys can do: the sender is not a provisioned number.
	_, err = c.SendSMS(ctx, genesys.SMSRequest{FromAddress: "+15550199999", ToAddress: "+33612345678", TextBody: "x"})
	var ae *genesys.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.CorrelationID == "" || !strings.Contains(ae.Body.Message, "fromAddress") {
		t.Fatalf("unprovisioned sender: %v", err)
	}
	if k, _ := genesys.Classify(err); k != genesys.KindPermanent {
		t.Fatalf("kind = %v", k)
	}
}

func TestSandboxAgentlessEmail(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	c := e.client(e.demo.EmailClient)
	ctx := context.Background()
	domains, err := c.OutboundEmailDomains(ctx)
	if err != nil || len(domains) == 0 || domains[0].ID != e.demo.EmailDomain || domains[0].SenderType != "EmailDomain" {
		t.Fatalf("OutboundEmailDomains = %+v, %v", domains, err)
	}
	if d, err := c.OutboundEmailDomain(ctx, e.demo.EmailDomain); err != nil || d.ID != e.demo.EmailDomain {
		t.Fatalf("OutboundEmailDomain = %+v, %v", d, err)
	}
	if _, err := c.OutboundEmailDomain(ctx, "elsewhere.example"); !errors.Is(err, rendezvous.ErrNotFound) {
		t.Fatalf("unknown domain: %v", err)
	}
	req := genesys.EmailRequest{
		FromAddress: genesys.EmailAddress{Email: "no-reply@" + e.demo.EmailDomain, Name: "Rendezvous"},
		ToAddresses: []genesys.EmailAddress{{Email: "customer@example.com", Name: "Customer"}},
		Subject:     "Your appointment", TextBody: "See you soon", HTMLBody: "<p>See you soon</p>",
	}
	res, err := c.SendEmail(ctx, req)
	if err != nil || res.ConversationID == "" {
		t.Fatalf("SendEmail = %+v, %v", res, err)
	}
	if out := e.sb.Outbox(); len(out) != 1 || out[0].Channel != "email" || out[0].Subject != "Your appointment" {
		t.Fatalf("outbox = %+v", out)
	}
	req.FromAddress.Email = "no-reply@not-ours.example"
	_, err = c.SendEmail(ctx, req)
	var ae *genesys.APIError
	if !errors.As(err, &ae) || ae.Status != 400 {
		t.Fatalf("foreign domain: %v", err)
	}
}

func TestSandboxPermissionsAndCredentials(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	ctx := context.Background()
	sms := e.client(e.demo.SMSClient)
	_, err := sms.SendEmail(ctx, genesys.EmailRequest{
		FromAddress: genesys.EmailAddress{Email: "no-reply@" + e.demo.EmailDomain},
		ToAddresses: []genesys.EmailAddress{{Email: "customer@example.com"}}, Subject: "s", TextBody: "b",
	})
	var ae *genesys.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden || !errors.Is(err, rendezvous.ErrForbidden) {
		t.Fatalf("email with the SMS client: %v", err)
	}
	if k, _ := genesys.Classify(err); k != genesys.KindPermanent {
		t.Fatalf("kind = %v", k)
	}
	chk, err := sms.CheckCredentials(ctx, genesys.CapabilitySMSNumbers, genesys.CapabilityEmailDomains)
	if err != nil || !chk.Valid || len(chk.Missing) != 1 || chk.Missing[0] != genesys.CapabilityEmailDomains {
		t.Fatalf("CheckCredentials = %+v, %v", chk, err)
	}
	bad := e.demo.SMSClient
	bad.Secret = "wrong"
	_, err = e.client(bad).CheckCredentials(ctx)
	var oe *genesys.OAuthError
	if !errors.As(err, &oe) || !oe.InvalidClient() {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestSandboxExpiredTokenIsRenewed(t *testing.T) {
	e := newEnv(t, sandbox.Options{TokenLifetime: time.Hour})
	c := e.client(e.demo.APIClient)
	ctx := context.Background()
	if _, err := c.User(ctx, e.demo.Agents[0].ID); err != nil {
		t.Fatal(err)
	}
	// The sandbox's token lapses while the client still believes in it.
	e.sbClock.Advance(2 * time.Hour)
	u, err := c.User(ctx, e.demo.Agents[0].ID)
	if err != nil || u.Name != e.demo.Agents[0].Name {
		t.Fatalf("after expiry: %+v, %v", u, err)
	}
}

func TestSandboxRateLimitAndServerErrors(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	c := e.client(e.demo.SMSClient)
	ctx := context.Background()
	send := genesys.SMSRequest{FromAddress: e.demo.SMSNumber, ToAddress: "+33612345678", TextBody: "hello"}

	e.sb.InjectFault(sandbox.Fault{PathPrefix: "/api/v2/conversations/messages", Status: 429, RetryAfter: 5 * time.Second})
	done := make(chan error, 1)
	go func() { _, err := c.SendSMS(ctx, send); done <- err }()
	waitFor(t, func() bool { return e.clkClient.Pending() > 0 })
	e.clkClient.Advance(4 * time.Second)
	if len(e.sb.Outbox()) != 0 {
		t.Fatal("sent before Retry-After")
	}
	e.clkClient.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(e.sb.Outbox()); n != 1 {
		t.Fatalf("outbox has %d, want 1", n)
	}

	// 5xx on a read: retried until it works.
	e.sb.InjectFault(sandbox.Fault{PathPrefix: "/api/v2/routing/sms/phonenumbers", Status: 503, Count: 2})
	go func() { _, err := c.SMSPhoneNumbers(ctx); done <- err }()
	advanceWhenWaiting(t, e.clkClient, 2, time.Minute)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// 5xx on a send: returned as ambiguous, never re-sent.
	e.sb.InjectFault(sandbox.Fault{PathPrefix: "/api/v2/conversations/messages", Status: 500})
	_, err := c.SendSMS(ctx, send)
	if k, _ := genesys.Classify(err); k != genesys.KindAmbiguous {
		t.Fatalf("kind = %v (%v), want ambiguous", k, err)
	}
	if len(e.sb.Faults()) != 0 {
		t.Fatal("fault not consumed")
	}
}

func TestSandboxQueuesAndUsers(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	c := e.client(e.demo.APIClient)
	ctx := context.Background()
	// "Appointments" is a prefix of "Appointments Video": the pattern matches both.
	for _, want := range []sandbox.DemoQueue{e.demo.PlainQueue, e.demo.VideoQueue} {
		q, err := c.QueueByName(ctx, want.Name)
		if err != nil || q.ID != want.ID {
			t.Fatalf("QueueByName(%q) = %+v, %v", want.Name, q, err)
		}
	}
	if _, err := c.QueueByName(ctx, "Appointment"); !errors.Is(err, genesys.ErrQueueNotFound) || !errors.Is(err, rendezvous.ErrNotFound) {
		t.Fatalf("partial name: %v", err)
	}
	// No such queue is final: a job looking it up must not retry for ever.
	if _, err := c.QueueByName(ctx, "No Such Queue"); !errors.Is(err, genesys.ErrQueueNotFound) {
		t.Fatalf("unknown queue: %v", err)
	} else if k, _ := genesys.Classify(err); k != genesys.KindPermanent {
		t.Fatalf("Classify(unknown queue) = %v, want permanent", k)
	}
	agent := e.demo.Agents[0]
	u, err := c.User(ctx, agent.ID)
	if err != nil || u.Name != agent.Name || u.Email != agent.Email {
		t.Fatalf("User = %+v, %v", u, err)
	}
	if _, err := c.User(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, rendezvous.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	found, err := c.SearchUsersByText(ctx, strings.Fields(agent.Name)[0])
	if err != nil || len(found) != 1 || found[0].ID != agent.ID {
		t.Fatalf("SearchUsersByText = %+v, %v", found, err)
	}
}

func TestSandboxUserSignInWithPKCE(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	const redirect = "https://rendezvous.example/auth/callback"
	login := genesys.NewUserAuth(e.endpoints(), e.demo.LoginClient.ID, e.demo.LoginClient.Secret, redirect, e.srv.Client())
	verifier := genesys.NewPKCEVerifier()
	authURL, err := url.Parse(login.AuthorizeURL("st4te", verifier))
	if err != nil {
		t.Fatal(err)
	}
	q := authURL.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("response_type") != "code" {
		t.Fatalf("authorize URL = %s", authURL)
	}
	// Sign in as the supervisor the way the sandbox's page does: post the form.
	form := url.Values{}
	for k := range q {
		form.Set(k, q.Get(k))
	}
	form.Set("userId", e.demo.Supervisor.ID)
	hc := e.srv.Client()
	hc.Jar, _ = cookiejar.New(nil)
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.PostForm(e.srv.URL+"/oauth/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Query().Get("state") != "st4te" || back.Query().Get("code") == "" {
		t.Fatalf("redirect = %q (%d)", resp.Header.Get("Location"), resp.StatusCode)
	}
	ctx := context.Background()
	if _, err := login.Exchange(ctx, back.Query().Get("code"), "wrong-verifier-wrong-verifier-wrong-verifier"); err == nil {
		t.Fatal("exchange with a wrong verifier succeeded")
	}
	// Codes are single use, so sign in again for the real exchange.
	resp, err = hc.PostForm(e.srv.URL+"/oauth/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ = url.Parse(resp.Header.Get("Location"))
	tok, err := login.Exchange(ctx, back.Query().Get("code"), verifier)
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("Exchange = %+v, %v", tok, err)
	}
	me, err := e.client(e.demo.APIClient).Me(ctx, tok.AccessToken)
	if err != nil || me.ID != e.demo.Supervisor.ID || me.Organization == nil || me.Organization.ID != e.demo.OrgID {
		t.Fatalf("Me = %+v, %v", me, err)
	}
}

func TestSandboxCallbacks(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	c := e.client(e.demo.APIClient)
	ctx := context.Background()
	agent := e.demo.Agents[1]
	res, err := c.CreateCallback(ctx, genesys.CallbackRequest{
		RoutingData: &genesys.RoutingData{QueueID: e.demo.VideoQueue.ID,
			ScoredAgents: []genesys.AgentScore{{Agent: genesys.AddressableEntityRef{ID: agent.ID}, Score: 100}},
			RoutingFlags: []string{genesys.RoutingFlagAgentOwned}},
		CallbackNumbers:       []string{"+33612345678"},
		CallbackUserName:      "Customer",
		CallbackScheduledTime: genesys.FormatTime(t0.Add(24 * time.Hour)),
		Data:                  map[string]string{"context.auvious.appointmentId": "ap-1"},
	})
	if err != nil || res.Conversation.ID == "" || res.CallbackID() == "" {
		t.Fatalf("CreateCallback = %+v, %v", res, err)
	}
	conv, ok := e.sb.Conversation(res.Conversation.ID)
	if !ok || conv.State != sandbox.StateScheduled || conv.Callback == nil || !conv.Callback.AgentOwned ||
		conv.Participants[0].Attributes["context.auvious.appointmentId"] != "ap-1" {
		t.Fatalf("conversation = %+v", conv)
	}

	// The queue's owned-callback settings, which decide whether and how far ahead.
	q, err := c.Queue(ctx, e.demo.VideoQueue.ID)
	if err != nil || !q.OwnsCallbacks() || q.OwnedCallbackHorizon() != genesys.MaxCallbackHorizon {
		t.Fatalf("Queue = %+v, %v", q, err)
	}
	if err := e.sb.SetAgentOwnedRouting(e.demo.VideoQueue.ID, true, 36); err != nil {
		t.Fatal(err)
	}
	if q, _ = c.Queue(ctx, e.demo.VideoQueue.ID); q.OwnedCallbackHorizon() != 36*time.Hour {
		t.Fatalf("horizon = %v", q.OwnedCallbackHorizon())
	}
	if plain, _ := c.Queue(ctx, e.demo.PlainQueue.ID); plain.OwnsCallbacks() {
		t.Fatal("a standard-routing queue takes owned callbacks")
	}

	later := t0.Add(48 * time.Hour)
	// Past the queue's 36 hours, Genesys refuses; PatchCallbackRequest needs agentId.
	err = c.RescheduleCallback(ctx, genesys.CallbackUpdate{ConversationID: res.Conversation.ID, AgentID: agent.ID, CallbackScheduledTime: genesys.FormatTime(later)})
	if k, _ := genesys.Classify(err); k != genesys.KindPermanent {
		t.Fatalf("reschedule beyond the owned horizon: %v", err)
	}
	if err := c.RescheduleCallback(ctx, genesys.CallbackUpdate{ConversationID: res.Conversation.ID, CallbackScheduledTime: genesys.FormatTime(later)}); !errors.Is(err, genesys.ErrInvalidRequest) {
		t.Fatalf("reschedule without agentId: %v", err)
	}
	if err := e.sb.SetAgentOwnedRouting(e.demo.VideoQueue.ID, true, 720); err != nil {
		t.Fatal(err)
	}
	if err := c.RescheduleCallback(ctx, genesys.CallbackUpdate{ConversationID: res.Conversation.ID, AgentID: agent.ID, CallbackScheduledTime: genesys.FormatTime(later)}); err != nil {
		t.Fatal(err)
	}
	conv, _ = e.sb.Conversation(res.Conversation.ID)
	if conv.Callback.ScheduledTime == nil || !conv.Callback.ScheduledTime.Equal(later) {
		t.Fatalf("rescheduled to %v, want %v", conv.Callback.ScheduledTime, later)
	}

	if err := c.SetParticipantAttributes(ctx, res.Conversation.ID, conv.Participants[0].ID, map[string]string{"context.auvious.roomUrl": "https://r.example/x"}); err != nil {
		t.Fatal(err)
	}
	conv, _ = e.sb.Conversation(res.Conversation.ID)
	if conv.Participants[0].Attributes["context.auvious.roomUrl"] != "https://r.example/x" {
		t.Fatalf("attributes = %v", conv.Participants[0].Attributes)
	}

	// Cancelling needs conversation:communication:disconnect, and no callback id.
	if err := c.CancelCallback(ctx, res.Conversation.ID); err != nil {
		t.Fatal(err)
	}
	if conv, _ = e.sb.Conversation(res.Conversation.ID); conv.State != sandbox.StateDisconnected {
		t.Fatalf("state after cancel = %s", conv.State)
	}
	res2, err := c.CreateCallback(ctx, genesys.CallbackRequest{QueueID: e.demo.PlainQueue.ID, CallbackNumbers: []string{"+33612345678"},
		CallbackScheduledTime: genesys.FormatTime(t0.Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	var ae *genesys.APIError
	if err := e.client(e.demo.SMSClient).CancelCallback(ctx, res2.Conversation.ID); !errors.As(err, &ae) || ae.Status != 403 {
		t.Fatalf("cancel without the disconnect permission: %v", err)
	}
	// A time in another ISO-8601 form is refused before sending.
	if _, err := c.CreateCallback(ctx, genesys.CallbackRequest{QueueID: e.demo.PlainQueue.ID, CallbackNumbers: []string{"+33612345678"},
		CallbackScheduledTime: t0.Add(time.Hour).Format(time.RFC3339)}); !errors.Is(err, genesys.ErrInvalidRequest) {
		t.Fatalf("RFC 3339 time without milliseconds: %v", err)
	}

	// Validation Genesys does: an unknown queue.
	_, err = c.CreateCallback(ctx, genesys.CallbackRequest{QueueID: "00000000-0000-4000-8000-000000000000", CallbackNumbers: []string{"+33612345678"}})
	if !errors.As(err, &ae) || ae.Status != 400 {
		t.Fatalf("unknown queue: %v", err)
	}
	// Rescheduling a cancelled callback is refused, not retried.
	err = c.RescheduleCallback(ctx, genesys.CallbackUpdate{ConversationID: res.Conversation.ID, AgentID: agent.ID, CallbackScheduledTime: genesys.FormatTime(later)})
	if k, _ := genesys.Classify(err); k != genesys.KindPermanent {
		t.Fatalf("reschedule cancelled: %v", err)
	}
}

func (e *env) guest(t *testing.T, deployment, token string) *genesys.GuestSession {
	t.Helper()
	g, err := genesys.DialGuest(context.Background(), genesys.GuestConfig{
		URL: e.endpoints().WebMessaging, DeploymentID: deployment, Token: token,
		Origin: "https://rendezvous.example", HTTPClient: e.srv.Client(),
		// The guest shares the sandbox's clock so that its pacing and the sandbox's
		// per-second message window move together.
		Clock: e.sbClock, PingInterval: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func (e *env) waitConv(t *testing.T, cond func(sandbox.Conversation) bool) sandbox.Conversation {
	t.Helper()
	var found sandbox.Conversation
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := e.sb.WaitFor(ctx, func() bool {
		for _, c := range e.sb.Conversations() {
			if cond(c) {
				found = c
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("no matching conversation: %v; have %+v", err, e.sb.Conversations())
	}
	return found
}

func TestSandboxWebMessagingPreferredAgentWithFallback(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	preferred := e.demo.Agents[1]
	g := e.guest(t, e.demo.AgentDeploymentID, "")
	ctx := context.Background()
	if err := g.Join(ctx, map[string]string{e.demo.AgentAttribute: preferred.ID, "context.auvious.appointmentId": "ap-7"}); err != nil {
		t.Fatal(err)
	}
	conv := e.waitConv(t, func(c sandbox.Conversation) bool { return c.OfferedAgentID != "" })
	if conv.OfferedAgentID != preferred.ID || conv.QueueID != e.demo.VideoQueue.ID ||
		len(conv.PreferredAgents) != 1 || conv.PreferredAgents[0].UserID != preferred.ID ||
		conv.Participants[0].Attributes["context.auvious.appointmentId"] != "ap-7" {
		t.Fatalf("conversation = %+v", conv)
	}
	// The preferred agent lets it ring: after the alert timeout and the ring's wait, the
	// queue falls back to another agent.
	e.sbClock.Advance(31 * time.Second)
	conv = e.waitConv(t, func(c sandbox.Conversation) bool { return c.OfferedAgentID != "" && c.OfferedAgentID != preferred.ID })
	other := conv.OfferedAgentID
	if _, err := e.sb.Answer(other); err != nil {
		t.Fatal(err)
	}
	// Genesys documents no Outbound presence Join when the agent answers; the agent's
	// first message is what the guest sees.
	if err := e.sb.AgentSendText(other, conv.ID, "Hello, I am taking over."); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, g, genesys.GuestAgentText); ev.Message.Text != "Hello, I am taking over." {
		t.Fatalf("agent text = %+v", ev.Message)
	}
	e.sbClock.Advance(time.Second) // a new per-second message window
	if err := g.SendText(ctx, "Hi!", nil); err != nil {
		t.Fatal(err)
	}
	conv, _ = e.sb.Conversation(conv.ID)
	if last := conv.Transcript[len(conv.Transcript)-1]; last.Direction != "Inbound" || last.Text != "Hi!" {
		t.Fatalf("transcript = %+v", conv.Transcript)
	}
	if err := e.sb.Disconnect(conv.ID); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, g, genesys.GuestPresenceLeave)
}

func TestSandboxWebMessagingQueueRoutingAndLimits(t *testing.T) {
	e := newEnv(t, sandbox.Options{MaxCustomDataBytes: 100})
	g := e.guest(t, e.demo.QueueDeploymentID, "")
	ctx := context.Background()
	if got := g.Info().MaxCustomDataBytes; got != 100 {
		t.Fatalf("maxCustomDataBytes = %d", got)
	}
	big := map[string]string{e.demo.QueueAttribute: e.demo.PlainQueue.Name, "context.auvious.note": strings.Repeat("x", 100)}
	if err := g.Join(ctx, big); !errors.Is(err, genesys.ErrAttributesTooLarge) {
		t.Fatalf("oversized attributes: %v", err)
	}
	if len(e.sb.Conversations()) != 0 {
		t.Fatal("a conversation started despite the refused attributes")
	}
	if err := g.Join(ctx, map[string]string{e.demo.QueueAttribute: e.demo.PlainQueue.Name}); err != nil {
		t.Fatal(err)
	}
	conv := e.waitConv(t, func(c sandbox.Conversation) bool { return c.QueueID == e.demo.PlainQueue.ID })
	if conv.FlowError != "" {
		t.Fatalf("flow error: %s", conv.FlowError)
	}
	if err := g.Echo(ctx); err != nil {
		t.Fatal(err)
	}

	// Messages 2 and 3 in one sandbox second: the client paces them on the shared clock
	// instead of drawing 4029 answers.
	// The sandbox holds timers of its own (session expiry, alerting), so wait for the
	// guest's pacing timer on top of them.
	base := e.sbClock.Pending()
	done := make(chan error, 1)
	go func() {
		err := g.SendText(ctx, "one", nil)
		if err == nil {
			err = g.SendText(ctx, "two", nil)
		}
		done <- err
	}()
	for range 2 {
		waitFor(t, func() bool { return e.sbClock.Pending() > base })
		e.sbClock.Advance(500 * time.Millisecond)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSandboxWebMessagingResumeAfterDrop(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	g := e.guest(t, e.demo.AgentDeploymentID, "")
	ctx := context.Background()
	if err := g.Join(ctx, map[string]string{e.demo.AgentAttribute: e.demo.Agents[0].ID}); err != nil {
		t.Fatal(err)
	}
	conv := e.waitConv(t, func(c sandbox.Conversation) bool { return c.OfferedAgentID == e.demo.Agents[0].ID })
	e.sb.DropSockets()
	nextEvent(t, g, genesys.GuestDisconnected)
	nextEvent(t, g, genesys.GuestResumed)
	if g.Info().NewSession {
		t.Fatal("resume started a new session")
	}
	// The resumed socket still belongs to the conversation: the agent's answer reaches it.
	if _, err := e.sb.Answer(e.demo.Agents[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.AgentSendText(e.demo.Agents[0].ID, conv.ID, "Hello"); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, g, genesys.GuestAgentText)

	// A restart of the product: a new session object with the stored token re-attaches.
	token := g.Token()
	g.Close()
	again := e.guest(t, e.demo.AgentDeploymentID, token)
	if again.Info().NewSession {
		t.Fatal("re-attach started a new session")
	}
	if err := e.sb.AgentSendText(e.demo.Agents[0].ID, conv.ID, "still there?"); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, again, genesys.GuestAgentText); ev.Message.Text != "still there?" {
		t.Fatalf("agent text = %+v", ev.Message)
	}
	if len(e.sb.Conversations()) != 1 {
		t.Fatalf("conversations = %d, want 1 (no duplicate)", len(e.sb.Conversations()))
	}
}

func TestSandboxWebMessagingRateAndExpiry(t *testing.T) {
	e := newEnv(t, sandbox.Options{WebMessagesPerSecond: 1, SessionDuration: time.Hour})
	g, err := genesys.DialGuest(context.Background(), genesys.GuestConfig{
		URL: e.endpoints().WebMessaging, DeploymentID: e.demo.QueueDeploymentID, HTTPClient: e.srv.Client(),
		Clock: e.sbClock, PingInterval: -1, MinSendInterval: -1, // no pacing: meet the 4029
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	if err := g.Join(ctx, map[string]string{e.demo.QueueAttribute: e.demo.PlainQueue.Name}); err != nil {
		t.Fatal(err)
	}
	base := e.sbClock.Pending()
	done := make(chan error, 1)
	go func() { done <- g.SendText(ctx, "too fast", nil) }()
	waitFor(t, func() bool { return e.sbClock.Pending() > base }) // waiting out retryAfter
	e.sbClock.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	conv := e.waitConv(t, func(sandbox.Conversation) bool { return true })
	if last := conv.Transcript[len(conv.Transcript)-1]; last.Text != "too fast" {
		t.Fatalf("transcript = %+v", conv.Transcript)
	}

	// Expiry ends the session: the guest learns it (from SessionExpiredEvent, or when its
	// resume finds the session gone) instead of talking into a new, empty one.
	e.sbClock.Advance(time.Hour)
	ev := nextEvent(t, g, genesys.GuestSessionEnded)
	if ev.Err == nil {
		t.Fatal("session ended without a reason")
	}
	if err := g.SendText(ctx, "anyone?", nil); !errors.Is(err, genesys.ErrGuestClosed) {
		t.Fatalf("send after expiry: %v", err)
	}
}

func TestSandboxClientLimiterAvoids429(t *testing.T) {
	// Client and sandbox share one clock and one limit of 10 requests per minute.
	e := newEnv(t, sandbox.Options{RequestsPerMinute: 10})
	c := genesys.New(genesys.Config{Endpoints: e.endpoints(), ClientID: e.demo.APIClient.ID, ClientSecret: e.demo.APIClient.Secret,
		HTTPClient: e.srv.Client(), Clock: e.sbClock, RequestsPerMinute: 10, MaxAttempts: 1})
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		for range 25 {
			if _, err := c.User(ctx, e.demo.Agents[0].ID); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("bulk reads: %v", err) // a 429 would surface here (MaxAttempts 1)
			}
			return
		default:
		}
		if e.sbClock.Pending() > 0 {
			e.sbClock.Advance(time.Second)
		}
		time.Sleep(time.Millisecond) // polling for the goroutine's next wait
	}
}
