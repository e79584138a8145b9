package store

// The notification tables (migrations 0300_notify.sql): per-organization settings, the SMS
// and email channel setup with its one-time-password state, template overrides and the
// delivery log. Owned by the notify package; the rules live there, this file keeps rows.

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"rendezvous"
)

// NotifySettings returns the organization's notification settings (JSON), or
// rendezvous.ErrNotFound when none were saved.
func (s *Store) NotifySettings(ctx context.Context, orgID string) ([]byte, error) {
	var body string
	err := s.ReadRow(ctx, "SELECT body FROM notify_settings WHERE org_id = ?", orgID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("notification settings of %s: %w", orgID, rendezvous.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("notification settings of %s: %w", orgID, err)
	}
	return []byte(body), nil
}

// PutNotifySettings stores the organization's notification settings (JSON).
func (s *Store) PutNotifySettings(ctx context.Context, orgID string, body []byte) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		old := tx.previousBody(ctx, "SELECT body FROM notify_settings WHERE org_id = ?", orgID)
		_, err := tx.Exec(ctx, `INSERT INTO notify_settings (org_id, body, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
			orgID, string(body), TimeToDB(s.clock.Now()))
		if err != nil {
			return err
		}
		_, err = tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: "settings.notifications_updated", TargetType: "settings",
			TargetID: "notifications", Changes: JSONChanges(old, body, false)})
		return err
	})
	if err != nil {
		return fmt.Errorf("save notification settings of %s: %w", orgID, err)
	}
	return nil
}

// NotifyChannel is the stored setup of one notification channel of an organization.
type NotifyChannel struct {
	OrgID        string
	Channel      string // "sms" or "email"
	ClientID     string
	SecretSealed []byte
	SecretHint   string
	Config       []byte // JSON owned by the notify package
	CheckedAt    time.Time
	VerifiedAt   time.Time
	VerifiedTo   string
	// One-time-password state.
	OTPHash        string
	OTPSalt        string
	OTPTo          string
	OTPExpiresAt   time.Time
	OTPAttempts    int
	OTPLockedUntil time.Time
	UpdatedAt      time.Time
}

const notifyChannelColumns = `org_id, channel, client_id, secret_sealed, secret_hint, config, checked_at,
	verified_at, verified_to, otp_hash, otp_salt, otp_to, otp_expires_at, otp_attempts, otp_locked_until, updated_at`

func scanNotifyChannel(r rowScanner) (NotifyChannel, error) {
	var c NotifyChannel
	var cfg string
	var checked, verified, expires, locked, updated int64
	err := r.Scan(&c.OrgID, &c.Channel, &c.ClientID, &c.SecretSealed, &c.SecretHint, &cfg, &checked,
		&verified, &c.VerifiedTo, &c.OTPHash, &c.OTPSalt, &c.OTPTo, &expires, &c.OTPAttempts, &locked, &updated)
	if err != nil {
		return c, err
	}
	c.Config = []byte(cfg)
	c.CheckedAt, c.VerifiedAt, c.OTPExpiresAt = TimeFromDB(checked), TimeFromDB(verified), TimeFromDB(expires)
	c.OTPLockedUntil, c.UpdatedAt = TimeFromDB(locked), TimeFromDB(updated)
	return c, nil
}

// NotifyChannels returns the setup of every channel the organization has, in one read
// (the notification handler looks at all of them for every appointment event).
func (s *Store) NotifyChannels(ctx context.Context, orgID string) ([]NotifyChannel, error) {
	var out []NotifyChannel
	err := s.readRows(ctx, "SELECT "+notifyChannelColumns+" FROM notify_channels WHERE org_id = ? ORDER BY channel",
		[]any{orgID}, func(r rowScanner) error {
			c, err := scanNotifyChannel(r)
			if err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("channels of %s: %w", orgID, err)
	}
	return out, nil
}

// NotifyChannel returns the setup of a channel, or rendezvous.ErrNotFound.
func (s *Store) NotifyChannel(ctx context.Context, orgID, channel string) (NotifyChannel, error) {
	c, err := scanNotifyChannel(s.ReadRow(ctx, "SELECT "+notifyChannelColumns+" FROM notify_channels WHERE org_id = ? AND channel = ?", orgID, channel))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("%s setup of %s: %w", channel, orgID, rendezvous.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("%s setup of %s: %w", channel, orgID, err)
	}
	return c, nil
}

// UpdateNotifyChannel reads a channel's setup in a transaction (a zero row with OrgID and
// Channel set when none exists), lets change modify it, and saves it; an error from
// change aborts without saving. Concurrent updates of the same channel are serialised,
// so counting wrong one-time-password attempts cannot lose a count.
func (s *Store) UpdateNotifyChannel(ctx context.Context, orgID, channel string, change func(c *NotifyChannel) error) (NotifyChannel, error) {
	var out NotifyChannel
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := tx.Lock(ctx, "notify_channel/"+orgID+"/"+channel); err != nil {
			return err
		}
		c, err := scanNotifyChannel(tx.QueryRow(ctx, "SELECT "+notifyChannelColumns+" FROM notify_channels WHERE org_id = ? AND channel = ?", orgID, channel))
		if errors.Is(err, sql.ErrNoRows) {
			c, err = NotifyChannel{OrgID: orgID, Channel: channel}, nil
		}
		if err != nil {
			return err
		}
		before := c
		if err := change(&c); err != nil {
			return err
		}
		c.OrgID, c.Channel, c.UpdatedAt = orgID, channel, s.clock.Now()
		// Audited when the setup changes, not for each one-time-password attempt.
		var changes []rendezvous.FieldChange
		if before.ClientID != c.ClientID {
			changes = append(changes, rendezvous.FieldChange{Field: "clientId", From: before.ClientID, To: c.ClientID})
		}
		if !bytes.Equal(before.SecretSealed, c.SecretSealed) {
			changes = append(changes, rendezvous.FieldChange{Field: "clientSecret", Redacted: true})
		}
		changes = append(changes, JSONChanges(before.Config, c.Config, false)...)
		if before.VerifiedAt.IsZero() != c.VerifiedAt.IsZero() {
			changes = append(changes, rendezvous.FieldChange{Field: "verified", From: strconv.FormatBool(!before.VerifiedAt.IsZero()), To: strconv.FormatBool(!c.VerifiedAt.IsZero())})
		}
		if len(changes) > 0 {
			if _, err := tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: "settings.channel_updated", TargetType: "notify_channel",
				TargetID: channel, Changes: changes}); err != nil {
				return err
			}
		}
		if c.SecretSealed == nil {
			c.SecretSealed = []byte{}
		}
		if c.Config == nil {
			c.Config = []byte("{}")
		}
		_, err = tx.Exec(ctx, `INSERT INTO notify_channels (`+notifyChannelColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (org_id, channel) DO UPDATE SET client_id = excluded.client_id,
			secret_sealed = excluded.secret_sealed, secret_hint = excluded.secret_hint, config = excluded.config,
			checked_at = excluded.checked_at, verified_at = excluded.verified_at, verified_to = excluded.verified_to,
			otp_hash = excluded.otp_hash, otp_salt = excluded.otp_salt, otp_to = excluded.otp_to,
			otp_expires_at = excluded.otp_expires_at, otp_attempts = excluded.otp_attempts,
			otp_locked_until = excluded.otp_locked_until, updated_at = excluded.updated_at`,
			orgID, channel, c.ClientID, c.SecretSealed, c.SecretHint, string(c.Config), TimeToDB(c.CheckedAt),
			TimeToDB(c.VerifiedAt), c.VerifiedTo, c.OTPHash, c.OTPSalt, c.OTPTo, TimeToDB(c.OTPExpiresAt),
			c.OTPAttempts, TimeToDB(c.OTPLockedUntil), TimeToDB(c.UpdatedAt))
		out = c
		return err
	})
	if err != nil {
		return out, fmt.Errorf("update %s setup of %s: %w", channel, orgID, err)
	}
	return out, nil
}

