package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"rendezvous/genesys/sandbox"
)

// roomJS finds the mounted room's handle in a page (room.js hangs it on its mount point:
// #rdv-room in the widget and the standalone pages, #room on the customer's page).
const roomJS = `(document.getElementById("rdv-room") || document.getElementById("room") || {}).rendezvousRoom`

// TestWidgetInAgentDesktopBrowser is the agent's day inside Genesys Cloud: an appointment
// starts, the customer opens their link, Genesys offers the interaction to the agent in
// the sandbox's agent desktop, the agent answers, and the Interaction Widget framed beside
// the interaction (with Genesys Cloud's URL substitutions and iframe sandbox options)
// finds the appointment and shows the agent's side of the room, with media flowing both
// ways between it and the customer's page.
func TestWidgetInAgentDesktopBrowser(t *testing.T) {
	e := startService(t)
	browser := startChromium(t)
	agent := sandbox.Demo.Agents[1]

	// The agent has signed in to Rendezvous before (the widget's pop-up sign-in is the
	// same sign-in; its cookie reaches the frame because the desktop is on the same site).
	e.signIn(t, browser, agent.Name)

	// An appointment that starts in a few seconds, routed to the agent by the flow.
	start := time.Now().Add(8 * time.Second).UTC().Truncate(time.Second)
	body := fmt.Sprintf(`{"start": %q, "durationMinutes": 30, "timeZone": "Europe/Berlin", "title": "Claim review",
		"agentUserId": %q, "customers": [{"name": "Eleni Markou", "email": "eleni@example.com", "language": "en"}],
		"interaction": {"routing": {"type": "GENESYS_CLOUD_FLOW"}}}`, start.Format(time.RFC3339), agent.ID)
	req, _ := http.NewRequest("POST", e.base+"/api/v1/appointments", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		ID    string                    `json:"id"`
		Links struct{ Customer string } `json:"links"`
	}
	err = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || err != nil || created.Links.Customer == "" {
		t.Fatalf("booking answered %d (%v): %+v", resp.StatusCode, err, created)
	}

	// The customer opens their link: the waiting room, then at the start the interaction.
	customer := newStaffTab(t, browser)
	do(t, customer, "customer opens the link", chromedp.Navigate(created.Links.Customer))

	// The agent's desktop, with Rendezvous installed as the Interaction Widget.
	app := e.base + "/widget?conversationid={{pcConversationId}}&gcHostOrigin={{gcHostOrigin}}&gcTargetEnv={{gcTargetEnv}}"
	desk := newStaffTab(t, browser)
	do(t, desk, "agent answers in the desktop",
		chromedp.Navigate(e.sandbox+"/sandbox/desktop?agent="+url.QueryEscape(agent.ID)+"&app="+url.QueryEscape(app)),
		chromedp.WaitVisible(chromedp.CSS(`#answer`)),
		chromedp.Click(chromedp.CSS(`#answer`)),
		chromedp.WaitVisible(chromedp.CSS(`iframe[title="Interaction Widget"]`)),
	)
	frame := inFrame(desk, e.base+"/widget?")
	cust := inPage(customer)

	waitRoom(t, frame, "agent in the widget", "connected")
	waitRoom(t, cust, "customer", "connected")
	waitMedia(t, frame, "agent in the widget")
	waitMedia(t, cust, "customer")

	var title string
	pollJS(t, frame, "the appointment's title in the widget", `(function(){ var e = document.querySelector(".widget-head h1"); return e ? e.innerText : null; })()`, &title)
	if title != "Claim review" {
		t.Errorf("widget shows appointment %q, want Claim review", title)
	}
	screenshot(t, desk, "widget-in-desktop")
}

// jsRunner evaluates a JavaScript expression somewhere in the browser and returns its
// value as JSON. It gives up after a few seconds.
type jsRunner func(js string) ([]byte, error)

// evalWait bounds one evaluation.
const evalWait = 10 * time.Second

// inPage evaluates in the top document of tab.
func inPage(tab context.Context) jsRunner {
	return func(js string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(tab, evalWait)
		defer cancel()
		return chromedp.Run(ctx, chromedp.Evaluate[[]byte](js))
	}
}

