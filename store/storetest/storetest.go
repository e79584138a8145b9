// Package storetest opens throw-away stores for tests, on SQLite and on PostgreSQL, so
// every package that keeps data can run the same tests against both databases:
//
//	for _, d := range storetest.Dialects() {
//		t.Run(d, func(t *testing.T) {
//			st := storetest.Open(t, d)
//			...
//		})
//	}
//
// PostgreSQL is reached through RENDEZVOUS_TEST_POSTGRES_URL (default
// postgres://root@127.0.0.1:5432/test?sslmode=disable, then the postgres role). Each store
// gets a fresh schema, dropped when the test ends, so packages can test in parallel. When
// PostgreSQL is unreachable the test is skipped, unless the CI environment variable is set,
// in which case it fails.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create schemas

	"rendezvous/clock"
	"rendezvous/secret"
	"rendezvous/store"
)

// Dialects lists the databases every store test runs on.
func Dialects() []string { return []string{store.SQLite, store.Postgres} }

// Open returns a migrated store on a fresh database of the dialect, closed and dropped
// when t ends. The store has a random secrets key.
func Open(t testing.TB, dialect string) *store.Store {
	t.Helper()
	return OpenWith(t, dialect, store.Options{})
}

// OpenWith is Open with options; a nil Secrets gets a random key, a nil Clock the real one.
func OpenWith(t testing.TB, dialect string, o store.Options) *store.Store {
	t.Helper()
	if o.Secrets == nil {
		o.Secrets = NewBox(t)
	}
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	u := URL(t, dialect)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, u, o)
	if err != nil {
		t.Fatalf("open %s store: %v", dialect, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// NewBox returns a secrets box with a random key.
func NewBox(t testing.TB) *secret.Box {
	t.Helper()
	k, err := secret.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := secret.NewBox(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// URL creates a fresh, empty database of the dialect and returns its store URL, for tests
// that open several stores on one database (two instances sharing work). The database is
// removed when t ends, after the cleanups registered later (such as closing stores).
func URL(t testing.TB, dialect string) string {
	t.Helper()
	switch dialect {
	case store.SQLite:
		return "sqlite://" + filepath.Join(t.TempDir(), "test.db")
	case store.Postgres:
		return postgresSchema(t)
	}
	t.Fatalf("storetest: unknown dialect %q", dialect)
	return ""
}

var (
	pgOnce sync.Once
	pgURL  string
	pgErr  error
)

// postgresBase finds a PostgreSQL URL that connects, trying the root role, then postgres.
func postgresBase() (string, error) {
	pgOnce.Do(func() {
		cands := []string{os.Getenv("RENDEZVOUS_TEST_POSTGRES_URL")}
		if cands[0] == "" {
			cands = []string{
				"postgres://root@127.0.0.1:5432/test?sslmode=disable",
				"postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
			}
		}
		for _, c := range cands {
			db, err := sql.Open("pgx", c)
			if err != nil {
				pgErr = err
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err = db.PingContext(ctx)
			cancel()
			db.Close()
			if err == nil {
				pgURL, pgErr = c, nil
				return
			}
			pgErr = err
		}
	})
	return pgURL, pgErr
}

func postgresSchema(t testing.TB) string {
	t.Helper()
	base, err := postgresBase()
	if err != nil {
		msg := fmt.Sprintf("PostgreSQL unreachable (set RENDEZVOUS_TEST_POSTGRES_URL): %v", err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg + "; skipped outside CI")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TextHit is where FindText found one of its values.
type TextHit struct {
	Value string
	Where string // table.column
}

// FindText searches every column of every table of st's database for the values (as
// substrings of text and bytes), for tests that prove data is gone, or was never stored
// in the clear.
func FindText(ctx context.Context, st *store.Store, values ...string) ([]TextHit, error) {
	q := "SELECT name FROM sqlite_master WHERE type = 'table'"
	if st.Dialect() == store.Postgres {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	}
	rows, err := st.Read(ctx, q)
	if err != nil {
		return nil, err
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, n)
	}
	rows.Close()
	var hits []TextHit
	for _, table := range tables {
		rows, err := st.Read(ctx, `SELECT * FROM "`+table+`"`)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			rows.Close()
			return nil, err
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read %s: %w", table, err)
			}
			for i, v := range vals {
				var text string
				switch x := v.(type) {
				case string:
					text = x
				case []byte:
					text = string(x)
				default:
					continue
				}
				for _, want := range values {
					if strings.Contains(text, want) {
						hits = append(hits, TextHit{Value: want, Where: table + "." + cols[i]})
					}
				}
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return hits, nil
}
