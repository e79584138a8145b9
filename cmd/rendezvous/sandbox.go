package main

import (
	"context"
	"flag"
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
	fs := &flagSet{FlagSet: flag.NewFlagSet("rendezvous sandbox", flag.ContinueOnError), getenv: getenv, env: map[string]string{}}
	fs.StringVar(&c.sandboxAddr, "addr", "127.0.0.1:8090", "address to serve the Genesys Cloud sandbox on ($RENDEZVOUS_SANDBOX_ADDR)")
	fs.env["addr"] = "RENDEZVOUS_SANDBOX_ADDR"
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error ($RENDEZVOUS_LOG_LEVEL)")
	fs.env["log-level"] = "RENDEZVOUS_LOG_LEVEL"
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json ($RENDEZVOUS_LOG_FORMAT)")
	fs.env["log-format"] = "RENDEZVOUS_LOG_FORMAT"
	if err := fs.parse(args, stdout, stderr); err != nil {
		return err
	}
	addr := &c.sandboxAddr
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	sb := sandbox.New(sandbox.Options{Clock: clock.Real(), Logger: log})
	defer sb.Close()
	var wg sync.WaitGroup
	url, err := wiring.ServeSandbox(ctx, &wg, sb, *addr, log)
	if err != nil {
		return err
	}
	log.Info("Genesys Cloud sandbox listening on " + url)
	wg.Wait()
	return nil
}
