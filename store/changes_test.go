package store_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"rendezvous/store"
	"rendezvous/store/storetest"
)

// within is how long a test waits for something the listener is to do; it bounds a
// wait, it does not measure anything.
const within = 30 * time.Second

// receive returns the next value of ch, failing the test if none comes within the bound.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(within):
		t.Fatalf("no %s within %s", what, within)
		var zero T
		return zero
	}
}

// Two stores on one PostgreSQL database, as two instances: what one announces, the
// other's listener hears; a store in another schema of the same database is not heard.
// When the listener's connection is cut (pg_terminate_backend, as a failover or a
// flapping network does), it listens again on a new backend, asks for a resync, and the
// next change still arrives. Closing the store ends it.
func TestChangeListenerHearsTheOtherInstanceAndComesBack(t *testing.T) {
	u := storetest.URL(t, store.Postgres)
	ctx := context.Background()
	open := func(u string) *store.Store {
		st, err := store.Open(ctx, u, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a, b := open(u), open(u)
	other := open(storetest.URL(t, store.Postgres))

	pids := make(chan uint32, 8)
	changes := make(chan store.Change, 8)
	resyncs := make(chan struct{}, 8)
	done := make(chan error, 1)
	go func() {
		done <- b.ListenChanges(ctx, store.ListenOptions{
			Deliver:   func(c store.Change) { changes <- c },
			Resync:    func() { resyncs <- struct{}{} },
			Listening: func(pid uint32) { pids <- pid },
		})
	}()
	first := receive(t, pids, "listening backend")

	// Another deployment's change, sent before ours: PostgreSQL delivers in commit order,
	// so had it been taken for ours it would come first.
	if err := other.NotifyChange(ctx, store.Change{OrgID: "org-1", AppointmentID: "elsewhere", Event: "created"}); err != nil {
		t.Fatal(err)
	}
	want := store.Change{OrgID: "org-1", AppointmentID: "appt-1", AgentUserID: "agent-1", Event: "created"}
	if err := a.NotifyChange(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, changes, "change"); got != want {
		t.Fatalf("heard %+v, want %+v", got, want)
	}

	// Cut the listener's connection.
	killer, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer killer.Close()
	var cut bool
	if err := killer.QueryRowContext(ctx, "SELECT pg_terminate_backend($1)", int64(first)).Scan(&cut); err != nil || !cut {
		t.Fatalf("terminate the listener's backend %d: %v, %v", first, cut, err)
	}
	if again := receive(t, pids, "listening backend after the cut"); again == first {
		t.Fatalf("listening again on the terminated backend %d", first)
	}
	receive(t, resyncs, "resync after the cut")

	want = store.Change{OrgID: "org-1", AppointmentID: "appt-2", Event: "cancelled"}
	if err := a.NotifyChange(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, changes, "change after the cut"); got != want {
		t.Fatalf("heard %+v after the cut, want %+v", got, want)
	}
	select {
	case <-resyncs:
		t.Error("a second resync for one cut")
	default:
	}

	b.Close()
	if err := receive(t, done, "end of the listener after Close"); err != nil {
		t.Fatalf("ListenChanges: %v", err)
	}
}

// On SQLite (one instance) there is nothing to announce to: both calls say so at once.
func TestChangesAreUnsupportedOnSQLite(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	if err := st.NotifyChange(ctx, store.Change{OrgID: "o", AppointmentID: "a", Event: "created"}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("NotifyChange: %v, want ErrUnsupported", err)
	}
	if err := st.ListenChanges(ctx, store.ListenOptions{}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("ListenChanges: %v, want ErrUnsupported", err)
	}
}
