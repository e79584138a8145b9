package store

import (
	"context"
	"fmt"
	"strings"

	"rendezvous/secret"
)

// sealedColumn is a column whose values the secrets box sealed, with the columns that
// identify its row. Every such column is listed here, so that a key rotation re-seals
// them all; a migration that adds one adds it here.
type sealedColumn struct {
	table, column string
	key           []string
}

var sealedColumns = []sealedColumn{
	{"appointments", "link_sealed", []string{"id"}},
	{"journey_interactions", "guest_token_sealed", []string{"appointment_id"}},
	{"room_settings", "body", []string{"org_id"}},
	{"notify_channels", "secret_sealed", []string{"org_id", "channel"}},
	{"orgs", "api_client_secret", []string{"id"}},
	{"orgs", "signin_client_secret", []string{"id"}},
	{"staff_sessions", "token_sealed", []string{"id_hash"}},
	{"webhook_subscriptions", "auth_secret_sealed", []string{"id"}},
	{"webhook_subscriptions", "secret_sealed", []string{"id"}},
	{"webhook_subscriptions", "previous_sealed", []string{"id"}},
	{"erasure_requests", "match_sealed", []string{"id"}},
}

// ResealCount is what Reseal did to one column.
type ResealCount struct {
	Column   string // table.column
	Resealed int    // values sealed again under the current key
	Current  int    // values already under the current key
}

// Reseal seals every sealed value again under the box's current key (the first given to
// secret.NewBox), opening each with whichever key sealed it. Run it after adding a new key
// with the old one as a previous key; once it reports nothing left under an old key, the
// old key can be dropped. Each column is one transaction, so a failure leaves every value
// readable with the keys given; running it again continues where it stopped.
func (s *Store) Reseal(ctx context.Context) ([]ResealCount, error) {
	if s.secrets == nil {
		return nil, fmt.Errorf("reseal: the store has no secrets box")
	}
	var out []ResealCount
	for _, c := range sealedColumns {
		n := ResealCount{Column: c.table + "." + c.column}
		err := s.InTx(ctx, func(tx *Tx) error {
			cols := strings.Join(c.key, ", ")
			rows, err := tx.Query(ctx, "SELECT "+cols+", "+c.column+" FROM "+c.table+" WHERE "+c.column+" IS NOT NULL")
			if err != nil {
				return err
			}
			type row struct {
				key []any
				val []byte
			}
			var todo []row
			for rows.Next() {
				keys := make([]string, len(c.key))
				dest := make([]any, 0, len(c.key)+1)
				for i := range keys {
					dest = append(dest, &keys[i])
				}
				var v []byte
				dest = append(dest, &v)
				if err := rows.Scan(dest...); err != nil {
					rows.Close()
					return err
				}
				if !secret.IsSealed(v) {
					continue // a plain value (kept before a box was configured)
				}
				k := make([]any, len(keys))
				for i := range keys {
					k[i] = keys[i]
				}
				todo = append(todo, row{key: k, val: v})
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			where := strings.Join(c.key, " = ? AND ") + " = ?"
			for _, r := range todo {
				v, changed, err := s.secrets.Reseal(r.val)
				if err != nil {
					return fmt.Errorf("row %v: %w", r.key, err)
				}
				if !changed {
					n.Current++
					continue
				}
				if _, err := tx.Exec(ctx, "UPDATE "+c.table+" SET "+c.column+" = ? WHERE "+where, append([]any{v}, r.key...)...); err != nil {
					return err
				}
				n.Resealed++
			}
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("reseal %s: %w", n.Column, err)
		}
		out = append(out, n)
	}
	return out, nil
}
