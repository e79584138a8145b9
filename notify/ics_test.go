package notify

import (
	"strings"
	"testing"
	"time"

	"rendezvous"
)

// icsEvent is what parseICS finds in a calendar file: the event's start and end instants.
type icsEvent struct {
	start, end time.Time
}

// parseICS is a minimal RFC 5545 reader written for this test, independent of the writer:
// it unfolds continuation lines, finds the VEVENT and reads DTSTART and DTEND. It accepts
// a UTC date-time ("...Z") and, for a local time with a TZID, resolves it with Go's zone
// database but refuses it when that local time happens twice or never (the ambiguity the
// writer must avoid).
func parseICS(t *testing.T, ics string) icsEvent {
	t.Helper()
	if !strings.HasSuffix(ics, "\r\n") {
		t.Fatalf("calendar does not end with CRLF")
	}
	unfolded := strings.ReplaceAll(ics, "\r\n ", "")
	var ev icsEvent
	inEvent := false
	for _, line := range strings.Split(strings.TrimSuffix(unfolded, "\r\n"), "\r\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("content line without a colon: %q", line)
		}
		prop, params, _ := strings.Cut(name, ";")
		switch {
		case line == "BEGIN:VEVENT":
			inEvent = true
		case line == "END:VEVENT":
			inEvent = false
		case inEvent && (prop == "DTSTART" || prop == "DTEND"):
			at := parseICSTime(t, params, value)
			if prop == "DTSTART" {
				ev.start = at
			} else {
				ev.end = at
			}
		}
	}
	if ev.start.IsZero() || ev.end.IsZero() {
		t.Fatalf("no DTSTART or DTEND in:\n%s", ics)
	}
	return ev
}

func parseICSTime(t *testing.T, params, value string) time.Time {
	t.Helper()
	if strings.HasSuffix(value, "Z") {
		if params != "" {
			t.Fatalf("UTC time with parameters %q", params)
		}
		at, err := time.Parse("20060102T150405Z", value)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	zone, ok := strings.CutPrefix(params, "TZID=")
	if !ok {
		t.Fatalf("floating local time %q: no instant at all", value)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	local, err := time.ParseInLocation("20060102T150405", value, loc)
	if err != nil {
		t.Fatal(err)
	}
	// Does this wall time name exactly one instant? Look half an hour and an hour either
	// way for another instant with the same wall time.
	for _, d := range []time.Duration{-time.Hour, -30 * time.Minute, 30 * time.Minute, time.Hour} {
		other := local.Add(d)
		if other.Format("20060102T150405") == value {
			t.Fatalf("%s in %s happens twice: the calendar cannot know which is meant", value, zone)
		}
	}
	if local.Format("20060102T150405") != value {
		t.Fatalf("%s does not exist in %s", value, zone)
	}
	return local
}

// TestICSInstantsInRepeatedHours books appointments in the hour that happens twice when
// the clocks go back, in zones that do it by an hour (New York), by half an hour (Lord
// Howe Island) and by two hours (Troll, Antarctica), and reads the .ics back with an
// independent parser: start and end are the booked instants, the end after the start.
func TestICSInstantsInRepeatedHours(t *testing.T) {
	cases := []struct {
		zone  string
		start string // RFC 3339, with the offset that says which of the two wall times
		mins  int
	}{
		{"America/New_York", "2026-11-01T01:30:00-04:00", 30}, // the first 01:30 (EDT)
		{"America/New_York", "2026-11-01T01:30:00-05:00", 30}, // the second 01:30 (EST)
		{"America/New_York", "2026-11-01T01:45:00-04:00", 30}, // ends at the second 01:15
		{"Australia/Lord_Howe", "2026-04-05T01:45:00+11:00", 30},
		{"Australia/Lord_Howe", "2026-04-05T01:45:00+10:30", 30},
		{"Antarctica/Troll", "2026-10-25T02:30:00+02:00", 30},
		{"Antarctica/Troll", "2026-10-25T02:30:00+00:00", 30},
		{"Antarctica/Troll", "2026-10-25T02:45:00+02:00", 60},
	}
	for _, c := range cases {
		t.Run(c.zone+" "+c.start, func(t *testing.T) {
			start, err := time.Parse(time.RFC3339, c.start)
			if err != nil {
				t.Fatal(err)
			}
			a := &rendezvous.Appointment{ID: "a1", OrgID: "o", Version: 1, Status: rendezvous.StatusScheduled,
				Start: start.UTC(), Duration: time.Duration(c.mins) * time.Minute, TimeZone: c.zone}
			ics := string(ICS(CalendarInput{Appointment: a, Summary: "Video appointment", Now: start.Add(-48 * time.Hour)}))
			ev := parseICS(t, ics)
			if !ev.start.Equal(start) || !ev.end.Equal(start.Add(a.Duration)) || !ev.end.After(ev.start) {
				t.Errorf("parsed %s – %s, booked %s – %s\n%s", ev.start, ev.end, start, start.Add(a.Duration), ics)
			}
			// The two wall times of the repeated hour are told apart where people read them.
			loc, _ := time.LoadLocation(c.zone)
			if label := FormatTime(start.In(loc), "en"); !strings.Contains(label, "(") || strings.Contains(label, c.zone) {
				t.Errorf("time label %q", label)
			}
		})
	}
	// The labels of the two 01:30s of New York differ.
	loc, _ := time.LoadLocation("America/New_York")
	first, second := time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC).In(loc), time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC).In(loc)
	if a, b := FormatTime(first, "en"), FormatTime(second, "en"); a == b || a != "1:30 AM (EDT, Eastern Time)" || b != "1:30 AM (EST, Eastern Time)" {
		t.Errorf("the two 01:30s read %q and %q", a, b)
	}
}
