package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
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
	grouped  bool // part of a SQLite commit group: statements ignore cancellation
}

// ctx returns the context statements run under: never cancellable in a commit group.
func (tx *Tx) ctx(ctx context.Context) context.Context {
	if tx.grouped {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// InTx runs fn in a write transaction and commits it when fn returns nil; any error or
// panic rolls it back (a panic is re-raised in the caller). On SQLite the transaction holds
// the database's write lock from its start (BEGIN IMMEDIATE), so reads inside it see the
// latest state and nothing can change it before commit.
//
// On SQLite, transactions that arrive while another is committing are grouped: one
// writer goroutine runs each fn inside its own SAVEPOINT of a shared transaction and
// commits the group once. Every fn still sees the effects of the ones before it and rolls
// back alone; InTx returns only after the group is durable. This is what lets 64 parallel
// bookings approach the rate of single-row inserts: SQLite pays per commit, not per row.
// fn must not start another InTx (it would wait for itself).
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	changed := false
	err := s.inTx(ctx, func(tx *Tx) error {
		err := fn(tx)
		changed = tx.enqueued
		return err
	})
	// Only a write that enqueued a job (a booking, a handler's work) proves that the
	// database takes new data; a claim or a lease renewal may write nothing.
	s.noteWrite(err, changed)
	return err
}

func (s *Store) inTx(ctx context.Context, fn func(tx *Tx) error) error {
	if s.batch == nil {
		return s.inTxDirect(ctx, fn)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &txRequest{ctx: ctx, fn: fn, done: make(chan txResult, 1)}
	select {
	case s.batch <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closed:
		return errClosed
	}
	// Once queued, wait for the outcome even if ctx ends: fn may already be running.
	res := <-req.done
	if res.panicked {
		panic(res.panicVal)
	}
	return res.err
}

var errClosed = errors.New("store closed")

// errGroupAborted is returned to transactions that succeeded but shared a group with one
// whose failure SQLite could not confine to its savepoint.
var errGroupAborted = errors.New("write transaction aborted with its group; try again")

func (s *Store) inTxDirect(ctx context.Context, fn func(tx *Tx) error) (err error) {
	db := s.write
	if s.queue != nil && ctx.Value(asyncCommitKey{}) != nil {
		// The queue's pool commits asynchronously for every session, which spares the
		// SET LOCAL round trip each handler transaction would otherwise begin with.
		db = s.queue
	}
	sqlTx, err := db.BeginTx(ctx, nil)
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

type txRequest struct {
	ctx  context.Context
	fn   func(tx *Tx) error
	done chan txResult
}

type txResult struct {
	err      error
	panicked bool
	panicVal any
	enqueued bool
}

// maxGroup bounds a commit group so one commit never waits on too much work.
const maxGroup = 128

// writeLoop is the SQLite writer goroutine: it takes the waiting transactions as a group
// and runs them in one database transaction.
func (s *Store) writeLoop() {
	defer close(s.writerDone)
	for {
		var first *txRequest
		select {
		case first = <-s.batch:
		case <-s.closed:
			return
		}
		group := []*txRequest{first}
	drain:
		for len(group) < maxGroup {
			select {
			case r := <-s.batch:
				group = append(group, r)
			default:
				break drain
			}
		}
		s.runGroup(group)
		s.prepareSeen()
	}
}

func (s *Store) runGroup(group []*txRequest) {
	results := make([]txResult, len(group))
	deliver := func() {
		for i, r := range group {
			r.done <- results[i]
		}
	}
	// The group's transaction must not die with one caller's context; each fn's
	// statements also ignore cancellation (see Tx.ctx), because interrupting a statement
	// in SQLite can roll back the whole transaction, and with it the others' work.
	ctx := context.Background()
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		for i := range results {
			results[i].err = fmt.Errorf("begin: %w", err)
		}
		deliver()
		return
	}
	savepoints := len(group) > 1
	ok := make([]bool, len(group))
	aborted := false
	for i, r := range group {
		if err := r.ctx.Err(); err != nil {
			results[i].err = err
			continue
		}
		if savepoints {
			if _, err := s.groupExec(sqlTx, "SAVEPOINT grp"); err != nil {
				results[i].err = fmt.Errorf("savepoint: %w", err)
				aborted = true
				break
			}
		}
		tx := &Tx{tx: sqlTx, s: s, grouped: true}
		res := callTx(r.fn, tx)
		if res.err == nil && !res.panicked {
			if savepoints {
				if _, err := s.groupExec(sqlTx, "RELEASE grp"); err != nil {
					results[i].err = fmt.Errorf("release savepoint: %w", err)
					aborted = true
					break
				}
			}
			ok[i] = true
			results[i] = res
			continue
		}
		results[i] = res
		if !savepoints {
			sqlTx.Rollback()
			deliver()
			return
		}
		if _, err := s.groupExec(sqlTx, "ROLLBACK TO grp"); err != nil {
			aborted = true
			break
		}
		if _, err := s.groupExec(sqlTx, "RELEASE grp"); err != nil {
			aborted = true
			break
		}
	}
	fail := func(err error) {
		for i, r := range results {
			if ok[i] || (r.err == nil && !r.panicked) {
				results[i] = txResult{err: err}
			}
		}
	}
	if aborted {
		sqlTx.Rollback()
		fail(errGroupAborted)
		deliver()
		return
	}
	if err := sqlTx.Commit(); err != nil {
		fail(fmt.Errorf("commit: %w", err))
		deliver()
		return
	}
	for _, r := range results {
		if r.enqueued {
			s.notifyJobs()
			break
		}
	}
	deliver()
}

// groupExec runs a savepoint statement of the writer goroutine, prepared once.
func (s *Store) groupExec(sqlTx *sql.Tx, query string) (sql.Result, error) {
	tx := &Tx{tx: sqlTx, s: s, grouped: true}
	return tx.Exec(context.Background(), query)
}

// callTx runs fn, turning a panic into a result so the writer goroutine survives it.
func callTx(fn func(tx *Tx) error, tx *Tx) (res txResult) {
	defer func() {
		if p := recover(); p != nil {
			res = txResult{panicked: true, panicVal: p}
		}
	}()
	err := fn(tx)
	return txResult{err: err, enqueued: tx.enqueued}
}

// Exec runs a statement in the transaction.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = tx.ctx(ctx)
	if st := tx.writeStmt(query); st != nil {
		return tx.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.tx.ExecContext(ctx, tx.s.rebind(query), args...)
}

// Query runs a query in the transaction.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = tx.ctx(ctx)
	if st := tx.writeStmt(query); st != nil {
		return tx.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.tx.QueryContext(ctx, tx.s.rebind(query), args...)
}

// QueryRow runs a query expected to return at most one row in the transaction.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = tx.ctx(ctx)
	if st := tx.writeStmt(query); st != nil {
		return tx.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.tx.QueryRowContext(ctx, tx.s.rebind(query), args...)
}

// execCount runs one statement in a write transaction of its own and reports how many
// rows it changed.
func (s *Store) execCount(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
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
	if _, err := tx.tx.ExecContext(tx.ctx(ctx), "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key); err != nil {
		return fmt.Errorf("lock %q: %w", key, err)
	}
	return nil
}

// Read runs a read-only query outside any transaction, on the read pool. On SQLite the
// statement is prepared once and reused.
func (s *Store) Read(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := s.readStmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.read.QueryContext(ctx, s.rebind(query), args...)
}

// ReadRow runs a read-only query expected to return at most one row, on the read pool.
func (s *Store) ReadRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.readStmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.read.QueryRowContext(ctx, s.rebind(query), args...)
}

// maxReadStmts bounds the statements Read and ReadRow prepare, in case a caller builds
// queries dynamically.
const maxReadStmts = 512

// readStmt returns query prepared on the SQLite read pool, or nil to run it unprepared
// (PostgreSQL, whose pgx driver caches prepared statements itself; a full cache; a query
// that does not prepare, whose error then shows when it runs).
func (s *Store) readStmt(ctx context.Context, query string) *sql.Stmt {
	if s.dialect != SQLite {
		return nil
	}
	if st, ok := s.readStmts.Load(query); ok {
		return st.(*sql.Stmt)
	}
	s.stmtMu.Lock()
	full := len(s.stmts) >= maxReadStmts
	s.stmtMu.Unlock()
	if full {
		return nil
	}
	st, err := s.prepared(ctx, query)
	if err != nil {
		return nil
	}
	return st
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

// maxWriteStmts bounds the SQLite writer's statement cache, in case a caller builds
// queries dynamically.
const maxWriteStmts = 256

// writeStmt returns the query prepared on the SQLite writer connection, or nil to run it
// unprepared. Parsing costs SQLite more than executing a one-row insert, so statements
// that writers run are prepared once and reused. A statement cannot be prepared while the
// single writer connection is inside a transaction, so a query seen for the first time
// runs unprepared and is prepared by the writer goroutine after the group commits.
func (tx *Tx) writeStmt(query string) *sql.Stmt {
	if !tx.grouped {
		return nil
	}
	s := tx.s
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.wstmts[query]; ok {
		return st
	}
	if s.wstmts != nil && len(s.wstmts)+len(s.toPrepare) < maxWriteStmts {
		s.toPrepare[query] = true
	}
	return nil
}

// prepareSeen prepares, on the idle writer connection, the statements seen during the
// last group. Ones that fail to prepare (multi-statement scripts such as migrations) are
// remembered as nil and always run unprepared.
func (s *Store) prepareSeen() {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	for q := range s.toPrepare {
		delete(s.toPrepare, q)
		if s.wstmts == nil {
			return
		}
		st, err := s.write.PrepareContext(context.Background(), q)
		if err != nil {
			st = nil
		}
		s.wstmts[q] = st
	}
}

// readRows runs a read query on the read pool and calls each for every row. SQLite uses a
// statement prepared once. PostgreSQL goes to pgx directly, under database/sql's pool:
// scanning a wide row through database/sql's driver.Value boxing cost more than the query.
func (s *Store) readRows(ctx context.Context, query string, args []any, each func(r rowScanner) error) error {
	if s.dialect == Postgres {
		conn, err := s.read.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		return conn.Raw(func(dc any) error {
			rows, err := dc.(*stdlib.Conn).Conn().Query(ctx, s.rebind(query), args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				if err := each(rows); err != nil {
					return err
				}
			}
			return rows.Err()
		})
	}
	st, err := s.prepared(ctx, query)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

type asyncCommitKey struct{}

// AsyncCommit returns a context under which InTx on PostgreSQL commits without waiting for
// the WAL flush. The job runner gives it to handlers: a handler's transaction lost in a
// crash is harmless, because the job's own completion, written after it, is lost with it
// (PostgreSQL never keeps a later commit and loses an earlier one), so the job runs again.
// Any synchronous commit after it, by anyone, makes it durable too. On SQLite, where
// commits do not wait for fsync in WAL mode with synchronous=NORMAL, it changes nothing.
func AsyncCommit(ctx context.Context) context.Context {
	return context.WithValue(ctx, asyncCommitKey{}, true)
}
