package genesys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"rendezvous/clock"
)

// Config configures one Client, that is one OAuth client (client credentials) of one
// Genesys Cloud organization.
type Config struct {
	// Endpoints are the region's base URLs (RegionEndpoints) or explicit ones (sandbox).
	Endpoints Endpoints
	// ClientID and ClientSecret are the OAuth client's credentials (grant type Client
	// Credentials in Genesys Cloud).
	ClientID     string
	ClientSecret string
	// HTTPClient does the HTTP; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// RequestsPerMinute caps this client's API calls; 0 means 300, Genesys' default
	// per-token limit.
	RequestsPerMinute int
	// Clock is the time source for token expiry, rate limiting and retry waits; nil means
	// clock.Real().
	Clock clock.Clock
	// Logger receives retry and renewal notes; nil discards them.
	Logger *slog.Logger
	// MaxAttempts bounds the tries of one call, including the first; 0 means 4.
	MaxAttempts int
	// BaseBackoff is the first retry wait before jitter, doubled per attempt; 0 means 500 ms.
	BaseBackoff time.Duration
	// MaxBackoff caps a backoff wait; 0 means 30 s.
	MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits inline; a longer one is
	// returned to the caller (KindRetryAfter) for its job queue to reschedule. 0 means 60 s.
	// It bounds the wait for a Pacer's slot the same way.
	MaxRetryAfter time.Duration
	// Pacer, when set, spaces this OAuth client's calls together with every other process
	// using the same client (the product shares it through the database), instead of the
	// client's own in-process limiter; RequestsPerMinute is then the Pacer's business.
	Pacer Pacer
}

// Pacer spaces the calls of one OAuth client across processes. Genesys Cloud names its
// limit per client-credentials token and its community describes it per OAuth client;
// pacing per client across every instance is safe either way.
type Pacer interface {
	// Reserve takes the client's next call slot and returns when the call may leave. A
	// slot more than maxWait after now is not taken: ok is false and at says when it
	// would be.
	Reserve(ctx context.Context, now time.Time, maxWait time.Duration) (at time.Time, ok bool, err error)
}

// PacedError is returned when the client's next call slot is further away than
// MaxRetryAfter: nothing was sent, and Classify gives KindRetryAfter with Wait.
type PacedError struct {
	Op   string
	Wait time.Duration
}

func (e *PacedError) Error() string {
	return fmt.Sprintf("genesys: %s: the OAuth client's next call slot is in %s", e.Op, e.Wait.Round(time.Millisecond))
}

// Client calls the Genesys Cloud platform API with one OAuth client: one cached token,
// one rate limiter. It is safe for concurrent use. Create it with New.
type Client struct {
	api         string
	hc          *http.Client
	clock       clock.Clock
	log         *slog.Logger
	tokens      *tokenSource
	limiter     *rate.Limiter
	maxAttempts int
	base, cap   time.Duration
	maxRetry    time.Duration
	pacer       Pacer
}

// New returns a Client for cfg. It does no I/O; the first call fetches the token
// (CheckCredentials does so on purpose).
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.Real()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rpm := cfg.RequestsPerMinute
	if rpm <= 0 {
		rpm = 300
	}
	c := &Client{
		api:         strings.TrimSuffix(cfg.Endpoints.API, "/"),
		hc:          hc,
		clock:       clk,
		log:         log.With("component", "genesys", "oauth_client", redactID(cfg.ClientID)),
		tokens:      newTokenSource(cfg.Endpoints, cfg.ClientID, cfg.ClientSecret, hc, clk),
		limiter:     newLimiter(rpm),
		maxAttempts: cmp0(cfg.MaxAttempts, 4),
		base:        cmp0(cfg.BaseBackoff, 500*time.Millisecond),
		cap:         cmp0(cfg.MaxBackoff, 30*time.Second),
		maxRetry:    cmp0(cfg.MaxRetryAfter, 60*time.Second),
		pacer:       cfg.Pacer,
	}
	return c
}

