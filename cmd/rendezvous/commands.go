package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

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
	const usage = "usage: rendezvous apikey create -name NAME [-org ORG] [-scopes a,b] | list [-org ORG] | revoke -id ID [-org ORG]"
	if len(args) == 0 {
		return errors.New(usage)
	}
	var c config
	fs := newFlags("apikey "+args[0], getenv, &c)
	org := fs.String("org", "demo", "organization id the keys belong to")
	var name, scopes, id *string
	switch args[0] {
	case "create":
		name = fs.String("name", "", "name of the key, to recognise it later (required)")
		scopes = fs.String("scopes", rendezvous.ScopeAppointmentsRead+","+rendezvous.ScopeAppointmentsWrite,
			"comma-separated scopes: "+strings.Join(rendezvous.AllScopes(), ", "))
	case "list":
	case "revoke":
		id = fs.String("id", "", "id of the key to revoke, as apikey list shows it (required)")
	default:
		return errors.New(usage)
	}
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
	switch args[0] {
	case "list":
		keys, err := st.APIKeys(ctx, *org)
		if err != nil {
			return fmt.Errorf("list API keys: %w", err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Name, strings.Join(k.Scopes, ","), k.CreatedAt.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	case "revoke":
		if *id == "" {
			return errors.New("apikey revoke: -id is required (apikey list shows the ids)")
		}
		if err := st.RevokeAPIKey(ctx, *org, *id); err != nil {
			return fmt.Errorf("revoke API key: %w", err)
		}
		fmt.Fprintf(stdout, "Revoked API key %s in organization %s; running instances refuse it within 10 seconds.\n", *id, *org)
		return nil
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
