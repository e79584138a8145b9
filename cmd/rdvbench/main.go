// Command rdvbench measures Rendezvous against floors taken in the same run on the same
// machine, and prints each result as a ratio to its floor (see BENCHMARKS.md):
//
//	go run ./cmd/rdvbench                  # API on SQLite, beside raw SQLite and trivial handlers
//	go run ./cmd/rdvbench -db postgres     # the same on PostgreSQL
//	go run ./cmd/rdvbench -startup         # idle memory and time to ready of the real binary
//	go run ./cmd/rdvbench -notify -n 10000 # bookings with notifications on against off
//	go run ./cmd/rdvbench -availability    # free slots of a 200-agent queue, widget bookings
//	go run ./cmd/rdvbench -pacing          # a burst through one Genesys OAuth client from two instances
//
// The service runs in this process, assembled by cmd/internal/wiring as rendezvous serve
// assembles it, on a fresh database, on one HTTP server that also serves the floors: a
// trivial JSON handler, and a raw 20-row indexed range read through database/sql. Clients
// drive it over loopback.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "rdvbench:", err)
		os.Exit(1)
	}
}

type options struct {
	db          string
	postgresURL string
	requests    int
	clients     int
	readClients int
	startup     bool
	avail       bool
	cpuProfile  string
	jobs        bool
	pacing      bool
	pacingN     int
	pacingRPM   int
	notify      bool
	coalesce    int
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("rdvbench", flag.ContinueOnError)
	fs.StringVar(&o.db, "db", "sqlite", "database: sqlite or postgres")
	pg := os.Getenv("RENDEZVOUS_TEST_POSTGRES_URL")
	if pg == "" {
		pg = "postgres://root@127.0.0.1:5432/test?sslmode=disable"
	}
	fs.StringVar(&o.postgresURL, "postgres-url", pg, "PostgreSQL database to use with -db postgres ($RENDEZVOUS_TEST_POSTGRES_URL); a fresh schema is created and dropped")
	fs.IntVar(&o.requests, "n", 4000, "requests per measurement")
	fs.IntVar(&o.clients, "c", 0, "concurrent clients for bookings and inserts (default 64 on SQLite, 16 on PostgreSQL)")
	fs.IntVar(&o.readClients, "rc", 32, "concurrent clients for reads")
	fs.BoolVar(&o.startup, "startup", false, "measure the real binary's time to ready and idle memory instead")
	fs.BoolVar(&o.avail, "availability", false, "measure availability (30 days, 200 agents, 2,000 appointments) and widget bookings instead")
	fs.BoolVar(&o.jobs, "jobs", true, "run the job runner as serve does; -jobs=false measures bookings without it (diagnosis only: its events pile up)")
	fs.BoolVar(&o.notify, "notify", false, "measure bookings with notifications on against off (16 and 64 clients), the message backlog's drain and a slow Genesys instead (BENCHMARKS.md)")
	fs.IntVar(&o.coalesce, "coalesce", 0, "with -notify: the organization's coalescing window in seconds (0: the default, 2 minutes); a longer one has the bookings' events planned before any of their messages is due, however busy the machine")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.BoolVar(&o.pacing, "pacing", false, "measure Genesys pacing instead: a burst through one OAuth client from two instances on one PostgreSQL database, as a fraction of the client's limit")
	fs.IntVar(&o.pacingN, "pacing-n", 2000, "messages in the -pacing burst")
	fs.IntVar(&o.pacingRPM, "pacing-rpm", 1200, "the OAuth client's limit per minute in -pacing (Genesys' default is 300; higher keeps the run short)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if o.startup {
		return benchStartup(ctx, out)
	}
	if o.pacing {
		return benchPacing(ctx, o, out)
	}
	if o.notify {
		return benchNotify(ctx, o, out)
	}
	if o.clients == 0 {
		o.clients = 64
		if o.db == "postgres" {
			o.clients = 16
		}
	}
	if o.avail {
		return benchAvailability(ctx, o, out)
	}
	return benchThroughput(ctx, o, out)
}