func cmp0[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// newLimiter shapes calls so that no sliding minute holds more than rpm of them: a token
// bucket allows burst + rate×60 s per minute, so a tenth of the budget is the burst and
// the rest refills steadily. A plain rpm/60 rate with a burst of rpm would allow twice the
// limit in a minute that starts with a full bucket, which is what causes 429 storms.
func newLimiter(rpm int) *rate.Limiter {
	burst := max(1, rpm/10)
	refill := max(rpm-burst, 1)
	return rate.NewLimiter(rate.Limit(float64(refill)/60), burst)
}

// redactID keeps enough of a client id to tell clients apart in logs.
func redactID(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[:8] + "…"
}

// call describes one API request.
type call struct {
	op     string
	method string
	path   string // under /api/v2, starting with "/"
	query  url.Values
	body   any
	out    any
	// userToken, when set, authorizes the call as that user: no client token, no
	// renewal on 401, and no share of this client's rate limit.
	userToken string
	// send marks a non-idempotent call that may deliver something to a person or create
	// an interaction: it is retried only when Genesys certainly did not act.
	send bool
}

// Retried is one failed try that the client retried within a single call, as reported
// to a RetryObserver.
type Retried struct {
	Op      string        // the call, such as "send SMS"
	Attempt int           // the try that failed, from 1
	Status  int           // the HTTP status Genesys answered, 0 when there was no answer
	Err     error         // what failed
	Wait    time.Duration // how long the client waits before the next try
}

type retryObserverKey struct{}

// WithRetryObserver returns a context under which every call reports each try it retries
// to f, before waiting: the caller's record (a delivery log) can then show every answer
// Genesys gave, not only the last. f must be quick and safe for concurrent use.
func WithRetryObserver(ctx context.Context, f func(Retried)) context.Context {
	return context.WithValue(ctx, retryObserverKey{}, f)
}

// noteRetry tells the context's RetryObserver, if any, about a retried try.
func noteRetry(ctx context.Context, r Retried) {
	if f, ok := ctx.Value(retryObserverKey{}).(func(Retried)); ok {
		f(r)
	}
}

// do runs c with rate limiting, token renewal and the retry rule in the package comment.
func (c *Client) do(ctx context.Context, cl call) error {
	var payload []byte
	if cl.body != nil {
		var err error
		if payload, err = json.Marshal(cl.body); err != nil {
			return fmt.Errorf("genesys: %s: encode request: %w", cl.op, err)
		}
	}
	renewed := false
	for attempt := 1; ; attempt++ {
		if cl.userToken == "" && !(attempt == 1 && prepaid(ctx)) {
			if err := c.wait(ctx, cl.op); err != nil {
				var pe *PacedError
				if errors.As(err, &pe) {
					return err
				}
				return fmt.Errorf("genesys: %s: rate limiter: %w", cl.op, err)
			}
		}
		token := cl.userToken
		if token == "" {
			var err error
			if token, err = c.tokens.get(ctx); err != nil {
				if k, _ := Classify(err); k == KindTransient && attempt < c.maxAttempts && ctx.Err() == nil {
					c.log.Warn("genesys oauth token failed, retrying", "op", cl.op, "attempt", attempt, "err", err)
					wait := c.backoff(attempt)
					noteRetry(ctx, Retried{Op: cl.op, Attempt: attempt, Err: err, Wait: wait})
					if err := c.sleep(ctx, wait); err != nil {
						return fmt.Errorf("genesys: %s: %w", cl.op, err)
					}
					continue
				}
				return fmt.Errorf("genesys: %s: %w", cl.op, err)
			}
		}
		resp, sent, err := c.roundTrip(ctx, cl, payload, token)
		if err != nil {
			te := &TransportError{Op: cl.op, Sent: sent, Err: err}
			if ctx.Err() != nil || (sent && cl.send) || attempt >= c.maxAttempts {
				return te
			}
			c.log.Warn("genesys transport failure, retrying", "op", cl.op, "attempt", attempt, "sent", sent, "err", err)
			wait := c.backoff(attempt)
			noteRetry(ctx, Retried{Op: cl.op, Attempt: attempt, Err: te, Wait: wait})
			if err := c.sleep(ctx, wait); err != nil {
				return te
			}
			continue
		}
		if resp.status/100 == 2 {
			if cl.out == nil || len(bytes.TrimSpace(resp.body)) == 0 {
				return nil
			}
			if err := json.Unmarshal(resp.body, cl.out); err != nil {
				return fmt.Errorf("genesys: %s: decode response (correlation id %s): %w", cl.op, resp.correlation, err)
			}
			return nil
		}
		ae := resp.apiError(cl.op, c.clock.Now())
		switch {
		case ae.Status == http.StatusUnauthorized && cl.userToken == "" && !renewed:
			// The cached token was revoked or expired early: fetch a new one once. Genesys
			// did not act on a 401, so this is safe for sends too.
			renewed = true
			attempt--
			c.tokens.invalidate(token)
			c.log.Info("genesys token rejected, renewing", "op", cl.op, "correlation_id", ae.CorrelationID)
			continue
		case ae.Status == http.StatusTooManyRequests:
			wait := ae.RetryAfter
			if wait <= 0 {
				wait = c.backoff(attempt)
			}
			if attempt >= c.maxAttempts || wait > c.maxRetry {
				return ae
			}
			c.log.Warn("genesys rate limited, waiting", "op", cl.op, "attempt", attempt, "wait", wait, "correlation_id", ae.CorrelationID)
			noteRetry(ctx, Retried{Op: cl.op, Attempt: attempt, Status: ae.Status, Err: ae, Wait: wait})
			if err := c.sleep(ctx, wait); err != nil {
				return ae
			}
			continue
		case ae.Status >= 500 && ae.Status != http.StatusNotImplemented:
			if cl.send {
				// The body reached Genesys; a 5xx does not prove it was not acted on.
				ae.Ambiguous = true
				return ae
			}
			if attempt >= c.maxAttempts {
				return ae
			}
			wait := c.backoff(attempt)
			if ae.RetryAfter > 0 && ae.RetryAfter <= c.maxRetry {
				wait = ae.RetryAfter
			}
			c.log.Warn("genesys server error, retrying", "op", cl.op, "attempt", attempt, "status", ae.Status, "correlation_id", ae.CorrelationID)
			noteRetry(ctx, Retried{Op: cl.op, Attempt: attempt, Status: ae.Status, Err: ae, Wait: wait})
			if err := c.sleep(ctx, wait); err != nil {
				return ae
			}
			continue
		default:
			return ae
		}
	}
}

type response struct {
	status      int
	header      http.Header
	body        []byte
	correlation string
}

// maxResponse bounds what is read of a response; no answer we use comes near it.
const maxResponse = 16 << 20

// roundTrip sends one request. sent reports whether the request headers were written to
// the connection, the earliest point at which Genesys could have acted on it.
func (c *Client) roundTrip(ctx context.Context, cl call, payload []byte, token string) (*response, bool, error) {
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteHeaders: func() { wrote.Store(true) },
	})
	u := c.api + "/api/v2" + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, body)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, wrote.Load(), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		// The status line arrived, so Genesys certainly saw the request.
		return nil, true, fmt.Errorf("read response: %w", err)
	}
	return &response{
		status:      resp.StatusCode,
		header:      resp.Header,
		body:        b,
		correlation: resp.Header.Get("Inin-Correlation-Id"),
	}, true, nil
}

