package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"rendezvous"
)

// RoomSession is one connection of one side to an appointment's video room.
type RoomSession struct {
	ID            int64
	OrgID         string
	AppointmentID string
	// Side is "agent" or "customer".
	Side     string
	JoinedAt time.Time
	// LeftAt is zero while the connection is open.
	LeftAt time.Time
	// LeftReason says why it ended ("left", "hangup", "replaced", ...).
	LeftReason string
	// SeenAt is when the connection was last known alive (RoomSeen); an open session not
	// seen for long was left behind by a crashed instance.
	SeenAt time.Time
}

// RoomJoin records that side connected to the room of an appointment at instant at, and
// returns the new session's id for RoomLeave. Sessions of the same side still open are
// closed as "replaced": one side has one connection at a time, and this also closes the
// rows a crashed instance left open.
func (s *Store) RoomJoin(ctx context.Context, orgID, appointmentID, side string, at time.Time) (int64, error) {
	var id int64
	err := s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE room_sessions SET left_at = ?, left_reason = 'replaced'
			WHERE appointment_id = ? AND side = ? AND left_at = 0`, TimeToDB(at), appointmentID, side); err != nil {
			return fmt.Errorf("close replaced sessions: %w", err)
		}
		return tx.QueryRow(ctx, `INSERT INTO room_sessions (org_id, appointment_id, side, joined_at, left_at, left_reason, seen_at)
			VALUES (?, ?, ?, ?, 0, '', ?) RETURNING id`, orgID, appointmentID, side, TimeToDB(at), TimeToDB(at)).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("room join %s %s: %w", appointmentID, side, err)
	}
	return id, nil
}

// RoomLeave records that session id ended at instant at for reason. A session already
// closed (for example replaced) keeps its first ending.
func (s *Store) RoomLeave(ctx context.Context, id int64, at time.Time, reason string) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `UPDATE room_sessions SET left_at = ?, left_reason = ? WHERE id = ? AND left_at = 0`,
			TimeToDB(at), reason, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("room leave %d: %w", id, err)
	}
	return nil
}

// RoomSeen records that the open session id was alive at instant at.
func (s *Store) RoomSeen(ctx context.Context, id int64, at time.Time) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `UPDATE room_sessions SET seen_at = ? WHERE id = ? AND left_at = 0`, TimeToDB(at), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("room seen %d: %w", id, err)
	}
	return nil
}

// RoomSessions lists the room sessions of an appointment of orgID, oldest first.
func (s *Store) RoomSessions(ctx context.Context, orgID, appointmentID string) ([]RoomSession, error) {
	rows, err := s.Read(ctx, `SELECT id, org_id, appointment_id, side, joined_at, left_at, left_reason, seen_at
		FROM room_sessions WHERE appointment_id = ? AND org_id = ? ORDER BY joined_at, id`, appointmentID, orgID)
	if err != nil {
		return nil, fmt.Errorf("room sessions %s: %w", appointmentID, err)
	}
	defer rows.Close()
	var out []RoomSession
	for rows.Next() {
		var rs RoomSession
		var joined, left, seen int64
		if err := rows.Scan(&rs.ID, &rs.OrgID, &rs.AppointmentID, &rs.Side, &joined, &left, &rs.LeftReason, &seen); err != nil {
			return nil, fmt.Errorf("room sessions %s: %w", appointmentID, err)
		}
		rs.JoinedAt, rs.LeftAt, rs.SeenAt = TimeFromDB(joined), TimeFromDB(left), TimeFromDB(seen)
		out = append(out, rs)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("room sessions %s: %w", appointmentID, err)
	}
	return out, nil
}

// RoomSettings returns the stored video settings body of orgID (as PutRoomSettings got
// it) and when it was saved; ErrNotFound when the organization has none.
func (s *Store) RoomSettings(ctx context.Context, orgID string) ([]byte, time.Time, error) {
	var body []byte
	var at int64
	err := s.ReadRow(ctx, `SELECT body, updated_at FROM room_settings WHERE org_id = ?`, orgID).Scan(&body, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, fmt.Errorf("room settings of %s: %w", orgID, rendezvous.ErrNotFound)
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("room settings of %s: %w", orgID, err)
	}
	return body, TimeFromDB(at), nil
}

// PutRoomSettings stores the video settings body of orgID, replacing any, and returns
// the instant it was saved. The room package seals the body before, since it holds TURN
// credentials.
func (s *Store) PutRoomSettings(ctx context.Context, orgID string, body []byte) (time.Time, error) {
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO room_settings (org_id, body, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
			orgID, body, TimeToDB(now))
		if err != nil {
			return err
		}
		// The body is sealed (TURN credentials): the entry says only that it changed.
		_, err = tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: "settings.video_updated", TargetType: "settings",
			TargetID: "video", Changes: []rendezvous.FieldChange{{Field: "iceServers", Redacted: true}}})
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("save room settings of %s: %w", orgID, err)
	}
	return now, nil
}

// ClaimRoomOwner makes instance the host of an appointment's room signaling unless
// another instance holds an unexpired lease, and returns the owner either way. The
// owner's lease runs until now + lease; an owner renews by claiming again.
func (s *Store) ClaimRoomOwner(ctx context.Context, appointmentID, instance string, now time.Time, lease time.Duration) (string, error) {
	var owner string
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := tx.Lock(ctx, "room-owner/"+appointmentID); err != nil {
			return err
		}
		var until int64
		err := tx.QueryRow(ctx, `SELECT instance_url, lease_until FROM room_owners WHERE appointment_id = ?`, appointmentID).Scan(&owner, &until)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case owner != instance && TimeFromDB(until).After(now):
			return nil // someone else's, and alive
		}
		owner = instance
		_, err = tx.Exec(ctx, `INSERT INTO room_owners (appointment_id, instance_url, lease_until) VALUES (?, ?, ?)
			ON CONFLICT (appointment_id) DO UPDATE SET instance_url = excluded.instance_url, lease_until = excluded.lease_until`,
			appointmentID, instance, TimeToDB(now.Add(lease)))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("claim room %s: %w", appointmentID, err)
	}
	return owner, nil
}

// ReleaseRoomOwner gives up instance's ownership of an appointment's room, if it has it.
func (s *Store) ReleaseRoomOwner(ctx context.Context, appointmentID, instance string) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM room_owners WHERE appointment_id = ? AND instance_url = ?`, appointmentID, instance)
		return err
	})
	if err != nil {
		return fmt.Errorf("release room %s: %w", appointmentID, err)
	}
	return nil
}
