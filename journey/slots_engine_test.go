package journey

import (
	"context"
	"slices"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/availability"
	"rendezvous/store/storetest"
)

// TestRescheduleSlotsComeFromTheSchedule checks the self-service reschedule page's times:
// the fixed grid while no schedule covers the appointment, the availability engine once
// the agent's queue has one (the agent's other bookings taken out, the appointment's own
// time free to move within).
func TestRescheduleSlotsComeFromTheSchedule(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) { rescheduleSlots(t, d) })
	}
}

func rescheduleSlots(t *testing.T, d string) {
	{
		f := newFixture(t, d)
		ctx := context.Background()
		now := f.clk.Now()                  // Tuesday 24 November 2026, 09:00 UTC (11:00 Athens)
		a := f.book(26*time.Hour, "el")     // Wednesday 11:00 UTC
		other := f.book(50*time.Hour, "en") // Thursday 11:00 UTC, the same agent
		grid, err := f.svc.freeSlots(ctx, a, now)
		if err != nil || len(grid) == 0 {
			t.Fatalf("grid: %v %d", err, len(grid))
		}
		hours := []availability.Range{{Start: "14:00", End: "16:00"}}
		if _, err := f.st.PutSchedule(ctx, "org1", availability.Schedule{QueueName: "Mortgages", TimeZone: "Europe/Athens",
			WeeklyHours: availability.Week{Wednesday: hours, Thursday: hours}, SlotMinutes: 30, HorizonDays: 7,
			Agents: []availability.Agent{{UserID: "agent-7"}, {UserID: "agent-8"}}}, 0); err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.freeSlots(ctx, a, now)
		if err != nil {
			t.Fatal(err)
		}
		utc := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
		want := []time.Time{
			// Wednesday 14:00–16:00 Athens = 12:00–14:00 UTC, four half hours.
			utc("2026-11-25T12:00:00Z"), utc("2026-11-25T12:30:00Z"), utc("2026-11-25T13:00:00Z"), utc("2026-11-25T13:30:00Z"),
			// Thursday: agent-7's other appointment (11:00 UTC) is outside the hours.
			utc("2026-11-26T12:00:00Z"), utc("2026-11-26T12:30:00Z"), utc("2026-11-26T13:00:00Z"), utc("2026-11-26T13:30:00Z"),
		}
		if !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Fatalf("slots = %v, want %v", got, want)
		}
		// Move the other appointment into Thursday's hours: agent-7 is no longer free then.
		if _, err := f.st.UpdateAppointment(ctx, "org1", other.ID, 0, func(o *rendezvous.Appointment) (string, error) {
			o.Start = utc("2026-11-26T12:30:00Z")
			return "rescheduled", nil
		}); err != nil {
			t.Fatal(err)
		}
		got, _ = f.svc.freeSlots(ctx, a, now)
		for _, s := range got {
			if s.Equal(utc("2026-11-26T12:30:00Z")) {
				t.Errorf("offered %s, when agent-7 is booked", s)
			}
		}
		if len(got) != 7 {
			t.Errorf("after the move: %v, want seven slots (12:30 Thursday gone)", got)
		}
	}
}
