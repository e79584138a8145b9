package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"rendezvous"
	"rendezvous/clock"
)

// migrate applies pending database migrations and exits.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	fs := newFlags("migrate", getenv, &c)
	if err := fs.parse(args, stdout, stderr); err != nil {
		return err
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	st, _, err := c.openStore(ctx, log, clock.Real(), true)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	if err := ensureDemoOrg(ctx, st); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database migrated (%s)\n", st.Dialect())
	return nil
}

// apikey runs "apikey create": it creates an API key and prints it alone on the last
// line of standard output, so scripts can take it with tail -n 1.
func apikey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: rendezvous apikey create -name NAME [-org ORG] [-scopes a,b]")
	}
	var c config
	fs := newFlags("apikey create", getenv, &c)
	name := fs.String("name", "", "name of the key, to recognise it later (required)")
	org := fs.String("org", "demo", "organization id the key belongs to")
	scopes := fs.String("scopes", rendezvous.ScopeAppointmentsRead+","+rendezvous.ScopeAppointmentsWrite,
		"comma-separated scopes: "+strings.Join(rendezvous.AllScopes(), ", "))
	if err := fs.parse(args[1:], stdout, stderr); err != nil {
		return err
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	st, _, err := c.openStore(ctx, log, clock.Real(), false)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Org(ctx, *org); err != nil {
		return fmt.Errorf("organization %q: %w", *org, err)
	}
	var list []string
	for _, s := range strings.Split(*scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	key, secret, err := st.CreateAPIKey(ctx, *org, *name, list)
	if err != nil {
		return fmt.Errorf("create API key: %w", err)
	}
	fmt.Fprintf(stdout, "Created API key %q (id %s) in organization %s with scopes %s.\n",
		key.Name, key.ID, key.OrgID, strings.Join(key.Scopes, ","))
	fmt.Fprintln(stdout, "Store it now: it is not shown again. Send it as: Authorization: Bearer <key>")
	fmt.Fprintln(stdout, secret)
	return nil
}
