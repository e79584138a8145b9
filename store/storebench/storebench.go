// Package storebench measures the raw database baselines the store's performance is judged
// against: single-row insert transactions and a 20-row indexed range read, done directly
// with the driver on a table of their own, bypassing the store. The store's Go benchmarks
// (store/bench_test.go) compare against it.
//
// The raw table has the same columns as appointments (a row of the same width, customers
// and interaction as JSON text), a primary key and the agent-day index: "raw" is the
// driver reading and writing the same data with no store logic (no validation, overlap
// check, idempotency, job, decoding or encryption), not a narrower row.
//
// On SQLite the raw path is what the store itself builds on: one writer connection with
// the same pragmas (WAL, synchronous=NORMAL, BEGIN IMMEDIATE) and a prepared statement.
// On PostgreSQL it is pgx's own pool (pgxpool) with no database/sql layer, which is the
// fastest plain way to insert from Go.
//
//	raw, _ := storebench.OpenRaw(ctx, "sqlite:///tmp/bench.db")
//	defer raw.Close(ctx)
//	err := raw.Insert(ctx)
package storebench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // the "sqlite" driver
)

// Raw runs baseline statements on its own table (storebench_raw) in the database of a
// store URL.
type Raw struct {
	dialect     string
	sqlite      *sql.DB // one writer connection
	reads       *sql.DB // SQLite read pool
	ins         *sql.Stmt
	rng         *sql.Stmt
	pg          *pgxpool.Pool
	customers   string
	interaction string
	seq         atomic.Int64
	prefix      string
}

// rawTable mirrors the appointments table's columns.
const rawTable = `CREATE TABLE IF NOT EXISTS storebench_raw (
	id                    TEXT PRIMARY KEY,
	org_id                TEXT NOT NULL,
	status                TEXT NOT NULL,
	version               BIGINT NOT NULL,
	start_at              BIGINT NOT NULL,
	end_at                BIGINT NOT NULL,
	time_zone             TEXT NOT NULL,
	title                 TEXT NOT NULL,
	notes                 TEXT NOT NULL,
	agent_user_id         TEXT NOT NULL,
	customers             TEXT NOT NULL,
	interaction           TEXT NOT NULL,
	link_hash             TEXT NOT NULL,
	notifications_enabled BOOLEAN NOT NULL,
	created_at            BIGINT NOT NULL,
	updated_at            BIGINT NOT NULL,
	cancelled_at          BIGINT NOT NULL,
	cancel_reason         TEXT NOT NULL,
	started_at            BIGINT NOT NULL,
	ended_at              BIGINT NOT NULL
)`

const rawIndex = `CREATE INDEX IF NOT EXISTS storebench_raw_agent ON storebench_raw (org_id, agent_user_id, start_at)`

const rawColumns = `id, org_id, status, version, start_at, end_at, time_zone, title, notes, agent_user_id,
	customers, interaction, link_hash, notifications_enabled, created_at, updated_at, cancelled_at,
	cancel_reason, started_at, ended_at`

const (
	rawInsertSQLite   = "INSERT INTO storebench_raw (" + rawColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	rawInsertPostgres = "INSERT INTO storebench_raw (" + rawColumns + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
	rawRangeSQLite    = "SELECT " + rawColumns + " FROM storebench_raw WHERE org_id = ? AND agent_user_id = ? AND start_at >= ? AND start_at < ? ORDER BY start_at LIMIT 20"
	rawRangePostgres  = "SELECT " + rawColumns + " FROM storebench_raw WHERE org_id = $1 AND agent_user_id = $2 AND start_at >= $3 AND start_at < $4 ORDER BY start_at LIMIT 20"
)

// rowArgs returns the values of one appointment-like row.
func (r *Raw) rowArgs(id, agent string, start int64) []any {
	now := time.Now().UnixMicro()
	return []any{id, "org-bench", "scheduled", 1, start, start + 30*60e6, "Europe/London", "Mortgage review", "",
		agent, r.customers, r.interaction, id + "-link-hash-0123456789abcdef0123456789abcdef", true, now, now, 0, "", 0, 0}
}

// rawRow receives a row as the driver gives it.
type rawRow struct {
	id, org, status, zone, title, notes, agent, customers, interaction, linkHash, reason string
	version, start, end, created, updated, cancelled, started, ended                     int64
	notify                                                                               bool
}

func (w *rawRow) dest() []any {
	return []any{&w.id, &w.org, &w.status, &w.version, &w.start, &w.end, &w.zone, &w.title, &w.notes,
		&w.agent, &w.customers, &w.interaction, &w.linkHash, &w.notify, &w.created, &w.updated,
		&w.cancelled, &w.reason, &w.started, &w.ended}
}

