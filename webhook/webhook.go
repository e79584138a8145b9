// Package webhook sends an organization's appointment events to the HTTPS endpoints its
// administrators subscribe: signed, at least once, in order per appointment.
//
// How an event travels: every appointment change writes its audit log entry in the
// change's own transaction (store.Tx.Audit), marked for webhooks when a subscription
// listens for it. The appointment's event job (enqueued in the same transaction) has a
// share here (HandleAppointmentEvent) that takes the appointment's marked entries under a
// lock, oldest first, and queues one delivery per subscription in a chain per appointment;
// events that are not changes (customer waiting, notification failed) get a fanout job of
// their own. Only the head of a chain has a job (store.WebhookDeliverJobKind), and the next
// one is started in the transaction that settles it, so a receiver sees an appointment's
// events in the order they happened, and a crash anywhere loses nothing: each step is
// durable before the next begins. Each request carries an event id to deduplicate on,
// because a crash between a receiver's answer and its recording sends it again.
//
// Network errors, 408, 429 and 5xx are retried with the job runner's backoff (429 and 503
// after their Retry-After); other answers settle the delivery as failed. A subscription
// that keeps failing for PauseAfter is paused (audited, and shown to administrators);
// its chains wait and resume where they stopped when it is switched on again.
//
// Outside the demo, receivers must be HTTPS on public addresses: the dialer refuses
// loopback, private, link-local and similar addresses after name resolution, redirects
// are not followed and answers are read only up to a few KiB.
package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/jobs"
	"rendezvous/store"
)

// Defaults of Options.
const (
	DefaultPauseAfter      = 24 * time.Hour
	DefaultRotationOverlap = 24 * time.Hour
	DefaultTimeout         = 10 * time.Second
)

// Options configures a Service.
type Options struct {
	Store  *store.Store
	Clock  clock.Clock
	Logger *slog.Logger
	// AllowPrivate lets receivers be plain HTTP and on private or loopback addresses: the
	// demo mode only, where the receiver is typically on the same machine.
	AllowPrivate bool
	// PauseAfter is how long a subscription may fail without a success before it is
	// paused (default DefaultPauseAfter).
	PauseAfter time.Duration
	// RotationOverlap is how long the previous signing secret still signs after a
	// rotation (default DefaultRotationOverlap).
	RotationOverlap time.Duration
	// Timeout bounds one request to a receiver (default DefaultTimeout).
	Timeout time.Duration
}

// Service manages subscriptions and sends their deliveries.
type Service struct {
	st     *store.Store
	clock  clock.Clock
	log    *slog.Logger
	o      Options
	client *http.Client

	mu     sync.Mutex
	tokens map[string]token // OAuth access tokens by subscription id
}

type token struct {
	value   string
	expires time.Time
	key     string // what the token was fetched with; a change of credentials drops it
}

