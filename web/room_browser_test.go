package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"rendezvous"
	"rendezvous/room"
	"rendezvous/store"
)

// browserWait bounds each wait in a browser test: headless Chromium on two shared cores
// is slow to start and to negotiate media.
const browserWait = 60 * time.Second

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// newBrowser starts headless Chromium with a fake camera and microphone and returns the
// context of its first tab. Without Chromium the test fails in CI and is skipped elsewhere.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		p, lerr := exec.LookPath("chromium")
		if lerr != nil {
			msg := fmt.Sprintf("headless Chromium not found at %s or on PATH (apt-get install chromium)", chromiumPath)
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg + "; skipped outside CI")
		}
		path = p
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		// Background tabs must keep rendering and decoding: both sides run at once.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser now, so a failure to launch is reported as such.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// newTab opens another tab in the browser of ctx.
func newTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	return ctx
}

// roomStats is what RendezvousRoom's handle reports about received media.
type roomStats struct {
	BytesReceived      float64 `json:"bytesReceived"`
	FramesDecoded      float64 `json:"framesDecoded"`
	AudioBytesReceived float64 `json:"audioBytesReceived"`
}

// roomHandleJS finds the mounted room's handle in a page (the standalone pages mount
// into #rdv-room, the customer's journey page into #room).
const roomHandleJS = `(document.getElementById("rdv-room") || document.getElementById("room") || {}).rendezvousRoom`

// waitRoomState waits until the room in tab reports state.
// On failure it shows the room's debug log of tab and of others (the other side).
func waitRoomState(t *testing.T, tab context.Context, name, state string, others ...context.Context) {
	t.Helper()
	js := fmt.Sprintf(`(function(){ var h = %s; return !!h && h.state() === %q; })()`, roomHandleJS, state)
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(browserWait), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		debug := ""
		for _, tb := range append([]context.Context{tab}, others...) {
			got, _ := chromedp.Run(tb, chromedp.Evaluate[string](`(function(){ var h = `+roomHandleJS+`; return h ? JSON.stringify(h.debug(), null, 1) : "no room mounted"; })()`))
			debug += got + "\n"
		}
		t.Fatalf("%s: room state is not %q: %v\n%s", name, state, err, debug)
	}
}

// stats reads the media the room in tab has received so far.
func stats(t *testing.T, tab context.Context, name string) roomStats {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Evaluate[roomStats](roomHandleJS+`.stats()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: stats: %v", name, err)
	}
	return s
}

// waitMediaFlowing waits until the room in tab has received video frames and audio, and
// then more of both: media is flowing, not just negotiated.
func waitMediaFlowing(t *testing.T, tab context.Context, name string) {
	t.Helper()
	first := roomStats{}
	for _, round := range []string{"first media", "more media"} {
		js := fmt.Sprintf(`(function(){
			var h = %s;
			if (!h) return false;
			h.stats().then(function (s) { window.__rdvStats = s; });
			var s = window.__rdvStats;
			return !!s && s.framesDecoded > %v && s.audioBytesReceived > %v;
		})()`, roomHandleJS, first.FramesDecoded, first.AudioBytesReceived)
		// Forget figures read before (of an earlier connection, or an earlier round).
		if _, err := chromedp.Run(tab, chromedp.Evaluate[chromedp.Void](`window.__rdvStats = null`)); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(tab, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(browserWait), chromedp.WithPollingInterval(200*time.Millisecond))); err != nil {
			t.Fatalf("%s: waiting for %s (last %+v): %v", name, round, stats(t, tab, name), err)
		}
		first = stats(t, tab, name)
	}
	if first.FramesDecoded == 0 || first.BytesReceived == 0 {
		t.Fatalf("%s: no media received: %+v", name, first)
	}
	t.Logf("%s receives media: %+v", name, first)
}

// TestRoomBrowserCall opens the agent's page and the customer's standalone page in two
// tabs of headless Chromium with fake devices: both connect over WebRTC through the
// server's signaling, media flows both ways, the appointment is in progress, and the
// agent's hang-up ends the call on both sides and completes the appointment.
func TestRoomBrowserCall(t *testing.T) {
	e := newRoomEnv(t, store.SQLite, "el")
	browser := newBrowser(t)
	e.clock.Set(e.a.Start)

	agent := browser
	customer := newTab(t, browser)
	if err := chromedp.Do(agent, chromedp.Navigate(e.srv.URL+room.AgentPath(e.rooms.AgentKey(e.a)))); err != nil {
		t.Fatal(err)
	}
	waitRoomState(t, agent, "agent", "waiting_customer")
	if err := chromedp.Do(customer, chromedp.Navigate(e.srv.URL+room.CustomerPath(e.a.LinkToken))); err != nil {
		t.Fatal(err)
	}
	waitRoomState(t, customer, "customer", "connected", agent)
	waitRoomState(t, agent, "agent", "connected", customer)
	waitMediaFlowing(t, agent, "agent")
	waitMediaFlowing(t, customer, "customer")

	// The customer reloads the page: the new connection replaces the old one, both sides
	// renegotiate and media flows again.
	if err := chromedp.Do(customer, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitRoomState(t, customer, "customer after reload", "connected", agent)
	waitRoomState(t, agent, "agent after the customer's reload", "connected", customer)
	waitMediaFlowing(t, agent, "agent after the customer's reload")
	waitMediaFlowing(t, customer, "customer after reload")

	// The customer's words follow the page language (Greek here).
	status, err := chromedp.Run(customer, chromedp.Text(".rdv-status"))
	if err != nil || status != "Συνδεθήκατε" {
		t.Errorf("customer status %q (%v), want the Greek word for connected", status, err)
	}
	if a, err := e.st.Appointment(context.Background(), "demo", e.a.ID); err != nil || a.Status != rendezvous.StatusInProgress {
		t.Fatalf("appointment %v, %v; want in progress", a.Status, err)
	}

	// Mute and camera off act on the agent's own tracks and say so.
	if err := chromedp.Do(agent, chromedp.Click(".rdv-mic"), chromedp.Click(".rdv-cam")); err != nil {
		t.Fatal(err)
	}
	controls, err := chromedp.Run(agent, chromedp.Evaluate[[]string](`[
		document.querySelector(".rdv-mic").getAttribute("aria-pressed"),
		document.querySelector(".rdv-cam").getAttribute("aria-pressed"),
		document.querySelector(".rdv-mic").textContent,
		document.querySelector(".rdv-note").textContent,
		String(document.querySelector(".rdv-local").srcObject.getAudioTracks()[0].enabled),
		String(document.querySelector(".rdv-local").srcObject.getVideoTracks()[0].enabled)]`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"true", "true", "Unmute", "Your microphone is muted", "false", "false"}; fmt.Sprint(controls) != fmt.Sprint(want) {
		t.Errorf("agent controls after mute and camera off: %q, want %q", controls, want)
	}

	// The agent hangs up: both sides end and the appointment is completed.
	if _, err := chromedp.Run(agent, chromedp.Evaluate[chromedp.Void](roomHandleJS+`.hangUp()`)); err != nil {
		t.Fatal(err)
	}
	waitRoomState(t, agent, "agent", "ended")
	waitRoomState(t, customer, "customer", "ended")
	deadline := time.Now().Add(browserWait)
	for {
		a, err := e.st.Appointment(context.Background(), "demo", e.a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Status == rendezvous.StatusCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("appointment %s after hang-up, want completed", a.Status)
		}
		time.Sleep(20 * time.Millisecond) // polling the store, not waiting for time to pass
	}
}
