package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"rendezvous/clock"
	"rendezvous/cmd/internal/wiring"
	"rendezvous/linkguard"
	"rendezvous/room"
)

// serve runs the service until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	started := time.Now()
	var c config
	fs := newFlags("serve", getenv, &c)
	if err := fs.parse(args, stdout, stderr); err != nil {
		return err
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	clk := clock.Real()

	st, key, err := c.openStore(ctx, log, clk, false)
	if err != nil {
		return err
	}
	defer st.Close()

	// Listen before building the handler so that -addr :0 works and the public URL
	// defaults to the address actually bound.
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	base := "http://" + ln.Addr().String()
	publicURL := strings.TrimSuffix(c.publicURL, "/")
	if publicURL == "" {
		publicURL = base
	}

	// ctx ends at SIGTERM; what the service runs on (requests, jobs, the sandbox) lives
	// on life, which ends only once the shutdown has finished that work. Cancelling the
	// requests' context at SIGTERM answered in-flight bookings with 500 although some of
	// them had committed.
	life, endLife := context.WithCancel(context.WithoutCancel(ctx))
	defer endLife()
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	var draining atomic.Bool
	instance := c.instanceID
	if instance == "" {
		// The address served on is the host's alone while the process lives, and the
		// same after a restart on a fixed port.
		host, _ := os.Hostname()
		instance = host + "/" + ln.Addr().String()
	}

	ice, err := room.ParseICEServers(c.iceServers)
	if err != nil {
		return fmt.Errorf("-ice-servers: %w", err)
	}
	proxies, err := linkguard.ParseTrustedProxies(c.trustedProxies)
	if err != nil {
		ln.Close()
		return fmt.Errorf("-trusted-proxies: %w", err)
	}
	var opsLn net.Listener
	if c.opsAddr != "" {
		if opsLn, err = net.Listen("tcp", c.opsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen on -ops-addr %s: %w", c.opsAddr, err)
		}
	}
	svc, err := wiring.New(life, &wg, wiring.Options{
		Store: st, Key: key, PreviousKeys: c.prevKeys, Clock: clk, Logger: log, PublicURL: publicURL,
		Genesys:        c.genesys(),
		RateLimit:      rateLimit(c.rateLimit),
		JobWorkers:     c.jobWorkers,
		ICEServers:     ice,
		InstanceURL:    c.instanceURL,
		TrustedProxies: proxies,
		AllowedHosts:   splitList(c.allowedHosts),
		FrameAncestors: strings.Fields(c.frameAncestors),
		SeparateOps:    opsLn != nil,
		Instance:       instance,
		Draining:       draining.Load,

		GenesysRequestsPerMinute: c.genesysRPM,
	})
	if err != nil {
		ln.Close()
		if opsLn != nil {
			opsLn.Close()
		}
		return err
	}
	defer svc.Close()
	if svc.SandboxURL != "" {
		log.Info("no Genesys Cloud organization configured: using the built-in sandbox", "url", svc.SandboxURL)
	}
	srv := &http.Server{
		Handler:           svc.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// No WriteTimeout: the waiting room and the video room hold long-lived
		// connections. Handlers bound their own work with contexts.
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:    func(net.Listener) context.Context { return life },
	}

	jobsCtx, stopJobs := context.WithCancel(life)
	defer stopJobs()
	wg.Go(func() { housekeep(jobsCtx, st, clk, log) })
	// Each organization's retention sweep reschedules itself; this starts any chain a
	// crash or an older version left unstarted (a no-op for one already queued).
	if err := svc.Retention.Schedule(jobsCtx); err != nil {
		log.Warn("schedule data retention", "error", err)
	}
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		if err := svc.Runner.Run(jobsCtx); err != nil {
			errc <- fmt.Errorf("job runner: %w", err)
		}
	}()
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serve HTTP: %w", err)
		}
	})
	var opsSrv *http.Server
	if opsLn != nil {
		opsSrv = &http.Server{Handler: svc.OpsHandler, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		wg.Go(func() {
			if err := opsSrv.Serve(opsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve operations listener: %w", err)
			}
		})
		log.Info("operations listener (metrics, health) on http://" + opsLn.Addr().String())
	}
	if c.keyInData {
		log.Info("the secrets key is the generated secret.key in the data folder: a copy of the folder decrypts the secrets in it; in production set RENDEZVOUS_SECRET_KEY or -secret-key-file outside it", "data", c.data)
	}
	if len(c.prevKeys) > 0 {
		log.Info("previous secrets keys given: run 'rendezvous secrets reseal', then drop them", "previous_keys", len(c.prevKeys))
	}
	log.Info("listening on "+base, "public_url", publicURL, "database", st.Dialect(),
		"startup_ms", time.Since(started).Milliseconds())

	select {
	case <-ctx.Done():
		err = nil
	case err = <-errc:
	}
	log.Info("shutting down")
	// From now on a new request is answered 503 with Retry-After before it starts any
	// work, and /readyz says not ready; requests already running finish.
	draining.Store(true)
	// Waiting pages and video rooms hold hijacked connections that Shutdown does not
	// track: close them first, then let ordinary requests finish.
	svc.CloseSessions()
	shutdownCtx, done := context.WithTimeout(life, 15*time.Second)
	defer done()
	if e := srv.Shutdown(shutdownCtx); e != nil {
		log.Warn("HTTP shutdown", "error", e)
	}
	// Then the jobs: no new ones start; running ones finish and record their outcomes
	// (the runner gives them a grace period); only then do the Genesys clients and the
	// sandbox they talk to go away.
	stopJobs()
	<-jobsDone
	svc.Close()
	endLife()
	// The operations listener goes last, so the orchestrator sees /readyz say "not ready"
	// throughout the drain.
	if opsSrv != nil {
		opsSrv.Shutdown(shutdownCtx)
	}
	wg.Wait()
	log.Info("stopped")
	return err
}

// rateLimit converts the -rate-limit setting: 0 or less means no limit.
func rateLimit(perSecond float64) rate.Limit {
	if perSecond <= 0 {
		return rate.Inf
	}
	return rate.Limit(perSecond)
}

// splitList reads a comma-separated setting, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
