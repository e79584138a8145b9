package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/time/rate"

	"rendezvous"
	"rendezvous/availability"
	"rendezvous/clock"
	"rendezvous/cmd/internal/wiring"
	"rendezvous/genesys/sandbox"
	"rendezvous/secret"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

const widgetBrowserWait = 60 * time.Second

// newBrowser starts headless Chromium; without it the test fails in CI and is skipped
// elsewhere.
func newWidgetBrowser(t *testing.T) context.Context {
	t.Helper()
	path := "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		p, lerr := exec.LookPath("chromium")
		if lerr != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("headless Chromium not found")
			}
			t.Skip("headless Chromium not found; skipped outside CI")
		}
		path = p
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// counting records, per path, the statuses the service answered.
type counting struct {
	h  http.Handler
	mu sync.Mutex
	by map[string][]int
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRec{ResponseWriter: w, status: 200}
	c.h.ServeHTTP(rec, r)
	c.mu.Lock()
	c.by[r.URL.Path] = append(c.by[r.URL.Path], rec.status)
	c.mu.Unlock()
}

func (c *counting) statuses(path string) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.by[path]...)
}

type statusRec struct {
	http.ResponseWriter
	status int
}

func (s *statusRec) WriteHeader(code int)        { s.status = code; s.ResponseWriter.WriteHeader(code) }
func (s *statusRec) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// hostPage serves a company's page that embeds the widget with one script tag. It marks
// the document's title once the widget's frame has loaded (or failed to).
func hostPage(base, chatMode string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Bank</title>
<style>button { background: red !important; font-size: 40px; }</style></head>
<body><h1>Talk to an adviser</h1>
<script src="%s/widget/widget.js" data-org="demo" data-queue=%q data-chat-mode=%q data-language="en" data-theme="light" data-color="#0a7d5a"></script>
<script>document.querySelector("iframe").addEventListener("load", function () { document.title = "frame-loaded"; });</script>
</body></html>`, base, sandbox.Demo.VideoQueue.Name, chatMode)
	})
}

// TestWidgetEmbeddedInAnotherOrigin drives the widget as a customer would, in headless
// Chromium, embedded in host pages on other origins: for each chat mode the customer picks
// a day and a time, fills in the form and books; the appointment exists with that mode's
// routing and its notification reaches the sandbox's outbox. A page on an origin the
// organization has not allowed gets nothing: the browser refuses the frame and the API.
func TestWidgetEmbeddedInAnotherOrigin(t *testing.T) {
	browser := newWidgetBrowser(t)
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite)
	if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "demo", Name: "Demo"}); err != nil {
		t.Fatal(err)
	}
	// The booking's confirmation at once, not after the window in which quick changes
	// join it (notify.Settings.CoalesceSeconds).
	if err := st.PutNotifySettings(ctx, "demo", []byte(`{"coalesceSeconds": 0}`)); err != nil {
		t.Fatal(err)
	}
	key, err := secret.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	svc, err := wiring.New(sctx, &wg, wiring.Options{Store: st, Key: key, Clock: clock.Real(),
		Logger: slog.New(slog.DiscardHandler), PublicURL: base, RateLimit: rate.Inf, JobWorkers: 2,
		Genesys: wiring.Genesys{SandboxAddr: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	served := &counting{h: svc.Handler, by: map[string][]int{}}
	srv.Config.Handler = served
	srv.Start()
	t.Cleanup(srv.Close)
	wg.Go(func() { svc.Runner.Run(sctx) })

	allowedFlow := httptest.NewServer(hostPage(base, "genesys-web-messaging"))
	t.Cleanup(allowedFlow.Close)
	allowedQueue := httptest.NewServer(hostPage(base, "genesys-cloud"))
	t.Cleanup(allowedQueue.Close)
	denied := httptest.NewServer(hostPage(base, "genesys-web-messaging"))
	t.Cleanup(denied.Close)

	allDay := []availability.Range{{Start: "00:00", End: "24:00"}}
	var agents []availability.Agent
	for _, a := range sandbox.Demo.Agents {
		agents = append(agents, availability.Agent{UserID: a.ID})
	}
	if _, err := st.PutSchedule(ctx, "demo", availability.Schedule{QueueName: sandbox.Demo.VideoQueue.Name, TimeZone: "Europe/Athens",
		WeeklyHours: availability.Week{Monday: allDay, Tuesday: allDay, Wednesday: allDay, Thursday: allDay, Friday: allDay, Saturday: allDay, Sunday: allDay},
		SlotMinutes: 30, MinNoticeMinutes: 60, HorizonDays: 14, Agents: agents}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutWidgetOrigins(ctx, "demo", []string{allowedFlow.URL, allowedQueue.URL}); err != nil {
		t.Fatal(err)
	}

	// A page on an origin the organization has not allowed: first, while nothing is
	// cached, so a rendered frame would have to fetch its script.
	t.Run("not allowed", func(t *testing.T) {
		tab, cancel := chromedp.NewContext(browser)
		defer cancel()
		tab, cancelT := context.WithTimeout(tab, widgetBrowserWait)
		defer cancelT()
		if err := chromedp.Do(tab, chromedp.Navigate(denied.URL),
			chromedp.Poll[chromedp.Void](`document.title === "frame-loaded"`, chromedp.WithPollingTimeout(widgetBrowserWait))); err != nil {
			t.Fatalf("host page: %v", err)
		}
		if got := served.statuses("/widget/frame"); len(got) != 1 || got[0] != http.StatusForbidden {
			t.Errorf("frame answered %v, want one 403", got)
		}
		if got := served.statuses("/widget/static/frame.js"); len(got) != 0 {
			t.Errorf("the refused frame was rendered: its script was fetched %d times", len(got))
		}
		js := fmt.Sprintf(`fetch(%q).then(function (r) { return "read " + r.status; }, function () { return "blocked"; })`,
			base+"/api/v1/availability?org=demo&queue="+strings.ReplaceAll(sandbox.Demo.VideoQueue.Name, " ", "%20"))
		outcome, err := chromedp.Run(tab, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if outcome != "blocked" {
			t.Errorf("the page on a refused origin read availability: %s", outcome)
		}
	})

	for i, c := range []struct {
		host    *httptest.Server
		mode    string
		routing rendezvous.RoutingType
	}{
		{allowedFlow, "genesys-web-messaging", rendezvous.RoutingFlow},
		{allowedQueue, "genesys-cloud", rendezvous.RoutingQueue},
	} {
		t.Run(c.mode, func(t *testing.T) {
			tab, cancel := chromedp.NewContext(browser)
			defer cancel()
			tab, cancelT := context.WithTimeout(tab, 2*widgetBrowserWait)
			defer cancelT()
			email := fmt.Sprintf("maria%d@example.com", i)
			if err := chromedp.Do(tab, chromedp.Navigate(c.host.URL),
				chromedp.Poll[chromedp.Void](`document.title === "frame-loaded"`, chromedp.WithPollingTimeout(widgetBrowserWait))); err != nil {
				t.Fatalf("host page: %v", err)
			}
			frames, err := chromedp.Run(tab, chromedp.Nodes(chromedp.CSS("iframe")))
			if err != nil || len(frames) != 1 {
				t.Fatalf("the widget's frame: %v (%d)", err, len(frames))
			}
			in := chromedp.FromNode(frames[0])
			err = chromedp.Do(tab,
				chromedp.WaitVisible(chromedp.CSS("#rw-days button"), in),
				chromedp.Click(chromedp.CSS("#rw-days button:nth-child(2)"), in),
				chromedp.WaitVisible(chromedp.CSS("#rw-times button"), in),
				chromedp.Click(chromedp.CSS("#rw-times button:nth-child(3)"), in),
				chromedp.WaitVisible(chromedp.CSS("#rw-name"), in),
				chromedp.SendKeys(chromedp.CSS("#rw-name"), "Maria Papadopoulou", in),
				chromedp.SendKeys(chromedp.CSS("#rw-email"), email, in),
				chromedp.Click(chromedp.CSS("#rw-consent"), in),
				chromedp.Click(chromedp.CSS("#rw-submit"), in),
				chromedp.WaitVisible(chromedp.CSS("#rw-done"), in),
			)
			if err != nil {
				status, _ := chromedp.Run(tab, chromedp.Text(chromedp.CSS("#rw-status"), in))
				t.Fatalf("booking in the widget: %v (status line: %q)", err, status)
			}
			when, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("#rw-done-when"), in))
			if err != nil {
				t.Fatal(err)
			}
			href, err := chromedp.Run(tab, chromedp.AttributeValue(chromedp.CSS("#rw-link"), "href", in))
			if err != nil {
				t.Fatal(err)
			}
			link := href.Value
			if !strings.HasPrefix(link, base+"/a/") || when == "" {
				t.Errorf("confirmation: when %q, link %q", when, link)
			}
			list, _, err := st.ListAppointments(ctx, "demo", store.ListFilter{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var got *rendezvous.Appointment
			for _, a := range list {
				if a.Customers[0].Email == email {
					got = a
				}
			}
			if got == nil {
				t.Fatalf("no appointment for %s", email)
			}
			if got.Interaction.Routing.Type != c.routing {
				t.Errorf("routing = %s, want %s", got.Interaction.Routing.Type, c.routing)
			}
			switch c.routing {
			case rendezvous.RoutingFlow:
				if !isDemoAgent(got.AgentUserID) {
					t.Errorf("flow booking assigned to %q, not one of the queue's agents", got.AgentUserID)
				}
			case rendezvous.RoutingQueue:
				if got.AgentUserID != "" || got.Interaction.Routing.QueueName != sandbox.Demo.VideoQueue.Name {
					t.Errorf("queue booking: agent %q, queue %q", got.AgentUserID, got.Interaction.Routing.QueueName)
				}
			}
			// The notification reaches the sandbox's outbox, with the customer's link.
			deadline := time.Now().Add(widgetBrowserWait)
			for {
				if msg := outboxTo(t, svc.SandboxURL, email); msg != "" {
					if !strings.Contains(msg, link) {
						t.Errorf("notification to %s does not carry the link %s", email, link)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no notification to %s in the sandbox outbox", email)
				}
				time.Sleep(100 * time.Millisecond) // polling the outbox, bounded by the deadline
			}

			// Cancelled, the customer's link offers to book again through the same widget.
			if _, err := st.UpdateAppointment(ctx, "demo", got.ID, 0, func(a *rendezvous.Appointment) (string, error) {
				return "cancelled", a.Cancel("customer asked", time.Now())
			}); err != nil {
				t.Fatal(err)
			}
			resp, err := http.Get(link)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			m := regexp.MustCompile(`href="([^"]*/widget/frame\?[^"]*)"`).FindSubmatch(page)
			if m == nil {
				t.Fatalf("the cancelled appointment's page offers no new booking: %d\n%s", resp.StatusCode, page)
			}
			again := html.UnescapeString(string(m[1]))
			tab, cancelTab := chromedp.NewContext(browser)
			defer cancelTab()
			tab, cancelT = context.WithTimeout(tab, widgetBrowserWait)
			defer cancelT()
			if err := chromedp.Do(tab, chromedp.Navigate(again)); err != nil {
				t.Fatalf("open the widget's own page: %v", err)
			}
			if err := chromedp.Do(tab, chromedp.WaitVisible(chromedp.CSS("#rw-days button"))); err != nil {
				t.Fatalf("the widget's page after book again: %v", err)
			}
		})
	}
}

func isDemoAgent(id string) bool {
	for _, a := range sandbox.Demo.Agents {
		if a.ID == id {
			return true
		}
	}
	return false
}

// outboxTo returns the text and body of the messages the sandbox accepted for to.
func outboxTo(t *testing.T, sandboxURL, to string) string {
	t.Helper()
	resp, err := http.Get(sandboxURL + "/sandbox/outbox")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var msgs []sandbox.OutboxMessage
	if err := json.Unmarshal(b, &msgs); err != nil {
		t.Fatalf("outbox: %v: %s", err, b)
	}
	var out strings.Builder
	for _, m := range msgs {
		if m.To == to {
			out.WriteString(m.Text + m.Body + m.HTML)
		}
	}
	return out.String()
}
