package availability

import (
	"fmt"
	"testing"
	"time"
)

// allDay is a week open around the clock, so the only thing shaping slots is the clock.
func allDay() Week {
	r := []Range{{"00:00", "24:00"}}
	return Week{Monday: r, Tuesday: r, Wednesday: r, Thursday: r, Friday: r, Saturday: r, Sunday: r}
}

// oracle finds, by reading the clock of every minute around the local date, the first
// instant at which loc's clock shows each multiple of step on that date: the slots a
// 24-hour schedule must offer. It shares no code with the engine.
func oracle(t *testing.T, loc *time.Location, date string, step int) []time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		t.Fatal(err)
	}
	first := map[int]time.Time{}
	for u := d.Add(-16 * time.Hour); u.Before(d.Add(40 * time.Hour)); u = u.Add(time.Minute) {
		l := u.In(loc)
		if l.Format(time.DateOnly) != date {
			continue
		}
		m := l.Hour()*60 + l.Minute()
		if m%step != 0 {
			continue
		}
		if _, seen := first[m]; !seen {
			first[m] = u
		}
	}
	var out []time.Time
	for m := 0; m < 24*60; m += step {
		if u, ok := first[m]; ok {
			out = append(out, u)
		}
	}
	return out
}

// TestSlotsAcrossClockChanges checks every clock change of the table, in both directions,
// against the oracle: no slot inside a gap, no wall time offered twice in a fold, every
// slot its true length, including zones whose offsets are not whole hours, whose change
// is 30 minutes, and whose clocks change at midnight.
func TestSlotsAcrossClockChanges(t *testing.T) {
	cases := []struct {
		zone, date string
		step       int
		// missing and doubled are the wall minutes per day the change removes and
		// repeats, a cross-check on the oracle itself.
		missing, doubled int
	}{
		{"Europe/Athens", "2026-03-29", 15, 60, 0},       // 03:00 → 04:00
		{"Europe/Athens", "2026-10-25", 15, 0, 60},       // 04:00 → 03:00
		{"America/New_York", "2026-03-08", 30, 60, 0},    // 02:00 → 03:00
		{"America/New_York", "2026-11-01", 30, 0, 60},    // 02:00 → 01:00
		{"Australia/Lord_Howe", "2026-10-04", 15, 30, 0}, // 02:00 → 02:30, a 30-minute shift
		{"Australia/Lord_Howe", "2026-04-05", 15, 0, 30}, // 02:00 → 01:30
		{"Australia/Lord_Howe", "2026-04-05", 20, 0, 30}, // a step that does not divide the shift
		{"Asia/Kathmandu", "2026-06-15", 15, 0, 0},       // +05:45 all year
		{"Asia/Kathmandu", "1986-01-01", 15, 15, 0},      // +05:30 → +05:45 at midnight
		{"Pacific/Chatham", "2026-09-27", 15, 60, 0},     // 02:45 → 03:45 at +12:45
		{"Pacific/Chatham", "2026-04-05", 15, 0, 60},     // 03:45 → 02:45
		{"America/Santiago", "2026-09-06", 30, 60, 0},    // Sunday 00:00 → 01:00
		{"America/Santiago", "2026-04-04", 30, 0, 60},    // Saturday 24:00 → 23:00
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s/step%d", c.zone, c.date, c.step), func(t *testing.T) {
			loc, err := time.LoadLocation(c.zone)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Compile(Schedule{QueueName: "Q", TimeZone: c.zone, WeeklyHours: allDay(),
				SlotMinutes: c.step, Capacity: 1, HorizonDays: 366})
			if err != nil {
				t.Fatal(err)
			}
			want := oracle(t, loc, c.date, c.step)
			if got, full := len(want), 24*60/c.step; full-got != (c.missing+c.step-1)/c.step && c.missing > 0 {
				t.Fatalf("oracle: %d of %d wall times exist; the change should remove %d minutes", got, full, c.missing)
			}
			d, _ := time.Parse(time.DateOnly, c.date)
			from, to := want[0], want[len(want)-1].Add(time.Nanosecond)
			now := d.AddDate(0, 0, -10)
			got := p.Slots(Query{Now: now, From: from, To: to})
			if len(got) != len(want) {
				t.Fatalf("got %d slots, want %d\n got %v\nwant %v", len(got), len(want), starts(got), want)
			}
			seen := map[string]bool{}
			for i, s := range got {
				if !s.Start.Equal(want[i]) {
					t.Errorf("slot %d starts %s (%s), want %s (%s)", i, s.Start, s.Start.In(loc), want[i], want[i].In(loc))
				}
				if s.End.Sub(s.Start) != time.Duration(c.step)*time.Minute {
					t.Errorf("slot %d lasts %s", i, s.End.Sub(s.Start))
				}
				wall := s.Start.In(loc).Format("2006-01-02 15:04")
				if seen[wall] {
					t.Errorf("wall time %s offered twice", wall)
				}
				seen[wall] = true
				if i > 0 && !s.Start.After(got[i-1].Start) {
					t.Errorf("slot %d not after slot %d", i, i-1)
				}
			}
			folded := 0
			for _, w := range want {
				if _, _, n := instants(wallOf(w.In(loc)), loc); n == 2 {
					folded++
				}
			}
			if wantFolded := (c.doubled + c.step - 1) / c.step; c.doubled > 0 && folded < wantFolded-1 {
				t.Errorf("%d offered wall times are in the fold; expected about %d", folded, wantFolded)
			}
		})
	}
}