// NotifyTemplate is an organization's own version of a message template.
type NotifyTemplate struct {
	Event, Channel, Language string
	Subject, Text, HTML      string
	UpdatedAt                time.Time
}

// NotifyTemplate returns the organization's template override, or rendezvous.ErrNotFound.
func (s *Store) NotifyTemplate(ctx context.Context, orgID, event, channel, language string) (NotifyTemplate, error) {
	t := NotifyTemplate{Event: event, Channel: channel, Language: language}
	var updated int64
	err := s.ReadRow(ctx, `SELECT subject, text, html, updated_at FROM notify_templates
		WHERE org_id = ? AND event = ? AND channel = ? AND language = ?`, orgID, event, channel, language).
		Scan(&t.Subject, &t.Text, &t.HTML, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("template %s/%s/%s: %w", event, channel, language, rendezvous.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("template %s/%s/%s: %w", event, channel, language, err)
	}
	t.UpdatedAt = TimeFromDB(updated)
	return t, nil
}

// PutNotifyTemplate saves an organization's template override.
func (s *Store) PutNotifyTemplate(ctx context.Context, orgID string, t NotifyTemplate) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		var old NotifyTemplate
		tx.QueryRow(ctx, "SELECT subject, text, html FROM notify_templates WHERE org_id = ? AND event = ? AND channel = ? AND language = ?",
			orgID, t.Event, t.Channel, t.Language).Scan(&old.Subject, &old.Text, &old.HTML)
		_, err := tx.Exec(ctx, `INSERT INTO notify_templates (org_id, event, channel, language, subject, text, html, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (org_id, event, channel, language) DO UPDATE SET subject = excluded.subject,
			text = excluded.text, html = excluded.html, updated_at = excluded.updated_at`,
			orgID, t.Event, t.Channel, t.Language, t.Subject, t.Text, t.HTML, TimeToDB(s.clock.Now()))
		if err != nil {
			return err
		}
		// Template texts are long: the entry names what changed, the texts stay in the template.
		var changes []rendezvous.FieldChange
		for _, f := range [][3]string{{"subject", old.Subject, t.Subject}, {"text", old.Text, t.Text}, {"html", old.HTML, t.HTML}} {
			if f[1] != f[2] {
				changes = append(changes, rendezvous.FieldChange{Field: f[0]})
			}
		}
		_, err = tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: "template.updated", TargetType: "template",
			TargetID: t.Event + "/" + t.Channel + "/" + t.Language, Changes: changes})
		return err
	})
	if err != nil {
		return fmt.Errorf("save template %s/%s/%s: %w", t.Event, t.Channel, t.Language, err)
	}
	return nil
}

