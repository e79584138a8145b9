package wiring_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/cmd/internal/wiring"
	"rendezvous/connections"
	"rendezvous/genesys/sandbox"
	"rendezvous/secret"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// TestTwoInstancesStayUnderOneClientsLimit runs two instances of the service on one
// PostgreSQL database against one Genesys organization (the sandbox, counting the limit
// per OAuth client) and books a burst through both: every message goes out, none is
// refused with 429, and each OAuth client's calls, counted at the sandbox, never go
// faster than its limit, over the whole burst or any 5 s of it. The limit is 1,200 a
// minute rather than Genesys' 300 to keep the test short; two instances pacing alone
// would send at twice it (issue 14: 316 in a minute against 300).
func TestTwoInstancesStayUnderOneClientsLimit(t *testing.T) {
	const rpm, bookings = 1200, 300
	u := storetest.URL(t, store.Postgres)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	discard := slog.New(slog.DiscardHandler)
	sb := sandbox.New(sandbox.Options{RequestsPerMinute: rpm, RateLimitPerClient: true, Logger: discard})
	t.Cleanup(sb.Close)
	sbURL, err := wiring.ServeSandbox(ctx, &wg, sb, "127.0.0.1:0", discard)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	box, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	var bases []string
	var st *store.Store
	var apiKey string
	for i := range 2 {
		s, err := store.Open(ctx, u, store.Options{Secrets: box})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if i == 0 {
			st = s
			if err := st.EnsureOrg(ctx, rendezvous.Org{ID: wiring.DefaultOrgID, Name: "Demo"}); err != nil {
				t.Fatal(err)
			}
			// Confirmations go at once, so the burst of bookings is a burst of sends.
			if err := st.PutNotifySettings(ctx, wiring.DefaultOrgID, []byte(`{"coalesceSeconds": 0}`)); err != nil {
				t.Fatal(err)
			}
			if _, apiKey, err = st.CreateAPIKey(ctx, wiring.DefaultOrgID, "burst", rendezvous.AllScopes()); err != nil {
				t.Fatal(err)
			}
		}
		svc, err := wiring.New(ctx, &wg, wiring.Options{Store: s, Key: key, Clock: clock.Real(), Logger: discard,
			PublicURL: "http://127.0.0.1", Sandbox: sb, SandboxURL: sbURL, RateLimit: rate.Inf, JobWorkers: 4,
			Instance: fmt.Sprintf("pacing-%d", i), GenesysRequestsPerMinute: rpm})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(svc.Close)
		wg.Go(func() { svc.Runner.Run(ctx) })
		srv := httptest.NewServer(svc.Handler)
		t.Cleanup(srv.Close)
		bases = append(bases, srv.URL)
	}

	// The burst: every booking has a phone and an email, so a message for each of the
	// two OAuth clients (SMS and email), half of them booked through each instance.
	agents := sandbox.Demo.Agents
	day := time.Now().UTC().Add(48 * time.Hour).Truncate(24 * time.Hour)
	var next sync.Mutex
	k := 0
	var bwg sync.WaitGroup
	for range 8 {
		bwg.Go(func() {
			for {
				next.Lock()
				i := k
				k++
				next.Unlock()
				if i >= bookings {
					return
				}
				body := fmt.Sprintf(`{"start": %q, "durationMinutes": 30, "timeZone": "Europe/Athens", "title": "Burst",
					"agentUserId": %q, "customers": [{"name": "C %d", "phone": "+30691%07d", "email": "c%d@example.com"}]}`,
					day.Add(time.Duration(i/len(agents))*30*time.Minute).Format(time.RFC3339), agents[i%len(agents)].ID, i, i, i)
				req, _ := http.NewRequest("POST", bases[i%2]+"/api/v1/appointments", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+apiKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					t.Errorf("booking %d: %d %s", i, resp.StatusCode, b)
					return
				}
			}
		})
	}
	bwg.Wait()
	if t.Failed() {
		return
	}
	count := func(q string) int {
		var n int
		if err := st.ReadRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(90 * time.Second)
	for count("SELECT COUNT(*) FROM notify_deliveries WHERE event = 'created' AND outcome = 'sent'") < 2*bookings {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages sent within 90 s", count("SELECT COUNT(*) FROM notify_deliveries WHERE event = 'created' AND outcome = 'sent'"), 2*bookings)
		}
		time.Sleep(100 * time.Millisecond) // polling the instances' progress
	}
	if n := count("SELECT COUNT(*) FROM notify_attempts WHERE status = 429"); n > 0 {
		t.Errorf("Genesys answered 429 %d times", n)
	}

	// Each OAuth client's calls, as the sandbox saw them.
	calls := map[string][]time.Time{}
	for _, c := range sb.APICalls() {
		calls[c.ClientID] = append(calls[c.ClientID], c.Time)
	}
	demo := sb.Demo()
	const window = 5 * time.Second
	allowed := int(float64(rpm)*window.Minutes()*1.1) + connections.PacingBurst + 1
	for _, id := range []string{demo.SMSClient.ID, demo.EmailClient.ID} {
		ts := calls[id]
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		if len(ts) < bookings {
			t.Fatalf("client %s made %d calls, want at least %d", id, len(ts), bookings)
		}
		perMinute := float64(len(ts)-1) / ts[len(ts)-1].Sub(ts[0]).Minutes()
		most, lo := 0, 0
		for hi := range ts {
			for ts[hi].Sub(ts[lo]) >= window {
				lo++
			}
			most = max(most, hi-lo+1)
		}
		t.Logf("client %s: %d calls in %.1f s, %.0f a minute, at most %d in %s", id, len(ts), ts[len(ts)-1].Sub(ts[0]).Seconds(), perMinute, most, window)
		if perMinute > rpm {
			t.Errorf("client %s: %.0f calls a minute over the burst, limit %d", id, perMinute, rpm)
		}
		if most > allowed {
			t.Errorf("client %s: %d calls within %s, more than %d (the limit's share of it, and its burst)", id, most, window, allowed)
		}
	}
}
