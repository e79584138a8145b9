package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"rendezvous"
)

// EventJobKind is the kind of the job enqueued in the transaction of every appointment
// change; its Args are EventArgs.
const EventJobKind = "appointment.event"

// EventArgs are the arguments of an appointment event job (EventJobKind).
type EventArgs struct {
	AppointmentID string `json:"appointmentId"`
	// Event is "created", "rescheduled", "updated", "reassigned", "cancelled", "started",
	// "completed" or "no_show".
	Event   string `json:"event"`
	Version int    `json:"version"`
}

// Idempotency carries a client's Idempotency-Key and a hash of its request body. The zero
// value means the request had no key.
type Idempotency struct {
	Key         string
	RequestHash string
}

// ListFilter selects appointments. Zero fields do not filter.
type ListFilter struct {
	AgentUserID string
	Statuses    []rendezvous.Status
	// From and To select appointments overlapping [From, To).
	From, To time.Time
	// Limit is the page size: default DefaultListLimit, at most MaxListLimit unless Range.
	Limit int
	// Range lifts MaxListLimit, for a page that shows a whole range at once (a
	// supervisor's week) and would otherwise read it in many round trips. Not for the API,
	// whose pages stay small.
	Range bool
	// Cursor is the next value of the previous page.
	Cursor string
}

// Page sizes of ListAppointments.
const (
	DefaultListLimit = 50
	MaxListLimit     = 200
)

// appointmentColumns is the column list every appointment query reads, in scan order.
const appointmentColumns = `id, org_id, status, version, start_at, end_at, time_zone, title, notes,
	agent_user_id, customers, interaction, link_sealed, notifications_enabled, created_at,
	updated_at, cancelled_at, cancel_reason, started_at, ended_at`

// The JSON stored in the customers and interaction columns. Explicit tags keep the stored
// form stable when Go field names change.
type customerJSON struct {
	Name     string `json:"name"`
	Phone    string `json:"phone,omitempty"`
	Email    string `json:"email,omitempty"`
	Language string `json:"language,omitempty"`
}

type interactionJSON struct {
	RoutingType  string            `json:"routingType"`
	QueueName    string            `json:"queueName,omitempty"`
	CustomFields map[string]string `json:"customFields,omitempty"`
}

func encodeAppointment(a *rendezvous.Appointment) (customers, interaction string, err error) {
	cs := make([]customerJSON, len(a.Customers))
	for i, c := range a.Customers {
		cs[i] = customerJSON(c)
	}
	cb, err := json.Marshal(cs)
	if err != nil {
		return "", "", fmt.Errorf("encode customers: %w", err)
	}
	ib, err := json.Marshal(interactionJSON{
		RoutingType:  string(a.Interaction.Routing.Type),
		QueueName:    a.Interaction.Routing.QueueName,
		CustomFields: a.Interaction.CustomFields,
	})
	if err != nil {
		return "", "", fmt.Errorf("encode interaction: %w", err)
	}
	return string(cb), string(ib), nil
}

// apptRow holds an appointment and the raw column values it is scanned from, so that
// scanning a row costs one allocation instead of one per column (every pointer passed to
// Scan escapes). Listing is dominated by such per-row costs.
type apptRow struct {
	a                                                       rendezvous.Appointment
	start, end, created, updated, cancelled, started, ended int64
	customers, interaction, sealed                          []byte
	status                                                  string
}

