package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/availability"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// BenchmarkQueueAvailability is the database's part of GET /api/v1/availability in
// rdvbench -availability: the schedule of a 200-agent queue and its 2,000 appointments
// over 30 days, read as the request reads them (see BENCHMARKS.md, "Availability").
//
//	go test ./store -run '^$' -bench QueueAvailability
func BenchmarkQueueAvailability(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(d, func(b *testing.B) {
			st := storetest.Open(b, d)
			ctx := context.Background()
			if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "bench", Name: "Bench"}); err != nil {
				b.Fatal(err)
			}
			const agents, appointments, queue = 200, 2000, "Bench Queue"
			hours := []availability.Range{{Start: "08:00", End: "18:00"}}
			sch := availability.Schedule{QueueName: queue, TimeZone: "Europe/Athens", SlotMinutes: 30, MinNoticeMinutes: 60, HorizonDays: 30,
				WeeklyHours: availability.Week{Monday: hours, Tuesday: hours, Wednesday: hours, Thursday: hours, Friday: hours}}
			for a := range agents {
				sch.Agents = append(sch.Agents, availability.Agent{UserID: fmt.Sprintf("agent-%03d", a)})
			}
			if _, err := st.PutSchedule(ctx, "bench", sch, 0); err != nil {
				b.Fatal(err)
			}
			athens, _ := time.LoadLocation("Europe/Athens")
			now := time.Now()
			first := time.Date(now.Year(), now.Month(), now.Day()+1, 8, 0, 0, 0, athens)
			for i := range appointments {
				day := first.AddDate(0, 0, (i/agents)*3+i%3)
				a, err := rendezvous.NewAppointment("bench", rendezvous.AppointmentInput{Start: day.Add(time.Duration(i%20) * 30 * time.Minute),
					DurationMinutes: 30, TimeZone: "Europe/Athens", AgentUserID: fmt.Sprintf("agent-%03d", i%agents),
					Customers: []rendezvous.Customer{{Name: "Seed", Email: "seed@example.com"}}}, now)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := st.CreateAppointment(ctx, a, store.Idempotency{}); err != nil {
					b.Fatal(err)
				}
			}
			if err := st.InTx(ctx, func(tx *store.Tx) error { _, err := tx.Exec(ctx, "ANALYZE"); return err }); err != nil {
				b.Fatal(err)
			}
			from, to := now, now.Add(30*24*time.Hour)
			b.Run("schedule", func(b *testing.B) {
				for b.Loop() {
					if _, err := st.Schedule(ctx, "bench", queue); err != nil {
						b.Fatal(err)
					}
				}
			})
			rec, err := st.Schedule(ctx, "bench", queue)
			if err != nil {
				b.Fatal(err)
			}
			plan, err := availability.Compile(rec.Schedule)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("bookings", func(b *testing.B) {
				for b.Loop() {
					booked, err := st.QueueBookings(ctx, "bench", queue, plan.Agents(), from, to)
					if err != nil || len(booked) != appointments {
						b.Fatalf("%d bookings, %v", len(booked), err)
					}
				}
			})
			booked, _ := st.QueueBookings(ctx, "bench", queue, plan.Agents(), from, to)
			b.Run("slots", func(b *testing.B) {
				for b.Loop() {
					plan.Slots(availability.Query{Now: now, From: from, To: to, Booked: booked})
				}
			})
		})
	}
}
