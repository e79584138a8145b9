package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Tx is a write transaction. Packages that add their own tables (customer journey,
// notifications) write through it so their changes and the jobs that follow them commit
// or roll back together.
//
// Queries use "?" placeholders in both dialects; on PostgreSQL they are rewritten to $1,
// $2, ... (a "?" inside a single-quoted literal is left alone). So do not use PostgreSQL's
// jsonb "?" operators in queries passed here. Store times with TimeToDB.
type Tx struct {
	tx       *sql.Tx
	s        *Store
	enqueued bool
}

// InTx runs fn in a write transaction and commits it when fn returns nil; any error or
// panic rolls it back. On SQLite the transaction holds the database's write lock from
// its start (BEGIN IMMEDIATE), so reads inside it see the latest state and nothing can
// change it before commit.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{tx: sqlTx, s: s}
	defer func() {
		if p := recover(); p != nil {
			sqlTx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			s.log.Warn("rollback failed", "error", rbErr)
		}
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if tx.enqueued {
		s.notifyJobs()
	}
	return nil
}

// Exec runs a statement in the transaction.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.tx.ExecContext(ctx, tx.s.rebind(query), args...)
}

// Query runs a query in the transaction.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(ctx, tx.s.rebind(query), args...)
}

// QueryRow runs a query expected to return at most one row in the transaction.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, tx.s.rebind(query), args...)
}

// Dialect returns "sqlite" or "postgres", for the rare query that must differ.
func (tx *Tx) Dialect() string { return tx.s.dialect }

// Now returns the store clock's current instant.
func (tx *Tx) Now() time.Time { return tx.s.clock.Now() }

// Lock serialises, until the end of the transaction, every transaction that locks the
// same key. Use it to make a check-then-write safe (no two bookings of one slot). On
// PostgreSQL it takes a transaction-scoped advisory lock; on SQLite it does nothing,
// because a write transaction already excludes every other writer.
func (tx *Tx) Lock(ctx context.Context, key string) error {
	if tx.s.dialect != Postgres {
		return nil
	}
	if _, err := tx.tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key); err != nil {
		return fmt.Errorf("lock %q: %w", key, err)
	}
	return nil
}

// Read runs a read-only query outside any transaction, on the read pool.
func (s *Store) Read(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.read.QueryContext(ctx, s.rebind(query), args...)
}

// ReadRow runs a read-only query expected to return at most one row, on the read pool.
func (s *Store) ReadRow(ctx context.Context, query string, args ...any) *sql.Row {
	return s.read.QueryRowContext(ctx, s.rebind(query), args...)
}

// rebind rewrites "?" placeholders to $n for PostgreSQL.
func (s *Store) rebind(q string) string {
	if s.dialect != Postgres || strings.IndexByte(q, '?') < 0 {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
