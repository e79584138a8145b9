package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"rendezvous"
)

// WebhookFanoutJobKind is the job that hands an appointment's recorded changes to the
// organization's webhook subscriptions (package webhook). The appointment event job does
// the same as one of its shares; this job carries the events that are not appointment
// changes (customer waiting, notification failed). Its Args are FanoutArgs.
const WebhookFanoutJobKind = "webhook.fanout"

// FanoutArgs are the arguments of a WebhookFanoutJobKind job.
type FanoutArgs struct {
	AppointmentID string `json:"appointmentId"`
}

// hookPendingSQL decides, inside the audit insert, whether the change must still go to
// webhooks: only when a subscription that is not disabled asked for the action. Its
// arguments are the organization and the LIKE pattern of the action in the events array.
// A change recorded when nobody listens is never sent later, even to a new subscription.
const hookPendingSQL = `CASE WHEN EXISTS (SELECT 1 FROM webhook_subscriptions
	WHERE org_id = ? AND state <> 'disabled' AND events LIKE ?) THEN 1 ELSE 0 END`

// eventPattern is the LIKE pattern that finds action in a subscription's JSON events array.
func eventPattern(action string) string { return `%"` + action + `"%` }

// Audit writes one audit log entry in tx, so the log holds a change exactly when the
// change committed. The actor defaults to the one in ctx (rendezvous.WithActor), the time
// to now. An action that is a webhook event is also marked for the webhooks, and
// recorded reports whether it was (the caller then makes sure a fanout runs).
func (tx *Tx) Audit(ctx context.Context, e rendezvous.AuditEntry) (hook bool, err error) {
	if e.OrgID == "" || e.Action == "" {
		return false, fmt.Errorf("audit: organization and action are required")
	}
	if e.Actor.Kind == "" {
		e.Actor = rendezvous.ActorFrom(ctx)
	}
	at := e.At
	if at.IsZero() {
		at = tx.s.clock.Now()
	}
	changes := []byte("[]")
	if len(e.Changes) > 0 {
		if changes, err = json.Marshal(e.Changes); err != nil {
			return false, fmt.Errorf("audit %s: %w", e.Action, err)
		}
	}
	pending := "0"
	args := []any{e.OrgID, TimeToDB(at), e.Actor.Kind, e.Actor.ID, truncate(e.Actor.Name, 200), e.Action,
		e.TargetType, e.TargetID, e.Version, string(changes)}
	if rendezvous.IsWebhookEvent(e.Action) {
		pending = hookPendingSQL
		args = append(args, e.OrgID, eventPattern(e.Action))
	}
	var flag int
	err = tx.QueryRow(ctx, `INSERT INTO audit_log (org_id, at, actor_kind, actor_id, actor_name, action,
		target_type, target_id, version, changes, hook_pending)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, `+pending+`) RETURNING hook_pending`, args...).Scan(&flag)
	if err != nil {
		return false, fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return flag == 1, nil
}

// RecordAppointmentEvent writes the audit entry of something that happened to an
// appointment without changing it (the customer waiting, a notification failing) in tx,
// and when a webhook subscription listens for it, enqueues the fanout that sends it.
func (tx *Tx) RecordAppointmentEvent(ctx context.Context, orgID, appointmentID, action string, changes []rendezvous.FieldChange) error {
	hook, err := tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: action, TargetType: "appointment",
		TargetID: appointmentID, Changes: changes})
	if err != nil || !hook {
		return err
	}
	return tx.Enqueue(ctx, Job{OrgID: orgID, Kind: WebhookFanoutJobKind, Args: FanoutArgs{AppointmentID: appointmentID},
		UniqueKey: "webhook.fanout/" + appointmentID})
}

// auditAppointment records an appointment change in tx: the action is "appointment." and
// the event, or "appointment.updated" for a change without one.
func (tx *Tx) auditAppointment(ctx context.Context, orgID, id, event string, version int, changes []rendezvous.FieldChange) error {
	action := "appointment.updated"
	if event != "" {
		action = "appointment." + event
	}
	_, err := tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: action, TargetType: "appointment",
		TargetID: id, Version: version, Changes: changes})
	return err
}

// AuditFilter selects audit log entries. Zero fields do not filter.
type AuditFilter struct {
	From, To   time.Time // entries at or after From and before To
	ActorKind  string
	ActorID    string
	Action     string // exact, or a prefix ending in "." ("appointment.")
	TargetType string
	TargetID   string
	// Limit is the page size: default DefaultListLimit, at most MaxAuditLimit.
	Limit int
	// Cursor is the next value of the previous page.
	Cursor string
}

// MaxAuditLimit is the largest page of the audit log; exports page through it.
const MaxAuditLimit = 1000

