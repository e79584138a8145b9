package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"rendezvous"
)

// RetentionDays returns how many days after an appointment ended the organization keeps
// its customers' personal data; 0 means no limit.
func (s *Store) RetentionDays(ctx context.Context, orgID string) (int, error) {
	var days int
	err := s.ReadRow(ctx, "SELECT retention_days FROM privacy_settings WHERE org_id = ?", orgID).Scan(&days)
	if isNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("retention of %s: %w", orgID, err)
	}
	return days, nil
}

// PutRetentionDays sets the organization's retention period, audited.
func (s *Store) PutRetentionDays(ctx context.Context, orgID string, days int) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		old := 0
		tx.QueryRow(ctx, "SELECT retention_days FROM privacy_settings WHERE org_id = ?", orgID).Scan(&old)
		if _, err := tx.Exec(ctx, `INSERT INTO privacy_settings (org_id, retention_days, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET retention_days = excluded.retention_days, updated_at = excluded.updated_at`,
			orgID, days, TimeToDB(s.clock.Now())); err != nil {
			return err
		}
		if old == days {
			return nil
		}
		_, err := tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: "settings.retention_updated", TargetType: "settings",
			TargetID: "retention", Changes: []rendezvous.FieldChange{{Field: "retentionDays", From: strconv.Itoa(old), To: strconv.Itoa(days)}}})
		return err
	})
	if err != nil {
		return fmt.Errorf("save retention of %s: %w", orgID, err)
	}
	return nil
}

// OrgRetention is an organization with a retention period.
type OrgRetention struct {
	OrgID string
	Days  int
}

