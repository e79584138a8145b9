package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/cmd/internal/wiring"
	"rendezvous/secret"
	"rendezvous/store"
)

// config is every setting of the service. Each has a flag and an environment variable;
// see newFlags.
type config struct {
	addr        string
	data        string
	databaseURL string
	publicURL   string
	secretKey   string
	// secretKeyFile and previousKeys: see newFlags; prevKeys are the previous keys parsed
	// by secrets().
	secretKeyFile string
	previousKeys  string
	prevKeys      [][]byte
	keyInData     bool // the key is the generated file in the data folder
	logLevel      string
	logFormat     string
	rateLimit     float64
	jobWorkers    int
	iceServers    string
	instanceURL   string
	instanceID    string

	trustedProxies string
	allowedHosts   string
	frameAncestors string
	opsAddr        string

	sandboxAddr string

	genesysRegion       string
	genesysAPIURL       string
	genesysLoginURL     string
	genesysWebMsgURL    string
	genesysClientID     string
	genesysClientSecret string

	staffSupervisorRole string
	staffAdminRole      string
	staffRecheck        time.Duration
	genesysOrgID        string
	genesysSignInID     string
	genesysSignInSecret string
	genesysRPM          int
}

// flagSet is a command's flags, each backed by an environment variable.
type flagSet struct {
	*flag.FlagSet
	getenv func(string) string
	env    map[string]string // flag name → environment variable
}

// newFlagSet returns an empty flag set for the command name.
func newFlagSet(name string, getenv func(string) string) *flagSet {
	return &flagSet{FlagSet: flag.NewFlagSet("rendezvous "+name, flag.ContinueOnError), getenv: getenv, env: map[string]string{}}
}

// stringVar registers a string flag backed by the environment variable env.
func (fs *flagSet) stringVar(p *string, name, env, def, help string) {
	fs.StringVar(p, name, def, help+" ($"+env+")")
	fs.env[name] = env
}