// DeleteNotifyTemplate removes an override, so the built-in template applies again.
func (s *Store) DeleteNotifyTemplate(ctx context.Context, orgID, event, channel, language string) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM notify_templates WHERE org_id = ? AND event = ? AND channel = ? AND language = ?",
			orgID, event, channel, language)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // the default already applies: nothing changed
		}
		_, err = tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: "template.reset", TargetType: "template",
			TargetID: event + "/" + channel + "/" + language})
		return err
	})
	if err != nil {
		return fmt.Errorf("delete template %s/%s/%s: %w", event, channel, language, err)
	}
	return nil
}

// NotifyDelivery is one planned message and what became of it.
type NotifyDelivery struct {
	ID             string
	OrgID          string
	AppointmentID  string
	DedupeKey      string
	Kind           string // message, reminder, followup
	Event          string
	Channel        string
	CustomerIndex  int
	OffsetMinutes  int
	Version        int
	Recipient      string // masked
	Language       string
	Template       string
	DueAt          time.Time
	SentAt         time.Time
	Outcome        string
	Error          string
	MessageID      string
	ConversationID string
	Attempts       int
	Manual         bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// AttemptLog is filled by NotifyDeliveries.
	AttemptLog []NotifyAttempt
}

// NotifyAttempt is one try of a delivery.
type NotifyAttempt struct {
	N          int
	StartedAt  time.Time
	FinishedAt time.Time
	Outcome    string
	Status     int
	Error      string
	MessageID  string
}

