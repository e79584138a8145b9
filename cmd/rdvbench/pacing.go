package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"rendezvous/connections"
	"rendezvous/genesys"
	"rendezvous/genesys/sandbox"
	"rendezvous/store"
)

// benchPacing measures how close to an OAuth client's limit a burst of messages goes when
// two instances on one PostgreSQL database pace it together through the database, as a
// fraction of the limit, beside one instance pacing the same burst in its own process
// (the Genesys client's own limiter, the pace before calls were shared), in real time
// against a sandbox that counts the limit per OAuth client.
func benchPacing(ctx context.Context, o options, out io.Writer) error {
	sharedURL, aloneURL, drop, err := postgresSchemas(ctx, o.postgresURL)
	if err != nil {
		return err
	}
	defer drop()
	fmt.Fprintf(out, "pacing: a burst of %d SMS through one OAuth client limited to %d a minute (per client, sandbox), %d senders per instance\n",
		o.pacingN, o.pacingRPM, 8)
	fmt.Fprintf(out, "%-44s %9s %10s %9s %6s\n", "", "messages", "seconds", "/minute", "429s")
	shared, err := pacingRun(ctx, o, sharedURL, 2, true)
	if err != nil {
		return err
	}
	shared.print(out, "two instances, paced through the database", o.pacingRPM)
	alone, err := pacingRun(ctx, o, aloneURL, 1, false)
	if err != nil {
		return err
	}
	alone.print(out, "one instance, paced in its process (floor)", o.pacingRPM)
	fmt.Fprintf(out, "rate as a fraction of the limit: shared %.3f, per process %.3f\n",
		shared.perMinute()/float64(o.pacingRPM), alone.perMinute()/float64(o.pacingRPM))
	return nil
}

type pacingResult struct {
	sent, refused int
	elapsed       time.Duration
}

// perMinute is the sustained rate: the messages after the first, over the time from the
// first to the last, so the opening burst does not flatter a short run.
func (r pacingResult) perMinute() float64 {
	return float64(r.sent-1) / r.elapsed.Minutes()
}

func (r pacingResult) print(out io.Writer, name string, limit int) {
	fmt.Fprintf(out, "%-44s %9d %10.1f %9.1f %6d\n", name, r.sent, r.elapsed.Seconds(), r.perMinute(), r.refused)
}

func pacingRun(ctx context.Context, o options, dbURL string, instances int, shared bool) (pacingResult, error) {
	sb := sandbox.New(sandbox.Options{RequestsPerMinute: o.pacingRPM, RateLimitPerClient: true})
	defer sb.Close()
	var tooMany atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return pacingResult{}, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w}
		sb.Handler().ServeHTTP(rec, r)
		if rec.status == http.StatusTooManyRequests {
			tooMany.Add(1)
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	ep := genesys.Endpoints{API: base, Login: base}
	demo := sb.Demo()

	clients := make([]*genesys.Client, instances)
	for i := range clients {
		st, err := store.Open(ctx, dbURL, store.Options{})
		if err != nil {
			return pacingResult{}, err
		}
		defer st.Close()
		cfg := genesys.Config{Endpoints: ep, ClientID: demo.SMSClient.ID, ClientSecret: demo.SMSClient.Secret,
			RequestsPerMinute: o.pacingRPM, MaxAttempts: 100, MaxRetryAfter: time.Hour}
		if shared {
			cfg.Pacer = connections.NewPacer(st, nil, ep, demo.SMSClient.ID, o.pacingRPM)
		}
		clients[i] = genesys.New(cfg)
	}
	var next, ok atomic.Int64
	var mu sync.Mutex
	var first, last time.Time
	var firstErr error
	var wg sync.WaitGroup
	for i := range 8 * instances {
		wg.Go(func() {
			gc := clients[i%instances]
			for ctx.Err() == nil {
				k := next.Add(1)
				if k > int64(o.pacingN) {
					return
				}
				_, err := gc.SendSMS(ctx, genesys.SMSRequest{FromAddress: demo.SMSNumber, ToAddressMessengerType: "sms",
					ToAddress: fmt.Sprintf("+1415555%04d", k%10000), TextBody: "Your appointment"})
				now := time.Now()
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					if first.IsZero() {
						first = now
					}
					last = now
				}
				mu.Unlock()
				if err != nil {
					return
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return pacingResult{}, firstErr
	}
	return pacingResult{sent: int(ok.Load()), refused: int(tooMany.Load()), elapsed: last.Sub(first)}, ctx.Err()
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
