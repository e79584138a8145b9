package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"rendezvous/clock"
	"rendezvous/cmd/internal/wiring"
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

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 4)

	ice, err := room.ParseICEServers(c.iceServers)
	if err != nil {
		return fmt.Errorf("-ice-servers: %w", err)
	}
	svc, err := wiring.New(ctx, &wg, wiring.Options{
		Store: st, Key: key, Clock: clk, Logger: log, PublicURL: publicURL,
		Genesys:     c.genesys(),
		RateLimit:   rateLimit(c.rateLimit),
		JobWorkers:  c.jobWorkers,
		ICEServers:  ice,
		InstanceURL: c.instanceURL,

		GenesysRequestsPerMinute: c.genesysRPM,
	})
	if err != nil {
		ln.Close()
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
		BaseContext:    func(net.Listener) context.Context { return ctx },
	}

	wg.Go(func() { housekeep(ctx, st, clk, log) })
	// Each organization's retention sweep reschedules itself; this starts any chain a
	// crash or an older version left unstarted (a no-op for one already queued).
	if err := svc.Retention.Schedule(ctx); err != nil {
		log.Warn("schedule data retention", "error", err)
	}
	wg.Go(func() {
		if err := svc.Runner.Run(ctx); err != nil {
			errc <- fmt.Errorf("job runner: %w", err)
		}
	})
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serve HTTP: %w", err)
		}
	})
	log.Info("listening on "+base, "public_url", publicURL, "database", st.Dialect(),
		"startup_ms", time.Since(started).Milliseconds())

	select {
	case <-ctx.Done():
		err = nil
	case err = <-errc:
	}
	log.Info("shutting down")
	// Waiting pages and video rooms hold hijacked connections that Shutdown does not
	// track: close them first, then let ordinary requests finish.
	svc.Close()
	shutdownCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer done()
	if e := srv.Shutdown(shutdownCtx); e != nil {
		log.Warn("HTTP shutdown", "error", e)
	}
	cancel()
	wg.Wait()
	return err
}

// rateLimit converts the -rate-limit setting: 0 or less means no limit.
func rateLimit(perSecond float64) rate.Limit {
	if perSecond <= 0 {
		return rate.Inf
	}
	return rate.Limit(perSecond)
}