const notifyDeliveryColumns = `id, org_id, appointment_id, dedupe_key, kind, event, channel, customer_index,
	offset_minutes, version, recipient, language, template, due_at, sent_at, outcome, error, message_id,
	conversation_id, attempts, manual, created_at, updated_at`

func scanNotifyDelivery(r rowScanner) (*NotifyDelivery, error) {
	d := &NotifyDelivery{}
	var due, sent, created, updated int64
	var manual int
	err := r.Scan(&d.ID, &d.OrgID, &d.AppointmentID, &d.DedupeKey, &d.Kind, &d.Event, &d.Channel, &d.CustomerIndex,
		&d.OffsetMinutes, &d.Version, &d.Recipient, &d.Language, &d.Template, &due, &sent, &d.Outcome, &d.Error,
		&d.MessageID, &d.ConversationID, &d.Attempts, &manual, &created, &updated)
	if err != nil {
		return nil, err
	}
	d.Manual = manual != 0
	d.DueAt, d.SentAt, d.CreatedAt, d.UpdatedAt = TimeFromDB(due), TimeFromDB(sent), TimeFromDB(created), TimeFromDB(updated)
	return d, nil
}

// InsertNotifyDelivery records a planned delivery in tx unless one with the same
// DedupeKey exists, and reports whether it inserted.
func (tx *Tx) InsertNotifyDelivery(ctx context.Context, d *NotifyDelivery) (bool, error) {
	now := tx.s.clock.Now()
	manual := 0
	if d.Manual {
		manual = 1
	}
	res, err := tx.Exec(ctx, `INSERT INTO notify_deliveries (`+notifyDeliveryColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		d.ID, d.OrgID, d.AppointmentID, d.DedupeKey, d.Kind, d.Event, d.Channel, d.CustomerIndex,
		d.OffsetMinutes, d.Version, d.Recipient, d.Language, d.Template, TimeToDB(d.DueAt), TimeToDB(d.SentAt),
		d.Outcome, d.Error, d.MessageID, d.ConversationID, d.Attempts, manual, TimeToDB(now), TimeToDB(now))
	if err != nil {
		return false, fmt.Errorf("record delivery: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record delivery: %w", err)
	}
	return n == 1, nil
}

