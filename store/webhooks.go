package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"rendezvous"
)

// WebhookDeliverJobKind is the job that sends one webhook delivery (package webhook); its
// Args are DeliverArgs. At most one exists per subscription and chain at a time, which is
// what keeps an appointment's events in order.
const WebhookDeliverJobKind = "webhook.deliver"

// DeliverArgs are the arguments of a WebhookDeliverJobKind job.
type DeliverArgs struct {
	DeliveryID int64 `json:"deliveryId"`
}

// Webhook subscription states.
const (
	WebhookActive   = "active"
	WebhookPaused   = "paused"   // failing for long: deliveries wait until resumed
	WebhookDisabled = "disabled" // switched off by an administrator: nothing is queued
)

// Webhook delivery states.
const (
	DeliveryWaiting   = "waiting"   // behind an earlier delivery of its chain
	DeliveryPending   = "pending"   // the head of its chain: a job sends it
	DeliveryDelivered = "delivered" // the receiver answered 2xx
	DeliveryFailed    = "failed"    // refused for good, or out of tries
)

// WebhookSubscription is where and how an organization receives events. The secret
// fields hold plain text only in memory: they are sealed by the secrets box at rest and
// never leave the service except as hints.
type WebhookSubscription struct {
	ID          string
	OrgID       string
	URL         string
	Description string
	Events      []string
	State       string
	// PausedReason says why deliveries stopped, for the administrator.
	PausedReason string
	AuthKind     string // none, basic or oauth2
	// AuthUsername is the Basic user name, or the OAuth client id.
	AuthUsername   string
	AuthTokenURL   string
	AuthScope      string
	AuthSecret     string // Basic password or OAuth client secret
	AuthSecretHint string
	// Secret signs every request; PreviousSecret, until PreviousValidUntil, too.
	Secret             string
	SecretHint         string
	PreviousSecret     string
	PreviousValidUntil time.Time
	// FailingSince is when deliveries started failing without a success since; zero
	// while they succeed.
	FailingSince time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const webhookColumns = `id, org_id, url, description, events, state, paused_reason, auth_kind, auth_username,
	auth_token_url, auth_scope, auth_secret_sealed, auth_secret_hint, secret_sealed, secret_hint, previous_sealed,
	previous_valid_until, failing_since, created_at, updated_at`

func (s *Store) seal(v string) ([]byte, error) {
	if v == "" {
		return nil, nil
	}
	if s.secrets == nil {
		return nil, errors.New("no secrets key configured: cannot keep a secret")
	}
	return s.secrets.Seal([]byte(v))
}

func (s *Store) open(b []byte) (string, error) {
	if len(b) == 0 {
		return "", nil
	}
	if s.secrets == nil {
		return "", errors.New("no secrets key configured: cannot open a secret")
	}
	p, err := s.secrets.Open(b)
	return string(p), err
}

func (s *Store) scanWebhook(r rowScanner) (*WebhookSubscription, error) {
	w := &WebhookSubscription{}
	var events string
	var authSealed, secretSealed, prevSealed []byte
	var prevUntil, failing, created, updated int64
	if err := r.Scan(&w.ID, &w.OrgID, &w.URL, &w.Description, &events, &w.State, &w.PausedReason, &w.AuthKind,
		&w.AuthUsername, &w.AuthTokenURL, &w.AuthScope, &authSealed, &w.AuthSecretHint, &secretSealed, &w.SecretHint,
		&prevSealed, &prevUntil, &failing, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return nil, fmt.Errorf("webhook %s events: %w", w.ID, err)
	}
	var err error
	if w.AuthSecret, err = s.open(authSealed); err != nil {
		return nil, fmt.Errorf("webhook %s credentials: %w", w.ID, err)
	}
	if w.Secret, err = s.open(secretSealed); err != nil {
		return nil, fmt.Errorf("webhook %s signing secret: %w", w.ID, err)
	}
	if w.PreviousSecret, err = s.open(prevSealed); err != nil {
		return nil, fmt.Errorf("webhook %s previous signing secret: %w", w.ID, err)
	}
	w.PreviousValidUntil, w.FailingSince = TimeFromDB(prevUntil), TimeFromDB(failing)
	w.CreatedAt, w.UpdatedAt = TimeFromDB(created), TimeFromDB(updated)
	return w, nil
}

// webhookValues returns the stored form of w's columns after id and org_id, in
// webhookColumns order.
func (s *Store) webhookValues(w *WebhookSubscription) ([]any, error) {
	events, err := json.Marshal(w.Events)
	if err != nil {
		return nil, err
	}
	authSealed, err := s.seal(w.AuthSecret)
	if err != nil {
		return nil, err
	}
	secretSealed, err := s.seal(w.Secret)
	if err != nil {
		return nil, err
	}
	prevSealed, err := s.seal(w.PreviousSecret)
	if err != nil {
		return nil, err
	}
	return []any{w.URL, w.Description, string(events), w.State, w.PausedReason, w.AuthKind, w.AuthUsername,
		w.AuthTokenURL, w.AuthScope, authSealed, w.AuthSecretHint, secretSealed, w.SecretHint, prevSealed,
		TimeToDB(w.PreviousValidUntil), TimeToDB(w.FailingSince), TimeToDB(w.CreatedAt), TimeToDB(w.UpdatedAt)}, nil
}

// CreateWebhook stores a new subscription, validated by the caller, with its audit entry.
func (s *Store) CreateWebhook(ctx context.Context, w *WebhookSubscription) error {
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	w.CreatedAt, w.UpdatedAt = now, now
	vals, err := s.webhookValues(w)
	if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	err = s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_subscriptions (`+webhookColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append([]any{w.ID, w.OrgID}, vals...)...); err != nil {
			return err
		}
		_, err := tx.Audit(ctx, rendezvous.AuditEntry{OrgID: w.OrgID, Action: "webhook.created", TargetType: "webhook",
			TargetID: w.ID, Changes: webhookChanges(&WebhookSubscription{}, w)})
		return err
	})
	if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	return nil
}

// webhookChanges lists what differs between two versions of a subscription, secrets by
// name only.
func webhookChanges(a, b *WebhookSubscription) []rendezvous.FieldChange {
	var out []rendezvous.FieldChange
	plain := func(f, x, y string) {
		if x != y {
			out = append(out, rendezvous.FieldChange{Field: f, From: x, To: y})
		}
	}
	secret := func(f string, changed bool) {
		if changed {
			out = append(out, rendezvous.FieldChange{Field: f, Redacted: true})
		}
	}
	ev := func(e []string) string {
		b, _ := json.Marshal(e)
		if e == nil {
			return ""
		}
		return string(b)
	}
	plain("url", a.URL, b.URL)
	plain("description", a.Description, b.Description)
	plain("events", ev(a.Events), ev(b.Events))
	plain("state", a.State, b.State)
	plain("authKind", a.AuthKind, b.AuthKind)
	plain("authUsername", a.AuthUsername, b.AuthUsername)
	plain("authTokenUrl", a.AuthTokenURL, b.AuthTokenURL)
	plain("authScope", a.AuthScope, b.AuthScope)
	secret("authSecret", a.AuthSecret != b.AuthSecret)
	secret("secret", a.Secret != b.Secret)
	return out
}

// Webhook returns one subscription of the organization with its secrets opened;
// ErrNotFound when there is none.
func (s *Store) Webhook(ctx context.Context, orgID, id string) (*WebhookSubscription, error) {
	w, err := s.scanWebhook(s.ReadRow(ctx, "SELECT "+webhookColumns+" FROM webhook_subscriptions WHERE org_id = ? AND id = ?", orgID, id))
	if isNoRows(err) {
		return nil, fmt.Errorf("webhook %s: %w", id, rendezvous.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %w", id, err)
	}
	return w, nil
}

// Webhooks lists the organization's subscriptions, oldest first.
func (s *Store) Webhooks(ctx context.Context, orgID string) ([]*WebhookSubscription, error) {
	rows, err := s.Read(ctx, "SELECT "+webhookColumns+" FROM webhook_subscriptions WHERE org_id = ? ORDER BY created_at, id", orgID)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	defer rows.Close()
	var out []*WebhookSubscription
	for rows.Next() {
		w, err := s.scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("list webhooks: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// UpdateWebhook changes a subscription in one transaction: change edits it (an error
// aborts), the store saves it and audits what changed as action. When it became active,
// the head of every chain left pending while it was paused gets its job again.
func (s *Store) UpdateWebhook(ctx context.Context, orgID, id, action string, change func(w *WebhookSubscription) error) (*WebhookSubscription, error) {
	var out *WebhookSubscription
	err := s.InTx(ctx, func(tx *Tx) error {
		q := "SELECT " + webhookColumns + " FROM webhook_subscriptions WHERE org_id = ? AND id = ?"
		if s.dialect == Postgres {
			q += " FOR UPDATE"
		}
		w, err := s.scanWebhook(tx.QueryRow(ctx, q, orgID, id))
		if isNoRows(err) {
			return rendezvous.ErrNotFound
		}
		if err != nil {
			return err
		}
		before := *w
		before.Events = slices.Clone(w.Events)
		if err := change(w); err != nil {
			return err
		}
		w.ID, w.OrgID, w.CreatedAt = before.ID, before.OrgID, before.CreatedAt
		w.UpdatedAt = s.clock.Now().UTC().Truncate(time.Microsecond)
		if err := tx.saveWebhook(ctx, w); err != nil {
			return err
		}
		if changes := webhookChanges(&before, w); len(changes) > 0 || action != "webhook.updated" {
			if _, err := tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: action, TargetType: "webhook",
				TargetID: id, Changes: changes}); err != nil {
				return err
			}
		}
		if w.State == WebhookActive && before.State != WebhookActive {
			if err := tx.requeueWebhookHeads(ctx, orgID, id); err != nil {
				return err
			}
		}
		out = w
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update webhook %s: %w", id, err)
	}
	return out, nil
}

func (tx *Tx) saveWebhook(ctx context.Context, w *WebhookSubscription) error {
	vals, err := tx.s.webhookValues(w)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE webhook_subscriptions SET url = ?, description = ?, events = ?, state = ?,
		paused_reason = ?, auth_kind = ?, auth_username = ?, auth_token_url = ?, auth_scope = ?, auth_secret_sealed = ?,
		auth_secret_hint = ?, secret_sealed = ?, secret_hint = ?, previous_sealed = ?, previous_valid_until = ?,
		failing_since = ?, created_at = ?, updated_at = ? WHERE org_id = ? AND id = ?`, append(vals, w.OrgID, w.ID)...)
	if err != nil {
		return fmt.Errorf("save webhook %s: %w", w.ID, err)
	}
	return nil
}

// requeueWebhookHeads enqueues the job of every pending delivery of a subscription (the
// heads of its chains); the unique key makes it a no-op for one still queued.
func (tx *Tx) requeueWebhookHeads(ctx context.Context, orgID, subID string) error {
	rows, err := tx.Query(ctx, "SELECT id FROM webhook_deliveries WHERE subscription_id = ? AND state = 'pending'", subID)
	if err != nil {
		return err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		if err := tx.enqueueDelivery(ctx, orgID, id); err != nil {
			return err
		}
	}
	return nil
}

// DeleteWebhook removes a subscription and its delivery log, audited.
func (s *Store) DeleteWebhook(ctx context.Context, orgID, id string) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM webhook_deliveries WHERE org_id = ? AND subscription_id = ?", orgID, id); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, "DELETE FROM webhook_subscriptions WHERE org_id = ? AND id = ?", orgID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return rendezvous.ErrNotFound
		}
		_, err = tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: "webhook.deleted", TargetType: "webhook", TargetID: id})
		return err
	})
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	return nil
}

