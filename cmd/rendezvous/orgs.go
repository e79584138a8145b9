package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/connections"
	"rendezvous/genesys"
	"rendezvous/store"
)

// orgUsage lists the org subcommands.
const orgUsage = `usage:
  rendezvous org create -name NAME [-id ID] (-genesys-region REGION | -genesys-api-url URL -genesys-login-url URL -genesys-webmessaging-url URL) [-genesys-org-id ID]
  rendezvous org list
  rendezvous org update -id ID [-name NAME] [-genesys-region REGION] [-genesys-*-url URL] [-genesys-org-id ID]
  rendezvous org connect -id ID [-api-client-id ID] [-signin-client-id ID] [-check=false]
      secrets from $RENDEZVOUS_ORG_API_CLIENT_SECRET and $RENDEZVOUS_ORG_SIGNIN_CLIENT_SECRET,
      or -api-client-secret-file FILE / -signin-client-secret-file FILE (- or /dev/stdin for standard input)`

// orgCmd runs "rendezvous org ...": the operator creates organizations and connects each
// to its own Genesys Cloud. Secrets are taken from the environment or a file (standard
// input included), never from a flag, and never printed.
func orgCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(orgUsage)
	}
	sub := args[0]
	var c config
	fs := newFlagSet("org "+sub, getenv)
	storageFlags(fs, &c)
	var id, name, region, apiURL, loginURL, wmURL, genesysOrgID, apiClient, signInClient, apiSecretFile, signInSecretFile string
	check := true
	given := map[string]bool{}
	connectionFlags := func() {
		fs.StringVar(&region, "genesys-region", "", "Genesys Cloud region (eu-west-1) or domain (mypurecloud.ie): "+strings.Join(genesys.Regions(), ", "))
		fs.StringVar(&apiURL, "genesys-api-url", "", "override the platform API base URL (https://api.<domain>)")
		fs.StringVar(&loginURL, "genesys-login-url", "", "override the login base URL (https://login.<domain>)")
		fs.StringVar(&wmURL, "genesys-webmessaging-url", "", "override the web messaging WebSocket URL (wss://webmessaging.<domain>/v1)")
		fs.StringVar(&genesysOrgID, "genesys-org-id", "", "the Genesys Cloud organization id (Admin > Organization Settings > Organization Details), by which staff sign-in recognises the organization")
	}
	switch sub {
	case "create":
		fs.StringVar(&id, "id", "", "organization id: lower-case letters, digits and hyphens (default: from the name)")
		fs.StringVar(&name, "name", "", "the organization's name, as customers see it (required)")
		connectionFlags()
	case "list":
	case "update":
		fs.StringVar(&id, "id", "", "organization id, as org list shows it (required)")
		fs.StringVar(&name, "name", "", "new name")
		connectionFlags()
	case "connect":
		fs.StringVar(&id, "id", "", "organization id, as org list shows it (required)")
		fs.StringVar(&apiClient, "api-client-id", "", "OAuth client id (client credentials) for queue and user lookups and callbacks")
		fs.StringVar(&apiSecretFile, "api-client-secret-file", "", "read the API client's secret from this file (- for standard input) instead of $RENDEZVOUS_ORG_API_CLIENT_SECRET")
		fs.StringVar(&signInClient, "signin-client-id", "", "OAuth client id (authorization code with PKCE) that staff sign in with")
		fs.StringVar(&signInSecretFile, "signin-client-secret-file", "", "read the sign-in client's secret from this file (- for standard input) instead of $RENDEZVOUS_ORG_SIGNIN_CLIENT_SECRET; none for a public PKCE client")
		fs.BoolVar(&check, "check", true, "check the API client with Genesys Cloud (a token, and the queue and user permissions) before saving")
	default:
		return errors.New(orgUsage)
	}
	if err := fs.parse(args[1:], stdout, stderr); err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	st, _, err := c.openStore(ctx, log, clock.Real(), false)
	if err != nil {
		return err
	}
	defer st.Close()

	switch sub {
	case "list":
		orgs, err := st.Orgs(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tGENESYS\tGENESYS ORG ID\tAPI CLIENT\tSIGN-IN CLIENT\tCREATED")
		for _, o := range orgs {
			g := o.Genesys
			where := g.Region
			if where == "" {
				where = g.APIURL
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.ID, o.Name, dash(where), dash(g.OrgID),
				dash(strings.TrimSpace(g.APIClientID+" "+g.APIClientSecretHint)), dash(strings.TrimSpace(g.SignInClientID+" "+g.SignInClientSecretHint)),
				o.CreatedAt.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	case "create":
		if id == "" {
			id = slug(name)
		}
		o := rendezvous.Org{ID: id, Name: name, Genesys: rendezvous.GenesysConnection{Region: region, APIURL: apiURL,
			LoginURL: loginURL, WebMessagingURL: wmURL, OrgID: genesysOrgID}}
		if err := rendezvous.ValidateOrg(&o); err != nil {
			return flagError(err)
		}
		if o.Genesys.Configured() {
			if _, err := connections.EndpointsOf(o.Genesys); err != nil {
				return flagError(err)
			}
		}
		o, err := st.CreateOrg(ctx, o)
		if err != nil {
			return flagError(err)
		}
		fmt.Fprintf(stdout, "Created organization %s (%s).\n", o.ID, o.Name)
		if !o.Genesys.Configured() {
			fmt.Fprintln(stdout, "It has no Genesys Cloud region yet: set one with rendezvous org update -id "+o.ID+" -genesys-region REGION.")
		}
		fmt.Fprintln(stdout, "Next: rendezvous org connect -id "+o.ID+" -api-client-id ID -signin-client-id ID (secrets from the environment or a file), then rendezvous apikey create -org "+o.ID+" -name NAME.")
		return nil
	}

	if id == "" {
		return fmt.Errorf("org %s: -id is required (org list shows the ids)", sub)
	}
	cur, err := st.Org(ctx, id)
	if err != nil {
		return fmt.Errorf("organization %q: %w", id, err)
	}
	var u store.OrgUpdate
	opt := func(flagName string, v string) *string {
		if given[flagName] {
			return &v
		}
		return nil
	}
	switch sub {
	case "update":
		u = store.OrgUpdate{Name: opt("name", name), Region: opt("genesys-region", region), APIURL: opt("genesys-api-url", apiURL),
			LoginURL: opt("genesys-login-url", loginURL), WebMessagingURL: opt("genesys-webmessaging-url", wmURL),
			GenesysOrgID: opt("genesys-org-id", genesysOrgID)}
		next := cur.Genesys
		for _, f := range []struct {
			dst *string
			v   *string
		}{{&next.Region, u.Region}, {&next.APIURL, u.APIURL}, {&next.LoginURL, u.LoginURL}, {&next.WebMessagingURL, u.WebMessagingURL}} {
			if f.v != nil {
				*f.dst = *f.v
			}
		}
		if next.Configured() {
			if _, err := connections.EndpointsOf(next); err != nil {
				return flagError(err)
			}
		}
	case "connect":
		u.APIClientID, u.SignInClientID = opt("api-client-id", apiClient), opt("signin-client-id", signInClient)
		if u.APIClientSecret, err = secretFrom(apiSecretFile, getenv("RENDEZVOUS_ORG_API_CLIENT_SECRET")); err != nil {
			return fmt.Errorf("API client secret: %w", err)
		}
		if u.SignInClientSecret, err = secretFrom(signInSecretFile, getenv("RENDEZVOUS_ORG_SIGNIN_CLIENT_SECRET")); err != nil {
			return fmt.Errorf("sign-in client secret: %w", err)
		}
		if u == (store.OrgUpdate{}) {
			return errors.New("org connect: give -api-client-id and its secret, or -signin-client-id, or both")
		}
		if u.APIClientID != nil && *u.APIClientID != "" && u.APIClientSecret == nil && cur.Genesys.APIClientSecretHint == "" {
			return errors.New("org connect: the API client needs its secret: set $RENDEZVOUS_ORG_API_CLIENT_SECRET or give -api-client-secret-file")
		}
		if check && (u.APIClientID != nil || u.APIClientSecret != nil) {
			if err := checkAPIClient(ctx, st, cur, u, stdout); err != nil {
				return err
			}
		}
	}
	o, err := st.UpdateOrg(ctx, id, u)
	if err != nil {
		return flagError(err)
	}
	g := o.Genesys
	fmt.Fprintf(stdout, "Updated organization %s (%s): Genesys %s, organization id %s, API client %s, sign-in client %s.\n",
		o.ID, o.Name, dash(g.Region+g.APIURL), dash(g.OrgID), dash(strings.TrimSpace(g.APIClientID+" "+g.APIClientSecretHint)),
		dash(strings.TrimSpace(g.SignInClientID+" "+g.SignInClientSecretHint)))
	fmt.Fprintln(stdout, "Running instances use the new connection within 5 seconds.")
	return nil
}

// checkAPIClient fetches a token with the API client about to be saved and reports the
// permissions it lacks, so that a wrong id or secret is found now rather than at the
// first booking.
func checkAPIClient(ctx context.Context, st *store.Store, cur rendezvous.Org, u store.OrgUpdate, stdout io.Writer) error {
	if !cur.Genesys.Configured() {
		return errors.New("org connect: set the organization's Genesys Cloud region first (org update -genesys-region), or pass -check=false")
	}
	ep, err := connections.EndpointsOf(cur.Genesys)
	if err != nil {
		return flagError(err)
	}
	id := cur.Genesys.APIClientID
	if u.APIClientID != nil {
		id = *u.APIClientID
	}
	var sec string
	if u.APIClientSecret != nil {
		sec = *u.APIClientSecret
	} else {
		s, err := st.OrgSecrets(ctx, cur.ID)
		if err != nil {
			return err
		}
		sec = s.APIClientSecret
	}
	if id == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	gc := genesys.New(genesys.Config{Endpoints: ep, ClientID: id, ClientSecret: sec, MaxAttempts: 2})
	res, err := gc.CheckCredentials(ctx, genesys.CapabilityQueues, genesys.CapabilityUsers)
	var oe *genesys.OAuthError
	switch {
	case errors.As(err, &oe):
		return fmt.Errorf("Genesys Cloud refused the API client id and secret (%s): check the client exists with the Client Credentials grant and the secret was copied whole; nothing was saved", strings.TrimSpace(oe.Code+" "+oe.Description))
	case err != nil:
		return fmt.Errorf("could not reach Genesys Cloud to check the API client (%v); nothing was saved (pass -check=false to save without the check)", err)
	}
	if len(res.Missing) > 0 {
		missing := make([]string, len(res.Missing))
		for i, m := range res.Missing {
			missing[i] = string(m)
		}
		fmt.Fprintf(stdout, "Warning: the API client lacks %s; give its role these permissions in Genesys Cloud (queue checks and agent names need them).\n", strings.Join(missing, ", "))
	} else {
		fmt.Fprintln(stdout, "Genesys Cloud accepted the API client; it can look queues and users up.")
	}
	return nil
}

// secretFrom reads a secret from file ("-" is standard input) or, without a file, takes
// env; nil means neither was given. Only the first line counts, without its line end.
func secretFrom(file, env string) (*string, error) {
	if file == "" {
		if env == "" {
			return nil, nil
		}
		return &env, nil
	}
	if file == "-" {
		file = "/dev/stdin"
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	s, _, _ := strings.Cut(string(b), "\n")
	s = strings.TrimSuffix(s, "\r")
	return &s, nil
}

// flagError words a validation error in terms of the command's flags.
func flagError(err error) error {
	var ve *rendezvous.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	names := map[string]string{"id": "-id", "name": "-name", "genesys.region": "-genesys-region", "genesys.apiUrl": "-genesys-api-url",
		"genesys.loginUrl": "-genesys-login-url", "genesys.webMessagingUrl": "-genesys-webmessaging-url", "genesys.orgId": "-genesys-org-id",
		"genesys.apiClientId": "-api-client-id", "genesys.signInClientId": "-signin-client-id",
		"genesys.apiClientSecret": "the API client secret", "genesys.signInClientSecret": "the sign-in client secret"}
	parts := make([]string, len(ve.Problems))
	for i, p := range ve.Problems {
		n := names[p.Field]
		if n == "" {
			n = p.Field
		}
		parts[i] = n + ": " + p.Message
	}
	return errors.New(strings.Join(parts, "; "))
}

// slug makes an organization id from a name: lower-case letters and digits, other runs
// as one hyphen.
func slug(name string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			hyphen = false
		} else if b.Len() > 0 && !hyphen {
			b.WriteByte('-')
			hyphen = true
		}
	}
	s := strings.TrimSuffix(b.String(), "-")
	if len(s) > 63 {
		s = strings.TrimSuffix(s[:63], "-")
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// storageFlags registers the settings a command needs to open the database.
func storageFlags(fs *flagSet, c *config) {
	fs.stringVar(&c.data, "data", "RENDEZVOUS_DATA", "./rendezvous-data", "data folder: SQLite database and generated secret key")
	fs.stringVar(&c.databaseURL, "database-url", "RENDEZVOUS_DATABASE_URL", "", "database: sqlite:///path/file.db or postgres://user@host/db (default sqlite in the data folder)")
	fs.stringVar(&c.secretKey, "secret-key", "RENDEZVOUS_SECRET_KEY", "", "base64 32-byte key that encrypts secrets at rest (default: the key file in the data folder)")
	keyFlags(fs, c)
	fs.stringVar(&c.logLevel, "log-level", "RENDEZVOUS_LOG_LEVEL", "info", "log level: debug, info, warn or error")
	fs.stringVar(&c.logFormat, "log-format", "RENDEZVOUS_LOG_FORMAT", "text", "log format: text or json")
}
