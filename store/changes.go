package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// ChangeChannel is the PostgreSQL notification channel on which every instance announces
// the appointment changes it processed (NotifyChange) and hears those of the others
// (ListenChanges), so that the staff app's live pages of every instance learn of them.
const ChangeChannel = "rendezvous_changes"

// Change is an appointment change as live pages hear of it: identifiers and the event's
// name, never customer data. NOTIFY payloads can be read by any session of the database,
// whatever its rights on the tables.
type Change struct {
	OrgID         string `json:"o"`
	AppointmentID string `json:"a"`
	AgentUserID   string `json:"u,omitempty"`
	Event         string `json:"e"`
}

// changePayload is what goes on ChangeChannel: the change and the schema of the store
// that sent it. Notification channels belong to the whole database, so deployments (and
// tests) sharing one database in different schemas would otherwise hear each other.
type changePayload struct {
	Change
	Schema string `json:"s"`
}

// NotifyChange announces c on ChangeChannel; every store's ListenChanges on the same
// database and schema hears it, the sender's own included. Sent outside a transaction, it
// goes out at once; PostgreSQL delivers notifications in the order their transactions
// committed, to every session listening at the time (a listener that was disconnected
// misses them: see ListenOptions.Resync). PostgreSQL only: on SQLite, a single instance,
// it returns an error wrapping errors.ErrUnsupported.
func (s *Store) NotifyChange(ctx context.Context, c Change) error {
	if s.dialect != Postgres {
		return fmt.Errorf("notify change: %w on %s", errors.ErrUnsupported, s.dialect)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("notify change: %w", err)
	}
	// The schema is added by the database, as the listener reads it (current_schema()).
	_, err = s.write.ExecContext(ctx, `SELECT pg_notify($1, ($2::jsonb || jsonb_build_object('s', current_schema()))::text)`,
		ChangeChannel, string(b))
	if err != nil {
		return fmt.Errorf("notify change %s: %w", c.AppointmentID, err)
	}
	return nil
}

// ListenOptions says what ListenChanges does with what it hears.
type ListenOptions struct {
	// Deliver receives each change, in the order sent. It runs on the listening
	// goroutine and should not block.
	Deliver func(Change)
	// Resync is called when the listener listens again after losing its connection (or
	// after failing to connect): changes sent in between were not heard, so whoever shows
	// them should read them afresh.
	Resync func()
	// Listening, when set, is called each time the listener has started to listen, with
	// the process id of its PostgreSQL backend (pg_stat_activity.pid).
	Listening func(pid uint32)
}

// Backoff between attempts to listen again: from listenRetryMin, doubling, up to
// listenRetryMax, each with up to half of it added at random so that instances cut off
// together do not come back in step.
const (
	listenRetryMin = 100 * time.Millisecond
	listenRetryMax = 30 * time.Second
	// listenIdleCheck is how long the listener waits for a notification before it checks
	// its connection with a ping: a connection lost without a word (a network partition,
	// a failover behind a proxy) is otherwise noticed only by TCP keepalives, much later.
	listenIdleCheck   = time.Minute
	listenPingTimeout = 10 * time.Second
)

// ListenChanges listens on ChangeChannel and hands every change sent by a store on the
// same database and schema to o.Deliver, until ctx ends or the store is closed; it then
// returns nil. It listens on a connection of its own, opened with the settings of the
// store's pool but outside it, and connects again with backoff whenever that connection
// is lost, calling o.Resync once it listens again. Times here are the real clock's, not
// the store's: they pace network retries, not business time. PostgreSQL only: on SQLite
// it returns an error wrapping errors.ErrUnsupported at once.
func (s *Store) ListenChanges(ctx context.Context, o ListenOptions) error {
	if s.dialect != Postgres {
		return fmt.Errorf("listen for changes: %w on %s", errors.ErrUnsupported, s.dialect)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	var cfg *pgx.ConnConfig
	lost := false // a connection was lost or could not be made: changes may have been missed
	wait := listenRetryMin
	for {
		var err error
		if cfg == nil {
			cfg, err = s.listenConfig(ctx)
		}
		if err == nil {
			var listened bool
			listened, err = s.listen(ctx, cfg, lost, o)
			if listened {
				wait = listenRetryMin
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		lost = true
		d := wait + rand.N(wait/2+1)
		s.log.Warn("change listener: connection lost or refused; listening again", "error", err, "retry_in_ms", d.Milliseconds())
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		wait = min(2*wait, listenRetryMax)
	}
}

// listenConfig returns the connection settings of the store's pool (its URL's host, user,
// database and run-time parameters such as search_path and application_name), for the
// listener's own connection.
func (s *Store) listenConfig(ctx context.Context) (*pgx.ConnConfig, error) {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var cfg *pgx.ConnConfig
	err = conn.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("listen for changes: unexpected driver connection %T", dc)
		}
		cfg = pc.Conn().Config()
		// The copy still hands notifications to the pool connection's buffer; the
		// listener's connection must keep its own (pgx sets it when this is nil).
		cfg.OnNotification = nil
		return nil
	})
	return cfg, err
}

// listen connects, listens and delivers until the connection fails or ctx ends. listened
// reports whether it got as far as listening; resync whether to call o.Resync then.
func (s *Store) listen(ctx context.Context, cfg *pgx.ConnConfig, resync bool, o ListenOptions) (listened bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		conn.Close(cctx)
		cancel()
	}()
	var schema sql.NullString
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return false, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+ChangeChannel); err != nil {
		return false, err
	}
	if o.Listening != nil {
		o.Listening(conn.PgConn().PID())
	}
	if resync && o.Resync != nil {
		o.Resync()
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, listenIdleCheck)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return true, nil
		}
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) || conn.IsClosed() {
				return true, err
			}
			pctx, cancel := context.WithTimeout(ctx, listenPingTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("ping: %w", err)
			}
			continue
		}
		if n == nil {
			continue
		}
		var p changePayload
		if err := json.Unmarshal([]byte(n.Payload), &p); err != nil {
			s.log.Warn("change listener: unreadable notification", "error", err)
			continue
		}
		if p.Schema != schema.String || p.OrgID == "" {
			continue // another deployment's, sharing the database
		}
		if o.Deliver != nil {
			o.Deliver(p.Change)
		}
	}
}