// ActiveWebhooksFor lists, in tx, the organization's subscriptions that are not disabled
// and asked for event, with their secrets still sealed (only IDs and URLs are needed to
// queue deliveries).
func (tx *Tx) ActiveWebhooksFor(ctx context.Context, orgID, event string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM webhook_subscriptions WHERE org_id = ? AND state <> 'disabled'
		AND events LIKE ? ORDER BY id`, orgID, eventPattern(event))
	if err != nil {
		return nil, fmt.Errorf("webhooks for %s: %w", event, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// WebhookDelivery is one event sent (or to send) to one subscription, with the outcome of
// its last attempt.
type WebhookDelivery struct {
	ID             int64
	OrgID          string
	SubscriptionID string
	Chain          string
	EventID        string
	Event          string
	AppointmentID  string
	Payload        string
	State          string
	Attempts       int
	LastStatus     int
	LastError      string
	LastAttemptAt  time.Time
	LastDuration   time.Duration
	CreatedAt      time.Time
	FinishedAt     time.Time
}

const deliveryColumns = `id, org_id, subscription_id, chain, event_id, event, appointment_id, payload, state, attempts,
	last_status, last_error, last_attempt_at, last_duration_us, created_at, finished_at`

func scanDelivery(r rowScanner) (*WebhookDelivery, error) {
	d := &WebhookDelivery{}
	var lastAt, dur, created, finished int64
	if err := r.Scan(&d.ID, &d.OrgID, &d.SubscriptionID, &d.Chain, &d.EventID, &d.Event, &d.AppointmentID, &d.Payload,
		&d.State, &d.Attempts, &d.LastStatus, &d.LastError, &lastAt, &dur, &created, &finished); err != nil {
		return nil, err
	}
	d.LastAttemptAt, d.CreatedAt, d.FinishedAt = TimeFromDB(lastAt), TimeFromDB(created), TimeFromDB(finished)
	d.LastDuration = time.Duration(dur) * time.Microsecond
	return d, nil
}

// AddWebhookDelivery queues d (Subscription, Chain, EventID, Event, AppointmentID,
// Payload) in tx behind the earlier deliveries of its chain, and starts the chain when it
// was idle. It sets d.ID.
func (tx *Tx) AddWebhookDelivery(ctx context.Context, d *WebhookDelivery) error {
	now := TimeToDB(tx.s.clock.Now())
	err := tx.QueryRow(ctx, `INSERT INTO webhook_deliveries (org_id, subscription_id, chain, event_id, event,
		appointment_id, payload, state, attempts, last_status, last_error, last_attempt_at, last_duration_us, created_at, finished_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'waiting', 0, 0, '', 0, 0, ?, 0) RETURNING id`,
		d.OrgID, d.SubscriptionID, d.Chain, d.EventID, d.Event, d.AppointmentID, d.Payload, now).Scan(&d.ID)
	if err != nil {
		return fmt.Errorf("queue webhook delivery: %w", err)
	}
	d.State, d.CreatedAt = DeliveryWaiting, TimeFromDB(now)
	started, err := tx.advanceChain(ctx, d.OrgID, d.SubscriptionID, d.Chain)
	if started == d.ID {
		d.State = DeliveryPending
	}
	return err
}

// advanceChain makes the oldest waiting delivery of a chain pending, and enqueues its
// job, unless one is pending already, and returns the id it started (0 for none). It
// locks the chain first, so the head is decided by one transaction at a time.
func (tx *Tx) advanceChain(ctx context.Context, orgID, subID, chain string) (int64, error) {
	if err := tx.Lock(ctx, "webhook-chain/"+subID+"/"+chain); err != nil {
		return 0, err
	}
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM webhook_deliveries WHERE subscription_id = ? AND chain = ?
		AND state = 'pending' LIMIT 1`, subID, chain).Scan(&id)
	if err == nil {
		return 0, nil
	}
	if !isNoRows(err) {
		return 0, fmt.Errorf("webhook chain: %w", err)
	}
	err = tx.QueryRow(ctx, `SELECT id FROM webhook_deliveries WHERE subscription_id = ? AND chain = ?
		AND state = 'waiting' ORDER BY id LIMIT 1`, subID, chain).Scan(&id)
	if isNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("webhook chain: %w", err)
	}
	if _, err := tx.Exec(ctx, "UPDATE webhook_deliveries SET state = 'pending' WHERE id = ?", id); err != nil {
		return 0, fmt.Errorf("webhook chain: %w", err)
	}
	return id, tx.enqueueDelivery(ctx, orgID, id)
}