func (s *Store) scanAppointment(r rowScanner) (*rendezvous.Appointment, error) {
	row := &apptRow{}
	a := &row.a
	// From *sql.Rows the JSON and sealed columns are borrowed (sql.RawBytes), not copied:
	// they are only looked up in the decode cache, whose keys are copies.
	var customersDst, interactionDst, sealedDst any = &row.customers, &row.interaction, &row.sealed
	var rawC, rawI, rawS sql.RawBytes
	if _, ok := r.(*sql.Rows); ok {
		customersDst, interactionDst, sealedDst = &rawC, &rawI, &rawS
	}
	if err := r.Scan(&a.ID, &a.OrgID, &row.status, &a.Version, &row.start, &row.end, &a.TimeZone, &a.Title, &a.Notes,
		&a.AgentUserID, customersDst, interactionDst, sealedDst, &a.NotificationsEnabled, &row.created,
		&row.updated, &row.cancelled, &a.CancelReason, &row.started, &row.ended); err != nil {
		return nil, err
	}
	if rawC != nil {
		row.customers, row.interaction, row.sealed = rawC, rawI, rawS
	}
	a.Status = rendezvous.Status(row.status)
	a.Start, a.Duration = TimeFromDB(row.start), time.Duration(row.end-row.start)*time.Microsecond
	a.CreatedAt, a.UpdatedAt = TimeFromDB(row.created), TimeFromDB(row.updated)
	a.CancelledAt, a.StartedAt, a.EndedAt = TimeFromDB(row.cancelled), TimeFromDB(row.started), TimeFromDB(row.ended)
	customers, interaction, sealed := row.customers, row.interaction, row.sealed
	var err error
	if a.Customers, err = s.decoded.decodeCustomers(customers); err != nil {
		return nil, fmt.Errorf("appointment %s customers: %w", a.ID, err)
	}
	if a.Interaction, err = s.decoded.decodeInteraction(interaction); err != nil {
		return nil, fmt.Errorf("appointment %s interaction: %w", a.ID, err)
	}
	if len(sealed) > 0 && s.secrets != nil {
		tok, err := s.decoded.openToken(sealed, s.secrets.Open)
		if err != nil {
			// A wrong key must not hide the appointment; the link just cannot be shown.
			s.log.Warn("cannot open link token; was the secret key changed?", "appointment_id", a.ID, "error", err)
		} else {
			a.LinkToken = tok
		}
	}
	return a, nil
}

