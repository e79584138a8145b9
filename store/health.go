package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// Why a database error can mean "try again later" rather than a fault of the request.
const (
	// UnavailableFull means the database has no space left to write (SQLite's disk or
	// page limit, PostgreSQL's disk_full).
	UnavailableFull = "the database has no space left to write"
	// UnavailableDown means the database cannot be reached or is shutting down.
	UnavailableDown = "the database cannot be reached"
)

// Unavailable reports whether err means the database cannot serve the request now (no
// space, connection lost or refused, the server shutting down) rather than
// anything about the request, and which of UnavailableFull or UnavailableDown it is.
// Such a request can be retried as it is once the database is back: the API answers
// 503 with Retry-After, and the job runner retries.
func Unavailable(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 13: // SQLITE_FULL
			return UnavailableFull, true
		case 10, 14, 5, 6: // SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_BUSY, SQLITE_LOCKED
			return UnavailableDown, true
		}
		return "", false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "53100": // disk_full
			return UnavailableFull, true
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"), strings.HasPrefix(pe.Code, "57P"), pe.Code == "58030":
			// connection exception, insufficient resources, operator intervention
			// (admin shutdown, crash shutdown, cannot connect now), I/O error
			return UnavailableDown, true
		}
		return "", false
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ENOSPC), errors.As(err, &ne), errors.As(err, &ce),
		pgconn.SafeToRetry(err):
		if errors.Is(err, syscall.ENOSPC) {
			return UnavailableFull, true
		}
		return UnavailableDown, true
	}
	// pgx reports a connection closed under it by text only.
	if msg := err.Error(); strings.Contains(msg, "conn closed") || strings.Contains(msg, "connection reset") {
		return UnavailableDown, true
	}
	return "", false
}

// noteWrite remembers the outcome of a write transaction for ReadyToWrite: when the
// database last refused a write for lack of space or connection, and when a write that
// changed data last succeeded.
func (s *Store) noteWrite(err error, changed bool) {
	if err == nil {
		if changed {
			s.lastWriteOK.Store(time.Now().UnixMicro())
		}
		return
	}
	if _, ok := Unavailable(err); ok {
		s.lastWriteRefused.Store(time.Now().UnixMicro())
	}
}

// refusedFor is how long a refused write keeps the store not ready to write unless a
// later write succeeds. (Wall-clock time: it is about the process, not appointments.)
const refusedFor = 10 * time.Second

// ReadyToWrite reports whether the database can take writes now: Ready, then a small
// write of its own, then whether the latest writes were refused. The write alone is not
// enough: a full SQLite disk can still take a write that reuses a page while refusing a
// booking that needs a new one. So a write refused in the last 10 s (with no write that
// changed data succeeding since) also counts as not ready; the error says why.
func (s *Store) ReadyToWrite(ctx context.Context) error {
	if err := s.Ready(ctx); err != nil {
		return err
	}
	err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO readiness (id, checked_at) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`, TimeToDB(time.Now()))
		return err
	})
	if err != nil {
		if why, ok := Unavailable(err); ok {
			return fmt.Errorf("%s: %w", why, err)
		}
		return fmt.Errorf("database refuses writes: %w", err)
	}
	refused, ok := s.lastWriteRefused.Load(), s.lastWriteOK.Load()
	if refused > ok && time.Since(time.UnixMicro(refused)) < refusedFor {
		return errors.New("the database refused the latest writes (no space or connection); waiting for one to succeed")
	}
	return nil
}
