package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/availability"
	"rendezvous/store"
)

func TestSchedulesStoreAndQueueBookings(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		sch := availability.Schedule{QueueName: "Mortgages", TimeZone: "Europe/Athens", SlotMinutes: 30,
			WeeklyHours: availability.Week{Monday: []availability.Range{{Start: "09:00", End: "17:00"}}},
			Agents:      []availability.Agent{{UserID: "agent-1"}, {UserID: "agent-2"}}}
		rec, err := e.st.PutSchedule(e.ctx, "org-a", sch, store.CreateOnly)
		if err != nil || rec.Version != 1 {
			t.Fatalf("put: %v %+v", err, rec)
		}
		// A second "new" schedule for the queue does not replace the first.
		if _, err := e.st.PutSchedule(e.ctx, "org-a", sch, store.CreateOnly); !errors.Is(err, rendezvous.ErrStaleVersion) {
			t.Fatalf("create over an existing schedule: %v", err)
		}
		if _, err := e.st.PutSchedule(e.ctx, "org-a", sch, 7); !errors.Is(err, rendezvous.ErrStaleVersion) {
			t.Fatalf("stale put: %v", err)
		}
		sch.SlotMinutes = 45
		if rec, err = e.st.PutSchedule(e.ctx, "org-a", sch, 1); err != nil || rec.Version != 2 {
			t.Fatalf("second put: %v %+v", err, rec)
		}
		got, err := e.st.Schedule(e.ctx, "org-a", "Mortgages")
		if err != nil || got.SlotMinutes != 45 || len(got.Agents) != 2 || got.WeeklyHours.Monday[0].End != "17:00" {
			t.Fatalf("read back: %v %+v", err, got)
		}
		if _, err := e.st.Schedule(e.ctx, "org-b", "Mortgages"); !errors.Is(err, rendezvous.ErrNotFound) {
			t.Fatalf("other org sees the schedule: %v", err)
		}
		list, err := e.st.Schedules(e.ctx, "org-a")
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %v %d", err, len(list))
		}

		// Bookings: the agents' own (any routing), the queue's without agent, not others.
		start := t0.Add(48 * time.Hour)
		e.create(t, "org-a", "agent-1", start, 30)
		e.create(t, "org-a", "", start, 30) // routed to the queue "Mortgages"
		e.create(t, "org-a", "agent-9", start, 30)
		e.create(t, "org-b", "agent-2", start, 30)
		b, err := e.st.QueueBookings(e.ctx, "org-a", "Mortgages", []string{"agent-1", "agent-2"}, start.Add(-time.Hour), start.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 2 {
			t.Fatalf("bookings = %+v, want agent-1's and the queue's", b)
		}
		if b, _ := e.st.QueueBookings(e.ctx, "org-a", "Mortgages", nil, start.Add(time.Hour), start.Add(2*time.Hour)); len(b) != 0 {
			t.Fatalf("bookings outside the window: %+v", b)
		}

		origins, _, err := e.st.WidgetOrigins(e.ctx, "org-a")
		if err != nil || len(origins) != 0 {
			t.Fatalf("origins before: %v %v", origins, err)
		}
		if _, err := e.st.PutWidgetOrigins(e.ctx, "org-a", []string{"https://bank.example"}); err != nil {
			t.Fatal(err)
		}
		if origins, _, _ := e.st.WidgetOrigins(e.ctx, "org-a"); len(origins) != 1 || origins[0] != "https://bank.example" {
			t.Fatalf("origins after: %v", origins)
		}
		if err := e.st.DeleteSchedule(e.ctx, "org-a", "Mortgages"); err != nil {
			t.Fatal(err)
		}
		if err := e.st.DeleteSchedule(e.ctx, "org-a", "Mortgages"); !errors.Is(err, rendezvous.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		_ = store.WidgetBooking{}

		// Every change is in the audit log, written in the same transaction.
		log, _, err := e.st.AuditLog(e.ctx, "org-a", store.AuditFilter{Action: "settings."})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, a := range log {
			actions = append(actions, a.Action+" "+a.TargetID)
		}
		want := []string{"settings.schedule_deleted Mortgages", "settings.widget_updated widget",
			"settings.schedule_updated Mortgages", "settings.schedule_updated Mortgages"}
		if strings.Join(actions, ", ") != strings.Join(want, ", ") {
			t.Fatalf("audit log: %q, want %q", actions, want)
		}
		if c := log[1].Changes; len(c) != 1 || c[0].Field != "allowedOrigins" || !strings.Contains(c[0].To, "bank.example") {
			t.Errorf("origins change: %+v", c)
		}
		if c := log[2].Changes; len(c) != 1 || c[0].Field != "slotMinutes" || c[0].To != "45" {
			t.Errorf("schedule change: %+v", c)
		}
	})
}