// CreateAppointment stores a new appointment built by rendezvous.NewAppointment. It
// assigns the ID, the link token and version 1, and in one transaction: replays or refuses
// a reused idempotency key, refuses an overlap with the agent's other scheduled or
// in-progress appointments (ErrConflict), inserts, and enqueues the "created" event.
// On replay it returns the stored appointment as it is now, with replayed true.
func (s *Store) CreateAppointment(ctx context.Context, a *rendezvous.Appointment, idem Idempotency) (*rendezvous.Appointment, bool, error) {
	saved := *a
	// A time-ordered UUID (version 7): new rows append to the primary-key index instead of
	// landing on random pages, which keeps each commit's writes small.
	id, err := uuid.NewV7()
	if err != nil {
		return nil, false, fmt.Errorf("create appointment: %w", err)
	}
	saved.ID = id.String()
	saved.Version = 1
	if saved.Status == "" {
		saved.Status = rendezvous.StatusScheduled
	}
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	if saved.CreatedAt.IsZero() {
		saved.CreatedAt = now
	}
	if saved.UpdatedAt.IsZero() {
		saved.UpdatedAt = now
	}
	saved.Start = saved.Start.UTC().Truncate(time.Microsecond)
	saved.CreatedAt = saved.CreatedAt.UTC().Truncate(time.Microsecond)
	saved.UpdatedAt = saved.UpdatedAt.UTC().Truncate(time.Microsecond)
	tok, err := rendezvous.NewLinkToken()
	if err != nil {
		return nil, false, err
	}
	saved.LinkToken = tok
	var sealed []byte
	if s.secrets != nil {
		if sealed, err = s.secrets.Seal([]byte(tok)); err != nil {
			return nil, false, fmt.Errorf("create appointment: %w", err)
		}
	}
	customers, interaction, err := encodeAppointment(&saved)
	if err != nil {
		return nil, false, err
	}
	// A booking routed to a queue with a schedule is bounded by its capacity, checked in
	// the transaction under the queue's lock (checkQueueCapacity): on PostgreSQL too it
	// then takes the transaction below instead of the one-statement booking.
	queue, err := s.queueWithSchedule(ctx, &saved)
	if err != nil {
		return nil, false, fmt.Errorf("create appointment: %w", err)
	}
	if s.dialect == Postgres && queue == "" {
		replayID, err := s.createPostgres(ctx, &saved, idem, customers, interaction, sealed)
		if err != nil {
			return nil, false, fmt.Errorf("create appointment: %w", err)
		}
		if replayID == "" {
			return &saved, false, nil
		}
		replay, err := s.Appointment(ctx, saved.OrgID, replayID)
		if err != nil {
			return nil, false, fmt.Errorf("replay idempotency key: %w", err)
		}
		return replay, true, nil
	}
	var replay *rendezvous.Appointment
	err = s.InTx(ctx, func(tx *Tx) error {
		if idem.Key != "" {
			// Two requests with one key must not both pass the check below.
			if err := tx.Lock(ctx, "idem/"+saved.OrgID+"/"+idem.Key); err != nil {
				return err
			}
			var hash, id string
			err := tx.QueryRow(ctx, "SELECT request_hash, appointment_id FROM idempotency_keys WHERE org_id = ? AND key = ?",
				saved.OrgID, idem.Key).Scan(&hash, &id)
			switch {
			case err == nil && hash != idem.RequestHash:
				return rendezvous.WithDetail(fmt.Errorf("idempotency key %q was used with a different request: %w", idem.Key, rendezvous.ErrConflict),
					"This Idempotency-Key was already used with a different request body. Use a new key for a new request.")
			case err == nil:
				replay, err = s.scanAppointment(tx.QueryRow(ctx, "SELECT "+appointmentColumns+" FROM appointments WHERE org_id = ? AND id = ?", saved.OrgID, id))
				if err != nil {
					return fmt.Errorf("replay idempotency key: %w", err)
				}
				return nil
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("idempotency key: %w", err)
			}
		}
		if queue != "" {
			if err := s.checkQueueCapacity(ctx, tx, &saved, nil, queue); err != nil {
				return err
			}
		}
		if err := s.checkOverlap(ctx, tx, &saved); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO appointments (`+appointmentColumns+`, link_hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			saved.ID, saved.OrgID, string(saved.Status), saved.Version, TimeToDB(saved.Start), TimeToDB(saved.End()),
			saved.TimeZone, saved.Title, saved.Notes, saved.AgentUserID, customers, interaction, sealed,
			saved.NotificationsEnabled, TimeToDB(saved.CreatedAt), TimeToDB(saved.UpdatedAt),
			TimeToDB(saved.CancelledAt), saved.CancelReason, TimeToDB(saved.StartedAt), TimeToDB(saved.EndedAt),
			rendezvous.HashLinkToken(tok))
		if err != nil {
			return fmt.Errorf("insert appointment: %w", err)
		}
		if idem.Key != "" {
			if _, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (org_id, key, request_hash, appointment_id, created_at)
				VALUES (?, ?, ?, ?, ?)`, saved.OrgID, idem.Key, idem.RequestHash, saved.ID, TimeToDB(now)); err != nil {
				return fmt.Errorf("record idempotency key: %w", err)
			}
		}
		if err := tx.auditAppointment(ctx, saved.OrgID, saved.ID, "created", saved.Version, nil); err != nil {
			return err
		}
		return tx.enqueueEvent(ctx, saved.OrgID, EventArgs{AppointmentID: saved.ID, Event: "created", Version: saved.Version})
	})
	if err != nil {
		return nil, false, fmt.Errorf("create appointment: %w", err)
	}
	if replay != nil {
		return replay, true, nil
	}
	return &saved, false, nil
}

// checkOverlap refuses a that overlaps another scheduled or in-progress appointment of
// its agent. It runs inside the writing transaction after taking the agent's lock, so two
// parallel bookings can never both pass it.
func (s *Store) checkOverlap(ctx context.Context, tx *Tx, a *rendezvous.Appointment) error {
	if a.AgentUserID == "" || a.Status.Final() {
		return nil
	}
	if err := tx.Lock(ctx, "agent/"+a.OrgID+"/"+a.AgentUserID); err != nil {
		return err
	}
	// No appointment lasts longer than MaxDurationMinutes, so none starting before
	// a.Start minus that can overlap: the lower bound keeps the index range short.
	lower := a.Start.Add(-rendezvous.MaxDurationMinutes * time.Minute)
	var other string
	from := "appointments"
	if s.dialect == SQLite {
		from = "appointments INDEXED BY appointments_agent_day" // see ListAppointments
	}
	err := tx.QueryRow(ctx, `SELECT id FROM `+from+`
		WHERE org_id = ? AND agent_user_id = ? AND start_at > ? AND start_at < ? AND end_at > ?
		AND status IN ('scheduled', 'in_progress') AND id <> ? LIMIT 1`,
		a.OrgID, a.AgentUserID, TimeToDB(lower), TimeToDB(a.End()), TimeToDB(a.Start), a.ID).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("check agent overlap: %w", err)
	}
	return rendezvous.WithDetail(fmt.Errorf("agent %s already has appointment %s at that time: %w", a.AgentUserID, other, rendezvous.ErrConflict),
		"The agent already has an appointment (%s) that overlaps this time. Choose another time or agent.", other)
}

// Appointment returns one appointment of the organization; ErrNotFound also when the id
// belongs to another organization.
func (s *Store) Appointment(ctx context.Context, orgID, id string) (*rendezvous.Appointment, error) {
	a, err := s.appointmentWhere(ctx, "org_id = ? AND id = ?", orgID, id)
	if err != nil {
		return nil, fmt.Errorf("appointment %s: %w", id, err)
	}
	return a, nil
}

// AppointmentByLinkToken finds the appointment of a customer link by the token's hash;
// ErrNotFound for an unknown token.
func (s *Store) AppointmentByLinkToken(ctx context.Context, token string) (*rendezvous.Appointment, error) {
	if token == "" {
		return nil, fmt.Errorf("appointment by link: %w", rendezvous.ErrNotFound)
	}
	a, err := s.appointmentWhere(ctx, "link_hash = ?", rendezvous.HashLinkToken(token))
	if err != nil {
		return nil, fmt.Errorf("appointment by link: %w", err)
	}
	// The caller proved knowledge of the token; hand it back even without a secrets box.
	a.LinkToken = token
	return a, nil
}

// appointmentWhere reads the one appointment matching where, or ErrNotFound. It goes
// through readRows, as lists do: pgx itself on PostgreSQL, borrowed column bytes on SQLite.
func (s *Store) appointmentWhere(ctx context.Context, where string, args ...any) (*rendezvous.Appointment, error) {
	var a *rendezvous.Appointment
	err := s.readRows(ctx, "SELECT "+appointmentColumns+" FROM appointments WHERE "+where, args, func(r rowScanner) error {
		var err error
		a, err = s.scanAppointment(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, rendezvous.ErrNotFound
	}
	return a, nil
}

// ListAppointments returns a page of the organization's appointments ordered by start,
// then id, and the cursor of the next page ("" on the last page).
func (s *Store) ListAppointments(ctx context.Context, orgID string, f ListFilter) ([]*rendezvous.Appointment, string, error) {
	query, args, limit, err := s.listQuery(appointmentColumns, orgID, f)
	if err != nil {
		return nil, "", err
	}
	items := make([]*rendezvous.Appointment, 0, min(limit+1, 64))
	err = s.readRows(ctx, query, args, func(r rowScanner) error {
		a, err := s.scanAppointment(r)
		if err != nil {
			return err
		}
		items = append(items, a)
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list appointments: %w", err)
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		last := items[limit-1]
		next = encodeCursor(TimeToDB(last.Start), last.ID)
	}
	return items, next, nil
}

// listQuery builds the query of a page of the appointments f selects, reading columns,
// in the order of start_at then id, and returns it with its arguments and the page size.
// It asks for one row more than the page, to know whether another page follows.
func (s *Store) listQuery(columns, orgID string, f ListFilter) (string, []any, int, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	if !f.Range {
		limit = min(limit, MaxListLimit)
	}
	var q strings.Builder
	q.WriteString("SELECT " + columns + " FROM appointments")
	if f.AgentUserID != "" && s.dialect == SQLite {
		// Without statistics SQLite picks appointments_org_start for an agent's day (it has
		// the order) and walks every appointment of the organization in the range.
		q.WriteString(" INDEXED BY appointments_agent_day")
	}
	q.WriteString(" WHERE org_id = ?")
	args := []any{orgID}
	if f.AgentUserID != "" {
		q.WriteString(" AND agent_user_id = ?")
		args = append(args, f.AgentUserID)
	}
	if len(f.Statuses) > 0 {
		q.WriteString(" AND status IN (?" + strings.Repeat(", ?", len(f.Statuses)-1) + ")")
		for _, st := range f.Statuses {
			args = append(args, string(st))
		}
	}
	if !f.From.IsZero() {
		// Overlap needs end > From; the start bound lets the index cut the range short.
		q.WriteString(" AND end_at > ? AND start_at > ?")
		args = append(args, TimeToDB(f.From), TimeToDB(f.From.Add(-rendezvous.MaxDurationMinutes*time.Minute)))
	}
	if !f.To.IsZero() {
		q.WriteString(" AND start_at < ?")
		args = append(args, TimeToDB(f.To))
	}
	if f.Cursor != "" {
		start, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return "", nil, 0, err
		}
		q.WriteString(" AND (start_at > ? OR (start_at = ? AND id > ?))")
		args = append(args, start, start, id)
	}
	q.WriteString(" ORDER BY start_at, id LIMIT ?")
	args = append(args, limit+1)
	return q.String(), args, limit, nil
}

// The cursor is opaque to clients: base64url of "<start micros>.<id>".
func encodeCursor(start int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(start, 10) + "." + id))
}

func decodeCursor(c string) (int64, string, error) {
	bad := &rendezvous.ValidationError{Problems: []rendezvous.FieldProblem{{Field: "cursor", Message: "is not a cursor this service returned; start again without it"}}}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", bad
	}
	ts, id, ok := strings.Cut(string(b), ".")
	if !ok || id == "" {
		return 0, "", bad
	}
	start, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return 0, "", bad
	}
	return start, id, nil
}

// UpdateAppointment changes one appointment in one transaction: it loads it (locking the
// row on PostgreSQL), refuses a stale ifVersion (when > 0) with ErrStaleVersion, lets
// change modify it through the domain methods (Apply, Cancel, MarkStarted, ...), checks
// the agent's other appointments again when the time or the agent changed, bumps the
// version, saves, writes the audit log entry (the actor from ctx, see rendezvous.WithActor)
// and enqueues the event job (EventJobKind) for the event change returns (none for ""). An error from change aborts everything and is returned as is, wrapped.
func (s *Store) UpdateAppointment(ctx context.Context, orgID, id string, ifVersion int, change func(a *rendezvous.Appointment) (event string, err error)) (*rendezvous.Appointment, error) {
	var out *rendezvous.Appointment
	err := s.InTx(ctx, func(tx *Tx) error {
		q := "SELECT " + appointmentColumns + " FROM appointments WHERE org_id = ? AND id = ?"
		if s.dialect == Postgres {
			q += " FOR UPDATE"
		}
		a, err := s.scanAppointment(tx.QueryRow(ctx, q, orgID, id))
		if errors.Is(err, sql.ErrNoRows) {
			return rendezvous.ErrNotFound
		}
		if err != nil {
			return err
		}
		if ifVersion > 0 && ifVersion != a.Version {
			return rendezvous.WithDetail(fmt.Errorf("version %d given, current is %d: %w", ifVersion, a.Version, rendezvous.ErrStaleVersion),
				"If-Match names version %d, but the appointment is at version %d: it changed since you read it. Read it again, then retry your change.", ifVersion, a.Version)
		}
		before := *a
		// Deep enough that change editing a customer in place still shows in the audit.
		before.Customers = slices.Clone(a.Customers)
		before.Interaction.CustomFields = maps.Clone(a.Interaction.CustomFields)
		event, err := change(a)
		if err != nil {
			return err
		}
		// change may not move the record to another identity.
		a.ID, a.OrgID, a.LinkToken, a.CreatedAt = before.ID, before.OrgID, before.LinkToken, before.CreatedAt
		a.Start = a.Start.UTC().Truncate(time.Microsecond)
		if !a.Start.Equal(before.Start) || a.Duration != before.Duration || a.AgentUserID != before.AgentUserID ||
			(before.Status.Final() && !a.Status.Final()) {
			if err := s.checkOverlap(ctx, tx, a); err != nil {
				return err
			}
		}
		// Moved into a queue's time, or within it: the queue's schedule must have room,
		// as for a new booking.
		if !a.Start.Equal(before.Start) || a.Duration != before.Duration || a.AgentUserID != before.AgentUserID ||
			a.Interaction.Routing != before.Interaction.Routing || (before.Status.Final() && !a.Status.Final()) {
			queue, err := s.queueWithSchedule(ctx, a)
			if err != nil {
				return err
			}
			if queue != "" {
				if err := s.checkQueueCapacity(ctx, tx, a, &before, queue); err != nil {
					return err
				}
			}
		}
		a.Version = before.Version + 1
		a.UpdatedAt = s.clock.Now().UTC().Truncate(time.Microsecond)
		customers, interaction, err := encodeAppointment(a)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE appointments SET status = ?, version = ?, start_at = ?, end_at = ?,
			time_zone = ?, title = ?, notes = ?, agent_user_id = ?, customers = ?, interaction = ?,
			notifications_enabled = ?, updated_at = ?, cancelled_at = ?, cancel_reason = ?, started_at = ?, ended_at = ?
			WHERE org_id = ? AND id = ? AND version = ?`,
			string(a.Status), a.Version, TimeToDB(a.Start), TimeToDB(a.End()), a.TimeZone, a.Title, a.Notes,
			a.AgentUserID, customers, interaction, a.NotificationsEnabled, TimeToDB(a.UpdatedAt),
			TimeToDB(a.CancelledAt), a.CancelReason, TimeToDB(a.StartedAt), TimeToDB(a.EndedAt),
			orgID, id, before.Version)
		if err != nil {
			return fmt.Errorf("save: %w", err)
		}
		// The audit log entry commits with the change; it is also what webhooks send.
		if changes := rendezvous.AppointmentChanges(&before, a); event != "" || len(changes) > 0 {
			if err := tx.auditAppointment(ctx, orgID, id, event, a.Version, changes); err != nil {
				return err
			}
		}
		if event != "" {
			if err := tx.enqueueEvent(ctx, orgID, EventArgs{AppointmentID: id, Event: event, Version: a.Version}); err != nil {
				return err
			}
		}
		out = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update appointment %s: %w", id, err)
	}
	return out, nil
}

// PruneIdempotencyKeys forgets idempotency keys recorded before the given instant (a
// client retrying after that gets a new appointment) and reports how many.
func (s *Store) PruneIdempotencyKeys(ctx context.Context, before time.Time) (int, error) {
	n, err := s.execCount(ctx, "DELETE FROM idempotency_keys WHERE created_at < ?", TimeToDB(before))
	if err != nil {
		return 0, fmt.Errorf("prune idempotency keys: %w", err)
	}
	return int(n), nil
}