// newFlags returns the flag set of a command with every setting registered on c.
func newFlags(name string, getenv func(string) string, c *config) *flagSet {
	fs := newFlagSet(name, getenv)
	str := fs.stringVar
	str(&c.addr, "addr", "RENDEZVOUS_ADDR", "127.0.0.1:8080", "address to serve HTTP on")
	str(&c.data, "data", "RENDEZVOUS_DATA", "./rendezvous-data", "data folder: SQLite database and generated secret key")
	str(&c.databaseURL, "database-url", "RENDEZVOUS_DATABASE_URL", "", "database: sqlite:///path/file.db or postgres://user@host/db (default sqlite in the data folder)")
	str(&c.publicURL, "public-url", "RENDEZVOUS_PUBLIC_URL", "", "base URL customers reach the service on, for their links (default http://<addr>)")
	str(&c.secretKey, "secret-key", "RENDEZVOUS_SECRET_KEY", "", "base64 32-byte key that encrypts secrets at rest (default: a key file generated in the data folder); prefer the environment variable over the flag")
	keyFlags(fs, c)
	str(&c.logLevel, "log-level", "RENDEZVOUS_LOG_LEVEL", "info", "log level: debug, info, warn or error")
	str(&c.logFormat, "log-format", "RENDEZVOUS_LOG_FORMAT", "text", "log format: text or json")
	fs.Float64Var(&c.rateLimit, "rate-limit", 20, "API requests per second allowed per API key, bursts of twice that; 0 for no limit ($RENDEZVOUS_RATE_LIMIT)")
	fs.env["rate-limit"] = "RENDEZVOUS_RATE_LIMIT"
	fs.IntVar(&c.jobWorkers, "job-workers", 4, "background jobs run at once by this process ($RENDEZVOUS_JOB_WORKERS)")
	fs.env["job-workers"] = "RENDEZVOUS_JOB_WORKERS"
	str(&c.iceServers, "ice-servers", "RENDEZVOUS_ICE_SERVERS", "", "default STUN/TURN servers for the video room: a comma-separated list of URLs, or a JSON array like [{\"urls\":[\"turn:turn.example.com:3478\"],\"secret\":\"<the TURN server's static-auth-secret>\"}] (each room then gets its own short-lived credential; {\"username\",\"credential\"} instead are shown to every browser)")
	str(&c.instanceURL, "instance-url", "RENDEZVOUS_INSTANCE_URL", "", "this instance's base URL as other instances reach it, so that several instances can share video rooms (empty: both sides of a call must reach the same instance)")
	str(&c.trustedProxies, "trusted-proxies", "RENDEZVOUS_TRUSTED_PROXIES", "", "comma-separated addresses and CIDR prefixes of the reverse proxies in front of the service, whose Forwarded / X-Forwarded-For headers name the client (empty: trust no such header)")
	str(&c.allowedHosts, "allowed-hosts", "RENDEZVOUS_ALLOWED_HOSTS", "", "comma-separated host names the service answers to besides those of -public-url and -instance-url (IP addresses are always answered); other names get 421, against DNS rebinding")
	str(&c.frameAncestors, "frame-ancestors", "RENDEZVOUS_FRAME_ANCESTORS", "", "space-separated origins allowed to show the agent's room, the staff pages and the Interaction Widget in a frame (default: Genesys Cloud's desktop of the region, https://apps.<domain>, or the sandbox)")
	str(&c.opsAddr, "ops-addr", "RENDEZVOUS_OPS_ADDR", "", "address of a separate operations listener for /metrics, /healthz and /readyz (empty: /metrics is served on -addr)")
	str(&c.instanceID, "instance-id", "RENDEZVOUS_INSTANCE_ID", "", "name of this instance on the background jobs it runs, so that after a crash it takes them back at once; never the same on two live instances (default: host name and the address served on)")
	str(&c.sandboxAddr, "sandbox-addr", "RENDEZVOUS_SANDBOX_ADDR", "127.0.0.1:8090", "address of the built-in Genesys Cloud sandbox, started when no Genesys region or API URL is set")
	str(&c.genesysRegion, "genesys-region", "RENDEZVOUS_GENESYS_REGION", "", "Genesys Cloud region (such as eu-west-1) or domain (mypurecloud.ie); empty runs the sandbox")
	str(&c.genesysAPIURL, "genesys-api-url", "RENDEZVOUS_GENESYS_API_URL", "", "override the Genesys Cloud platform API base URL (https://api.<domain>)")
	str(&c.genesysLoginURL, "genesys-login-url", "RENDEZVOUS_GENESYS_LOGIN_URL", "", "override the Genesys Cloud login base URL (https://login.<domain>)")
	str(&c.genesysWebMsgURL, "genesys-webmessaging-url", "RENDEZVOUS_GENESYS_WEBMESSAGING_URL", "", "override the Genesys Cloud web messaging WebSocket URL (wss://webmessaging.<domain>/v1)")
	str(&c.genesysClientID, "genesys-client-id", "RENDEZVOUS_GENESYS_CLIENT_ID", "", "OAuth client id (client credentials) for the Genesys Cloud organization")
	str(&c.genesysClientSecret, "genesys-client-secret", "RENDEZVOUS_GENESYS_CLIENT_SECRET", "", "OAuth client secret for the Genesys Cloud organization; prefer the environment variable over the flag")
	str(&c.staffSupervisorRole, "staff-supervisor-role", "RENDEZVOUS_STAFF_SUPERVISOR_ROLE", "Supervisor", "name of a Genesys Cloud role that makes a person a supervisor in Rendezvous when they sign in (empty: none)")
	str(&c.staffAdminRole, "staff-admin-role", "RENDEZVOUS_STAFF_ADMIN_ROLE", "", "name of a Genesys Cloud role that makes a person an administrator in Rendezvous when they sign in (empty: none; the first person of an organization always is)")
	str(&c.genesysOrgID, "genesys-org-id", "RENDEZVOUS_GENESYS_ORG_ID", "", "the Genesys Cloud organization id, by which staff sign-in recognises the organization")
	str(&c.genesysSignInID, "genesys-signin-client-id", "RENDEZVOUS_GENESYS_SIGNIN_CLIENT_ID", "", "OAuth client id (authorization code with PKCE) that staff sign in with")
	str(&c.genesysSignInSecret, "genesys-signin-client-secret", "RENDEZVOUS_GENESYS_SIGNIN_CLIENT_SECRET", "", "its secret, if it has one; prefer the environment variable over the flag")
	fs.DurationVar(&c.staffRecheck, "staff-recheck", 5*time.Minute, "how often a signed-in person's Genesys Cloud sign-in is checked again: how soon someone removed from Genesys Cloud loses access ($RENDEZVOUS_STAFF_RECHECK)")
	fs.env["staff-recheck"] = "RENDEZVOUS_STAFF_RECHECK"
	fs.IntVar(&c.genesysRPM, "genesys-requests-per-minute", 300, "Genesys Cloud API calls allowed per minute per OAuth client, shared by every instance on the database ($RENDEZVOUS_GENESYS_REQUESTS_PER_MINUTE)")
	fs.env["genesys-requests-per-minute"] = "RENDEZVOUS_GENESYS_REQUESTS_PER_MINUTE"
	return fs
}

// staff returns the staff app settings.
func (c *config) staff() wiring.Staff {
	return wiring.Staff{SupervisorRole: c.staffSupervisorRole, AdminRole: c.staffAdminRole, RecheckEvery: c.staffRecheck}
}

