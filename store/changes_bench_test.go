package store_test

import (
	"context"
	"testing"

	"rendezvous/store"
	"rendezvous/store/storetest"
)

// BenchmarkChangeFeed measures what live updates across instances cost on PostgreSQL
// (go test ./store -run '^$' -bench ChangeFeed -benchtime 2000x -count 3), beside a floor
// in the same run: "select-1" is one round trip to the database through the store's pool;
// "notify" is NotifyChange, the round trip an appointment event job now makes; "heard" is
// NotifyChange until another store's listener on the same database has delivered it, the
// time from one instance announcing a change to another instance's hub having it.
func BenchmarkChangeFeed(b *testing.B) {
	u := storetest.URL(b, store.Postgres)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func() *store.Store {
		st, err := store.Open(ctx, u, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}
	a, l := open(), open()
	heard := make(chan store.Change, 1)
	listening := make(chan struct{}, 1)
	go l.ListenChanges(ctx, store.ListenOptions{
		Deliver:   func(c store.Change) { heard <- c },
		Listening: func(uint32) { listening <- struct{}{} },
	})
	<-listening
	c := store.Change{OrgID: "0b5c2f0e-org", AppointmentID: "01a23f5c-cce8-790a-a142-b02fae0e43e1", AgentUserID: "agent-7", Event: "created"}
	b.Run("select-1", func(b *testing.B) {
		for b.Loop() {
			var n int
			if err := a.ReadRow(ctx, "SELECT 1").Scan(&n); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("notify", func(b *testing.B) {
		for b.Loop() {
			if err := a.NotifyChange(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		for range b.N { // drain what the listener heard
			<-heard
		}
	})
	b.Run("heard", func(b *testing.B) {
		for b.Loop() {
			if err := a.NotifyChange(ctx, c); err != nil {
				b.Fatal(err)
			}
			<-heard
		}
	})
}