func wallOf(l time.Time) time.Time {
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), 0, 0, time.UTC)
}

func starts(s []Slot) []time.Time {
	out := make([]time.Time, len(s))
	for i := range s {
		out[i] = s[i].Start
	}
	return out
}

// TestRangeEdgesInClockChanges pins how working hours that begin or end inside a gap or a
// fold become instants, and that a range ending past midnight belongs to its first day.
func TestRangeEdgesInClockChanges(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name, zone string
		week       Week
		slot, step int
		from, to   string
		want       []string // slot starts, UTC
	}{
		{"start and end around a spring gap", "America/New_York",
			Week{Sunday: []Range{{"01:30", "03:30"}}}, 30, 30, "2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z",
			// 01:30 EST, then 02:00 and 02:30 do not exist, 03:00 EDT; 03:30 EDT is the end.
			[]string{"2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z"}},
		{"range starting inside the gap starts at the change", "Europe/Athens",
			Week{Sunday: []Range{{"03:30", "05:00"}}}, 30, 30, "2026-03-28T00:00:00Z", "2026-03-30T00:00:00Z",
			// 03:30 does not exist; 04:00 and 04:30 EEST.
			[]string{"2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"}},
		{"range ending in a fold ends at its second occurrence", "America/New_York",
			Week{Sunday: []Range{{"00:30", "01:30"}}}, 60, 30, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z",
			// 00:30 EDT (04:30Z) may last an hour to 01:30 EDT; 01:00 EDT (05:00Z) may last
			// an hour to 01:00 EST, well before the end at 01:30 EST (06:30Z).
			[]string{"2026-11-01T04:30:00Z", "2026-11-01T05:00:00Z"}},
		{"night shift across midnight", "Europe/Athens",
			Week{Monday: []Range{{"22:00", "02:00"}}}, 60, 60, "2026-06-01T00:00:00Z", "2026-06-03T00:00:00Z",
			// Monday 1 June 22:00 EEST = 19:00Z until Tuesday 02:00 = 23:00Z.
			[]string{"2026-06-01T19:00:00Z", "2026-06-01T20:00:00Z", "2026-06-01T21:00:00Z", "2026-06-01T22:00:00Z"}},
		{"night shift through a midnight spring change", "America/Santiago",
			Week{Saturday: []Range{{"22:00", "02:00"}}}, 60, 60, "2026-09-05T00:00:00Z", "2026-09-07T00:00:00Z",
			// Saturday 22:00 and 23:00 at -04; 00:00 Sunday does not exist; 01:00 at -03
			// (04:00Z) may last until 02:00 -03 (05:00Z).
			[]string{"2026-09-06T02:00:00Z", "2026-09-06T03:00:00Z", "2026-09-06T04:00:00Z"}},
		{"evening through a midnight autumn change", "America/Santiago",
			Week{Saturday: []Range{{"22:00", "24:00"}}}, 30, 30, "2026-04-04T00:00:00Z", "2026-04-06T00:00:00Z",
			// 22:00, 22:30 at -03 (01:00Z, 01:30Z); 23:00 and 23:30 at their first
			// occurrence (02:00Z, 02:30Z); the range ends at 24:00 -04 (04:00Z), so the
			// second 23:00-24:00 is open but offers no wall time a second time.
			[]string{"2026-04-05T01:00:00Z", "2026-04-05T01:30:00Z", "2026-04-05T02:00:00Z", "2026-04-05T02:30:00Z"}},
		{"quarter-hour offset", "Asia/Kathmandu",
			Week{Wednesday: []Range{{"09:00", "10:00"}}}, 30, 30, "2026-06-17T00:00:00Z", "2026-06-18T00:00:00Z",
			[]string{"2026-06-17T03:15:00Z", "2026-06-17T03:45:00Z"}},
		{"step shorter than the slot", "UTC",
			Week{Friday: []Range{{"09:00", "10:00"}}}, 30, 15, "2026-06-19T00:00:00Z", "2026-06-20T00:00:00Z",
			[]string{"2026-06-19T09:00:00Z", "2026-06-19T09:15:00Z", "2026-06-19T09:30:00Z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Compile(Schedule{QueueName: "Q", TimeZone: c.zone, WeeklyHours: c.week,
				SlotMinutes: c.slot, StepMinutes: c.step, Capacity: 1, HorizonDays: 366})
			if err != nil {
				t.Fatal(err)
			}
			got := p.Slots(Query{Now: utc("2026-01-01T00:00:00Z"), From: utc(c.from), To: utc(c.to)})
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", starts(got), c.want)
			}
			for i := range got {
				if !got[i].Start.Equal(utc(c.want[i])) {
					t.Errorf("slot %d: got %s, want %s", i, got[i].Start, c.want[i])
				}
			}
		})
	}
}
