package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"rendezvous"
)

// staffUserColumns is the column list every staff user query reads, in scan order.
const staffUserColumns = `org_id, user_id, name, email, role, time_zone, language, created_at, last_sign_in_at`

func scanStaffUser(r rowScanner) (rendezvous.StaffUser, error) {
	var u rendezvous.StaffUser
	var role string
	var created, signedIn int64
	if err := r.Scan(&u.OrgID, &u.ID, &u.Name, &u.Email, &role, &u.TimeZone, &u.Language, &created, &signedIn); err != nil {
		return u, err
	}
	u.Role = rendezvous.Role(role)
	u.CreatedAt, u.LastSignInAt = TimeFromDB(created), TimeFromDB(signedIn)
	return u, nil
}

// SignInStaff records that the Genesys Cloud user u (OrgID, ID, Name, Email) signed in,
// and returns them as Rendezvous knows them. In one transaction, holding the
// organization's staff lock so that two first sign-ins cannot both become administrator:
// the first person of an organization becomes its administrator; a known person keeps
// their role unless granted (from their Genesys Cloud roles) is higher; a newcomer gets
// granted (at least agent). Name and email follow Genesys.
func (s *Store) SignInStaff(ctx context.Context, u rendezvous.StaffUser, granted rendezvous.Role) (rendezvous.StaffUser, error) {
	var out rendezvous.StaffUser
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := tx.Lock(ctx, "staff/"+u.OrgID); err != nil {
			return err
		}
		now := TimeToDB(s.clock.Now())
		cur, err := scanStaffUser(tx.QueryRow(ctx, "SELECT "+staffUserColumns+" FROM staff_users WHERE org_id = ? AND user_id = ?", u.OrgID, u.ID))
		switch {
		case err == nil:
			role := rendezvous.SignInRole(false, cur.Role, granted)
			if _, err := tx.Exec(ctx, `UPDATE staff_users SET name = ?, email = ?, role = ?, last_sign_in_at = ?
				WHERE org_id = ? AND user_id = ?`, u.Name, u.Email, string(role), now, u.OrgID, u.ID); err != nil {
				return err
			}
		case errors.Is(err, sql.ErrNoRows):
			var n int
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM staff_users WHERE org_id = ?", u.OrgID).Scan(&n); err != nil {
				return err
			}
			role := rendezvous.SignInRole(n == 0, "", granted)
			if _, err := tx.Exec(ctx, `INSERT INTO staff_users (`+staffUserColumns+`) VALUES (?, ?, ?, ?, ?, '', '', ?, ?)`,
				u.OrgID, u.ID, u.Name, u.Email, string(role), now, now); err != nil {
				return err
			}
		default:
			return err
		}
		out, err = scanStaffUser(tx.QueryRow(ctx, "SELECT "+staffUserColumns+" FROM staff_users WHERE org_id = ? AND user_id = ?", u.OrgID, u.ID))
		return err
	})
	if err != nil {
		return out, fmt.Errorf("sign in %s: %w", u.ID, err)
	}
	return out, nil
}

// StaffUser returns one person of the organization, or ErrNotFound.
func (s *Store) StaffUser(ctx context.Context, orgID, userID string) (rendezvous.StaffUser, error) {
	u, err := scanStaffUser(s.ReadRow(ctx, "SELECT "+staffUserColumns+" FROM staff_users WHERE org_id = ? AND user_id = ?", orgID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("staff user %s: %w", userID, rendezvous.ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("staff user %s: %w", userID, err)
	}
	return u, nil
}

// StaffUsers lists the organization's people by name.
func (s *Store) StaffUsers(ctx context.Context, orgID string) ([]rendezvous.StaffUser, error) {
	rows, err := s.Read(ctx, "SELECT "+staffUserColumns+" FROM staff_users WHERE org_id = ? ORDER BY name, user_id", orgID)
	if err != nil {
		return nil, fmt.Errorf("staff users: %w", err)
	}
	defer rows.Close()
	var out []rendezvous.StaffUser
	for rows.Next() {
		u, err := scanStaffUser(rows)
		if err != nil {
			return nil, fmt.Errorf("staff users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("staff users: %w", err)
	}
	return out, nil
}

// SetStaffRole assigns a role to a person of the organization, audited in the same
// transaction ("staff.role_changed"), holding the organization's staff lock so that two
// administrators demoting each other at once cannot leave it without one
// (rendezvous.CheckRoleChange). It returns the role the person had.
func (s *Store) SetStaffRole(ctx context.Context, orgID, userID string, role rendezvous.Role) (rendezvous.Role, error) {
	var old rendezvous.Role
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := tx.Lock(ctx, "staff/"+orgID); err != nil {
			return err
		}
		cur, err := scanStaffUser(tx.QueryRow(ctx, "SELECT "+staffUserColumns+" FROM staff_users WHERE org_id = ? AND user_id = ?", orgID, userID))
		if errors.Is(err, sql.ErrNoRows) {
			return rendezvous.ErrNotFound
		}
		if err != nil {
			return err
		}
		old = cur.Role
		var admins int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM staff_users WHERE org_id = ? AND role = ?", orgID, string(rendezvous.RoleAdmin)).Scan(&admins); err != nil {
			return err
		}
		if err := rendezvous.CheckRoleChange(admins, cur.Role, role); err != nil {
			return err
		}
		if cur.Role == role {
			return nil
		}
		if _, err := tx.Exec(ctx, "UPDATE staff_users SET role = ? WHERE org_id = ? AND user_id = ?", string(role), orgID, userID); err != nil {
			return err
		}
		_, err = tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: "staff.role_changed", TargetType: "staff_user", TargetID: userID,
			Changes: []rendezvous.FieldChange{{Field: "role", From: string(cur.Role), To: string(role)}}})
		return err
	})
	if err != nil {
		return old, fmt.Errorf("set role of %s: %w", userID, err)
	}
	return old, nil
}