// inFrame evaluates in the main world of the frame of tab whose address starts with
// prefix (found afresh each time, so a frame that navigates is followed).
//
// The frame is on another origin than the page that frames it (the agent desktop and
// Rendezvous are on different ports of the same site, so Chromium keeps it in the page's
// process), and the page's scripts cannot reach into it. This goes through the DevTools
// protocol and names the frame's world explicitly: the frame tree gives the frame,
// DOM.getFrameOwner its iframe element, DOM.describeNode the element's content document,
// DOM.resolveNode that document as an object of the frame's main world (where room.js
// hangs its handle), and Runtime.callFunctionOn evaluates there. (chromedp's
// WithPollingInFrame picks the frame's most recently created context, and the page's
// when it knows none, so a mistake there would quietly look at the wrong document.)
func inFrame(tab context.Context, prefix string) jsRunner {
	return func(js string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(tab, evalWait)
		defer cancel()
		return chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
			tree, err := cdp.Call(ctx, t, page.GetFrameTree, cdp.Empty{})
			if err != nil {
				return nil, err
			}
			var frameID cdp.FrameID
			var walk func(*page.FrameTree)
			walk = func(ft *page.FrameTree) {
				for _, c := range ft.ChildFrames {
					if frameID == "" && strings.HasPrefix(c.Frame.URL, prefix) {
						frameID = c.Frame.ID
					}
					walk(c)
				}
			}
			walk(tree.FrameTree)
			if frameID == "" {
				return nil, fmt.Errorf("no frame at %s yet", prefix)
			}
			owner, err := cdp.Call(ctx, t, dom.GetFrameOwner, dom.GetFrameOwnerParams{FrameID: frameID})
			if err != nil {
				return nil, err
			}
			desc, err := cdp.Call(ctx, t, dom.DescribeNode, dom.DescribeNodeParams{BackendNodeID: owner.BackendNodeID, Pierce: ptr(true)})
			if err != nil {
				return nil, err
			}
			if desc.Node == nil || desc.Node.ContentDocument == nil {
				return nil, fmt.Errorf("the frame at %s has no document yet", prefix)
			}
			doc, err := cdp.Call(ctx, t, dom.ResolveNode, dom.ResolveNodeParams{BackendNodeID: desc.Node.ContentDocument.BackendNodeID, ObjectGroup: "frame-eval"})
			if err != nil {
				return nil, err
			}
			defer cdp.Call(ctx, t, runtime.ReleaseObjectGroup, runtime.ReleaseObjectGroupParams{ObjectGroup: "frame-eval"})
			res, err := cdp.Call(ctx, t, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
				FunctionDeclaration: "function () { return (" + js + "); }",
				ObjectID:            doc.Object.ObjectID,
				ReturnByValue:       ptr(true),
			})
			if err != nil {
				return nil, err
			}
			if res.ExceptionDetails != nil {
				return nil, fmt.Errorf("in the frame: %s", exceptionText(res.ExceptionDetails))
			}
			return res.Result.Value, nil
		})
	}
}

// exceptionText is what an exception thrown in the browser says.
func exceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return d.Text
}

func ptr[T any](v T) *T { return &v }

// pollJS evaluates js with run until it gives something other than null or false, and
// decodes that into out. It gives up after staffWait.
func pollJS(t *testing.T, run jsRunner, what, js string, out any) {
	t.Helper()
	deadline := time.Now().Add(staffWait)
	var last []byte
	var lastErr error
	for {
		got, err := run(js)
		last, lastErr = got, err
		if v := strings.TrimSpace(string(got)); err == nil && v != "" && v != "null" && v != "false" {
			if err := json.Unmarshal(got, out); err != nil {
				t.Fatalf("%s: %s: %v", what, got, err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v (last: %s, %v)", what, staffWait, last, lastErr)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitRoom waits until the room reports state.
func waitRoom(t *testing.T, run jsRunner, name, state string) {
	t.Helper()
	var ok bool
	pollJS(t, run, fmt.Sprintf("%s: room %q", name, state),
		fmt.Sprintf(`(function(){ var h = %s; return !!h && h.state() === %q; })()`, roomJS, state), &ok)
}

// waitMedia waits until the room has decoded video frames and received audio, and then
// more of both: media is flowing, not just negotiated.
func waitMedia(t *testing.T, run jsRunner, name string) {
	t.Helper()
	var last struct{ Frames, Audio float64 }
	for _, round := range []string{"first media", "more media"} {
		js := fmt.Sprintf(`(function(){
			var h = %s;
			if (!h) return null;
			h.stats().then(function (s) { window.__rdvStats = s; });
			var s = window.__rdvStats;
			return s && s.framesDecoded > %v && s.audioBytesReceived > %v ? {frames: s.framesDecoded, audio: s.audioBytesReceived} : null;
		})()`, roomJS, last.Frames, last.Audio)
		pollJS(t, run, fmt.Sprintf("%s: %s after %+v", name, round, last), js, &last)
	}
	t.Logf("%s receives media: %+v", name, last)
}