// parse parses args, then fills every flag not given on the command line from its
// environment variable: the command line wins over the environment, which wins over
// the built-in default. (Environment values are applied after parsing, not used as
// defaults, so that -h never prints a secret from the environment.) "-h" prints the full
// help to stdout.
func (fs *flagSet) parse(args []string, stdout, stderr io.Writer) error {
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(stdout, fs.FlagSet) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; run rendezvous -h", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, env := range fs.env {
		v := fs.getenv(env)
		if given[name] || v == "" {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return fmt.Errorf("$%s: %w", env, err)
		}
	}
	return nil
}

// genesys returns the Genesys Cloud settings.
func (c *config) genesys() wiring.Genesys {
	return wiring.Genesys{
		Region: c.genesysRegion, APIURL: c.genesysAPIURL, LoginURL: c.genesysLoginURL,
		WebMessagingURL: c.genesysWebMsgURL, ClientID: c.genesysClientID,
		ClientSecret: c.genesysClientSecret, OrgID: c.genesysOrgID,
		SignInClientID: c.genesysSignInID, SignInClientSecret: c.genesysSignInSecret, SandboxAddr: c.sandboxAddr,
	}
}

// dbURL is the database URL: the configured one, else SQLite in the data folder.
func (c *config) dbURL() (string, error) {
	if c.databaseURL != "" {
		return c.databaseURL, nil
	}
	abs, err := filepath.Abs(filepath.Join(c.data, "rendezvous.db"))
	if err != nil {
		return "", fmt.Errorf("data folder: %w", err)
	}
	return "sqlite://" + filepath.ToSlash(abs), nil
}

// logger builds the process logger, writing to w.
func (c *config) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level %q: use debug, info, warn or error", c.logLevel)
	}
	o := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(c.logFormat) {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("-log-format %q: use text or json", c.logFormat)
}

// keyFlags registers the key file and the previous keys of a rotation (-secret-key is
// registered by each command beside its other settings).
func keyFlags(fs *flagSet, c *config) {
	fs.stringVar(&c.secretKeyFile, "secret-key-file", "RENDEZVOUS_SECRET_KEY_FILE", "", "file holding the base64 secrets key (mode 600), kept outside the data folder; used when -secret-key is not set")
	fs.stringVar(&c.previousKeys, "previous-secret-keys", "RENDEZVOUS_PREVIOUS_SECRET_KEYS", "", "comma-separated base64 keys being rotated out: what they sealed still opens until 'rendezvous secrets reseal' has sealed it again under the current key")
}

// secrets returns the box that encrypts secrets at rest: from -secret-key, else from
// -secret-key-file, else from a key file in the data folder, generated on first use (the
// demo's zero configuration; see the README on why production keeps it elsewhere). The box
// also opens what -previous-secret-keys sealed.
func (c *config) secrets() (*secret.Box, []byte, error) {
	var key []byte
	var err error
	switch {
	case c.secretKey != "":
		key, err = secret.ParseKey(c.secretKey)
		if err != nil {
			return nil, nil, fmt.Errorf("-secret-key: %w", err)
		}
	case c.secretKeyFile != "":
		key, err = secret.LoadKeyFile(c.secretKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("-secret-key-file: %w", err)
		}
	default:
		key, err = secret.LoadOrCreateKeyFile(filepath.Join(c.data, "secret.key"))
		if err != nil {
			return nil, nil, fmt.Errorf("secret key file: %w", err)
		}
		c.keyInData = true
	}
	c.prevKeys, err = secret.ParseKeys(c.previousKeys)
	if err != nil {
		return nil, nil, fmt.Errorf("-previous-secret-keys: %w", err)
	}
	box, err := secret.NewBox(key, c.prevKeys...)
	return box, key, err
}

// openStore opens (and migrates, unless skipMigrate) the database, and on the first start
// of an empty database creates the demo organization, so that "apikey create" works
// without -org. It also returns the secrets key, from which other parts derive theirs.
func (c *config) openStore(ctx context.Context, log *slog.Logger, clk clock.Clock, skipMigrate bool) (*store.Store, []byte, error) {
	box, key, err := c.secrets()
	if err != nil {
		return nil, nil, err
	}
	u, err := c.dbURL()
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, u, store.Options{Logger: log, Clock: clk, Secrets: box, SkipMigrate: skipMigrate})
	if err != nil {
		return nil, nil, err
	}
	if skipMigrate {
		return st, key, nil
	}
	if err := ensureDemoOrg(ctx, st); err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, key, nil
}

// ensureDemoOrg creates the demo organization when the database has none at all, and
// leaves a database that has organizations alone (a production database is never given
// a demo organization it did not ask for).
func ensureDemoOrg(ctx context.Context, st *store.Store) error {
	var n int
	err := st.InTx(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(ctx, "SELECT COUNT(*) FROM orgs").Scan(&n)
	})
	if err != nil {
		return fmt.Errorf("count organizations: %w", err)
	}
	if n > 0 {
		return nil
	}
	return st.EnsureOrg(ctx, rendezvous.Org{ID: "demo", Name: "Demo organization"})
}
