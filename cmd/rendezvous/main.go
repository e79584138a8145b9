// Command rendezvous runs the Rendezvous service: the REST API, the customer pages, the
// video room and the background jobs, in one process.
//
//	rendezvous [serve]                      serve HTTP (the default)
//	rendezvous migrate                      apply database migrations and exit
//	rendezvous apikey create -name NAME     create an API key; prints it on the last line
//	rendezvous apikey list | revoke -id ID  list the API keys, or revoke one
//	rendezvous org create|list|update|connect  organizations and their Genesys Cloud
//	rendezvous sandbox                      run only the Genesys Cloud sandbox
//	rendezvous secrets generate|reseal      a new secrets key; re-seal under the current key
//
// With no configuration it serves on 127.0.0.1:8080 with an embedded SQLite database in
// ./rendezvous-data/ and the built-in Genesys Cloud sandbox. Run "rendezvous -h" for
// every setting. Flags and environment variables are read here and nowhere else.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "rendezvous:", err)
		os.Exit(1)
	}
}

// run is the whole program, callable from tests: args without the program name, getenv
// for the environment, and the two output streams. It returns when ctx ends (serve) or
// the subcommand is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, getenv, stdout, stderr)
	case "migrate":
		err = migrate(ctx, args, getenv, stdout, stderr)
	case "apikey":
		err = apikey(ctx, args, getenv, stdout, stderr)
	case "sandbox":
		err = sandboxCmd(ctx, args, getenv, stdout, stderr)
	case "org":
		err = orgCmd(ctx, args, getenv, stdout, stderr)
	case "secrets":
		err = secretsCmd(ctx, args, getenv, stdout, stderr)
	case "help":
		usage(stdout, newFlags("serve", getenv, &config{}).FlagSet)
		return nil
	default:
		return fmt.Errorf("unknown command %q; run rendezvous -h for the commands", cmd)
	}
	if errors.Is(err, flag.ErrHelp) {
		return nil // the flag set printed the help
	}
	return err
}

// usage prints the top-level help: the commands, then every setting of serve.
func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `Rendezvous schedules video appointments for contact centers on Genesys Cloud.

Usage:
  rendezvous [serve] [flags]        serve HTTP (the default command)
  rendezvous migrate [flags]        apply database migrations and exit
  rendezvous apikey create -name NAME [-org ORG] [-scopes a,b] [flags]
                                    create an API key; the key alone is the last line of output
  rendezvous apikey list [-org ORG] [flags]
                                    list the organization's API keys (never their secrets)
  rendezvous apikey revoke -id ID [-org ORG] [flags]
                                    revoke an API key
  rendezvous org create -name NAME -genesys-region REGION [-genesys-org-id ID] [flags]
                                    create an organization with its Genesys Cloud region
  rendezvous org list | update -id ID ... | connect -id ID ... [flags]
                                    list organizations, change one, or set its Genesys
                                    Cloud API and sign-in clients (rendezvous org for help)
  rendezvous sandbox [-addr ADDR]   run only the built-in Genesys Cloud sandbox
  rendezvous secrets generate       print a new random secrets key (base64)
  rendezvous secrets reseal [flags] seal every stored secret again under the current key,
                                    opening each with -previous-secret-keys (key rotation)

With no settings, serve listens on 127.0.0.1:8080, keeps an embedded SQLite database in
./rendezvous-data/ and, as no Genesys Cloud organization is configured, starts the Genesys
Cloud sandbox on 127.0.0.1:8090. Every flag can also be set by the environment variable
shown; a flag given on the command line wins over the environment.

Settings:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
}
