// Command notifybench measures how fast Rendezvous sends a burst of reminders that fall
// due at the same moment, against the Genesys Cloud sandbox with a configured rate limit.
//
//	go run ./notify/notifybench -n 10000 -rpm 6000
//
// It books n appointments on a fresh SQLite (or -database-url) store, lets the job runner
// process their events, then queues one SMS reminder per appointment, all due now, and
// runs the real notification service and job runner until every reminder is sent. The
// sandbox enforces rpm requests per minute per OAuth token and the notification service is
// given the same limit (Options.RequestsPerMinute), which it paces its sends under. It prints the achieved send rate as a fraction of the
// limit, the 429 answers received, and how late the last reminder went out.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"rendezvous"
	"rendezvous/genesys"
	"rendezvous/genesys/sandbox"
	"rendezvous/jobs"
	"rendezvous/notify"
	"rendezvous/secret"
	"rendezvous/store"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "notifybench:", err)
		os.Exit(1)
	}
}

// counting counts the 429 answers the Genesys client receives.
type counting struct {
	next    http.RoundTripper
	tooMany atomic.Int64
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		c.tooMany.Add(1)
	}
	return resp, err
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("notifybench", flag.ContinueOnError)
	n := fs.Int("n", 10000, "reminders due at once")
	rpm := fs.Int("rpm", 6000, "Genesys rate limit per OAuth client (requests per minute), in the sandbox and the client")
	workers := fs.Int("workers", 32, "job runner workers")
	dbURL := fs.String("database-url", "", "store URL (default: SQLite in a temporary folder)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dbURL == "" {
		dir, err := os.MkdirTemp("", "notifybench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*dbURL = "sqlite://" + filepath.Join(dir, "bench.db")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	sb := sandbox.New(sandbox.Options{RequestsPerMinute: *rpm})
	gsrv := httptest.NewServer(sb.Handler())
	defer gsrv.Close()
	demo := sb.Demo()

	key, err := secret.NewKey()
	if err != nil {
		return err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, *dbURL, store.Options{Secrets: box, Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	org := "bench"
	if err := st.EnsureOrg(ctx, rendezvous.Org{ID: org, Name: "Bench Bank"}); err != nil {
		return err
	}
	rt := &counting{next: http.DefaultTransport}
	svc, err := notify.New(notify.Options{Store: st, Logger: log, PublicURL: "https://meet.example.com",
		Endpoints: notify.FixedEndpoints(genesys.Endpoints{API: gsrv.URL, Login: gsrv.URL}), RequestsPerMinute: *rpm,
		HTTPClient: &http.Client{Transport: rt, Timeout: 30 * time.Second}})
	if err != nil {
		return err
	}
	if err := svc.SeedDemo(ctx, org, demo); err != nil {
		return err
	}

	// Book the appointments: one agent each, all starting in an hour.
	fmt.Fprintf(out, "booking %d appointments...\n", *n)
	start := time.Now().Add(time.Hour).Truncate(time.Minute)
	ids := make([]string, 0, *n)
	for i := range *n {
		a, err := rendezvous.NewAppointment(org, rendezvous.AppointmentInput{Start: start, DurationMinutes: 30,
			TimeZone: "Europe/Berlin", AgentUserID: fmt.Sprintf("agent-%05d", i),
			Customers: []rendezvous.Customer{{Name: fmt.Sprintf("Customer %d", i), Phone: fmt.Sprintf("+49151%08d", i), Language: "de"}}}, time.Now())
		if err != nil {
			return err
		}
		a.NotificationsEnabled = true
		saved, _, err := st.CreateAppointment(ctx, a, store.Idempotency{})
		if err != nil {
			return err
		}
		ids = append(ids, saved.ID)
	}
	runner := jobs.NewRunner(st, jobs.RunnerOptions{Logger: log, Workers: *workers})
	// The booking events are not what is measured: let them pass.
	runner.Handle(store.EventJobKind, func(context.Context, *store.Job) error { return nil })
	svc.Register(runner)
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runner.Run(rctx) }()
	defer func() { stop(); <-done }()
	if err := waitIdle(ctx, st); err != nil {
		return err
	}

	// Queue every reminder, due now, in one transaction.
	due := time.Now()
	err = st.InTx(ctx, func(tx *store.Tx) error {
		p := notify.Planned{Kind: notify.KindReminder, Event: notify.EventReminder, Channel: notify.ChannelSMS, OffsetMinutes: 60, Version: 1, Due: due}
		for i, id := range ids {
			d := &store.NotifyDelivery{ID: uuid.NewString(), OrgID: org, AppointmentID: id,
				DedupeKey: p.Key(id), Kind: p.Kind, Event: string(p.Event), Channel: string(p.Channel),
				OffsetMinutes: p.OffsetMinutes, Version: p.Version, DueAt: p.Due, Outcome: notify.OutcomeScheduled}
			if _, err := tx.InsertNotifyDelivery(ctx, d); err != nil {
				return err
			}
			if err := tx.Enqueue(ctx, store.Job{OrgID: org, Kind: notify.SendJobKind, Args: map[string]string{"deliveryId": d.ID},
				RunAt: due, UniqueKey: d.DedupeKey}); err != nil {
				return fmt.Errorf("reminder %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "queued %d reminders due at once; sending with a limit of %d/min...\n", *n, *rpm)
	if err := waitIdle(ctx, st); err != nil {
		return err
	}

	var sent []time.Time
	outcomes := map[string]int{}
	var lastLate time.Duration
	for _, id := range ids {
		ds, err := st.NotifyDeliveries(ctx, org, id)
		if err != nil {
			return err
		}
		for _, d := range ds {
			outcomes[d.Outcome]++
			if d.Outcome == notify.OutcomeSent {
				sent = append(sent, d.SentAt)
				lastLate = max(lastLate, d.SentAt.Sub(d.DueAt))
			}
		}
	}
	if len(sent) == 0 {
		return errors.New("nothing was sent")
	}
	sort.Slice(sent, func(i, j int) bool { return sent[i].Before(sent[j]) })
	span := sent[len(sent)-1].Sub(due)
	rate := float64(len(sent)) / span.Minutes()
	// The limit allows rpm in any minute; over a run of m minutes that is at most
	// rpm×m messages, so the fair comparison is the achieved per-minute rate.
	// The busiest minute proves the pace never exceeded the limit.
	busiest := 0
	for i, j := 0, 0; j < len(sent); j++ {
		for sent[j].Sub(sent[i]) >= time.Minute {
			i++
		}
		busiest = max(busiest, j-i+1)
	}
	var parts []string
	for _, k := range []string{notify.OutcomeSent, notify.OutcomeFailed, notify.OutcomeSkipped, notify.OutcomeUnknown, notify.OutcomeRetrying} {
		if outcomes[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", outcomes[k], k))
		}
	}
	fmt.Fprintf(out, "\n| reminders due at once | limit (/min) | outcomes | all sent after | achieved (/min) | of limit | busiest 60 s | 429s received | last one late by |\n")
	fmt.Fprintf(out, "|---:|---:|---|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(out, "| %d | %d | %s | %s | %.0f | %.1f%% | %d | %d | %s |\n", *n, *rpm, strings.Join(parts, ", "),
		span.Round(100*time.Millisecond), rate, 100*rate/float64(*rpm), busiest, rt.tooMany.Load(), lastLate.Round(100*time.Millisecond))
	if len(sb.Outbox()) != len(sent) {
		return fmt.Errorf("sandbox accepted %d messages, the delivery log says %d", len(sb.Outbox()), len(sent))
	}
	return nil
}

// waitIdle waits until no job is due or running.
func waitIdle(ctx context.Context, st *store.Store) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		n, err := st.JobQueueDepth(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
