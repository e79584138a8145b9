package connections_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rendezvous/clock"
	"rendezvous/connections"
	"rendezvous/genesys"
	"rendezvous/genesys/sandbox"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// TestTwoInstancesShareOneClientsLimit sends a burst of 2,000 SMS through one OAuth
// client from two instances, each with its own store on one PostgreSQL database and its
// own Genesys client (so its own token), against a sandbox that counts Genesys' limit of
// 300 requests a minute per OAuth client. Paced through the database they stay within the
// limit together: not one 429. The same burst paced per process, as before, runs into the
// limit, which shows the test can tell the difference. Time is a fake clock shared by the
// sandbox and the pacers, moved on whenever every sender waits for it, so the seven
// minutes of sending take seconds.
func TestTwoInstancesShareOneClientsLimit(t *testing.T) {
	const messages, senders = 2000, 8
	sent, refused, minutes := burst(t, messages, senders, true)
	if refused != 0 || sent != messages {
		t.Fatalf("shared pacing: %d sent, %d answered 429", sent, refused)
	}
	// 2,000 at PacingShare of 300 a minute is just under seven minutes.
	if minutes < float64(messages)/300 || minutes > float64(messages)/(300*connections.PacingShare)+0.2 {
		t.Errorf("the burst took %.2f minutes of (fake) time", minutes)
	}
	t.Logf("shared pacing: %d messages in %.2f minutes: %.3f of the limit", sent, minutes, float64(sent)/minutes/300)

	_, refused, _ = burst(t, 600, senders, false)
	if refused == 0 {
		t.Fatal("pacing per process: no 429, so the test cannot tell shared pacing from none")
	}
	t.Logf("pacing per process: %d requests answered 429", refused)
}

// burst sends n SMS through one client from two instances and returns how many were
// accepted, how many requests the sandbox refused with 429, and how long it took in
// minutes of the fake clock.
func burst(t *testing.T, n, senders int, shared bool) (sent, refused int, minutes float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	sb := sandbox.New(sandbox.Options{Clock: clk, RateLimitPerClient: true})
	defer sb.Close()
	var tooMany atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		sb.Handler().ServeHTTP(rec, r)
		if rec.status == http.StatusTooManyRequests {
			tooMany.Add(1)
		}
	}))
	defer srv.Close()
	demo := sb.Demo()
	ep := genesys.Endpoints{API: srv.URL, Login: srv.URL}

	u := storetest.URL(t, store.Postgres)
	var clients [2]*genesys.Client
	for i := range clients {
		st, err := store.Open(ctx, u, store.Options{Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		cfg := genesys.Config{Endpoints: ep, ClientID: demo.SMSClient.ID, ClientSecret: demo.SMSClient.Secret, Clock: clk,
			MaxAttempts: 100, MaxRetryAfter: time.Hour}
		if shared {
			cfg.Pacer = connections.NewPacer(st, clk, ep, demo.SMSClient.ID, 300)
		}
		clients[i] = genesys.New(cfg)
	}

	var next, ok atomic.Int64
	var active atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 2*senders)
	for i := range 2 * senders {
		active.Add(1)
		wg.Go(func() {
			defer active.Add(-1)
			gc := clients[i%2]
			for {
				k := next.Add(1)
				if k > int64(n) {
					return
				}
				_, err := gc.SendSMS(ctx, genesys.SMSRequest{FromAddress: demo.SMSNumber, ToAddressMessengerType: "sms",
					ToAddress: fmt.Sprintf("+1415555%04d", k), TextBody: "Your appointment"})
				if err != nil {
					errs <- err
					return
				}
				ok.Add(1)
			}
		})
	}
	// Move the clock on whenever every sender waits for it (a pacing slot, or a 429's
	// Retry-After), by a quarter of the pace's interval.
	step := time.Minute / time.Duration(4*300*connections.PacingShare)
	for active.Load() > 0 {
		if ctx.Err() != nil {
			t.Fatalf("burst did not finish: %d of %d sent", ok.Load(), n)
		}
		if a := active.Load(); a > 0 && clk.Pending() >= int(a) {
			clk.Advance(step)
			continue
		}
		time.Sleep(50 * time.Microsecond) // poll: senders are working in real time
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("send: %v", err)
	}
	return int(ok.Load()), int(tooMany.Load()), clk.Now().Sub(start).Minutes()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
