package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// migrationFiles holds the schema of each dialect. Files are applied in name order and
// recorded by name, so two packages adding "0002_journey.sql" and "0002_notify.sql" at
// the same time do not collide. Never edit a file that has shipped; add a new one.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

type migration struct {
	name string
	sql  string
}

func (s *Store) migrations() ([]migration, error) {
	dir := path.Join("migrations", s.dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].name < ms[j].name })
	return ms, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	name TEXT PRIMARY KEY,
	applied_at BIGINT NOT NULL
)`

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// pendingMigrations lists the embedded migrations not yet recorded as applied.
func (s *Store) pendingMigrations(ctx context.Context, q queryer) ([]migration, error) {
	all, err := s.migrations()
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, "SELECT name FROM schema_migrations")
	if err != nil {
		// No table yet means nothing applied.
		if missingTable(err) {
			return all, nil
		}
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	defer rows.Close()
	done := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("read applied migrations: %w", err)
		}
		done[n] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	var pending []migration
	for _, m := range all {
		if !done[m.name] {
			pending = append(pending, m)
		}
	}
	return pending, nil
}

func missingTable(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "no such table") || strings.Contains(msg, "does not exist")
}

// Migrate applies every pending embedded migration in one transaction: either the schema
// moves to the version this binary expects, or it stays as it was. Concurrent instances
// starting at once serialise on a lock, and the later ones find nothing to do.
func (s *Store) Migrate(ctx context.Context) error {
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := tx.Lock(ctx, "rendezvous.migrate"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, createMigrationsTable); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		pending, err := s.pendingMigrations(tx.ctx(ctx), tx.tx)
		if err != nil {
			return err
		}
		for _, m := range pending {
			// Straight to the driver: a migration file holds several statements.
			if _, err := tx.tx.ExecContext(tx.ctx(ctx), m.sql); err != nil {
				return fmt.Errorf("apply %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)", m.name, TimeToDB(s.clock.Now())); err != nil {
				return fmt.Errorf("record %s: %w", m.name, err)
			}
			s.log.Info("applied migration", "dialect", s.dialect, "name", m.name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate %s: %w", s.dialect, err)
	}
	return nil
}
