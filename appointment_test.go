package rendezvous

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func validInput() AppointmentInput {
	return AppointmentInput{
		Start:           now.Add(24 * time.Hour),
		DurationMinutes: 30,
		TimeZone:        "Europe/Athens",
		Title:           "Mortgage review",
		AgentUserID:     "agent-1",
		Customers:       []Customer{{Name: "Ada", Phone: "+447911123456"}},
	}
}

func fields(err error) string {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return ""
	}
	var f []string
	for _, p := range ve.Problems {
		f = append(f, p.Field)
	}
	return strings.Join(f, ",")
}

func TestNewAppointmentValidation(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(in *AppointmentInput)
		fields string // "" = valid
	}{
		{"valid", func(in *AppointmentInput) {}, ""},
		{"start in the past", func(in *AppointmentInput) { in.Start = now.Add(-time.Minute) }, "start"},
		{"start now", func(in *AppointmentInput) { in.Start = now }, "start"},
		{"start missing", func(in *AppointmentInput) { in.Start = time.Time{} }, "start"},
		{"beyond horizon", func(in *AppointmentInput) { in.Start = now.Add(MaxBookingHorizon + time.Hour) }, "start"},
		{"too short", func(in *AppointmentInput) { in.DurationMinutes = MinDurationMinutes - 1 }, "durationMinutes"},
		{"shortest", func(in *AppointmentInput) { in.DurationMinutes = MinDurationMinutes }, ""},
		{"longest", func(in *AppointmentInput) { in.DurationMinutes = MaxDurationMinutes }, ""},
		{"too long", func(in *AppointmentInput) { in.DurationMinutes = MaxDurationMinutes + 1 }, "durationMinutes"},
		{"fixed offset zone", func(in *AppointmentInput) { in.TimeZone = "UTC+2" }, "timeZone"},
		{"no zone", func(in *AppointmentInput) { in.TimeZone = "" }, "timeZone"},
		{"no customers", func(in *AppointmentInput) { in.Customers = nil }, "customers"},
		{"unreachable customer", func(in *AppointmentInput) { in.Customers = []Customer{{Name: "Bo"}} }, "customers[0]"},
		{"local phone", func(in *AppointmentInput) { in.Customers[0].Phone = "07911 123456" }, "customers[0].phone"},
		{"bad email", func(in *AppointmentInput) { in.Customers[0].Email = "ada@" }, "customers[0].email"},
		{"flow without agent", func(in *AppointmentInput) { in.AgentUserID = "" }, "agentUserId"},
		{"queue without name", func(in *AppointmentInput) {
			in.Interaction.Routing = Routing{Type: RoutingQueue}
		}, "interaction.routing.properties.queueName"},
		{"queue without agent", func(in *AppointmentInput) {
			in.AgentUserID = ""
			in.Interaction.Routing = Routing{Type: RoutingQueue, QueueName: "Mortgages"}
		}, ""},
		{"title too long", func(in *AppointmentInput) { in.Title = strings.Repeat("é", MaxTitleLength+1) }, "title"},
		{"everything at once", func(in *AppointmentInput) {
			in.Start = now.Add(-time.Hour)
			in.DurationMinutes = 0
			in.TimeZone = "Mars/Olympus"
		}, "start,durationMinutes,timeZone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := validInput()
			c.edit(&in)
			a, err := NewAppointment("org-1", in, now)
			if got := fields(err); got != c.fields {
				t.Fatalf("problems in %q (%v), want %q", got, err, c.fields)
			}
			if c.fields == "" && (a.Status != StatusScheduled || a.OrgID != "org-1" || a.Start.Location() != time.UTC) {
				t.Fatalf("appointment = %+v", a)
			}
		})
	}
}

func TestStatusTransitions(t *testing.T) {
	all := []Status{StatusScheduled, StatusInProgress, StatusCompleted, StatusNoShow, StatusCancelled}
	allowed := map[[2]Status]bool{
		{StatusScheduled, StatusInProgress}: true,
		{StatusScheduled, StatusCancelled}:  true,
		{StatusScheduled, StatusNoShow}:     true,
		{StatusInProgress, StatusCompleted}: true,
	}
	for _, from := range all {
		if !from.Valid() {
			t.Fatalf("%s not valid", from)
		}
		for _, to := range all {
			if got := from.CanTransition(to); got != allowed[[2]Status{from, to}] {
				t.Errorf("%s → %s allowed = %v", from, to, got)
			}
		}
	}
	if Status("archived").Valid() {
		t.Fatal("unknown status valid")
	}
}