// WithdrawNotifyDeliveries marks the appointment's still-scheduled deliveries of the
// given kinds withdrawn, with reason as their error, and returns how many it withdrew.
// The caller withdraws their jobs with CancelJobs in the same transaction.
func (tx *Tx) WithdrawNotifyDeliveries(ctx context.Context, orgID, appointmentID, reason string, kinds ...string) (int, error) {
	total := 0
	for _, k := range kinds {
		res, err := tx.Exec(ctx, `UPDATE notify_deliveries SET outcome = 'withdrawn', error = ?, updated_at = ?
			WHERE org_id = ? AND appointment_id = ? AND kind = ? AND outcome = 'scheduled'`,
			reason, TimeToDB(tx.s.clock.Now()), orgID, appointmentID, k)
		if err != nil {
			return total, fmt.Errorf("withdraw deliveries: %w", err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
	}
	return total, nil
}

// NotifyDeliveryForUpdate reads a delivery in tx, locked until the end of tx on PostgreSQL
// (SQLite's write transaction already excludes other writers).
func (tx *Tx) NotifyDeliveryForUpdate(ctx context.Context, orgID, id string) (*NotifyDelivery, error) {
	q := "SELECT " + notifyDeliveryColumns + " FROM notify_deliveries WHERE org_id = ? AND id = ?"
	if tx.s.dialect == Postgres {
		q += " FOR UPDATE"
	}
	d, err := scanNotifyDelivery(tx.QueryRow(ctx, q, orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("delivery %s: %w", id, rendezvous.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("delivery %s: %w", id, err)
	}
	return d, nil
}

// SaveNotifyDelivery writes a delivery's mutable fields (recipient, language, template,
// due and sent times, outcome, error, Genesys ids, attempts, manual) in tx.
func (tx *Tx) SaveNotifyDelivery(ctx context.Context, d *NotifyDelivery) error {
	manual := 0
	if d.Manual {
		manual = 1
	}
	d.UpdatedAt = tx.s.clock.Now()
	_, err := tx.Exec(ctx, `UPDATE notify_deliveries SET recipient = ?, language = ?, template = ?, due_at = ?,
		sent_at = ?, outcome = ?, error = ?, message_id = ?, conversation_id = ?, attempts = ?, manual = ?, updated_at = ?
		WHERE org_id = ? AND id = ?`,
		d.Recipient, d.Language, d.Template, TimeToDB(d.DueAt), TimeToDB(d.SentAt), d.Outcome, d.Error,
		d.MessageID, d.ConversationID, d.Attempts, manual, TimeToDB(d.UpdatedAt), d.OrgID, d.ID)
	if err != nil {
		return fmt.Errorf("save delivery %s: %w", d.ID, err)
	}
	if d.Outcome == "failed" {
		// Audited, and sent to the webhooks that listen for it.
		return tx.RecordAppointmentEvent(ctx, d.OrgID, d.AppointmentID, rendezvous.EventNotificationFailed, []rendezvous.FieldChange{
			{Field: "deliveryId", To: d.ID}, {Field: "channel", To: d.Channel}, {Field: "event", To: d.Event}, {Field: "kind", To: d.Kind}})
	}
	return nil
}

// PutNotifyAttempt records (or updates) attempt a.N of a delivery in tx.
func (tx *Tx) PutNotifyAttempt(ctx context.Context, deliveryID string, a NotifyAttempt) error {
	_, err := tx.Exec(ctx, `INSERT INTO notify_attempts (delivery_id, n, started_at, finished_at, outcome, status, error, message_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (delivery_id, n) DO UPDATE SET finished_at = excluded.finished_at, outcome = excluded.outcome,
		status = excluded.status, error = excluded.error, message_id = excluded.message_id`,
		deliveryID, a.N, TimeToDB(a.StartedAt), TimeToDB(a.FinishedAt), a.Outcome, a.Status, truncate(a.Error, 2000), a.MessageID)
	if err != nil {
		return fmt.Errorf("record attempt %d of delivery %s: %w", a.N, deliveryID, err)
	}
	return nil
}

// NotifyDeliveries lists an appointment's deliveries, oldest first, with their attempts.
func (s *Store) NotifyDeliveries(ctx context.Context, orgID, appointmentID string) ([]*NotifyDelivery, error) {
	rows, err := s.Read(ctx, "SELECT "+notifyDeliveryColumns+` FROM notify_deliveries
		WHERE org_id = ? AND appointment_id = ? ORDER BY created_at, due_at, id`, orgID, appointmentID)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	var out []*NotifyDelivery
	byID := map[string]*NotifyDelivery{}
	for rows.Next() {
		d, err := scanNotifyDelivery(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list deliveries: %w", err)
		}
		out = append(out, d)
		byID[d.ID] = d
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	arows, err := s.Read(ctx, `SELECT t.delivery_id, t.n, t.started_at, t.finished_at, t.outcome, t.status, t.error, t.message_id
		FROM notify_attempts t JOIN notify_deliveries d ON d.id = t.delivery_id
		WHERE d.org_id = ? AND d.appointment_id = ? ORDER BY t.delivery_id, t.n`, orgID, appointmentID)
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var id string
		var a NotifyAttempt
		var started, finished int64
		if err := arows.Scan(&id, &a.N, &started, &finished, &a.Outcome, &a.Status, &a.Error, &a.MessageID); err != nil {
			return nil, fmt.Errorf("list attempts: %w", err)
		}
		a.StartedAt, a.FinishedAt = TimeFromDB(started), TimeFromDB(finished)
		if d := byID[id]; d != nil {
			d.AttemptLog = append(d.AttemptLog, a)
		}
	}
	return out, arows.Err()
}

// NotifyDelivery returns one delivery without its attempts, or rendezvous.ErrNotFound.
func (s *Store) NotifyDelivery(ctx context.Context, orgID, id string) (*NotifyDelivery, error) {
	d, err := scanNotifyDelivery(s.ReadRow(ctx, "SELECT "+notifyDeliveryColumns+" FROM notify_deliveries WHERE org_id = ? AND id = ?", orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("delivery %s: %w", id, rendezvous.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("delivery %s: %w", id, err)
	}
	return d, nil
}

// AppointmentInTx reads an appointment inside tx (locked until the end of tx on
// PostgreSQL), so that a plan made from it cannot race a concurrent change.
func (tx *Tx) AppointmentInTx(ctx context.Context, orgID, id string) (*rendezvous.Appointment, error) {
	q := "SELECT " + appointmentColumns + " FROM appointments WHERE org_id = ? AND id = ?"
	if tx.s.dialect == Postgres {
		q += " FOR UPDATE"
	}
	a, err := tx.s.scanAppointment(tx.QueryRow(ctx, q, orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("appointment %s: %w", id, rendezvous.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("appointment %s: %w", id, err)
	}
	return a, nil
}

// NotifyAppointmentChannels returns an appointment's channel choices and whether any were
// saved (without a row, every verified channel is used).
func (s *Store) NotifyAppointmentChannels(ctx context.Context, orgID, appointmentID string) (sms, email, found bool, err error) {
	var smsN, emailN int
	err = s.ReadRow(ctx, "SELECT sms, email FROM notify_appointment_channels WHERE org_id = ? AND appointment_id = ?",
		orgID, appointmentID).Scan(&smsN, &emailN)
	if errors.Is(err, sql.ErrNoRows) {
		return true, true, false, nil
	}
	if err != nil {
		return false, false, false, fmt.Errorf("channel choices of %s: %w", appointmentID, err)
	}
	return smsN != 0, emailN != 0, true, nil
}

// PutNotifyAppointmentChannels saves an appointment's channel choices in tx.
func (tx *Tx) PutNotifyAppointmentChannels(ctx context.Context, orgID, appointmentID string, sms, email bool) error {
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	_, err := tx.Exec(ctx, `INSERT INTO notify_appointment_channels (appointment_id, org_id, sms, email, updated_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (appointment_id) DO UPDATE SET sms = excluded.sms, email = excluded.email,
		updated_at = excluded.updated_at`, appointmentID, orgID, b(sms), b(email), TimeToDB(tx.s.clock.Now()))
	if err != nil {
		return fmt.Errorf("save channel choices of %s: %w", appointmentID, err)
	}
	return nil
}

// NotifyPending is a customer and channel with a message still waiting to go.
type NotifyPending struct {
	CustomerIndex int
	Channel       string
}

// PendingNotifyMessages lists the customers and channels of an appointment that have a
// message of one of the events still scheduled (not yet handed to Genesys), in tx.
func (tx *Tx) PendingNotifyMessages(ctx context.Context, orgID, appointmentID string, events ...string) ([]NotifyPending, error) {
	var out []NotifyPending
	for _, e := range events {
		rows, err := tx.Query(ctx, `SELECT customer_index, channel FROM notify_deliveries
			WHERE org_id = ? AND appointment_id = ? AND kind = 'message' AND event = ? AND outcome = 'scheduled'`,
			orgID, appointmentID, e)
		if err != nil {
			return nil, fmt.Errorf("pending messages: %w", err)
		}
		for rows.Next() {
			var p NotifyPending
			if err := rows.Scan(&p.CustomerIndex, &p.Channel); err != nil {
				rows.Close()
				return nil, fmt.Errorf("pending messages: %w", err)
			}
			out = append(out, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("pending messages: %w", err)
		}
	}
	return out, nil
}

// SetNotifyTold records what a delivery's message tells the customer (see LastNotifyTold).
func (tx *Tx) SetNotifyTold(ctx context.Context, orgID, deliveryID, told string) error {
	if _, err := tx.Exec(ctx, "UPDATE notify_deliveries SET told = ? WHERE org_id = ? AND id = ?", told, orgID, deliveryID); err != nil {
		return fmt.Errorf("record what delivery %s tells: %w", deliveryID, err)
	}
	return nil
}

// lastToldQuery reads what the latest message to an appointment's customer on a channel
// told them (see LastNotifyTold).
const lastToldQuery = `SELECT told FROM notify_deliveries
	WHERE org_id = ? AND appointment_id = ? AND customer_index = ? AND channel = ? AND id <> ? AND told <> ''
	AND outcome IN ('sent', 'unknown', 'sending', 'retrying')
	ORDER BY updated_at DESC, id DESC LIMIT 1`

// LastNotifyTold returns what the latest message to an appointment's customer on a channel
// told them (” when none told anything), leaving out delivery exceptID. Only messages that
// went (or may have gone) to Genesys count: sent, unknown, sending or retrying.
func (tx *Tx) LastNotifyTold(ctx context.Context, orgID, appointmentID string, customer int, channel, exceptID string) (string, error) {
	return scanTold(tx.QueryRow(ctx, lastToldQuery, orgID, appointmentID, customer, channel, exceptID))
}

// LastNotifyTold is Tx.LastNotifyTold outside a transaction.
func (s *Store) LastNotifyTold(ctx context.Context, orgID, appointmentID string, customer int, channel, exceptID string) (string, error) {
	return scanTold(s.ReadRow(ctx, lastToldQuery, orgID, appointmentID, customer, channel, exceptID))
}

func scanTold(r rowScanner) (string, error) {
	var told string
	err := r.Scan(&told)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("what the customer was told: %w", err)
	}
	return told, nil
}

// NotifySendDue is a due send job and its delivery (DueNotifySends).
type NotifySendDue struct {
	JobID      int64
	DeliveryID string
	Channel    string
}

// DueNotifySends lists up to limit of an organization's pending jobs of kind that are
// due at now, still at their delivery's due time (never deferred to a slot, nor retried
// later), whose delivery still waits to go (scheduled or retrying), in the order the job
// runner claims them, each with its delivery's id and channel. kind is one of the
// notification package's send kinds, whose args are {"deliveryId": ...}. It reads the
// kind's due jobs from jobs_kind_due on the read pool: no write lock.
func (s *Store) DueNotifySends(ctx context.Context, orgID, kind string, now time.Time, limit int) ([]NotifySendDue, error) {
	ref := "json_extract(j.args, '$.deliveryId')"
	if s.dialect == Postgres {
		ref = "(j.args::json ->> 'deliveryId')"
	}
	rows, err := s.Read(ctx, `SELECT j.id, d.id, d.channel FROM jobs j
		JOIN notify_deliveries d ON d.id = `+ref+` AND d.org_id = j.org_id
		WHERE j.kind = ? AND j.state = 'pending' AND j.run_at <= ? AND j.org_id = ?
		AND j.run_at <= d.due_at AND d.outcome IN ('scheduled', 'retrying')
		ORDER BY j.run_at, j.id LIMIT `+strconv.Itoa(max(limit, 1)), kind, TimeToDB(now), orgID)
	if err != nil {
		return nil, fmt.Errorf("due sends: %w", err)
	}
	defer rows.Close()
	var out []NotifySendDue
	for rows.Next() {
		var x NotifySendDue
		if err := rows.Scan(&x.JobID, &x.DeliveryID, &x.Channel); err != nil {
			return nil, fmt.Errorf("due sends: %w", err)
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("due sends: %w", err)
	}
	return out, nil
}
