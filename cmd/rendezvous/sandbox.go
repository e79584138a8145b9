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
	var c config
	fs := newFlags("sandbox", getenv, &c)
	addr := fs.String("addr", "", "address to serve the sandbox on (default: -sandbox-addr)")
	if err := fs.parse(args, stdout, stderr); err != nil {
		return err
	}
	if *addr == "" {
		*addr = c.sandboxAddr
	}
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
