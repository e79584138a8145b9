package wiring

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/genesys/sandbox"
	"rendezvous/journey"
	"rendezvous/notify"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// TestOrganizationsUseTheirOwnGenesys runs the whole service with two organizations, each
// connected to its own Genesys Cloud organization of one sandbox, and a third with no
// connection. Bookings (agent and queue checks), template previews (agent names),
// notifications, callbacks and web messaging interactions of each reach only its own
// Genesys organization, as the sandbox's own records show; asking about the other
// organization's agent or queue is refused as unknown; and the organization without a
// connection gets a clear error.
func TestOrganizationsUseTheirOwnGenesys(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) { testOrganizationsUseTheirOwnGenesys(t, d) })
	}
}

func testOrganizationsUseTheirOwnGenesys(t *testing.T, dialect string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	clk := clock.NewFake(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC))
	sb := sandbox.New(sandbox.Options{Clock: clk})
	defer sb.Close()
	sbLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sbSrv := &http.Server{Handler: sb.Handler()}
	go sbSrv.Serve(sbLn)
	defer sbSrv.Close()
	sbURL := "http://" + sbLn.Addr().String()
	alpha, beta := sb.Demo(), sb.AddOrg("Beta Bank")

	st := storetest.OpenWith(t, dialect, store.Options{Clock: clk})
	connect := func(id string, g sandbox.DemoOrg) {
		t.Helper()
		_, err := st.CreateOrg(ctx, rendezvous.Org{ID: id, Name: g.OrgName, Genesys: rendezvous.GenesysConnection{
			APIURL: sbURL, LoginURL: sbURL, WebMessagingURL: "ws" + strings.TrimPrefix(sbURL, "http") + "/v1", OrgID: g.OrgID}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpdateOrg(ctx, id, store.OrgUpdate{APIClientID: &g.APIClient.ID, APIClientSecret: &g.APIClient.Secret}); err != nil {
			t.Fatal(err)
		}
	}
	connect("alpha", alpha)
	connect("beta", beta)
	if _, err := st.CreateOrg(ctx, rendezvous.Org{ID: "gamma", Name: "Gamma"}); err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, org := range []string{"alpha", "beta", "gamma"} {
		if _, keys[org], err = st.CreateAPIKey(ctx, org, "test", rendezvous.AllScopes()); err != nil {
			t.Fatal(err)
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	svc, err := New(ctx, &wg, Options{Store: st, Key: bytes.Repeat([]byte("k"), 32), Clock: clk,
		Logger: slog.New(slog.DiscardHandler), PublicURL: base, RateLimit: rate.Inf, JobWorkers: 2,
		Sandbox: sb, SandboxURL: sbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	srv := &http.Server{Handler: svc.Handler}
	go srv.Serve(ln)
	defer srv.Close()
	wg.Go(func() { svc.Runner.Run(ctx) })

	// Each connected organization sends its notifications with its own sandbox clients;
	// alpha schedules web messaging interactions, beta Genesys callbacks.
	for _, o := range []struct {
		id       string
		g        sandbox.DemoOrg
		callback bool
	}{{"alpha", alpha, false}, {"beta", beta, true}} {
		if err := svc.notify.SeedDemo(ctx, o.id, o.g); err != nil {
			t.Fatal(err)
		}
		// The confirmation at once, not after the coalescing window.
		nset := notify.DefaultSettings()
		nset.CoalesceSeconds = 0
		if _, err := svc.notify.PutSettings(ctx, o.id, nset); err != nil {
			t.Fatal(err)
		}
		set := journey.DefaultSettings(o.g.AgentDeploymentID, o.g.QueueDeploymentID, o.g.PlainQueue.Name)
		if o.callback {
			set.SchedulingChannel = journey.ChannelCallbacks
		}
		if _, err := svc.journey.PutSettings(ctx, o.id, set); err != nil {
			t.Fatal(err)
		}
	}

	call := func(org, method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+keys[org])
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		json.Unmarshal(b, &out)
		return resp.StatusCode, out
	}
	start := clk.Now().Add(time.Hour)
	book := func(org, agent, queue, phone, email string) (int, map[string]any) {
		return call(org, "POST", "/api/v1/appointments", fmt.Sprintf(`{"start": %q, "durationMinutes": 30,
			"timeZone": "Europe/Athens", "title": "Review", "agentUserId": %q,
			"customers": [{"name": "Customer", "phone": %q, "email": %q}],
			"interaction": {"routing": {"type": "GENESYS_CLOUD_QUEUE", "properties": {"queueName": %q}}}}`,
			start.Format(time.RFC3339), agent, phone, email, queue))
	}
	field := func(body map[string]any) string {
		errs, _ := body["errors"].([]any)
		if len(errs) == 0 {
			return ""
		}
		return errs[0].(map[string]any)["field"].(string)
	}

	// The other organization's agent and queue are unknown to each organization's
	// Genesys Cloud.
	if code, body := book("alpha", beta.Agents[0].ID, alpha.PlainQueue.Name, "+14155550101", "a@alpha.example"); code != 422 || field(body) != "agentUserId" {
		t.Fatalf("alpha booking beta's agent: %d %v", code, body)
	}
	if code, body := book("beta", beta.Agents[0].ID, alpha.PlainQueue.Name, "+14155550102", "b@beta.example"); code != 422 || field(body) != "interaction.routing.properties.queueName" {
		t.Fatalf("beta booking alpha's queue: %d %v", code, body)
	}
	// The organization without a connection gets a clear error, not another's Genesys.
	code, body := book("gamma", alpha.Agents[0].ID, alpha.PlainQueue.Name, "+14155550103", "g@gamma.example")
	if code != http.StatusConflict || body["type"] != "/problems/not-connected" || !strings.Contains(body["detail"].(string), "rendezvous org connect") {
		t.Fatalf("gamma booking: %d %v", code, body)
	}

	code, a := book("alpha", alpha.Agents[0].ID, alpha.PlainQueue.Name, "+14155550111", "a@alpha.example")
	if code != http.StatusCreated {
		t.Fatalf("alpha booking: %d %v", code, a)
	}
	// Beta's callback is the agent's own, so it goes to the queue that takes owned callbacks.
	code, b := book("beta", beta.Agents[0].ID, beta.VideoQueue.Name, "+14155550122", "b@beta.example")
	if code != http.StatusCreated {
		t.Fatalf("beta booking: %d %v", code, b)
	}

	// A preview names each organization's agent, looked up in its own Genesys Cloud.
	for _, p := range []struct {
		org, id, want string
	}{{"alpha", a["id"].(string), alpha.Agents[0].Name}, {"beta", b["id"].(string), beta.Agents[0].Name}} {
		code, body := call(p.org, "POST", "/api/v1/settings/templates/preview", fmt.Sprintf(
			`{"event": "created", "channel": "sms", "language": "en", "appointmentId": %q, "template": {"text": "{agentName}"}}`, p.id))
		if raw, _ := json.Marshal(body); code != 200 || !strings.Contains(string(raw), p.want) {
			t.Fatalf("%s preview: %d %s, want %q", p.org, code, raw, p.want)
		}
	}

	// Notifications go out through each organization's own clients; beta's callback is
	// created in beta's Genesys organization.
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	err = sb.WaitFor(wctx, func() bool {
		seen := map[string]bool{}
		for _, m := range sb.Outbox() {
			seen[m.OrgID+"/"+m.To] = true
		}
		cb := false
		for _, c := range sb.Conversations() {
			cb = cb || (c.Callback != nil && c.OrgID == beta.OrgID)
		}
		return cb && seen[alpha.OrgID+"/+14155550111"] && seen[alpha.OrgID+"/a@alpha.example"] &&
			seen[beta.OrgID+"/+14155550122"] && seen[beta.OrgID+"/b@beta.example"]
	})
	if err != nil {
		var got []string
		for _, m := range sb.Outbox() {
			got = append(got, m.OrgID+"/"+m.To)
		}
		cb, cbErr := st.JourneyCallback(ctx, "beta", b["id"].(string))
		t.Fatalf("notifications and callback: %v\nsent %v\nconversations %+v\nbeta's callback %+v %v", err, got, sb.Conversations(), cb, cbErr)
	}

	// At the start, alpha's customer opens the link: the interaction is created in
	// alpha's Genesys organization.
	clk.Advance(time.Hour)
	resp, err := http.Get(a["links"].(map[string]any)["customer"].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	err = sb.WaitFor(wctx, func() bool {
		for _, c := range sb.Conversations() {
			if c.MediaType == "message" && c.Participants[0].Attributes[journey.AppointmentIDAttribute] == a["id"] {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("alpha's interaction: %v", err)
	}

	// On the sandbox's side: every object of an appointment is in its organization's
	// Genesys, and every call came from the organization's own clients.
	for _, m := range sb.Outbox() {
		want := map[string]string{"+14155550111": alpha.OrgID, "a@alpha.example": alpha.OrgID,
			"+14155550122": beta.OrgID, "b@beta.example": beta.OrgID}[m.To]
		if m.OrgID != want {
			t.Errorf("message to %s sent in Genesys org %s, want %s", m.To, m.OrgID, want)
		}
	}
	for _, c := range sb.Conversations() {
		id := c.Participants[0].Attributes[journey.AppointmentIDAttribute]
		want := map[any]string{a["id"]: alpha.OrgID, b["id"]: beta.OrgID}[id]
		if want == "" || c.OrgID != want {
			t.Errorf("conversation %s (%s) of appointment %s is in Genesys org %s, want %s", c.ID, c.MediaType, id, c.OrgID, want)
		}
	}
	own := map[string]string{}
	for _, g := range []sandbox.DemoOrg{alpha, beta} {
		for _, c := range []sandbox.DemoClient{g.APIClient, g.SMSClient, g.EmailClient, g.LoginClient} {
			own[c.ID] = g.OrgID
		}
	}
	perOrg := map[string]int{}
	for _, c := range sb.APICalls() {
		if own[c.ClientID] != c.OrgID {
			t.Errorf("call %s %s by client %s in Genesys org %s", c.Method, c.Path, c.ClientID, c.OrgID)
		}
		perOrg[c.OrgID]++
	}
	if perOrg[alpha.OrgID] == 0 || perOrg[beta.OrgID] == 0 || len(perOrg) != 2 {
		t.Errorf("calls per Genesys org: %v", perOrg)
	}
}