// New returns a Service.
func New(o Options) *Service {
	if o.Clock == nil {
		o.Clock = o.Store.Clock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PauseAfter <= 0 {
		o.PauseAfter = DefaultPauseAfter
	}
	if o.RotationOverlap <= 0 {
		o.RotationOverlap = DefaultRotationOverlap
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return &Service{st: o.Store, clock: o.Clock, log: o.Logger, o: o, client: newClient(o.AllowPrivate, o.Timeout),
		tokens: map[string]token{}}
}

// Register gives the job runner the handlers of the webhook job kinds. The appointment
// event job's share (HandleAppointmentEvent) is registered by the wiring with the others.
func (s *Service) Register(r *jobs.Runner) {
	r.Handle(store.WebhookFanoutJobKind, s.HandleFanout)
	r.Handle(store.WebhookDeliverJobKind, s.HandleDeliver)
}

// HandleAppointmentEvent is the webhooks' share of an appointment event job: it queues the
// appointment's recorded changes for the subscriptions that listen.
func (s *Service) HandleAppointmentEvent(ctx context.Context, j *store.Job) error {
	var ev store.EventArgs
	if err := j.Decode(&ev); err != nil {
		return jobs.Permanent(err)
	}
	return s.fanout(ctx, j.OrgID, ev.AppointmentID)
}

// HandleFanout handles store.WebhookFanoutJobKind.
func (s *Service) HandleFanout(ctx context.Context, j *store.Job) error {
	var a store.FanoutArgs
	if err := j.Decode(&a); err != nil {
		return jobs.Permanent(err)
	}
	return s.fanout(ctx, j.OrgID, a.AppointmentID)
}

// Payload is the JSON body of every request.
type Payload struct {
	// ID is the event's id, the same in every try and for every subscription.
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurredAt"`
	OrgID      string    `json:"organizationId"`
	Actor      ActorJSON `json:"actor"`
	Data       Data      `json:"data"`
}

// ActorJSON is who caused the event.
type ActorJSON struct {
	Type string `json:"type"` // person, api_key, customer or system
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// Data is what the event is about.
type Data struct {
	AppointmentID string `json:"appointmentId,omitempty"`
	// Version is the appointment's version after the change (0 for events that are not
	// changes).
	Version int                      `json:"version,omitempty"`
	Changes []rendezvous.FieldChange `json:"changes,omitempty"`
	// Appointment is the appointment as it was when the event was queued (it may be
	// newer than Version when changes followed quickly).
	Appointment *AppointmentJSON `json:"appointment,omitempty"`
	// Test is set on test events only.
	Test bool `json:"test,omitempty"`
}

// AppointmentJSON is the appointment in a payload.
type AppointmentJSON struct {
	ID              string            `json:"id"`
	Status          string            `json:"status"`
	Version         int               `json:"version"`
	Start           time.Time         `json:"start"`
	End             time.Time         `json:"end"`
	TimeZone        string            `json:"timeZone"`
	DurationMinutes int               `json:"durationMinutes"`
	Title           string            `json:"title,omitempty"`
	AgentUserID     string            `json:"agentUserId,omitempty"`
	Customers       []CustomerJSON    `json:"customers"`
	RoutingType     string            `json:"routingType"`
	QueueName       string            `json:"queueName,omitempty"`
	CustomFields    map[string]string `json:"customFields,omitempty"`
	CancelReason    string            `json:"cancelReason,omitempty"`
}

// CustomerJSON is one customer of the appointment.
type CustomerJSON struct {
	Name     string `json:"name"`
	Phone    string `json:"phone,omitempty"`
	Email    string `json:"email,omitempty"`
	Language string `json:"language,omitempty"`
}

func appointmentJSON(a *rendezvous.Appointment) *AppointmentJSON {
	out := &AppointmentJSON{ID: a.ID, Status: string(a.Status), Version: a.Version, Start: a.Start.UTC(), End: a.End().UTC(),
		TimeZone: a.TimeZone, DurationMinutes: int(a.Duration / time.Minute), Title: a.Title, AgentUserID: a.AgentUserID,
		Customers: []CustomerJSON{}, RoutingType: string(a.Interaction.Routing.Type), QueueName: a.Interaction.Routing.QueueName,
		CustomFields: a.Interaction.CustomFields, CancelReason: a.CancelReason}
	for _, c := range a.Customers {
		out.Customers = append(out.Customers, CustomerJSON(c))
	}
	return out
}

// eventNamespace makes event ids from audit entries: the same entry always gets the same
// id, so a receiver can deduplicate even across a resend.
var eventNamespace = uuid.MustParse("2f0b8f52-6a55-4d8e-9a55-3c6c5c1f0e41")

// fanout queues an appointment's changes still marked for webhooks.
func (s *Service) fanout(ctx context.Context, orgID, appointmentID string) error {
	// A read first: with no subscription listening nothing is marked, and the event job's
	// share costs one indexed lookup and no write.
	pending, err := s.st.HasPendingHooks(ctx, orgID, appointmentID)
	if err != nil || !pending {
		return err
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		// One fanout per appointment at a time, so entries are taken once and in order.
		if err := tx.Lock(ctx, "webhook-fanout/"+appointmentID); err != nil {
			return err
		}
		hooks, err := tx.TakePendingHooks(ctx, orgID, appointmentID)
		if err != nil || len(hooks) == 0 {
			return err
		}
		var appt *AppointmentJSON
		if a, err := tx.AppointmentInTx(ctx, orgID, appointmentID); err == nil {
			appt = appointmentJSON(a)
		} else if !errors.Is(err, rendezvous.ErrNotFound) {
			return err
		}
		for _, h := range hooks {
			subs, err := tx.ActiveWebhooksFor(ctx, orgID, h.Action)
			if err != nil {
				return err
			}
			if len(subs) == 0 {
				continue
			}
			p := Payload{ID: uuid.NewSHA1(eventNamespace, []byte(orgID+"/"+strconv.FormatInt(h.ID, 10))).String(),
				Type: h.Action, OccurredAt: h.At, OrgID: orgID,
				Actor: ActorJSON{Type: h.Actor.Kind, ID: h.Actor.ID, Name: h.Actor.Name},
				Data:  Data{AppointmentID: appointmentID, Version: h.Version, Changes: h.Changes, Appointment: appt}}
			body, err := json.Marshal(p)
			if err != nil {
				return err
			}
			for _, sub := range subs {
				if err := tx.AddWebhookDelivery(ctx, &store.WebhookDelivery{OrgID: orgID, SubscriptionID: sub,
					Chain: appointmentID, EventID: p.ID, Event: p.Type, AppointmentID: appointmentID, Payload: string(body)}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("webhook fanout of %s: %w", appointmentID, err)
	}
	return nil
}

// manualChain starts the chain of a delivery an administrator asked for (a test event,
// a resend): sent at once, beside the appointments' chains, even while paused.
const manualChain = "manual/"

// HandleDeliver handles store.WebhookDeliverJobKind: one try of one delivery.
func (s *Service) HandleDeliver(ctx context.Context, j *store.Job) error {
	var args store.DeliverArgs
	if err := j.Decode(&args); err != nil {
		return jobs.Permanent(err)
	}
	d, err := s.st.WebhookDelivery(ctx, j.OrgID, args.DeliveryID)
	if errors.Is(err, rendezvous.ErrNotFound) {
		return nil // its subscription was deleted
	}
	if err != nil {
		return err
	}
	if d.State != store.DeliveryPending {
		return nil // settled already (a job run twice)
	}
	sub, err := s.st.Webhook(ctx, j.OrgID, d.SubscriptionID)
	if errors.Is(err, rendezvous.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	manual := strings.HasPrefix(d.Chain, manualChain)
	if sub.State != store.WebhookActive && !manual {
		// Paused or disabled: the delivery stays the head of its chain and gets a job
		// again when the subscription is switched back on.
		return nil
	}
	start := s.clock.Now()
	status, retryAfter, sendErr := s.send(ctx, sub, d, start)
	// A refused address is settled at once: trying again cannot make it allowed.
	retryable := sendErr != nil && !errors.Is(sendErr, ErrForbiddenAddress) && (status == 0 ||
		status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500)
	final := sendErr == nil || !retryable || j.Attempt >= j.MaxAttempts || (manual && sub.State != store.WebhookActive)
	errText := ""
	if sendErr != nil {
		errText = sendErr.Error()
	}
	now := s.clock.Now()
	since, err := s.st.RecordWebhookAttempt(context.WithoutCancel(ctx), d, store.WebhookAttempt{
		At: start, Duration: now.Sub(start), Status: status, Error: errText, Final: final})
	if err != nil {
		return err
	}
	if final {
		return nil
	}
	if !since.IsZero() && now.Sub(since) >= s.o.PauseAfter && !manual {
		return s.pause(ctx, sub, since, sendErr)
	}
	if retryAfter > 0 {
		return jobs.RetryAfter(retryAfter, sendErr)
	}
	return sendErr
}

// pause stops a subscription that has failed since since, and says so where
// administrators look: its state and reason, the audit log and the service log.
func (s *Service) pause(ctx context.Context, sub *store.WebhookSubscription, since time.Time, cause error) error {
	reason := fmt.Sprintf("paused automatically: every delivery failed since %s (last: %v); fix the receiver, then switch the webhook on again",
		since.UTC().Format(time.RFC3339), cause)
	_, err := s.st.UpdateWebhook(rendezvous.WithActor(ctx, rendezvous.Actor{Kind: rendezvous.ActorSystem}), sub.OrgID, sub.ID, "webhook.paused",
		func(w *store.WebhookSubscription) error {
			if w.State == store.WebhookActive {
				w.State, w.PausedReason = store.WebhookPaused, truncateText(reason, 500)
			}
			return nil
		})
	if err != nil {
		return err
	}
	s.log.Warn("webhook paused after failing for long", "org_id", sub.OrgID, "webhook_id", sub.ID, "failing_since", since)
	return nil
}

// send makes one request and returns the receiver's status (0 without an answer), the
// wait it asked for (Retry-After) and an error unless it answered 2xx.
func (s *Service) send(ctx context.Context, sub *store.WebhookSubscription, d *store.WebhookDelivery, now time.Time) (int, time.Duration, error) {
	body := []byte(d.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, fmt.Errorf("request to %s: %w", redactURL(sub.URL), err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Rendezvous-Webhooks/1")
	req.Header.Set(EventIDHeader, d.EventID)
	req.Header.Set(EventTypeHeader, d.Event)
	secrets := []string{sub.Secret}
	if sub.PreviousSecret != "" && now.Before(sub.PreviousValidUntil) {
		secrets = append(secrets, sub.PreviousSecret)
	}
	req.Header.Set(SignatureHeader, Sign(now, body, secrets...))
	switch sub.AuthKind {
	case "basic":
		req.SetBasicAuth(sub.AuthUsername, sub.AuthSecret)
	case "oauth2":
		tok, status, err := s.accessToken(ctx, sub)
		if err != nil {
			return status, 0, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("POST %s: %w", redactURL(sub.URL), unwrapURLError(err))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, 0, nil
	}
	if resp.StatusCode == http.StatusUnauthorized && sub.AuthKind == "oauth2" {
		// The token may have been revoked early: fetch a new one next time.
		s.mu.Lock()
		delete(s.tokens, sub.ID)
		s.mu.Unlock()
		return http.StatusServiceUnavailable, 0, fmt.Errorf("POST %s: the receiver refused the access token (401); a new one is fetched for the next try", redactURL(sub.URL))
	}
	err = fmt.Errorf("POST %s: the receiver answered %d %s", redactURL(sub.URL), resp.StatusCode, http.StatusText(resp.StatusCode))
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		err = fmt.Errorf("%w (redirects are not followed: subscribe the final URL)", err)
	}
	return resp.StatusCode, retryAfterOf(resp.Header.Get("Retry-After"), now), err
}

// maxRetryAfter caps how long a receiver may hold a delivery back.
const maxRetryAfter = time.Hour

// retryAfterOf reads a Retry-After header: seconds, or an HTTP date.
func retryAfterOf(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter)
	}
	return 0
}

// accessToken returns a cached OAuth access token of the subscription, or fetches one
// from its token URL with the client credentials grant.
func (s *Service) accessToken(ctx context.Context, sub *store.WebhookSubscription) (string, int, error) {
	key := sub.AuthTokenURL + "\x00" + sub.AuthUsername + "\x00" + sub.AuthSecret + "\x00" + sub.AuthScope
	now := s.clock.Now()
	s.mu.Lock()
	t, ok := s.tokens[sub.ID]
	s.mu.Unlock()
	if ok && t.key == key && now.Before(t.expires) {
		return t.value, 0, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if sub.AuthScope != "" {
		form.Set("scope", sub.AuthScope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.AuthTokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(sub.AuthUsername), url.QueryEscape(sub.AuthSecret)) // RFC 6749 section 2.3.1
	resp, err := s.client.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("token request to %s: %w", redactURL(sub.AuthTokenURL), unwrapURLError(err))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", resp.StatusCode, fmt.Errorf("token request to %s: answered %d %s", redactURL(sub.AuthTokenURL), resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(b, &tr); err != nil || tr.AccessToken == "" {
		return "", http.StatusBadGateway, fmt.Errorf("token request to %s: the answer holds no access_token", redactURL(sub.AuthTokenURL))
	}
	life := time.Duration(tr.ExpiresIn) * time.Second
	if life <= 0 {
		life = 5 * time.Minute
	}
	// Renew a little early, so a token does not expire on its way.
	s.mu.Lock()
	s.tokens[sub.ID] = token{value: tr.AccessToken, expires: now.Add(life - life/10), key: key}
	s.mu.Unlock()
	return tr.AccessToken, 0, nil
}

// redactURL drops the query of a URL for messages: it may carry a token.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the receiver"
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}

// unwrapURLError drops url.Error's repetition of the method and full URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func truncateText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// newSecret returns a fresh signing secret.
func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("signing secret: %w", err)
	}
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b), nil
}
