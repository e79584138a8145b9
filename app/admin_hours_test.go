package app

import (
	"strings"
	"testing"

	"rendezvous/availability"
)

// TestParseRanges: what an administrator types for a day, and what the page makes of it.
func TestParseRanges(t *testing.T) {
	tr := newTr("en")
	for _, c := range []struct {
		in, want, problem string
	}{
		{"", "", ""},
		{"09:00-12:00, 13:00-17:00", "09:00-12:00, 13:00-17:00", ""},
		{" 9:00 – 12:30 ,13:00-24:00", "09:00-12:30, 13:00-24:00", ""},
		{"22:00-06:00+1", "22:00-06:00+1", ""},
		{"13:00-17:00, 09:00-12:00", "13:00-17:00, 09:00-12:00", ""},
		{"09:00-12:00, 11:00-13:00", "", "“09:00-12:00” and “11:00-13:00” overlap"},
		{"09:00-12:00, 12:00-13:00", "09:00-12:00, 12:00-13:00", ""},
		{"22:00-06:00+1, 23:00-23:30", "", "overlap"},
		{"13:00-12:00", "", "“13:00-12:00”: the end is not after the start"},
		{"09:00-09:00", "", "the end is not after the start"},
		{"10:00-12:00+1", "", "+1 means the hours end the next day"},
		{"9-17", "", "is not a range of hours"},
		{"09:00-12:60", "", "is not a range of hours"},
		{"24:00-01:00+1", "", "is not a range of hours"},
		{"09:00", "", "is not a range of hours"},
		{strings.Repeat("01:00-01:01, ", 13), "", "At most 12 ranges"},
	} {
		rs, p := parseRanges(tr, c.in)
		switch {
		case c.problem != "" && !strings.Contains(p, c.problem):
			t.Errorf("%q: problem %q, want one saying %q", c.in, p, c.problem)
		case c.problem == "" && p != "":
			t.Errorf("%q: refused: %s", c.in, p)
		case c.problem == "" && formatRanges(rs) != c.want:
			t.Errorf("%q: reads back as %q, want %q", c.in, formatRanges(rs), c.want)
		}
	}
	// What the page accepts, the engine accepts too.
	rs, _ := parseRanges(tr, "22:00-06:00+1, 09:00-12:00")
	if _, err := availability.Compile(availability.Schedule{QueueName: "q", TimeZone: "Europe/Athens", SlotMinutes: 30, Capacity: 1,
		WeeklyHours: availability.Week{Monday: rs}}); err != nil {
		t.Errorf("engine refuses %v: %v", rs, err)
	}
}

// TestParseLists: exceptions, holidays and an agent's own week, line by line, with the
// line of a mistake named.
func TestParseLists(t *testing.T) {
	tr := newTr("en")
	ex, p := parseExceptions(tr, "2026-12-24 09:00-12:00 # Christmas Eve\n\n2026-12-31\n")
	if p != "" || len(ex) != 2 || ex[0].Note != "Christmas Eve" || len(ex[1].Hours) != 0 || ex[1].Hours == nil {
		t.Fatalf("exceptions: %+v %q", ex, p)
	}
	if got := formatExceptions(ex); got != "2026-12-24 09:00-12:00 # Christmas Eve\n2026-12-31\n" {
		t.Errorf("exceptions read back as %q", got)
	}
	if _, p := parseExceptions(tr, "2026-12-24\n2026-12-32 09:00-10:00"); !strings.Contains(p, "Line 2") || !strings.Contains(p, "is not a date") {
		t.Errorf("bad date: %q", p)
	}
	if _, p := parseExceptions(tr, "2026-12-24\n2026-12-24 10:00-09:00"); !strings.Contains(p, "listed twice") {
		t.Errorf("repeated date: %q", p)
	}
	hs, p := parseHolidays(tr, "2026-12-25 Christmas Day\n2027-01-01")
	if p != "" || len(hs) != 2 || hs[0].Name != "Christmas Day" {
		t.Fatalf("holidays: %+v %q", hs, p)
	}
	w, p := parseWeek(tr, "Monday 09:00-13:00; fri 09:00-12:00, 13:00-14:00; Δευτέρα 10:00-11:00")
	if !strings.Contains(p, "listed twice") {
		t.Errorf("Monday twice (once in Greek): %q %+v", p, w)
	}
	w, p = parseWeek(tr, "Montag 09:00-13:00; fri 09:00-12:00, 13:00-14:00")
	if p != "" || len(w.Monday) != 1 || len(w.Friday) != 2 {
		t.Fatalf("week: %+v %q", w, p)
	}
	if got := formatWeek(newTr("de"), w); got != "Montag 09:00-13:00; Freitag 09:00-12:00, 13:00-14:00" {
		t.Errorf("week in German: %q", got)
	}
	if _, p := parseWeek(tr, "09:00-13:00"); !strings.Contains(p, "does not start with a day") {
		t.Errorf("no day: %q", p)
	}
}