func (tx *Tx) enqueueDelivery(ctx context.Context, orgID string, id int64) error {
	// Retries are the job's own; at-least-once through long outages comes from pausing
	// the subscription and requeueing on resume, not from the job's attempts.
	return tx.Enqueue(ctx, Job{OrgID: orgID, Kind: WebhookDeliverJobKind, Args: DeliverArgs{DeliveryID: id},
		MaxAttempts: 1000, UniqueKey: "webhook.deliver/" + strconv.FormatInt(id, 10)})
}

// WebhookDelivery returns one delivery; ErrNotFound when the organization has none.
func (s *Store) WebhookDelivery(ctx context.Context, orgID string, id int64) (*WebhookDelivery, error) {
	d, err := scanDelivery(s.ReadRow(ctx, "SELECT "+deliveryColumns+" FROM webhook_deliveries WHERE org_id = ? AND id = ?", orgID, id))
	if isNoRows(err) {
		return nil, fmt.Errorf("webhook delivery %d: %w", id, rendezvous.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("webhook delivery %d: %w", id, err)
	}
	return d, nil
}

// WebhookDeliveries returns a page of a subscription's delivery log, newest first, and
// the cursor of the next page.
func (s *Store) WebhookDeliveries(ctx context.Context, orgID, subID string, limit int, cursor string) ([]*WebhookDelivery, string, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	q := "SELECT " + deliveryColumns + " FROM webhook_deliveries WHERE org_id = ? AND subscription_id = ?"
	args := []any{orgID, subID}
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		id, err2 := strconv.ParseInt(string(b), 10, 64)
		if err != nil || err2 != nil {
			return nil, "", &rendezvous.ValidationError{Problems: []rendezvous.FieldProblem{{Field: "cursor", Message: "is not a cursor this service returned; start again without it"}}}
		}
		q += " AND id < ?"
		args = append(args, id)
	}
	rows, err := s.Read(ctx, q+" ORDER BY id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []*WebhookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, "", fmt.Errorf("webhook deliveries: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(out[limit-1].ID, 10)))
	}
	return out, next, nil
}