// SetStaffPreferences saves a person's own time zone and language ("" = as the browser says).
func (s *Store) SetStaffPreferences(ctx context.Context, orgID, userID, timeZone, language string) error {
	return s.updateStaff(ctx, "set preferences", "UPDATE staff_users SET time_zone = ?, language = ? WHERE org_id = ? AND user_id = ?",
		timeZone, language, orgID, userID)
}

func (s *Store) updateStaff(ctx context.Context, op, query string, args ...any) error {
	n, err := s.execCount(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", op, rendezvous.ErrNotFound)
	}
	return nil
}

// StaffSession is a signed-in person's session, kept on the server; the browser holds only
// a random secret whose hash is IDHash.
type StaffSession struct {
	IDHash string
	OrgID  string
	UserID string
	// CSRF is the token every state-changing form of this session must carry.
	CSRF string
	// Token is the person's Genesys Cloud access token, sealed at rest; TokenExpiry is when
	// it lapses.
	Token       string
	TokenExpiry time.Time
	CreatedAt   time.Time
	SeenAt      time.Time
	CheckedAt   time.Time
	ExpiresAt   time.Time
}

// CreateStaffSession stores a new session.
func (s *Store) CreateStaffSession(ctx context.Context, ss StaffSession) error {
	sealed := []byte(ss.Token)
	if s.secrets != nil {
		var err error
		if sealed, err = s.secrets.Seal([]byte(ss.Token)); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
	}
	err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO staff_sessions (id_hash, org_id, user_id, csrf, token_sealed, token_expiry,
			created_at, seen_at, checked_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ss.IDHash, ss.OrgID, ss.UserID, ss.CSRF, sealed, TimeToDB(ss.TokenExpiry), TimeToDB(ss.CreatedAt),
			TimeToDB(ss.SeenAt), TimeToDB(ss.CheckedAt), TimeToDB(ss.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// StaffSessionByHash returns the session whose secret hashes to idHash, or ErrNotFound.
func (s *Store) StaffSessionByHash(ctx context.Context, idHash string) (StaffSession, error) {
	var ss StaffSession
	var sealed []byte
	var tokExp, created, seen, checked, expires int64
	err := s.ReadRow(ctx, `SELECT id_hash, org_id, user_id, csrf, token_sealed, token_expiry, created_at, seen_at,
		checked_at, expires_at FROM staff_sessions WHERE id_hash = ?`, idHash).Scan(&ss.IDHash, &ss.OrgID, &ss.UserID,
		&ss.CSRF, &sealed, &tokExp, &created, &seen, &checked, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return ss, fmt.Errorf("session: %w", rendezvous.ErrNotFound)
	}
	if err != nil {
		return ss, fmt.Errorf("session: %w", err)
	}
	if s.secrets != nil {
		tok, err := s.secrets.Open(sealed)
		if err != nil {
			// A session whose token cannot be read (the secrets key changed) is useless.
			return ss, fmt.Errorf("session token: %v: %w", err, rendezvous.ErrNotFound)
		}
		ss.Token = string(tok)
	} else {
		ss.Token = string(sealed)
	}
	ss.TokenExpiry, ss.CreatedAt, ss.SeenAt = TimeFromDB(tokExp), TimeFromDB(created), TimeFromDB(seen)
	ss.CheckedAt, ss.ExpiresAt = TimeFromDB(checked), TimeFromDB(expires)
	return ss, nil
}

// TouchStaffSession records activity (seen) and, when checked is not zero, that Genesys
// Cloud confirmed the person again.
func (s *Store) TouchStaffSession(ctx context.Context, idHash string, seen, checked time.Time) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		if checked.IsZero() {
			_, err = tx.Exec(ctx, "UPDATE staff_sessions SET seen_at = ? WHERE id_hash = ?", TimeToDB(seen), idHash)
		} else {
			_, err = tx.Exec(ctx, "UPDATE staff_sessions SET seen_at = ?, checked_at = ? WHERE id_hash = ?", TimeToDB(seen), TimeToDB(checked), idHash)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteStaffSession ends one session (sign-out, expiry).
func (s *Store) DeleteStaffSession(ctx context.Context, idHash string) error {
	if _, err := s.execCount(ctx, "DELETE FROM staff_sessions WHERE id_hash = ?", idHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteStaffSessionsOf ends every session of one person (Genesys Cloud no longer knows
// them, or an administrator changed their role).
func (s *Store) DeleteStaffSessionsOf(ctx context.Context, orgID, userID string) error {
	if _, err := s.execCount(ctx, "DELETE FROM staff_sessions WHERE org_id = ? AND user_id = ?", orgID, userID); err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	return nil
}

// PruneStaffSessions deletes sessions past their absolute expiry or idle since before
// idleBefore, and reports how many.
func (s *Store) PruneStaffSessions(ctx context.Context, now, idleBefore time.Time) (int, error) {
	n, err := s.execCount(ctx, "DELETE FROM staff_sessions WHERE expires_at <= ? OR seen_at < ?", TimeToDB(now), TimeToDB(idleBefore))
	if err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	return int(n), nil
}
