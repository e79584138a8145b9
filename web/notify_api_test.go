package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/genesys"
	"rendezvous/genesys/sandbox"
	"rendezvous/jobs"
	"rendezvous/notify"
	"rendezvous/store"
	"rendezvous/store/storetest"
	"rendezvous/web"
	"rendezvous/web/webtest"
)

// newNotifyEnv is a server with the notification service wired to a Genesys sandbox, and
// a job runner, like cmd/rendezvous wires them.
func newNotifyEnv(t *testing.T) (*env, *sandbox.Sandbox, *notify.Service) {
	t.Helper()
	clk := clock.NewFake(now)
	sb := sandbox.New(sandbox.Options{Clock: clk})
	gsrv := httptest.NewServer(sb.Handler())
	t.Cleanup(gsrv.Close)
	st := storetest.OpenWith(t, store.SQLite, store.Options{Clock: clk})
	ctx := context.Background()
	if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "demo", Name: "Demo Bank"}); err != nil {
		t.Fatal(err)
	}
	_, secret, err := st.CreateAPIKey(ctx, "demo", "test", rendezvous.AllScopes())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := notify.New(notify.Options{Store: st, Clock: clk, PublicURL: "https://meet.example.com",
		Endpoints: notify.FixedEndpoints(genesys.Endpoints{API: gsrv.URL, Login: gsrv.URL})})
	if err != nil {
		t.Fatal(err)
	}
	r := jobs.NewRunner(st, jobs.RunnerOptions{Clock: clk})
	r.Handle(store.EventJobKind, svc.HandleAppointmentEvent)
	svc.Register(r)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { r.Run(rctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	h := web.NewServer(web.Deps{Store: st, Clock: clk, PublicURL: "https://meet.example.com", Notify: svc})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	check := webtest.New(t, web.OpenAPI)
	return &env{t: t, srv: srv, st: st, clock: clk, check: check,
		client: &http.Client{Transport: check.RoundTripper(srv.Client().Transport)}, key: secret}, sb, svc
}

func TestNotificationSettingsAPI(t *testing.T) {
	e, sb, _ := newNotifyEnv(t)
	demo := sb.Demo()

	// Switch and offsets.
	r := e.do("GET", "/api/v1/settings/notifications", nil)
	wantStatus(t, r, 200)
	if m := r.json(t); m["enabled"] != true {
		t.Fatalf("defaults: %s", r.body)
	}
	wantProblem(t, e.do("PUT", "/api/v1/settings/notifications", map[string]any{"reminderOffsetsMinutes": []int{0}}), 422, "reminderOffsetsMinutes[0]")
	wantProblem(t, e.do("PUT", "/api/v1/settings/notifications", map[string]any{"remindersAt": 1}), 400)
	r = e.do("PUT", "/api/v1/settings/notifications", map[string]any{"reminderOffsetsMinutes": []int{60}})
	wantStatus(t, r, 200)
	if m := r.json(t); m["enabled"] != true || len(m["reminderOffsetsMinutes"].([]any)) != 1 {
		t.Fatalf("saved: %s", r.body)
	}
	// Which events go on which channel: unknown ones are refused with the entry named;
	// the list is kept when left out and replaced when sent.
	wantProblem(t, e.do("PUT", "/api/v1/settings/notifications", map[string]any{"disabledEvents": []string{"reminder/sms", "reminder/fax"}}), 422, "disabledEvents[1]")
	r = e.do("PUT", "/api/v1/settings/notifications", map[string]any{"disabledEvents": []string{"reminder/sms", "created/email"}})
	wantStatus(t, r, 200)
	r = e.do("PUT", "/api/v1/settings/notifications", map[string]any{"enabled": true})
	wantStatus(t, r, 200)
	if m := r.json(t); fmt.Sprint(m["disabledEvents"]) != "[reminder/sms created/email]" || len(m["reminderOffsetsMinutes"].([]any)) != 1 {
		t.Fatalf("saved events: %s", r.body)
	}
	r = e.do("PUT", "/api/v1/settings/notifications", map[string]any{"disabledEvents": []string{}})
	wantStatus(t, r, 200)
	if m := e.do("GET", "/api/v1/settings/notifications", nil).json(t); m["disabledEvents"] != nil {
		t.Fatalf("every event back on: %v", m)
	}

	// SMS setup: a failed check, a good one, then the verification.
	wantProblem(t, e.do("PUT", "/api/v1/settings/notifications/sms", map[string]any{"clientId": demo.SMSClient.ID, "clientSecret": "bad", "fromNumber": demo.SMSNumber}), 422, "clientSecret")
	wantProblem(t, e.do("PUT", "/api/v1/settings/notifications/fax", map[string]any{"clientId": "x"}), 404)
	r = e.do("PUT", "/api/v1/settings/notifications/sms", map[string]any{"clientId": demo.SMSClient.ID, "clientSecret": demo.SMSClient.Secret, "fromNumber": demo.SMSNumber})
	wantStatus(t, r, 200)
	if strings.Contains(string(r.body), demo.SMSClient.Secret) || r.json(t)["verified"] != false {
		t.Fatalf("saved sms: %s", r.body)
	}
	admin := "+4915112345678"
	wantStatus(t, e.do("POST", "/api/v1/settings/notifications/sms/verification", map[string]any{"to": admin}), 202)
	var code string
	for _, m := range sb.Outbox() {
		if m.To == admin {
			code = regexp.MustCompile(`\d{6}`).FindString(m.Text)
		}
	}
	wantProblem(t, e.do("POST", "/api/v1/settings/notifications/sms/verification/confirm", map[string]any{"code": "x" + code}), 422, "code")
	r = e.do("POST", "/api/v1/settings/notifications/sms/verification/confirm", map[string]any{"code": code})
	wantStatus(t, r, 200)
	if r.json(t)["verified"] != true {
		t.Fatalf("not verified: %s", r.body)
	}
	wantStatus(t, e.do("GET", "/api/v1/settings/notifications/email", nil), 200)
	wantProblem(t, e.do("POST", "/api/v1/settings/notifications/email/verification", map[string]any{"to": "a@example.com"}), 409)

	// Templates.
	r = e.do("GET", "/api/v1/settings/templates/created/sms/de", nil)
	wantStatus(t, r, 200)
	if m := r.json(t); m["custom"] != false || !strings.Contains(m["text"].(string), "Hallo") {
		t.Fatalf("default template: %s", r.body)
	}
	wantProblem(t, e.do("PUT", "/api/v1/settings/templates/created/sms/de", map[string]any{"text": "Hallo {kunde}"}), 422, "text")
	wantProblem(t, e.do("PUT", "/api/v1/settings/templates/created/sms/de", map[string]any{"text": strings.Repeat("x", 700) + "{link}"}), 422, "text")
	r = e.do("PUT", "/api/v1/settings/templates/created/sms/de", map[string]any{"text": "Servus {customerName}, {date} um {time}: {link}"})
	wantStatus(t, r, 200)
	if m := r.json(t); m["custom"] != true || m["sms"] == nil {
		t.Fatalf("saved template: %s", r.body)
	}
	r = e.do("POST", "/api/v1/settings/templates/preview", map[string]any{"event": "created", "channel": "sms", "language": "de"})
	wantStatus(t, r, 200)
	if m := r.json(t); !strings.HasPrefix(m["text"].(string), "Servus Alex Example") || m["sms"] == nil {
		t.Fatalf("preview: %s", r.body)
	}
	r = e.do("POST", "/api/v1/settings/templates/preview", map[string]any{"event": "reminder", "channel": "email", "language": "en",
		"template": map[string]any{"subject": "Hi {customerName}", "text": "t", "html": "<p>{customerName}</p>"}})
	wantStatus(t, r, 200)
	// The sample names an agent in every language, Greek too.
	r = e.do("POST", "/api/v1/settings/templates/preview", map[string]any{"event": "created", "channel": "sms", "language": "el",
		"template": map[string]any{"text": "{agentName}"}})
	wantStatus(t, r, 200)
	if m := r.json(t); m["text"] != "Sam Agent" {
		t.Fatalf("Greek preview names %q", m["text"])
	}
	wantProblem(t, e.do("POST", "/api/v1/settings/templates/preview", map[string]any{"event": "party", "channel": "sms", "language": "en"}), 422, "event")
	wantStatus(t, e.do("DELETE", "/api/v1/settings/templates/created/sms/de", nil), 204)
	wantProblem(t, e.do("GET", "/api/v1/settings/templates/party/sms/de", nil), 404)
}

func TestAppointmentNotificationsAPI(t *testing.T) {
	e, sb, svc := newNotifyEnv(t)
	ctx := context.Background()
	if err := svc.SeedDemo(ctx, "demo", sb.Demo()); err != nil {
		t.Fatal(err)
	}
	// The confirmation at once, not after the coalescing window.
	set := notify.DefaultSettings()
	set.CoalesceSeconds = 0
	if _, err := svc.PutSettings(ctx, "demo", set); err != nil {
		t.Fatal(err)
	}
	a, err := rendezvous.NewAppointment("demo", rendezvous.AppointmentInput{Start: now.Add(48 * time.Hour), DurationMinutes: 30,
		TimeZone: "Europe/Athens", AgentUserID: sb.Demo().Agents[0].ID,
		Customers: []rendezvous.Customer{{Name: "Maria", Phone: "+306912345678", Email: "maria@example.com", Language: "el"}}}, now)
	if err != nil {
		t.Fatal(err)
	}
	a.NotificationsEnabled = svc.EnabledForNewBooking(ctx, "demo")
	a, _, err = e.st.CreateAppointment(ctx, a, store.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(sb.Outbox()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("messages not sent: %+v", sb.Outbox())
		}
		time.Sleep(5 * time.Millisecond) // polling the runner's goroutines
	}
	// The sandbox has a message when Genesys accepted it; its outcome is recorded just
	// after, so wait for the record too.
	var r response
	var items []any
	for {
		r = e.do("GET", "/api/v1/appointments/"+a.ID+"/notifications", nil)
		wantStatus(t, r, 200)
		items = r.json(t)["items"].([]any)
		sending := false
		for _, it := range items {
			if o := it.(map[string]any)["outcome"]; o == "sending" {
				sending = true
			}
		}
		if !sending || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	var sentID string
	for _, it := range items {
		m := it.(map[string]any)
		if m["outcome"] == "sent" && m["channel"] == "sms" {
			sentID = m["id"].(string)
			if m["recipient"] != "+306•••••••78" || m["language"] != "el" || m["messageId"] == "" {
				t.Errorf("delivery: %v", m)
			}
		}
	}
	if sentID == "" {
		t.Fatalf("no sent sms in %s", r.body)
	}
	wantProblem(t, e.do("POST", "/api/v1/appointments/"+a.ID+"/notifications/"+sentID+"/retry", nil), 409)
	wantProblem(t, e.do("POST", "/api/v1/appointments/"+a.ID+"/notifications/nope/retry", nil), 404)
	wantProblem(t, e.do("GET", "/api/v1/appointments/nope/notifications", nil), 404)

	r = e.do("GET", "/api/v1/appointments/"+a.ID+"/notifications/channels", nil)
	wantStatus(t, r, 200)
	if m := r.json(t); m["sms"] != true || m["email"] != true {
		t.Fatalf("default channels: %s", r.body)
	}
	r = e.do("PUT", "/api/v1/appointments/"+a.ID+"/notifications/channels", map[string]any{"sms": false})
	wantStatus(t, r, 200)
	if m := r.json(t); m["sms"] != false || m["email"] != true {
		t.Fatalf("saved channels: %s", r.body)
	}
	wantProblem(t, e.do("PUT", "/api/v1/appointments/"+a.ID+"/notifications/channels", map[string]any{"fax": true}), 400)

	r = e.do("GET", "/a/"+a.LinkToken+"/calendar.ics", nil)
	wantStatus(t, r, 200)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/calendar") || !strings.Contains(string(r.body), "UID:"+a.ID+"@meet.example.com") {
		t.Fatalf("calendar: %s %s", ct, r.body)
	}
	wantStatus(t, e.do("GET", "/a/unknown-token/calendar.ics", nil), 404)
}
