package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/time/rate"

	"rendezvous"
	"rendezvous/availability"
	"rendezvous/clock"
	"rendezvous/cmd/internal/wiring"
	"rendezvous/secret"
	"rendezvous/store"
	"rendezvous/widget"
)

// benchAvailability measures GET /api/v1/availability for 30 days of a queue of 200
// agents holding 2,000 appointments, beside the trivial JSON handler, and booking through
// the widget's endpoint beside the raw insert floor (see BENCHMARKS.md, "Availability").
func benchAvailability(ctx context.Context, o options, out io.Writer) error {
	dir, err := os.MkdirTemp("", "rdvbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	apiURL, rawURL := "sqlite://"+filepath.Join(dir, "api.db"), ""
	if o.db == "postgres" {
		var drop func()
		if apiURL, rawURL, drop, err = postgresSchemas(ctx, o.postgresURL); err != nil {
			return err
		}
		defer drop()
	}
	key, err := secret.NewKey()
	if err != nil {
		return err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, apiURL, store.Options{Secrets: box})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "bench", Name: "Bench"}); err != nil {
		return err
	}
	_, apiKey, err := st.CreateAPIKey(ctx, "bench", "bench", rendezvous.AllScopes())
	if err != nil {
		return err
	}
	raw, err := openRaw(ctx, o, dir, rawURL)
	if err != nil {
		return err
	}
	defer raw.close()

	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	// The widget's per-address and per-origin limits are off (every request comes from
	// one address) and the proof of work is the smallest: the server's cost of checking an
	// answer is one hash whatever the difficulty; finding it is the customer's browser's.
	svc, err := wiring.New(ctx, &wg, wiring.Options{
		Store: st, Key: key, Clock: clock.Real(), Logger: slog.New(slog.DiscardHandler),
		PublicURL: base, Genesys: wiring.Genesys{SandboxAddr: "127.0.0.1:0"},
		RateLimit: rate.Inf, JobWorkers: 4, WidgetDifficulty: 1, WidgetUnlimited: true,
	})
	if err != nil {
		return err
	}
	defer svc.Close()
	if o.jobs {
		wg.Go(func() { svc.Runner.Run(ctx) })
	}
	mux := http.NewServeMux()
	mux.Handle("GET /bench/trivial", trivialHandler())
	mux.Handle("/", svc.Handler)
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxIdleConns: 512}}
	call := func(ctx context.Context, method, path string, body []byte, want int, auth bool) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		if auth {
			req.Header.Set("Authorization", "Bearer "+apiKey)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != want {
			return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return b, nil
	}

	// The queue: 200 agents, weekdays 08:00–18:00 in Athens, half-hour slots, 30 days.
	const agents, appointments, queue = 200, 2000, "Bench Queue"
	hours := []availability.Range{{Start: "08:00", End: "18:00"}}
	sch := availability.Schedule{QueueName: queue, TimeZone: "Europe/Athens", SlotMinutes: 30, MinNoticeMinutes: 60, HorizonDays: 30,
		WeeklyHours: availability.Week{Monday: hours, Tuesday: hours, Wednesday: hours, Thursday: hours, Friday: hours}}
	for a := range agents {
		sch.Agents = append(sch.Agents, availability.Agent{UserID: fmt.Sprintf("agent-%03d", a)})
	}
	if _, err := st.PutSchedule(ctx, "bench", sch, 0); err != nil {
		return err
	}
	if _, err := st.PutWidgetOrigins(ctx, "bench", []string{"https://bank.example"}); err != nil {
		return err
	}
	// 2,000 appointments of the queue's agents over the 30 days (10 each), booked through
	// the store as the API books them.
	athens, _ := time.LoadLocation("Europe/Athens")
	now := time.Now()
	first := time.Date(now.Year(), now.Month(), now.Day()+1, 8, 0, 0, 0, athens)
	for i := range appointments {
		agent := fmt.Sprintf("agent-%03d", i%agents)
		day := first.AddDate(0, 0, (i/agents)*3+i%3)
		start := day.Add(time.Duration(i%20) * 30 * time.Minute)
		a, err := rendezvous.NewAppointment("bench", rendezvous.AppointmentInput{Start: start, DurationMinutes: 30, TimeZone: "Europe/Athens",
			AgentUserID: agent, Customers: []rendezvous.Customer{{Name: "Seed", Email: "seed@example.com"}}}, now)
		if err != nil {
			return err
		}
		if _, _, err := st.CreateAppointment(ctx, a, store.Idempotency{}); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	if err := drain(ctx, st, o.jobs); err != nil {
		return err
	}
	if o.db == "postgres" {
		// Statistics, as autovacuum gives a production database (see benchThroughput).
		if err := vacuumAnalyze(ctx, apiURL); err != nil {
			return err
		}
	}
	q := url.Values{"queue": {queue}, "from": {now.Format(time.RFC3339)}, "to": {now.Add(30 * 24 * time.Hour).Format(time.RFC3339)}, "timeZone": {"Europe/Athens"}}
	availPath := "/api/v1/availability?" + q.Encode()
	// Check the answer once: 30 days of slots, with places left.
	b, err := call(ctx, "GET", availPath, nil, 200, true)
	if err != nil {
		return err
	}
	var got struct{ Slots []struct{ Remaining int } }
	json.Unmarshal(b, &got)
	if len(got.Slots) < 300 {
		return fmt.Errorf("availability gave %d slots for 30 days", len(got.Slots))
	}
	for range 200 { // warm up
		call(ctx, "GET", "/bench/trivial", nil, 200, false)
		call(ctx, "GET", availPath, nil, 200, true)
	}

	n, c, rc := o.requests, o.clients, o.readClients
	// Time per request: one client, nothing else running.
	trivial1, avail1, err := alternate(ctx, n/4,
		measurement{"trivial JSON handler", 1, func(ctx context.Context, i int) error {
			_, err := call(ctx, "GET", "/bench/trivial?id=x", nil, 200, false)
			return err
		}},
		measurement{"GET /api/v1/availability (30 days, 200 agents)", 1, func(ctx context.Context, i int) error {
			_, err := call(ctx, "GET", availPath, nil, 200, true)
			return err
		}}, nil)
	if err != nil {
		return err
	}
	trivialN, availN, err := alternate(ctx, n,
		measurement{"trivial JSON handler", rc, func(ctx context.Context, i int) error {
			_, err := call(ctx, "GET", "/bench/trivial?id=x", nil, 200, false)
			return err
		}},
		measurement{"GET /api/v1/availability (30 days, 200 agents)", rc, func(ctx context.Context, i int) error {
			_, err := call(ctx, "GET", availPath, nil, 200, true)
			return err
		}}, nil)
	if err != nil {
		return err
	}

	// Widget bookings: a queue with room for all, slots spread over the month, one
	// customer each; the challenges are fetched and solved before the clock runs.
	open := sch
	open.QueueName, open.Agents, open.Capacity = "Open Queue", nil, 10000
	if _, err := st.PutSchedule(ctx, "bench", open, 0); err != nil {
		return err
	}
	b, err = call(ctx, "GET", "/api/v1/availability?"+url.Values{"queue": {open.QueueName}, "from": {now.Format(time.RFC3339)},
		"to": {now.Add(30 * 24 * time.Hour).Format(time.RFC3339)}}.Encode(), nil, 200, true)
	if err != nil {
		return err
	}
	var slots struct{ Slots []struct{ Start string } }
	json.Unmarshal(b, &slots)
	bodies := make([][]byte, n)
	for i := range bodies {
		cb, err := call(ctx, "GET", "/api/v1/widget/challenge?org=bench", nil, 200, false)
		if err != nil {
			return err
		}
		var ch struct {
			Challenge  string
			Difficulty int
		}
		json.Unmarshal(cb, &ch)
		bodies[i], _ = json.Marshal(map[string]any{"org": "bench", "queue": open.QueueName, "chatMode": widget.ChatModeQueue,
			"start": slots.Slots[i%len(slots.Slots)].Start, "timeZone": "Europe/Athens", "language": "el", "name": "Maria Papadopoulou",
			"email": fmt.Sprintf("customer-%d@example.com", i), "consent": true, "challenge": ch.Challenge,
			"nonce": widget.Solve(ch.Challenge, ch.Difficulty), "origin": "https://bank.example"})
	}
	farDay := now.Add(40 * 24 * time.Hour).UnixMicro()
	insert, book, err := alternate(ctx, n,
		measurement{"raw insert transaction", c, func(ctx context.Context, i int) error {
			return raw.insert(ctx, fmt.Sprintf("row-%08d", i), fmt.Sprintf("agent-%d", i), farDay, payload(i))
		}},
		measurement{"POST /api/v1/widget/bookings", c, func(ctx context.Context, i int) error {
			_, err := call(ctx, "POST", "/api/v1/widget/bookings", bodies[i], http.StatusCreated, false)
			return err
		}},
		func() error { return drain(ctx, st, o.jobs) })
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "rdvbench -availability: %s, GOMAXPROCS=%d, %s; %d agents, %d appointments, %d slots in 30 days\n\n",
		o.db, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339), agents, appointments, len(got.Slots))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "measurement\tclients\trate/s\tp50 ms\tp99 ms\t")
	for _, r := range []result{trivial1, avail1, trivialN, availN, insert, book} {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.2f\t%.2f\t\n", r.name, r.clients, r.rate(), ms(r.pct(0.50)), ms(r.pct(0.99)))
	}
	tw.Flush()
	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tmeasured\ttarget\tverdict")
	verdict := func(ok bool) string {
		if ok {
			return "pass"
		}
		return "FAIL"
	}
	fmt.Fprintf(tw, "availability p50, one client\t%.2f ms\t< 5 ms\t%s\n", ms(avail1.pct(0.5)), verdict(avail1.pct(0.5) < 5*time.Millisecond))
	fmt.Fprintf(tw, "availability / trivial JSON (%d clients)\t%.3f\t(reported)\t\n", rc, availN.rate()/trivialN.rate())
	fmt.Fprintf(tw, "widget booking / raw insert (%d clients)\t%.2f\t(reported)\t\n", c, book.rate()/insert.rate())
	return tw.Flush()
}