// WebhookAttempt is the outcome of one try of a delivery.
type WebhookAttempt struct {
	At       time.Time
	Duration time.Duration
	Status   int    // the receiver's HTTP status; 0 without an answer
	Error    string // empty on success
	// Final is true when the delivery is settled: delivered (Error empty) or failed.
	Final bool
}

// RecordWebhookAttempt stores the outcome of a try of a pending delivery, settles the
// delivery when a.Final and moves its chain on, and keeps the subscription's failing-since
// time: cleared by a success, set by the first failure. It returns the subscription's
// failing-since time after the update (zero when it is not failing).
func (s *Store) RecordWebhookAttempt(ctx context.Context, d *WebhookDelivery, a WebhookAttempt) (time.Time, error) {
	var failingSince time.Time
	err := s.InTx(ctx, func(tx *Tx) error {
		state := d.State
		finished := int64(0)
		if a.Final {
			state, finished = DeliveryFailed, TimeToDB(a.At)
			if a.Error == "" {
				state = DeliveryDelivered
			}
		}
		res, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, last_status = ?,
			last_error = ?, last_attempt_at = ?, last_duration_us = ?, finished_at = ? WHERE id = ? AND state = 'pending'`,
			state, a.Status, truncate(a.Error, 1000), TimeToDB(a.At), a.Duration.Microseconds(), finished, d.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // settled meanwhile (a resend racing): nothing to record
		}
		d.State = state
		var since int64
		if a.Error == "" {
			_, err = tx.Exec(ctx, "UPDATE webhook_subscriptions SET failing_since = 0 WHERE id = ? AND failing_since <> 0", d.SubscriptionID)
		} else {
			err = tx.QueryRow(ctx, `UPDATE webhook_subscriptions SET failing_since = CASE WHEN failing_since = 0 THEN ? ELSE failing_since END
				WHERE id = ? RETURNING failing_since`, TimeToDB(a.At), d.SubscriptionID).Scan(&since)
			if isNoRows(err) {
				err = nil
			}
		}
		if err != nil {
			return err
		}
		failingSince = TimeFromDB(since)
		if a.Final {
			_, err := tx.advanceChain(ctx, d.OrgID, d.SubscriptionID, d.Chain)
			return err
		}
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("record webhook delivery %d: %w", d.ID, err)
	}
	return failingSince, nil
}
