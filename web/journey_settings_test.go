package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/journey"
	"rendezvous/store"
	"rendezvous/store/storetest"
	"rendezvous/web"
	"rendezvous/web/webtest"
)

// journeyEnv is a server with the customer journey wired, and an administrator key.
type journeyEnv struct {
	t      *testing.T
	srv    *httptest.Server
	client *http.Client
	admin  string
	reader string
}

func newJourneyEnv(t *testing.T) *journeyEnv {
	t.Helper()
	clk := clock.NewFake(now)
	st := storetest.OpenWith(t, store.SQLite, store.Options{Clock: clk})
	ctx := context.Background()
	if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "demo", Name: "Demo"}); err != nil {
		t.Fatal(err)
	}
	_, admin, err := st.CreateAPIKey(ctx, "demo", "admin", []string{rendezvous.ScopeSettingsAdmin})
	if err != nil {
		t.Fatal(err)
	}
	_, reader, err := st.CreateAPIKey(ctx, "demo", "reader", []string{rendezvous.ScopeAppointmentsRead})
	if err != nil {
		t.Fatal(err)
	}
	j, err := journey.New(journey.Options{Store: st, Defaults: journey.DefaultSettings("d3f1a2b4-0001-4000-8000-0000000000d1", "d3f1a2b4-0002-4000-8000-0000000000d2", "Appointments")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	srv := httptest.NewServer(web.NewServer(web.Deps{Store: st, Clock: clk, PublicURL: "https://meet.example.com", Journey: j}))
	t.Cleanup(srv.Close)
	check := webtest.New(t, web.OpenAPI)
	return &journeyEnv{t: t, srv: srv, admin: admin, reader: reader,
		client: &http.Client{Transport: check.RoundTripper(srv.Client().Transport)}}
}

func (e *journeyEnv) do(method, path, key, contentType string, body []byte) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if body == nil {
		req, _ = http.NewRequest(method, e.srv.URL+path, nil)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func fieldErrors(m map[string]any) map[string]string {
	out := map[string]string{}
	list, _ := m["errors"].([]any)
	for _, e := range list {
		fp, _ := e.(map[string]any)
		out[fp["field"].(string)] = fp["message"].(string)
	}
	return out
}

func TestSchedulingSettingsAPI(t *testing.T) {
	e := newJourneyEnv(t)

	status, got := e.do("GET", "/api/v1/settings/scheduling", e.admin, "", nil)
	if status != 200 || got["flowDeploymentKey"] != "d3f1a2b4-0001-4000-8000-0000000000d1" ||
		got["agentAttribute"] != "context.auvious.agentUserId" || got["gracePeriodMinutes"] != float64(15) {
		t.Fatalf("defaults: %d %v", status, got)
	}
	if status, _ := e.do("GET", "/api/v1/settings/scheduling", e.reader, "", nil); status != 403 {
		t.Fatalf("without settings:admin: %d", status)
	}

	status, got = e.do("PUT", "/api/v1/settings/scheduling", e.admin, "application/json",
		[]byte(`{"communicationChannel":"genesys-web-chat","gracePeriodMinutes":-5,"waitingRoomMedia":{"kind":"video","url":"http://cdn.example.com/a.mp4"}}`))
	fe := fieldErrors(got)
	if status != 422 || !strings.Contains(fe["communicationChannel"], "genesys-web-messaging") ||
		fe["gracePeriodMinutes"] == "" || !strings.Contains(fe["waitingRoomMedia.url"], "https") {
		t.Fatalf("invalid: %d %v", status, got)
	}
	if status, got := e.do("PUT", "/api/v1/settings/scheduling", e.admin, "application/json", []byte(`{"graceMinutes":5}`)); status != 400 {
		t.Fatalf("unknown field: %d %v", status, got)
	}

	// A partial PUT keeps the rest.
	status, got = e.do("PUT", "/api/v1/settings/scheduling", e.admin, "application/json",
		[]byte(`{"opensEarlyMinutes":60,"defaultRouting":"queue","defaultQueue":"Appointments Video"}`))
	if status != 200 || got["opensEarlyMinutes"] != float64(60) || got["flowDeploymentKey"] != "d3f1a2b4-0001-4000-8000-0000000000d1" || got["updatedAt"] == nil {
		t.Fatalf("saved: %d %v", status, got)
	}
	if _, again := e.do("GET", "/api/v1/settings/scheduling", e.admin, "", nil); again["defaultQueue"] != "Appointments Video" {
		t.Fatalf("read back: %v", again)
	}

	// Upload an image, use it, and fetch it as a customer's browser would.
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)
	status, up := e.do("POST", "/api/v1/settings/scheduling/media", e.admin, "image/png", png)
	if status != 201 || up["kind"] != "image" || up["uploadId"] == "" {
		t.Fatalf("upload: %d %v", status, up)
	}
	if status, got := e.do("POST", "/api/v1/settings/scheduling/media", e.admin, "image/png", []byte("not a png at all")); status != 422 || fieldErrors(got)["file"] == "" {
		t.Fatalf("mislabelled upload: %d %v", status, got)
	}
	status, got = e.do("PUT", "/api/v1/settings/scheduling", e.admin, "application/json",
		[]byte(`{"waitingRoomMedia":{"kind":"image","uploadId":"`+up["uploadId"].(string)+`"}}`))
	if status != 200 {
		t.Fatalf("use upload: %d %v", status, got)
	}
	resp, err := http.Get(e.srv.URL + "/journey/media/" + up["uploadId"].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("serve upload: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