// OpenRaw prepares the baseline table in the database of databaseURL ("sqlite://..." or
// "postgres://..."), creating it if needed.
func OpenRaw(ctx context.Context, databaseURL string) (*Raw, error) {
	b := make([]byte, 4)
	rand.Read(b)
	r := &Raw{
		customers:   `[{"name":"Ada Lovelace","phone":"+447911123456","email":"ada@example.com","language":"en"}]`,
		interaction: `{"routingType":"GENESYS_CLOUD_FLOW","customFields":{"crm":"42"}}`,
		prefix:      hex.EncodeToString(b),
	}
	switch {
	case strings.HasPrefix(databaseURL, "sqlite://"):
		r.dialect = "sqlite"
		path := strings.TrimPrefix(databaseURL, "sqlite://")
		common := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)"
		w, err := sql.Open("sqlite", common+"&_pragma=journal_mode(WAL)&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("raw: %w", err)
		}
		w.SetMaxOpenConns(1)
		r.sqlite = w
		if _, err := w.ExecContext(ctx, rawTable); err != nil {
			w.Close()
			return nil, fmt.Errorf("raw: %w", err)
		}
		if _, err := w.ExecContext(ctx, rawIndex); err != nil {
			w.Close()
			return nil, fmt.Errorf("raw: %w", err)
		}
		rd, err := sql.Open("sqlite", common+"&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("raw: %w", err)
		}
		rd.SetMaxOpenConns(8)
		rd.SetMaxIdleConns(8)
		r.reads = rd
		if r.ins, err = w.PrepareContext(ctx, rawInsertSQLite); err != nil {
			r.Close(ctx)
			return nil, fmt.Errorf("raw: %w", err)
		}
		if r.rng, err = rd.PrepareContext(ctx, rawRangeSQLite); err != nil {
			r.Close(ctx)
			return nil, fmt.Errorf("raw: %w", err)
		}
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		r.dialect = "postgres"
		p, err := pgxpool.New(ctx, databaseURL)
		if err != nil {
			return nil, fmt.Errorf("raw: %w", err)
		}
		r.pg = p
		for _, q := range []string{rawTable, rawIndex} {
			if _, err := p.Exec(ctx, q); err != nil {
				p.Close()
				return nil, fmt.Errorf("raw: %w", err)
			}
		}
	default:
		return nil, fmt.Errorf("raw: unsupported database URL")
	}
	return r, nil
}

// Insert runs one single-row insert transaction.
func (r *Raw) Insert(ctx context.Context) error {
	n := r.seq.Add(1)
	id := fmt.Sprintf("%s-%d", r.prefix, n)
	agent := fmt.Sprintf("agent-%d", n%100)
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute).UnixMicro()
	if r.dialect == "postgres" {
		tx, err := r.pg.Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, rawInsertPostgres, r.rowArgs(id, agent, start)...); err != nil {
			tx.Rollback(ctx)
			return err
		}
		return tx.Commit(ctx)
	}
	tx, err := r.sqlite.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.StmtContext(ctx, r.ins).ExecContext(ctx, r.rowArgs(id, agent, start)...); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// SeedDay inserts rows for one agent's day: 20 rows on the day starting at day, among
// others on the days around it.
func (r *Raw) SeedDay(ctx context.Context, agent string, day time.Time) error {
	for d := -3; d <= 3; d++ {
		for i := range 20 {
			n := r.seq.Add(1)
			start := day.AddDate(0, 0, d).Add(time.Duration(8*60+i*30) * time.Minute).UnixMicro()
			var err error
			if r.dialect == "postgres" {
				_, err = r.pg.Exec(ctx, rawInsertPostgres, r.rowArgs(fmt.Sprintf("%s-%d", r.prefix, n), agent, start)...)
			} else {
				_, err = r.ins.ExecContext(ctx, r.rowArgs(fmt.Sprintf("%s-%d", r.prefix, n), agent, start)...)
			}
			if err != nil {
				return fmt.Errorf("seed: %w", err)
			}
		}
	}
	return nil
}

// ReadDay reads one agent's day (the 20 rows SeedDay wrote) through the index, scanning
// every column, and returns how many rows it read.
func (r *Raw) ReadDay(ctx context.Context, agent string, day time.Time) (int, error) {
	from, to := day.UnixMicro(), day.AddDate(0, 0, 1).UnixMicro()
	var row rawRow
	n := 0
	if r.dialect == "postgres" {
		rows, err := r.pg.Query(ctx, rawRangePostgres, "org-bench", agent, from, to)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		for rows.Next() {
			if err := rows.Scan(row.dest()...); err != nil {
				return n, err
			}
			n++
		}
		return n, rows.Err()
	}
	rows, err := r.rng.QueryContext(ctx, "org-bench", agent, from, to)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(row.dest()...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// Close drops the baseline table and closes the connections.
func (r *Raw) Close(ctx context.Context) error {
	var err error
	if r.pg != nil {
		_, err = r.pg.Exec(ctx, "DROP TABLE IF EXISTS storebench_raw")
		r.pg.Close()
	}
	if r.sqlite != nil {
		if r.ins != nil {
			r.ins.Close()
		}
		if r.rng != nil {
			r.rng.Close()
		}
		if r.reads != nil {
			r.reads.Close()
		}
		_, err = r.sqlite.ExecContext(ctx, "DROP TABLE IF EXISTS storebench_raw")
		r.sqlite.Close()
	}
	return err
}
