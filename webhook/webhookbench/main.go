// Command webhookbench measures webhook fan-out: how many events per second Rendezvous
// delivers to one receiver, beside a plain HTTP POST loop to the same receiver in the same
// run.
//
//	go run ./webhook/webhookbench -n 10000
//
// It books n appointments on a fresh SQLite (or -database-url) store with one webhook
// subscription listening, with no job runner running, so n "created" events wait. Then it
// starts the real job runner (-workers workers, as rendezvous serve's -job-workers) with
// the webhook service, and times until the receiver has every event: that is the whole
// path of an event after its commit (the appointment event job's webhook share, the
// delivery queued in its chain, the delivery job, the signed request, the outcome
// recorded). The floor is a loop of n POSTs of the same bodies, with as many goroutines
// as workers, on one keep-alive client. Rounds alternate, so both see the same machine.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the schema

	"rendezvous"
	"rendezvous/jobs"
	"rendezvous/secret"
	"rendezvous/store"
	"rendezvous/webhook"
)

func main() {
	n := flag.Int("n", 10000, "events per round")
	workers := flag.Int("workers", 4, "job workers, and goroutines of the raw POST loop")
	rounds := flag.Int("rounds", 2, "rounds of each")
	dbURL := flag.String("database-url", "", "store URL (default: a fresh SQLite file)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the webhook rounds to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "webhookbench:", err)
			os.Exit(1)
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(context.Background(), *n, *workers, *rounds, *dbURL); err != nil {
		fmt.Fprintln(os.Stderr, "webhookbench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(ctx context.Context, n, workers, rounds int, dbURL string) error {
	var got atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()

	var body []byte // a real event body, for the floor
	for round := 1; round <= rounds; round++ {
		dir, err := os.MkdirTemp("", "webhookbench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		u := dbURL
		if u == "" {
			u = "sqlite://" + filepath.Join(dir, "bench.db")
		} else if strings.HasPrefix(u, "postgres") {
			// A schema of its own, dropped after, so the database's other users see nothing.
			pu, drop, err := freshSchema(ctx, u, round)
			if err != nil {
				return err
			}
			defer drop()
			u = pu
		}
		key, _ := secret.NewKey()
		box, _ := secret.NewBox(key)
		st, err := store.Open(ctx, u, store.Options{Secrets: box})
		if err != nil {
			return err
		}
		org := fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), round)
		if err := st.EnsureOrg(ctx, rendezvous.Org{ID: org, Name: "Bench"}); err != nil {
			return err
		}
		svc := webhook.New(webhook.Options{Store: st, AllowPrivate: true})
		if _, err := svc.Create(ctx, org, webhook.Input{URL: recv.URL, Events: rendezvous.WebhookEvents()}); err != nil {
			return err
		}
		now := time.Now()
		for i := range n {
			a, err := rendezvous.NewAppointment(org, rendezvous.AppointmentInput{Start: now.Add(time.Duration(24*60+i) * time.Minute),
				DurationMinutes: 30, TimeZone: "Europe/Athens", AgentUserID: fmt.Sprintf("agent-%d", i), Title: "Mortgage review",
				Customers: []rendezvous.Customer{{Name: "Maria P.", Phone: "+306912345678", Email: "maria@example.com", Language: "el"}}}, now)
			if err != nil {
				return err
			}
			if _, _, err := st.CreateAppointment(ctx, a, store.Idempotency{}); err != nil {
				return err
			}
		}

		got.Store(0)
		r := jobs.NewRunner(st, jobs.RunnerOptions{Workers: workers})
		r.Handle(store.EventJobKind, jobs.All(svc.HandleAppointmentEvent))
		svc.Register(r)
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		start := time.Now()
		go func() { r.Run(rctx); close(done) }()
		for got.Load() < int64(n) {
			time.Sleep(5 * time.Millisecond)
		}
		hooks := time.Since(start)
		cancel()
		<-done
		if body == nil {
			ds, _, err := st.WebhookDeliveries(ctx, org, firstSub(ctx, st, org), 1, "")
			if err != nil || len(ds) == 0 {
				return fmt.Errorf("read a delivery: %v", err)
			}
			body = []byte(ds[0].Payload)
		}
		st.Close()

		// The floor: the same number of POSTs of an event body, as many at once as workers.
		got.Store(0)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
		var next atomic.Int64
		var wg sync.WaitGroup
		start = time.Now()
		for range workers {
			wg.Go(func() {
				for next.Add(1) <= int64(n) {
					req, _ := http.NewRequest(http.MethodPost, recv.URL, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set(webhook.SignatureHeader, webhook.Sign(time.Now(), body, "whsec_bench"))
					resp, err := client.Do(req)
					if err != nil {
						panic(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		raw := time.Since(start)
		hr, rr := float64(n)/hooks.Seconds(), float64(n)/raw.Seconds()
		fmt.Printf("round %d: webhooks %d events in %s = %.0f/s; raw POST loop %d in %s = %.0f/s; ratio %.2f\n",
			round, n, hooks.Round(time.Millisecond), hr, n, raw.Round(time.Millisecond), rr, hr/rr)
	}
	return nil
}

func firstSub(ctx context.Context, st *store.Store, org string) string {
	subs, err := st.Webhooks(ctx, org)
	if err != nil || len(subs) == 0 {
		return ""
	}
	return subs[0].ID
}

// freshSchema creates an empty schema in the PostgreSQL database at base and returns a URL
// that uses it, and a function that drops it.
func freshSchema(ctx context.Context, base string, round int) (string, func(), error) {
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("webhookbench_%d_%d", time.Now().UnixNano(), round)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		db.Close()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		db.ExecContext(context.Background(), "DROP SCHEMA "+name+" CASCADE")
		db.Close()
	}, nil
}
