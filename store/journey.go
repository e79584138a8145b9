package store

// The customer journey's tables (migrations 0100_journey.sql): per-organization
// scheduling settings, uploaded waiting-room media, and the single Genesys interaction of
// each appointment. Owned by the customer-journey package; the rules live there, this file
// only keeps the rows.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"rendezvous"
)

// JourneySettings returns the organization's stored scheduling settings as JSON, or
// rendezvous.ErrNotFound when the administrator never saved any.
func (s *Store) JourneySettings(ctx context.Context, orgID string) ([]byte, time.Time, error) {
	var body string
	var updated int64
	err := s.ReadRow(ctx, "SELECT body, updated_at FROM journey_settings WHERE org_id = ?", orgID).Scan(&body, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, fmt.Errorf("scheduling settings of %s: %w", orgID, rendezvous.ErrNotFound)
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("scheduling settings of %s: %w", orgID, err)
	}
	return []byte(body), TimeFromDB(updated), nil
}

// PutJourneySettings stores the organization's scheduling settings (JSON) and returns the
// time they were saved.
func (s *Store) PutJourneySettings(ctx context.Context, orgID string, body []byte) (time.Time, error) {
	now := s.clock.Now().UTC()
	err := s.InTx(ctx, func(tx *Tx) error {
		old := tx.previousBody(ctx, "SELECT body FROM journey_settings WHERE org_id = ?", orgID)
		_, err := tx.Exec(ctx, `INSERT INTO journey_settings (org_id, body, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
			orgID, string(body), TimeToDB(now))
		if err != nil {
			return err
		}
		_, err = tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: "settings.scheduling_updated", TargetType: "settings",
			TargetID: "scheduling", Changes: JSONChanges(old, body, false)})
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("save scheduling settings of %s: %w", orgID, err)
	}
	return TimeFromDB(TimeToDB(now)), nil
}

// PutJourneyMedia stores an uploaded waiting-room file and returns its id.
func (s *Store) PutJourneyMedia(ctx context.Context, orgID, contentType string, body []byte) (string, error) {
	id := uuid.NewString()
	err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO journey_media (id, org_id, content_type, body, created_at) VALUES (?, ?, ?, ?, ?)",
			id, orgID, contentType, body, TimeToDB(s.clock.Now()))
		if err != nil {
			return err
		}
		_, err = tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: "settings.media_uploaded", TargetType: "media",
			TargetID: id, Changes: []rendezvous.FieldChange{{Field: "contentType", To: contentType}}})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("save waiting-room media: %w", err)
	}
	return id, nil
}

// JourneyMedia returns an uploaded waiting-room file by id (any organization: the id is
// an unguessable UUID that appears on customer pages), or rendezvous.ErrNotFound.
func (s *Store) JourneyMedia(ctx context.Context, id string) (orgID, contentType string, body []byte, err error) {
	err = s.ReadRow(ctx, "SELECT org_id, content_type, body FROM journey_media WHERE id = ?", id).Scan(&orgID, &contentType, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil, fmt.Errorf("waiting-room media %s: %w", id, rendezvous.ErrNotFound)
	}
	if err != nil {
		return "", "", nil, fmt.Errorf("waiting-room media %s: %w", id, err)
	}
	return orgID, contentType, body, nil
}

// JourneyInteraction is the stored state of an appointment's one Genesys interaction.
type JourneyInteraction struct {
	AppointmentID string
	OrgID         string
	// Progress is "connecting", "waiting_agent" or "agent_joined".
	Progress     string
	DeploymentID string
	// GuestTokenSealed is the web messaging session token sealed by the secrets box; the
	// journey package opens it.
	GuestTokenSealed []byte
	LeaseOwner       string
	LeaseUntil       time.Time
	Attempts         int
	LastError        string
	CreatedAt        time.Time
	JoinedAt         time.Time
	AgentJoinedAt    time.Time
	UpdatedAt        time.Time
}

const journeyInteractionCols = `appointment_id, org_id, progress, deployment_id, guest_token_sealed, lease_owner,
	lease_until, attempts, last_error, created_at, joined_at, agent_joined_at, updated_at`

type journeyRowScanner interface{ Scan(dest ...any) error }

func scanJourneyInteraction(r journeyRowScanner) (JourneyInteraction, error) {
	var it JourneyInteraction
	var leaseUntil, created, joined, agentJoined, updated int64
	err := r.Scan(&it.AppointmentID, &it.OrgID, &it.Progress, &it.DeploymentID, &it.GuestTokenSealed, &it.LeaseOwner,
		&leaseUntil, &it.Attempts, &it.LastError, &created, &joined, &agentJoined, &updated)
	it.LeaseUntil, it.CreatedAt, it.JoinedAt = TimeFromDB(leaseUntil), TimeFromDB(created), TimeFromDB(joined)
	it.AgentJoinedAt, it.UpdatedAt = TimeFromDB(agentJoined), TimeFromDB(updated)
	return it, err
}

// JourneyInteractionOf returns the interaction row of an appointment, or
// rendezvous.ErrNotFound when nobody has opened the link in the live phase yet.
func (s *Store) JourneyInteractionOf(ctx context.Context, appointmentID string) (JourneyInteraction, error) {
	it, err := scanJourneyInteraction(s.ReadRow(ctx, "SELECT "+journeyInteractionCols+" FROM journey_interactions WHERE appointment_id = ?", appointmentID))
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("interaction of %s: %w", appointmentID, rendezvous.ErrNotFound)
	}
	if err != nil {
		return it, fmt.Errorf("interaction of %s: %w", appointmentID, err)
	}
	return it, nil
}

// ClaimJourneyInteraction decides, across every instance sharing the database, who drives
// the appointment's interaction now. In one transaction it creates the row when there is
// none (with progress "connecting", the given deployment and sealed guest token) or takes
// over the lease of a row whose lease has expired and whose agent has not joined yet.
// It returns the row as it now is and whether owner holds the lease. The primary key makes
// a second row impossible even if two transactions were to interleave.
func (s *Store) ClaimJourneyInteraction(ctx context.Context, orgID, appointmentID, deploymentID string, sealedToken []byte, owner string, lease time.Duration) (JourneyInteraction, bool, error) {
	var it JourneyInteraction
	won := false
	err := s.InTx(ctx, func(tx *Tx) error {
		won = false
		now := tx.Now()
		// The first open of an appointment creates the row: one statement, which returns
		// it, and that is the open that starts the interaction, so it is kept short.
		var err error
		it, err = scanJourneyInteraction(tx.QueryRow(ctx, `INSERT INTO journey_interactions (`+journeyInteractionCols+`)
			VALUES (?, ?, 'connecting', ?, ?, ?, ?, 1, '', ?, 0, 0, ?) ON CONFLICT (appointment_id) DO NOTHING
			RETURNING `+journeyInteractionCols,
			appointmentID, orgID, deploymentID, sealedToken, owner, TimeToDB(now.Add(lease)), TimeToDB(now), TimeToDB(now)))
		if err == nil {
			won = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// The row exists: take its lease over if it expired (or is ours) before the agent
		// joined. The update only applies to the lease as read, so of two instances
		// taking over at once one wins.
		if err := tx.Lock(ctx, "journey_interaction/"+appointmentID); err != nil {
			return err
		}
		it, err = scanJourneyInteraction(tx.QueryRow(ctx, "SELECT "+journeyInteractionCols+" FROM journey_interactions WHERE appointment_id = ?", appointmentID))
		if err != nil || it.Progress == "agent_joined" || (it.LeaseOwner != owner && it.LeaseUntil.After(now)) {
			return err
		}
		taken, err := scanJourneyInteraction(tx.QueryRow(ctx, `UPDATE journey_interactions SET lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
			WHERE appointment_id = ? AND lease_until = ? RETURNING `+journeyInteractionCols,
			owner, TimeToDB(now.Add(lease)), TimeToDB(now), appointmentID, TimeToDB(it.LeaseUntil)))
		switch {
		case err == nil:
			it, won = taken, true
			return nil
		case errors.Is(err, sql.ErrNoRows):
			it, err = scanJourneyInteraction(tx.QueryRow(ctx, "SELECT "+journeyInteractionCols+" FROM journey_interactions WHERE appointment_id = ?", appointmentID))
		}
		return err
	})
	if err != nil {
		return it, false, fmt.Errorf("claim interaction of %s: %w", appointmentID, err)
	}
	return it, won, nil
}

// RenewJourneyLease extends owner's lease on the interaction; false means owner lost it
// (another instance took over) and must stop driving it.
func (s *Store) RenewJourneyLease(ctx context.Context, appointmentID, owner string, lease time.Duration) (bool, error) {
	var n int64
	err := s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, "UPDATE journey_interactions SET lease_until = ? WHERE appointment_id = ? AND lease_owner = ?",
			TimeToDB(tx.Now().Add(lease)), appointmentID, owner)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("renew interaction lease of %s: %w", appointmentID, err)
	}
	return n == 1, nil
}

// SetJourneyProgress records the interaction's progress ("waiting_agent" once the presence
// join reached Genesys, "agent_joined" once the agent answered) and the last error, if
// any. Progress never moves backwards.
func (s *Store) SetJourneyProgress(ctx context.Context, appointmentID, progress, lastError string) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		now := TimeToDB(tx.Now())
		var q string
		switch progress {
		case "waiting_agent":
			q = `UPDATE journey_interactions SET progress = ?, joined_at = CASE WHEN joined_at = 0 THEN ? ELSE joined_at END,
				last_error = ?, updated_at = ? WHERE appointment_id = ? AND progress = 'connecting'`
		case "agent_joined":
			q = `UPDATE journey_interactions SET progress = ?, agent_joined_at = CASE WHEN agent_joined_at = 0 THEN ? ELSE agent_joined_at END,
				last_error = ?, updated_at = ? WHERE appointment_id = ? AND progress <> 'agent_joined'`
		case "":
			_, err := tx.Exec(ctx, "UPDATE journey_interactions SET last_error = ?, updated_at = ? WHERE appointment_id = ?", lastError, now, appointmentID)
			return err
		default:
			return fmt.Errorf("unknown progress %q", progress)
		}
		if progress != "waiting_agent" {
			_, err := tx.Exec(ctx, q, progress, now, lastError, now, appointmentID)
			return err
		}
		// The customer reaching the agent's queue is an event webhooks may send, once.
		var orgID string
		err := tx.QueryRow(ctx, q+" RETURNING org_id", progress, now, lastError, now, appointmentID).Scan(&orgID)
		if isNoRows(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return tx.RecordAppointmentEvent(ctx, orgID, appointmentID, rendezvous.EventAppointmentCustomerWaiting, nil)
	})
	if err != nil {
		return fmt.Errorf("record interaction progress of %s: %w", appointmentID, err)
	}
	return nil
}

// ReleaseJourneyLease gives up owner's lease at once (on shutdown), so another instance
// can resume the interaction without waiting for the lease to run out.
func (s *Store) ReleaseJourneyLease(ctx context.Context, appointmentID, owner string) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, "UPDATE journey_interactions SET lease_until = 0 WHERE appointment_id = ? AND lease_owner = ?", appointmentID, owner)
		return err
	})
	if err != nil {
		return fmt.Errorf("release interaction lease of %s: %w", appointmentID, err)
	}
	return nil
}