func TestLifecycleMethods(t *testing.T) {
	mk := func(t *testing.T) *Appointment {
		a, err := NewAppointment("org-1", validInput(), now)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	later := now.Add(time.Hour)
	t.Run("start then complete", func(t *testing.T) {
		a := mk(t)
		if err := a.MarkStarted(later); err != nil || a.Status != StatusInProgress || !a.StartedAt.Equal(later) {
			t.Fatalf("%v %+v", err, a)
		}
		if err := a.Cancel("", later); !errors.Is(err, ErrConflict) {
			t.Fatalf("cancel in progress: %v", err)
		}
		if err := a.MarkCompleted(later); err != nil || a.Status != StatusCompleted || !a.EndedAt.Equal(later) {
			t.Fatalf("%v %+v", err, a)
		}
	})
	t.Run("no reschedule of cancelled or finished", func(t *testing.T) {
		for _, finish := range []func(a *Appointment) error{
			func(a *Appointment) error { return a.Cancel("moved abroad", now) },
			func(a *Appointment) error { return a.MarkNoShow(later) },
			func(a *Appointment) error { a.MarkStarted(later); return a.MarkCompleted(later) },
		} {
			a := mk(t)
			if err := finish(a); err != nil {
				t.Fatal(err)
			}
			before := *a
			start := now.Add(48 * time.Hour)
			if err := a.Apply(AppointmentPatch{Start: &start}, now); !errors.Is(err, ErrConflict) {
				t.Fatalf("reschedule of %s: %v", a.Status, err)
			}
			if a.Start != before.Start || a.Status != before.Status {
				t.Fatal("failed Apply changed the appointment")
			}
		}
	})
	t.Run("cancel records reason", func(t *testing.T) {
		a := mk(t)
		if err := a.Cancel("  customer asked  ", later); err != nil || a.CancelReason != "customer asked" || !a.CancelledAt.Equal(later) {
			t.Fatalf("%v %+v", err, a)
		}
		if err := a.Cancel("", later); !errors.Is(err, ErrConflict) {
			t.Fatalf("second cancel: %v", err)
		}
	})
	t.Run("apply validates and is atomic", func(t *testing.T) {
		a := mk(t)
		past := now.Add(-time.Hour)
		bad := 1
		title := "New title"
		err := a.Apply(AppointmentPatch{Start: &past, DurationMinutes: &bad, Title: &title}, now)
		if got := fields(err); got != "start,durationMinutes" {
			t.Fatalf("problems %q", got)
		}
		if a.Title == title {
			t.Fatal("failed Apply changed the title")
		}
		// Changing only the zone of an appointment whose start has since passed is not a
		// move into the past.
		zone := "Asia/Kolkata"
		if err := a.Apply(AppointmentPatch{TimeZone: &zone}, a.Start.Add(time.Minute)); err != nil {
			t.Fatalf("zone-only change: %v", err)
		}
		empty := ""
		if err := a.Apply(AppointmentPatch{AgentUserID: &empty}, now); fields(err) != "agentUserId" {
			t.Fatalf("removing the agent of a flow-routed appointment: %v", err)
		}
	})
}

func TestLocalTimesAcrossDaylightSaving(t *testing.T) {
	cases := []struct {
		zone  string
		start time.Time // UTC
		want  string    // local start, then local end of a 60-minute appointment
	}{
		// London springs forward at 01:00 UTC on 29 March 2026: 00:30 GMT is followed by 02:00 BST.
		{"Europe/London", time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC), "2026-03-29 00:30 GMT → 02:30 BST"},
		// ...and falls back at 01:00 UTC on 25 October 2026: 01:30 happens twice.
		{"Europe/London", time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), "2026-10-25 01:30 BST → 01:30 GMT"},
		// New York springs forward at 07:00 UTC on 8 March 2026.
		{"America/New_York", time.Date(2026, 3, 8, 6, 30, 0, 0, time.UTC), "2026-03-08 01:30 EST → 03:30 EDT"},
		{"America/New_York", time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), "2026-11-01 01:30 EDT → 01:30 EST"},
		// Kolkata: +05:30 all year.
		{"Asia/Kolkata", time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC), "2026-03-29 06:00 IST → 07:00 IST"},
		// Adelaide: half-hour zone, +10:30 until 5 April 2026 03:00 local, then +09:30.
		{"Australia/Adelaide", time.Date(2026, 4, 4, 16, 0, 0, 0, time.UTC), "2026-04-05 02:30 ACDT → 02:30 ACST"},
	}
	for _, c := range cases {
		t.Run(c.zone+" "+c.start.Format(time.DateOnly), func(t *testing.T) {
			a := &Appointment{Start: c.start, Duration: time.Hour, TimeZone: c.zone}
			got := a.LocalStart().Format("2006-01-02 15:04 MST") + " → " + a.LocalEnd().Format("15:04 MST")
			if got != c.want {
				t.Fatalf("got %s, want %s", got, c.want)
			}
			if !a.LocalStart().Equal(a.Start) {
				t.Fatal("local start is another instant")
			}
		})
	}
	// An offset-bearing start is stored as the same instant in UTC, whatever the zone.
	in := validInput()
	in.TimeZone = "Australia/Adelaide"
	in.Start = time.Date(2026, 4, 5, 2, 30, 0, 0, time.FixedZone("ACDT", 10*3600+1800))
	a, err := NewAppointment("org-1", in, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 4, 4, 16, 0, 0, 0, time.UTC); a.Start != want {
		t.Fatalf("start = %v, want %v", a.Start, want)
	}
	// A zone this binary does not know falls back to UTC for display.
	if loc := (&Appointment{TimeZone: "Gone/Zone"}).Location(); loc != time.UTC {
		t.Fatalf("unknown zone → %v", loc)
	}
}

