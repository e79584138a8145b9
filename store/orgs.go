package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"rendezvous"
)

// EnsureOrg creates the organization, or renames it if it exists. Every other record
// refers to an organization, so this comes first.
func (s *Store) EnsureOrg(ctx context.Context, o rendezvous.Org) error {
	if strings.TrimSpace(o.ID) == "" {
		return &rendezvous.ValidationError{Problems: []rendezvous.FieldProblem{{Field: "id", Message: "is required"}}}
	}
	err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name`, o.ID, o.Name, TimeToDB(s.clock.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("ensure org: %w", err)
	}
	return nil
}

// Org returns one organization, or ErrNotFound.
func (s *Store) Org(ctx context.Context, id string) (rendezvous.Org, error) {
	o := rendezvous.Org{}
	err := s.read.QueryRowContext(ctx, s.rebind("SELECT id, name FROM orgs WHERE id = ?"), id).Scan(&o.ID, &o.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("org %s: %w", id, rendezvous.ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("org %s: %w", id, err)
	}
	return o, nil
}
