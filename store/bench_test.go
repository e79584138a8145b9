package store_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/store"
	"rendezvous/store/storebench"
	"rendezvous/store/storetest"
)

// The targets (see BENCHMARKS.md): booking at least 40% of raw single-row insert
// transactions (SQLite with 64 clients, PostgreSQL with 16), listing an agent's day at
// least 60% of a raw 20-row indexed range read. Compare, for example:
//
//	go test ./store -run '^$' -bench 'CreateAppointment|RawInsert|ListAgentDay|RawRangeRead'

func benchClients(dialect string) int {
	if dialect == store.SQLite {
		return 64
	}
	return 16
}

// parallel runs op from benchClients goroutines.
func parallel(b *testing.B, dialect string, op func(n int64) error) {
	b.SetParallelism(max(1, benchClients(dialect)/runtime.GOMAXPROCS(0)))
	var seq atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(seq.Add(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func benchInput(n int64, now time.Time) rendezvous.AppointmentInput {
	// 1000 agents, each booked back to back from tomorrow on: never a conflict.
	agent := n % 1000
	start := now.Truncate(time.Hour).Add(24*time.Hour + time.Duration(n/1000)*30*time.Minute)
	return rendezvous.AppointmentInput{
		Start: start, DurationMinutes: 30, TimeZone: "Europe/London", Title: "Mortgage review",
		AgentUserID: fmt.Sprintf("agent-%d", agent),
		Customers:   []rendezvous.Customer{{Name: "Ada Lovelace", Phone: "+447911123456", Email: "ada@example.com"}},
		Interaction: rendezvous.Interaction{CustomFields: map[string]string{"crm": "42"}},
	}
}

func BenchmarkCreateAppointment(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(d, func(b *testing.B) {
			st := storetest.Open(b, d)
			ctx := context.Background()
			if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "org-bench"}); err != nil {
				b.Fatal(err)
			}
			c := clock.Real()
			parallel(b, d, func(n int64) error {
				a, err := rendezvous.NewAppointment("org-bench", benchInput(n, c.Now()), c.Now())
				if err != nil {
					return err
				}
				_, _, err = st.CreateAppointment(ctx, a, store.Idempotency{})
				return err
			})
		})
	}
}

func BenchmarkRawInsert(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(d, func(b *testing.B) {
			raw, err := storebench.OpenRaw(context.Background(), storetest.URL(b, d))
			if err != nil {
				b.Fatal(err)
			}
			defer raw.Close(context.Background())
			ctx := context.Background()
			parallel(b, d, func(int64) error { return raw.Insert(ctx) })
		})
	}
}

func BenchmarkListAgentDay(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(d, func(b *testing.B) {
			st := storetest.Open(b, d)
			ctx := context.Background()
			if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "org-bench"}); err != nil {
				b.Fatal(err)
			}
			now := time.Now().UTC()
			day := now.Truncate(24*time.Hour).AddDate(0, 0, 5)
			// 20 appointments a day for a week around the day listed, plus other agents.
			for _, agent := range []string{"agent-1", "agent-2"} {
				for dd := -3; dd <= 3; dd++ {
					for i := range 20 {
						in := benchInput(0, now)
						in.AgentUserID = agent
						in.Start = day.AddDate(0, 0, dd).Add(time.Duration(8*60+i*30) * time.Minute)
						a, err := rendezvous.NewAppointment("org-bench", in, now)
						if err != nil {
							b.Fatal(err)
						}
						if _, _, err := st.CreateAppointment(ctx, a, store.Idempotency{}); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			f := store.ListFilter{AgentUserID: "agent-1", From: day, To: day.AddDate(0, 0, 1)}
			items, _, err := st.ListAppointments(ctx, "org-bench", f)
			if err != nil || len(items) != 20 {
				b.Fatalf("day has %d items (%v), want 20", len(items), err)
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := st.ListAppointments(ctx, "org-bench", f); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkRawRangeRead(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(d, func(b *testing.B) {
			ctx := context.Background()
			raw, err := storebench.OpenRaw(ctx, storetest.URL(b, d))
			if err != nil {
				b.Fatal(err)
			}
			defer raw.Close(ctx)
			day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 5)
			for _, agent := range []string{"agent-1", "agent-2"} {
				if err := raw.SeedDay(ctx, agent, day); err != nil {
					b.Fatal(err)
				}
			}
			if n, err := raw.ReadDay(ctx, "agent-1", day); err != nil || n != 20 {
				b.Fatalf("raw day has %d rows (%v)", n, err)
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := raw.ReadDay(ctx, "agent-1", day); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