// TestStartOffsetMustMatchZone: a start's UTC offset must be the zone's at that instant,
// unless the start is in UTC; host-only zone names are refused.
func TestStartOffsetMustMatchZone(t *testing.T) {
	parse := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		start, zone string
		problem     string // "" = accepted; else a part of the start's message
	}{
		{"2026-06-10T10:00:00+03:00", "Europe/Athens", ""},
		{"2026-06-10T07:00:00Z", "Europe/Athens", ""},
		{"2026-06-10T07:00:00+00:00", "Europe/Athens", ""},
		{"2026-06-10T10:00:00+05:00", "Europe/Athens", "has the UTC offset +05:00, but Europe/Athens is at +03:00 at that instant (2026-06-10 08:00 there)"},
		{"2026-12-10T10:00:00+03:00", "Europe/Athens", "is at +02:00"},
		// 03:30 does not exist in Athens on 29 March 2026 (clocks jump from 03:00 to
		// 04:00); sent with the winter offset it is 04:30 summer time.
		{"2026-03-29T03:30:00+02:00", "Europe/Athens", "is at +03:00 at that instant (2026-03-29 04:30 there)"},
		{"2026-04-05T01:30:00+10:30", "Australia/Lord_Howe", ""},
		{"2026-04-05T01:30:00+11:00", "Australia/Lord_Howe", ""},
		{"2026-06-10T10:00:00-04:00", "America/New_York", ""},
		{"2026-06-10T10:00:00-05:00", "America/New_York", "has the UTC offset -05:00, but America/New_York is at -04:00"},
	}
	for _, c := range cases {
		in := validInput()
		in.Start, in.TimeZone = parse(c.start), c.zone
		_, err := NewAppointment("org-1", in, now)
		if c.problem == "" {
			if err != nil {
				t.Errorf("%s %s: %v", c.start, c.zone, err)
			}
			continue
		}
		if err == nil || fields(err) != "start" || !strings.Contains(err.Error(), c.problem) {
			t.Errorf("%s %s: %v; want a start problem saying %q", c.start, c.zone, err, c.problem)
		}
	}
	for _, zone := range []string{"right/Europe/Athens", "posix/Europe/Athens", "posixrules", "localtime", "Local", "SystemV/EST5"} {
		in := validInput()
		in.TimeZone = zone
		if _, err := NewAppointment("org-1", in, now); fields(err) != "timeZone" {
			t.Errorf("zone %q: %v; want refused", zone, err)
		}
	}
}
