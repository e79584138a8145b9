// Package store keeps Rendezvous's data in SQLite or PostgreSQL behind one API.
//
// Both dialects go through database/sql (modernc.org/sqlite, and pgx through its stdlib
// adapter), so every query is written once with "?" placeholders and rewritten to $n for
// PostgreSQL. Schema changes are plain SQL files embedded per dialect under
// migrations/<dialect>/, applied in file-name order at Open in one transaction.
//
// Times are stored as BIGINT Unix microseconds in UTC in both dialects (see TimeToDB):
// one representation that indexes and compares the same way everywhere and cannot be
// shifted by a session time zone.
//
// SQLite gets one writer connection (BEGIN IMMEDIATE, so a transaction holds the write lock
// from its first statement and the overlap check cannot race), driven by one goroutine that
// commits concurrent transactions as a group (see InTx), and a separate pool of read-only
// connections; WAL lets readers run while the writer writes. PostgreSQL gets one main
// pool, and a small second one with asynchronous commit for the job queue's bookkeeping
// and job handlers' transactions (see AsyncCommit); writes that must not race take a
// transaction-scoped advisory lock (Tx.Lock), and a booking is sent as one pipelined
// round trip.
//
// Other packages add their own tables with their own migration files (numbered in their
// own range, such as 0100_journey.sql) and their own store files, writing through InTx
// and Tx so their changes commit together with the jobs that follow them. Every query
// filters by organization: no method returns another organization's records.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"rendezvous/clock"
	"rendezvous/secret"
)

// Dialect names, as returned by Store.Dialect.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Options configures a Store. The zero value works: no logging, the real clock, no
// secrets box (link tokens are then stored only as hashes and cannot be shown again).
type Options struct {
	Logger *slog.Logger
	Clock  clock.Clock
	// Secrets encrypts the copy of each link token (and other secrets) kept at rest.
	Secrets *secret.Box
	// SkipMigrate leaves the schema alone at Open; Ready then reports pending migrations.
	SkipMigrate bool
}

// Store is the database of Rendezvous. It is safe for concurrent use.
type Store struct {
	dialect string
	write   *sql.DB // SQLite: one connection; PostgreSQL: the main pool
	read    *sql.DB // SQLite: read-only pool; PostgreSQL: same as write
	queue   *sql.DB // PostgreSQL: job bookkeeping with asynchronous commit; SQLite: nil
	log     *slog.Logger
	clock   clock.Clock
	secrets *secret.Box
	decoded *decodeCache

	mu        sync.Mutex
	onJobs    []func()
	stmtMu    sync.Mutex
	stmts     map[string]*sql.Stmt // prepared on s.read, keyed by query text
	readStmts sync.Map             // mirrors stmts, for lock-free lookups on the read path
	wstmts    map[string]*sql.Stmt // prepared on the SQLite writer (nil: cannot be)
	toPrepare map[string]bool      // seen by the writer, to prepare when it is idle
	closeOne  sync.Once

	// lastRescue is when ClaimJobs last released expired leases (Unix micros).
	lastRescue atomic.Int64
	// lastWriteRefused and lastWriteOK are when a write was last refused by an
	// unavailable database and when one that changed data last succeeded (Unix micros,
	// wall clock), for ReadyToWrite.
	lastWriteRefused, lastWriteOK atomic.Int64

	// SQLite only: transactions queue here for the writer goroutine (see InTx).
	batch      chan *txRequest
	closed     chan struct{}
	writerDone chan struct{}
}