// RetentionOrgs lists the organizations that set a retention period.
func (s *Store) RetentionOrgs(ctx context.Context) ([]OrgRetention, error) {
	rows, err := s.Read(ctx, "SELECT org_id, retention_days FROM privacy_settings WHERE retention_days > 0 ORDER BY org_id")
	if err != nil {
		return nil, fmt.Errorf("retention settings: %w", err)
	}
	defer rows.Close()
	var out []OrgRetention
	for rows.Next() {
		var o OrgRetention
		if err := rows.Scan(&o.OrgID, &o.Days); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// ExpiredAppointments returns up to limit ids of the organization's appointments that
// ended before cutoff and whose personal data is not erased yet.
func (s *Store) ExpiredAppointments(ctx context.Context, orgID string, cutoff time.Time, limit int) ([]string, error) {
	rows, err := s.Read(ctx, `SELECT id FROM appointments WHERE org_id = ? AND end_at < ? AND erased_at = 0
		ORDER BY end_at, id LIMIT ?`, orgID, TimeToDB(cutoff), limit)
	if err != nil {
		return nil, fmt.Errorf("expired appointments: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// CustomerMatch selects customers by phone or email (either may be empty, not both).
type CustomerMatch struct {
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
}

func (m CustomerMatch) matches(c customerJSON) bool {
	return (m.Phone != "" && c.Phone == m.Phone) || (m.Email != "" && strings.EqualFold(c.Email, m.Email))
}

// AppointmentsOfCustomer returns the ids of the organization's appointments with a
// customer that m matches.
func (s *Store) AppointmentsOfCustomer(ctx context.Context, orgID string, m CustomerMatch) ([]string, error) {
	// A LIKE narrows the scan; the decoded customers decide.
	var conds []string
	var args []any
	args = append(args, orgID)
	if m.Phone != "" {
		conds = append(conds, "customers LIKE ?")
		args = append(args, "%"+m.Phone+"%")
	}
	if m.Email != "" {
		conds = append(conds, "LOWER(customers) LIKE ?")
		args = append(args, "%"+strings.ToLower(m.Email)+"%")
	}
	if len(conds) == 0 {
		return nil, nil
	}
	rows, err := s.Read(ctx, "SELECT id, customers FROM appointments WHERE org_id = ? AND ("+strings.Join(conds, " OR ")+")", args...)
	if err != nil {
		return nil, fmt.Errorf("appointments of a customer: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id, raw string
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, err
		}
		var cs []customerJSON
		if json.Unmarshal([]byte(raw), &cs) != nil {
			continue
		}
		for _, c := range cs {
			if m.matches(c) {
				ids = append(ids, id)
				break
			}
		}
	}
	return ids, rows.Err()
}

// EraseAppointments erases personal data of the given appointments in one transaction:
// with a zero match, every customer's name, phone and email, the notes, the cancellation
// reason and the custom fields, and the personal data their notifications and webhook
// deliveries logged; with a match, only the matching customers' data (and the notes,
// which may speak of them). Statuses, times, agents and the number of customers stay,
// so reports still count. The appointments' versions do not change: nothing a customer or
// agent sees moves, only what the record remembers. It is audited once, as action.
func (s *Store) EraseAppointments(ctx context.Context, orgID string, ids []string, m CustomerMatch, action string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	all := m == CustomerMatch{}
	n := 0
	err := s.InTx(ctx, func(tx *Tx) error {
		n = 0
		now := TimeToDB(s.clock.Now())
		for _, id := range ids {
			var raw, inter string
			err := tx.QueryRow(ctx, "SELECT customers, interaction FROM appointments WHERE org_id = ? AND id = ?", orgID, id).Scan(&raw, &inter)
			if isNoRows(err) {
				continue
			}
			if err != nil {
				return err
			}
			var cs []customerJSON
			if err := json.Unmarshal([]byte(raw), &cs); err != nil {
				return fmt.Errorf("appointment %s customers: %w", id, err)
			}
			for i, c := range cs {
				if all || m.matches(c) {
					cs[i] = customerJSON{Language: c.Language} // the count and the language stay
				}
			}
			cb, _ := json.Marshal(cs)
			var ij interactionJSON
			if err := json.Unmarshal([]byte(inter), &ij); err == nil && all {
				ij.CustomFields = nil
			}
			ib, _ := json.Marshal(ij)
			// erased_at marks the whole record done for the retention sweep; a single
			// customer's erasure leaves the others to it.
			q := `UPDATE appointments SET customers = ?, interaction = ?, notes = ''`
			args := []any{string(cb), string(ib)}
			if all {
				q += `, cancel_reason = '', link_sealed = NULL, erased_at = ?`
				args = append(args, now)
			}
			if _, err := tx.Exec(ctx, q+" WHERE org_id = ? AND id = ?", append(args, orgID, id)...); err != nil {
				return fmt.Errorf("erase appointment %s: %w", id, err)
			}
			// What the logs kept of the customers: masked recipients, error texts that may
			// quote an address, and the webhook request bodies.
			if _, err := tx.Exec(ctx, "UPDATE notify_deliveries SET recipient = '', error = '' WHERE org_id = ? AND appointment_id = ?", orgID, id); err != nil {
				return fmt.Errorf("erase notifications of %s: %w", id, err)
			}
			if _, err := tx.Exec(ctx, `UPDATE notify_attempts SET error = '' WHERE delivery_id IN
				(SELECT id FROM notify_deliveries WHERE org_id = ? AND appointment_id = ?)`, orgID, id); err != nil {
				return fmt.Errorf("erase notifications of %s: %w", id, err)
			}
			if _, err := tx.Exec(ctx, "UPDATE webhook_deliveries SET payload = '' WHERE org_id = ? AND appointment_id = ?", orgID, id); err != nil {
				return fmt.Errorf("erase webhook deliveries of %s: %w", id, err)
			}
			n++
		}
		if n == 0 {
			return nil
		}
		_, err := tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: action, TargetType: "appointments",
			TargetID: strings.Join(ids[:min(len(ids), 20)], ","), Changes: []rendezvous.FieldChange{{Field: "appointments", To: strconv.Itoa(n)}}})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("erase personal data: %w", err)
	}
	return n, nil
}

// ErasureJobKind is the job that carries out an erasure request (package retention).
const ErasureJobKind = "retention.erase"

// ErasureArgs are the arguments of an ErasureJobKind job: only the request's id, so the
// job table never holds what is to be erased.
type ErasureArgs struct {
	RequestID string `json:"requestId"`
}

// RequestErasure records a request to erase one customer's data, with what to match
// sealed, and enqueues the job that does it, audited, in one transaction.
func (s *Store) RequestErasure(ctx context.Context, orgID string, m CustomerMatch) (string, error) {
	b, _ := json.Marshal(m)
	sealed, err := s.seal(string(b))
	if err != nil {
		return "", fmt.Errorf("request erasure: %w", err)
	}
	id := uuid.NewString()
	err = s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO erasure_requests (id, org_id, match_sealed, state, appointments, requested_at, done_at)
			VALUES (?, ?, ?, 'pending', 0, ?, 0)`, id, orgID, sealed, TimeToDB(s.clock.Now())); err != nil {
			return err
		}
		if _, err := tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: "customer.erasure_requested", TargetType: "erasure", TargetID: id}); err != nil {
			return err
		}
		return tx.Enqueue(ctx, Job{OrgID: orgID, Kind: ErasureJobKind, Args: ErasureArgs{RequestID: id}})
	})
	if err != nil {
		return "", fmt.Errorf("request erasure: %w", err)
	}
	return id, nil
}

// ErasureRequest is a request to erase one customer's data.
type ErasureRequest struct {
	ID           string
	OrgID        string
	Match        CustomerMatch // zero once done
	State        string        // pending or done
	Appointments int
	RequestedAt  time.Time
	DoneAt       time.Time
}

// Erasure returns one erasure request; ErrNotFound when the organization has none.
func (s *Store) Erasure(ctx context.Context, orgID, id string) (*ErasureRequest, error) {
	r := &ErasureRequest{}
	var sealed []byte
	var req, done int64
	err := s.ReadRow(ctx, `SELECT id, org_id, match_sealed, state, appointments, requested_at, done_at FROM erasure_requests
		WHERE org_id = ? AND id = ?`, orgID, id).Scan(&r.ID, &r.OrgID, &sealed, &r.State, &r.Appointments, &req, &done)
	if isNoRows(err) {
		return nil, fmt.Errorf("erasure %s: %w", id, rendezvous.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("erasure %s: %w", id, err)
	}
	r.RequestedAt, r.DoneAt = TimeFromDB(req), TimeFromDB(done)
	if plain, err := s.open(sealed); err != nil {
		return nil, fmt.Errorf("erasure %s: %w", id, err)
	} else if plain != "" {
		json.Unmarshal([]byte(plain), &r.Match)
	}
	return r, nil
}

// FinishErasure marks a request done, forgetting what it matched.
func (s *Store) FinishErasure(ctx context.Context, orgID, id string, appointments int) error {
	_, err := s.execCount(ctx, `UPDATE erasure_requests SET state = 'done', match_sealed = NULL, appointments = ?, done_at = ?
		WHERE org_id = ? AND id = ?`, appointments, TimeToDB(s.clock.Now()), orgID, id)
	if err != nil {
		return fmt.Errorf("finish erasure %s: %w", id, err)
	}
	return nil
}
