package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"rendezvous"
)

// createPostgresSQL does a whole booking in one statement: read the idempotency key and
// the agent's clashing appointment, and only if there is neither insert the appointment,
// the key, the "created" event job and its audit log entry. It runs after the advisory locks in the same
// pipeline, so its snapshot already includes anything a competing booking committed.
const createPostgresSQL = `WITH existing AS (
	SELECT request_hash, appointment_id FROM idempotency_keys WHERE org_id = $1 AND key = $2 AND $2 <> ''
), clash AS (
	SELECT id FROM appointments
	WHERE org_id = $1 AND agent_user_id = $3 AND $3 <> '' AND start_at > $4::bigint AND start_at < $5::bigint
	AND end_at > $6::bigint AND status IN ('scheduled', 'in_progress') LIMIT 1
), ins AS (
	INSERT INTO appointments (id, org_id, status, version, start_at, end_at, time_zone, title, notes,
		agent_user_id, customers, interaction, link_sealed, notifications_enabled, created_at,
		updated_at, cancelled_at, cancel_reason, started_at, ended_at, link_hash)
	SELECT $7, $1, $8, 1, $6::bigint, $5::bigint, $9, $10, $11, $3, $12, $13, $14::bytea, $15::boolean,
		$16::bigint, $16::bigint, 0, '', 0, 0, $17
	WHERE NOT EXISTS (SELECT 1 FROM existing) AND NOT EXISTS (SELECT 1 FROM clash)
	RETURNING id
), idem AS (
	INSERT INTO idempotency_keys (org_id, key, request_hash, appointment_id, created_at)
	SELECT $1, $2, $18, id, $16::bigint FROM ins WHERE $2 <> ''
), job AS (
	INSERT INTO jobs (org_id, kind, args, state, run_at, attempts, max_attempts, last_error,
		unique_key, lease_until, created_at, finished_at)
	SELECT $1, $19, $20, 'pending', $21::bigint, 0, $22::int, '', NULL, 0, $21::bigint, 0
	FROM ins
), audit AS (
	INSERT INTO audit_log (org_id, at, actor_kind, actor_id, actor_name, action, target_type, target_id,
		version, changes, hook_pending)
	SELECT $1, $21::bigint, $23, $24, $25, 'appointment.created', 'appointment', id, 1, '[]',
		CASE WHEN EXISTS (SELECT 1 FROM webhook_subscriptions WHERE org_id = $1 AND state <> 'disabled' AND events LIKE $26)
		THEN 1 ELSE 0 END
	FROM ins
)
SELECT (SELECT id FROM ins), (SELECT request_hash FROM existing), (SELECT appointment_id FROM existing), (SELECT id FROM clash)`

// createPostgres is CreateAppointment on PostgreSQL in one round trip: the advisory locks
// and the booking statement are sent as one pgx pipeline, which PostgreSQL runs as one
// implicit transaction (the locks last until it ends). Three round trips of a plain
// BEGIN/INSERT/COMMIT would cost more than the whole booking.
func (s *Store) createPostgres(ctx context.Context, saved *rendezvous.Appointment, idem Idempotency,
	customers, interaction string, sealed []byte) (replayID string, err error) {
	args, err := json.Marshal(EventArgs{AppointmentID: saved.ID, Event: "created", Version: 1})
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	actor := rendezvous.ActorFrom(ctx)
	lower := saved.Start.Add(-rendezvous.MaxDurationMinutes * time.Minute)
	b := &pgx.Batch{}
	if idem.Key != "" {
		b.Queue("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "idem/"+saved.OrgID+"/"+idem.Key)
	}
	if saved.AgentUserID != "" {
		b.Queue("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "agent/"+saved.OrgID+"/"+saved.AgentUserID)
	}
	var insID, exHash, exID, clashID sql.NullString
	b.Queue(createPostgresSQL,
		saved.OrgID, idem.Key, saved.AgentUserID, TimeToDB(lower), TimeToDB(saved.End()), TimeToDB(saved.Start),
		saved.ID, string(saved.Status), saved.TimeZone, saved.Title, saved.Notes, customers, interaction,
		sealed, saved.NotificationsEnabled, TimeToDB(saved.CreatedAt), rendezvous.HashLinkToken(saved.LinkToken),
		idem.RequestHash, EventJobKind, string(args), TimeToDB(now), DefaultMaxAttempts,
		actor.Kind, actor.ID, truncate(actor.Name, 200), eventPattern(rendezvous.EventAppointmentCreated),
	).QueryRow(func(row pgx.Row) error { return row.Scan(&insID, &exHash, &exID, &clashID) })

	conn, err := s.write.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		return dc.(*stdlib.Conn).Conn().SendBatch(ctx, b).Close()
	})
	switch {
	case err != nil:
		return "", err
	case insID.Valid:
		s.notifyJobs()
		return "", nil
	case exHash.Valid && exHash.String != idem.RequestHash:
		return "", rendezvous.WithDetail(fmt.Errorf("idempotency key %q was used with a different request: %w", idem.Key, rendezvous.ErrConflict),
			"This Idempotency-Key was already used with a different request body. Use a new key for a new request.")
	case exID.Valid:
		return exID.String, nil
	case clashID.Valid:
		return "", rendezvous.WithDetail(fmt.Errorf("agent %s already has appointment %s at that time: %w", saved.AgentUserID, clashID.String, rendezvous.ErrConflict),
			"The agent already has an appointment (%s) that overlaps this time. Choose another time or agent.", clashID.String)
	}
	return "", fmt.Errorf("booking inserted nothing and found no reason")
}
