package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"rendezvous"
)

// The states of a journey callback row (see migration 0110_callbacks).
const (
	// CallbackCreating: a create was sent and its answer not recorded yet.
	CallbackCreating = "creating"
	// CallbackScheduled: Genesys holds the callback at ScheduledAt.
	CallbackScheduled = "scheduled"
	// CallbackCancelled: the callback was disconnected.
	CallbackCancelled = "cancelled"
	// CallbackFailed: Genesys refused the last call for good; LastError says why.
	CallbackFailed = "failed"
	// CallbackUnknown: a create may or may not have reached Genesys; it is not re-sent
	// automatically, because a duplicate would ring the agent twice.
	CallbackUnknown = "unknown"
	// CallbackDeferred: the appointment moved beyond Genesys' 30-day horizon, so its
	// callback was disconnected and is created again nearer the time.
	CallbackDeferred = "deferred"
)

// Callback is the Genesys Cloud scheduled callback of one appointment on the callbacks
// scheduling channel.
type Callback struct {
	AppointmentID  string
	OrgID          string
	State          string
	ConversationID string
	CallbackID     string
	QueueID        string
	AgentUserID    string
	ScheduledAt    time.Time
	Attempts       int
	LastError      string
	UpdatedAt      time.Time
}

// JourneyCallback returns the callback row of an appointment; ErrNotFound when none was
// ever created.
func (s *Store) JourneyCallback(ctx context.Context, orgID, appointmentID string) (Callback, error) {
	c := Callback{AppointmentID: appointmentID}
	var at, updated int64
	err := s.ReadRow(ctx, `SELECT org_id, state, conversation_id, callback_id, queue_id, agent_user_id,
		scheduled_at, attempts, last_error, updated_at FROM journey_callbacks WHERE org_id = ? AND appointment_id = ?`,
		orgID, appointmentID).Scan(&c.OrgID, &c.State, &c.ConversationID, &c.CallbackID, &c.QueueID, &c.AgentUserID,
		&at, &c.Attempts, &c.LastError, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Callback{}, fmt.Errorf("callback of %s: %w", appointmentID, rendezvous.ErrNotFound)
	}
	if err != nil {
		return Callback{}, fmt.Errorf("callback of %s: %w", appointmentID, err)
	}
	c.ScheduledAt, c.UpdatedAt = TimeFromDB(at), TimeFromDB(updated)
	return c, nil
}

// PutJourneyCallback inserts or replaces the callback row of c.AppointmentID, stamping
// UpdatedAt.
func (s *Store) PutJourneyCallback(ctx context.Context, c Callback) error {
	now := s.clock.Now().UTC()
	err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO journey_callbacks (appointment_id, org_id, state, conversation_id,
			callback_id, queue_id, agent_user_id, scheduled_at, attempts, last_error, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (appointment_id) DO UPDATE SET state = excluded.state,
			conversation_id = excluded.conversation_id, callback_id = excluded.callback_id,
			queue_id = excluded.queue_id, agent_user_id = excluded.agent_user_id,
			scheduled_at = excluded.scheduled_at, attempts = excluded.attempts,
			last_error = excluded.last_error, updated_at = excluded.updated_at`,
			c.AppointmentID, c.OrgID, c.State, c.ConversationID, c.CallbackID, c.QueueID, c.AgentUserID,
			TimeToDB(c.ScheduledAt), c.Attempts, truncate(c.LastError, 2000), TimeToDB(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("save callback of %s: %w", c.AppointmentID, err)
	}
	return nil
}

// ClaimJourneyCallback inserts the callback row of an appointment in state "creating"
// (or moves a "failed" or "deferred" row, for which Genesys holds nothing, back to it),
// and reports false otherwise: the caller that gets true is the only one that may send
// the create, so two runs of the same job never create two callbacks.
func (s *Store) ClaimJourneyCallback(ctx context.Context, c Callback) (bool, error) {
	now := s.clock.Now().UTC()
	n, err := s.execCount(ctx, `INSERT INTO journey_callbacks (appointment_id, org_id, state, conversation_id,
		callback_id, queue_id, agent_user_id, scheduled_at, attempts, last_error, updated_at)
		VALUES (?, ?, ?, '', '', ?, ?, ?, 1, '', ?)
		ON CONFLICT (appointment_id) DO UPDATE SET state = excluded.state, conversation_id = '',
		callback_id = '', queue_id = excluded.queue_id, agent_user_id = excluded.agent_user_id,
		scheduled_at = excluded.scheduled_at, attempts = journey_callbacks.attempts + 1,
		updated_at = excluded.updated_at
		WHERE journey_callbacks.state IN ('failed', 'deferred')`,
		c.AppointmentID, c.OrgID, CallbackCreating, c.QueueID, c.AgentUserID, TimeToDB(c.ScheduledAt), TimeToDB(now))
	if err != nil {
		return false, fmt.Errorf("claim callback of %s: %w", c.AppointmentID, err)
	}
	return n == 1, nil
}