func (r *response) apiError(op string, now time.Time) *APIError {
	ae := &APIError{
		Op:            op,
		Status:        r.status,
		CorrelationID: r.correlation,
		RetryAfter:    parseRetryAfter(r.header.Get("Retry-After"), now),
	}
	if err := json.Unmarshal(r.body, &ae.Body); err != nil {
		ae.Raw = strings.TrimSpace(string(r.body))
		if len(ae.Raw) > 1000 {
			ae.Raw = ae.Raw[:1000]
		}
	}
	if ae.CorrelationID == "" {
		ae.CorrelationID = ae.Body.ContextID
	}
	return ae
}

// parseRetryAfter reads delta-seconds (what Genesys sends) or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// backoff is the wait after the attempt-th failure: exponential from the base, capped,
// with jitter over its upper half so that clients that failed together do not retry
// together.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.base << min(attempt-1, 20)
	if d <= 0 || d > c.cap {
		d = c.cap
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d on the client's clock, or until ctx ends.
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	return sleepOn(ctx, c.clock, d)
}

func sleepOn(ctx context.Context, clk clock.Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	done := make(chan struct{})
	t := clk.AfterFunc(d, func() { close(done) })
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	}
}

// prepaidKey marks a context whose first call has its slot already (TakeSlot).
type prepaidKey struct{}

// TakeSlot waits for this client's next call slot and returns a context whose next call
// through the client goes without taking another (its retries take their own). A sender
// that records "sending" before a call uses it to wait before recording, so that a crash
// while waiting leaves nothing ambiguous. A slot too far away is a *PacedError.
func (c *Client) TakeSlot(ctx context.Context, op string) (context.Context, error) {
	if err := c.wait(ctx, op); err != nil {
		return ctx, err
	}
	flag := &atomic.Bool{}
	flag.Store(true)
	return context.WithValue(ctx, prepaidKey{}, flag), nil
}

// prepaid reports, once, whether ctx carries a slot taken by TakeSlot.
func prepaid(ctx context.Context) bool {
	f, _ := ctx.Value(prepaidKey{}).(*atomic.Bool)
	return f != nil && f.CompareAndSwap(true, false)
}

// wait takes one request from the pacer or the rate limiter, waiting on the client's
// clock.
func (c *Client) wait(ctx context.Context, op string) error {
	now := c.clock.Now()
	if c.pacer != nil {
		at, ok, err := c.pacer.Reserve(ctx, now, c.maxRetry)
		if err != nil {
			return err
		}
		if !ok {
			return &PacedError{Op: op, Wait: at.Sub(now)}
		}
		return c.sleep(ctx, at.Sub(now))
	}
	r := c.limiter.ReserveN(now, 1)
	if !r.OK() {
		return errors.New("rate limiter refused reservation")
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	if err := c.sleep(ctx, d); err != nil {
		r.CancelAt(c.clock.Now())
		return err
	}
	return nil
}
