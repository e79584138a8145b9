package main

import (
	"context"
	"io"
	"sync"

	"rendezvous/clock"
	"rendezvous/cmd/internal/wiring"
	"rendezvous/genesys/sandbox"
)

// sandboxCmd runs only the built-in Genesys Cloud sandbox, for trying the Genesys side on
// its own or pointing another Rendezvous at it with -genesys-api-url and friends.
func sandboxCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	// Its own small flag set: serve's -addr is the service's address, here it is the
	// sandbox's, with the same default and environment variable as serve's -sandbox-addr.
	var c config
	fs := newFlagSet("sandbox", getenv)
	fs.stringVar(&c.sandboxAddr, "addr", "RENDEZVOUS_SANDBOX_ADDR", "127.0.0.1:8090", "address to serve the Genesys Cloud sandbox on")
	fs.stringVar(&c.logLevel, "log-level", "RENDEZVOUS_LOG_LEVEL", "info", "log level: debug, info, warn or error")
	fs.stringVar(&c.logFormat, "log-format", "RENDEZVOUS_LOG_FORMAT", "text", "log format: text or json")
	if err := fs.parse(args, stdout, stderr); err != nil {
		return err
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	sb := sandbox.New(sandbox.Options{Clock: clock.Real(), Logger: log})
	defer sb.Close()
	var wg sync.WaitGroup
	url, err := wiring.ServeSandbox(ctx, &wg, sb, c.sandboxAddr, log)
	if err != nil {
		return err
	}
	log.Info("Genesys Cloud sandbox listening on " + url)
	wg.Wait()
	return nil
}