// Open connects to databaseURL and, unless o.SkipMigrate, applies pending migrations.
// Accepted forms: "sqlite:///abs/path/file.db", "sqlite://relative/file.db",
// "postgres://..." and "postgresql://...".
func Open(ctx context.Context, databaseURL string, o Options) (*Store, error) {
	s := &Store{log: o.Logger, clock: o.Clock, secrets: o.Secrets, stmts: map[string]*sql.Stmt{}, decoded: newDecodeCache(),
		wstmts: map[string]*sql.Stmt{}, toPrepare: map[string]bool{}, closed: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = clock.Real()
	}
	var err error
	switch {
	case strings.HasPrefix(databaseURL, "sqlite://"):
		err = s.openSQLite(strings.TrimPrefix(databaseURL, "sqlite://"))
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		err = s.openPostgres(databaseURL)
	default:
		return nil, fmt.Errorf("open store: database URL must start with sqlite:// or postgres://")
	}
	if err != nil {
		return nil, err
	}
	if err := s.write.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store: %s unreachable: %w", s.dialect, err)
	}
	if !o.SkipMigrate {
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *Store) openSQLite(path string) error {
	s.dialect = SQLite
	if q := strings.IndexByte(path, '?'); q >= 0 {
		path = path[:q]
	}
	if path == "" {
		return errors.New("open store: sqlite URL has no file path")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("open store: create data folder: %w", err)
		}
	}
	// synchronous=NORMAL in WAL mode loses at most the last transactions on power loss,
	// never integrity, and makes commits several times faster than FULL.
	common := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	u := "file:" + (&url.URL{Path: path}).EscapedPath()
	w, err := sql.Open("sqlite", u+"?"+common+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	// One writer: SQLite serialises writers anyway; queueing them in the pool instead of
	// in busy_timeout retries is faster and fair.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s.write = w
	// The writer must have created the file and switched it to WAL before readers open it.
	if err := w.Ping(); err != nil {
		w.Close()
		return fmt.Errorf("open store: %w", err)
	}
	r, err := sql.Open("sqlite", u+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return fmt.Errorf("open store: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0)*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)
	r.SetConnMaxLifetime(0)
	s.read = r
	s.batch = make(chan *txRequest)
	s.writerDone = make(chan struct{})
	go s.writeLoop()
	return nil
}

func (s *Store) openPostgres(u string) error {
	s.dialect = Postgres
	db, err := sql.Open("pgx", u)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	db.SetMaxOpenConns(max(16, runtime.GOMAXPROCS(0)*4))
	db.SetMaxIdleConns(max(16, runtime.GOMAXPROCS(0)*4))
	db.SetConnMaxIdleTime(5 * time.Minute)
	s.write, s.read = db, db
	// Queue bookkeeping (claims, outcomes) gets its own small pool whose commits do not
	// wait for the WAL flush. Losing one in a crash only means a job runs again (delivery
	// is at least once anyway) or its lease expires later; in exchange the queue does not
	// double the database's fsyncs per booking. Bookings and enqueues stay fully durable:
	// they go through the main pool.
	qu, err := url.Parse(u)
	if err != nil {
		db.Close()
		return fmt.Errorf("open store: %w", err)
	}
	q := qu.Query()
	q.Set("synchronous_commit", "off")
	qu.RawQuery = q.Encode()
	if s.queue, err = sql.Open("pgx", qu.String()); err != nil {
		db.Close()
		return fmt.Errorf("open store: %w", err)
	}
	// Job handlers' transactions use it too (see AsyncCommit): room for a runner's
	// default four workers' transactions beside the claims and outcomes.
	s.queue.SetMaxOpenConns(8)
	s.queue.SetMaxIdleConns(8)
	return nil
}

// Close closes the database connections.
func (s *Store) Close() error {
	var err error
	s.closeOne.Do(func() {
		close(s.closed)
		if s.writerDone != nil {
			<-s.writerDone
		}
		s.stmtMu.Lock()
		for _, st := range s.stmts {
			st.Close()
		}
		for _, st := range s.wstmts {
			if st != nil {
				st.Close()
			}
		}
		s.stmts, s.wstmts = nil, nil
		s.stmtMu.Unlock()
		err = s.write.Close()
		if s.queue != nil {
			s.queue.Close()
		}
		if s.read != s.write {
			if e := s.read.Close(); err == nil {
				err = e
			}
		}
	})
	return err
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// DBStats returns the connection statistics of the writer pool (on PostgreSQL the main
// pool, without the job queue's small asynchronous-commit pool), for metrics.
func (s *Store) DBStats() sql.DBStats { return s.write.Stats() }

// Clock returns the store's clock, so code sharing the store agrees on the time.
func (s *Store) Clock() clock.Clock { return s.clock }

// Secrets returns the store's secrets box, or nil when none was configured.
func (s *Store) Secrets() *secret.Box { return s.secrets }

// Ready reports whether the database is reachable and fully migrated.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	pending, err := s.pendingMigrations(ctx, s.read)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		return fmt.Errorf("database has %d pending migrations (first %s)", len(pending), pending[0].name)
	}
	return nil
}

// OnJobsEnqueued registers f to be called after every commit that enqueued a job. The job
// runner registers its Wake here, so a job due now starts without waiting for a poll.
func (s *Store) OnJobsEnqueued(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onJobs = append(s.onJobs, f)
}

func (s *Store) notifyJobs() {
	s.mu.Lock()
	fs := s.onJobs
	s.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// prepared returns a statement prepared once on the read pool. Reads on hot paths use it:
// re-parsing the same SQL on every call costs more than the query itself on SQLite.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.readStmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.readStmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	if s.stmts == nil {
		return nil, errClosed
	}
	st, err := s.read.PrepareContext(ctx, s.rebind(query))
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	s.stmts[query] = st
	s.readStmts.Store(query, st)
	return st, nil
}

// TimeToDB converts an instant to the stored form: Unix microseconds, 0 for the zero time.
func TimeToDB(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// TimeFromDB converts the stored form back to a UTC instant; 0 is the zero time.
func TimeFromDB(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