// AuditLog returns a page of the organization's audit log, newest first, and the cursor
// of the next page ("" on the last).
func (s *Store) AuditLog(ctx context.Context, orgID string, f AuditFilter) ([]rendezvous.AuditEntry, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxAuditLimit)
	var q strings.Builder
	q.WriteString(`SELECT id, org_id, at, actor_kind, actor_id, actor_name, action, target_type, target_id, version, changes
		FROM audit_log WHERE org_id = ?`)
	args := []any{orgID}
	add := func(cond string, v any) {
		q.WriteString(" AND " + cond)
		args = append(args, v)
	}
	if !f.From.IsZero() {
		add("at >= ?", TimeToDB(f.From))
	}
	if !f.To.IsZero() {
		add("at < ?", TimeToDB(f.To))
	}
	if f.ActorKind != "" {
		add("actor_kind = ?", f.ActorKind)
	}
	if f.ActorID != "" {
		add("actor_id = ?", f.ActorID)
	}
	if strings.HasSuffix(f.Action, ".") {
		q.WriteString(" AND action >= ? AND action < ?")
		args = append(args, f.Action, prefixEnd(f.Action))
	} else if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.TargetType != "" {
		add("target_type = ?", f.TargetType)
	}
	if f.TargetID != "" {
		add("target_id = ?", f.TargetID)
	}
	if f.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		id, err2 := strconv.ParseInt(string(b), 10, 64)
		if err != nil || err2 != nil {
			return nil, "", &rendezvous.ValidationError{Problems: []rendezvous.FieldProblem{{Field: "cursor", Message: "is not a cursor this service returned; start again without it"}}}
		}
		add("id < ?", id)
	}
	q.WriteString(" ORDER BY id DESC LIMIT ?")
	args = append(args, limit+1)
	rows, err := s.Read(ctx, q.String(), args...)
	if err != nil {
		return nil, "", fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	var out []rendezvous.AuditEntry
	for rows.Next() {
		var e rendezvous.AuditEntry
		var at int64
		var changes string
		if err := rows.Scan(&e.ID, &e.OrgID, &at, &e.Actor.Kind, &e.Actor.ID, &e.Actor.Name, &e.Action,
			&e.TargetType, &e.TargetID, &e.Version, &changes); err != nil {
			return nil, "", fmt.Errorf("audit log: %w", err)
		}
		e.At = TimeFromDB(at)
		if err := json.Unmarshal([]byte(changes), &e.Changes); err != nil {
			return nil, "", fmt.Errorf("audit log entry %d: %w", e.ID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("audit log: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(out[limit-1].ID, 10)))
	}
	return out, next, nil
}

// HookEntry is an audited appointment change still to be handed to webhooks.
type HookEntry struct {
	ID      int64
	At      time.Time
	Actor   rendezvous.Actor
	Action  string
	Version int
	Changes []rendezvous.FieldChange
}

// HasPendingHooks reports whether an appointment has audited changes still to be handed
// to webhooks: a cheap read that lets the fanout skip its transaction when nobody listens.
func (s *Store) HasPendingHooks(ctx context.Context, orgID, appointmentID string) (bool, error) {
	var one int
	err := s.ReadRow(ctx, "SELECT 1 FROM audit_log WHERE org_id = ? AND target_id = ? AND hook_pending = 1 LIMIT 1",
		orgID, appointmentID).Scan(&one)
	if err != nil {
		if isNoRows(err) {
			return false, nil
		}
		return false, fmt.Errorf("pending webhook events of %s: %w", appointmentID, err)
	}
	return true, nil
}

// TakePendingHooks returns, oldest first, the appointment's audited changes still to be
// handed to webhooks, and marks them handed, in tx. The caller locks the appointment's
// fanout (Tx.Lock) first, so changes are taken once and in the order they committed.
func (tx *Tx) TakePendingHooks(ctx context.Context, orgID, appointmentID string) ([]HookEntry, error) {
	rows, err := tx.Query(ctx, `SELECT id, at, actor_kind, actor_id, actor_name, action, version, changes
		FROM audit_log WHERE org_id = ? AND target_id = ? AND hook_pending = 1 ORDER BY id`, orgID, appointmentID)
	if err != nil {
		return nil, fmt.Errorf("pending webhook events of %s: %w", appointmentID, err)
	}
	var out []HookEntry
	for rows.Next() {
		var h HookEntry
		var at int64
		var changes string
		if err := rows.Scan(&h.ID, &at, &h.Actor.Kind, &h.Actor.ID, &h.Actor.Name, &h.Action, &h.Version, &changes); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pending webhook events of %s: %w", appointmentID, err)
		}
		h.At = TimeFromDB(at)
		if err := json.Unmarshal([]byte(changes), &h.Changes); err != nil {
			rows.Close()
			return nil, fmt.Errorf("audit entry %d: %w", h.ID, err)
		}
		out = append(out, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) > 0 {
		if _, err := tx.Exec(ctx, "UPDATE audit_log SET hook_pending = 0 WHERE org_id = ? AND target_id = ? AND hook_pending = 1 AND id <= ?",
			orgID, appointmentID, out[len(out)-1].ID); err != nil {
			return nil, fmt.Errorf("mark webhook events of %s: %w", appointmentID, err)
		}
	}
	return out, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// JSONChanges lists the top-level fields that differ between two JSON objects (either may
// be empty), with their values as compact JSON, cut at 200 bytes. Settings documents hold
// no secrets (those live sealed elsewhere); pass redact for one that may.
func JSONChanges(before, after []byte, redact bool) []rendezvous.FieldChange {
	var a, b map[string]json.RawMessage
	if len(before) > 0 {
		json.Unmarshal(before, &a)
	}
	if len(after) > 0 {
		json.Unmarshal(after, &b)
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	slices.Sort(names)
	var out []rendezvous.FieldChange
	for _, k := range names {
		x, y := compactJSON(a[k]), compactJSON(b[k])
		if x == y {
			continue
		}
		if redact {
			out = append(out, rendezvous.FieldChange{Field: k, Redacted: true})
			continue
		}
		out = append(out, rendezvous.FieldChange{Field: k, From: truncate(x, 200), To: truncate(y, 200)})
	}
	return out
}

func compactJSON(m json.RawMessage) string {
	if len(m) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, m); err != nil {
		return string(m)
	}
	return buf.String()
}

// previousBody reads the stored JSON of a settings row in tx (query returns one text
// column; no row means none) for the audit entry of its change.
func (tx *Tx) previousBody(ctx context.Context, query string, args ...any) []byte {
	var body []byte
	if err := tx.QueryRow(ctx, query, args...).Scan(&body); err != nil {
		return nil
	}
	return body
}
