package journey

import (
	"testing"
	"time"
)

func TestFreeSlots(t *testing.T) {
	zone := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	berlin, kolkata, adelaide, ny := zone("Europe/Berlin"), zone("Asia/Kolkata"), zone("Australia/Adelaide"), zone("America/New_York")
	day := SlotRule{Days: 1, DayStart: 8 * 60, DayEnd: 18 * 60, Step: 30 * time.Minute, MinNotice: 2 * time.Hour}
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name  string
		now   time.Time
		loc   *time.Location
		dur   time.Duration
		busy  []Busy
		rule  SlotRule
		count int
		first string // RFC 3339, UTC
		last  string
		notIn []string
	}{
		{name: "whole day, 30 min", now: utc("2026-11-24T00:00:00Z"), loc: berlin, dur: 30 * time.Minute, rule: day,
			count: 20, first: "2026-11-24T07:00:00Z", last: "2026-11-24T16:30:00Z"},
		{name: "60 min slots end by 18:00", now: utc("2026-11-24T00:00:00Z"), loc: berlin, dur: time.Hour, rule: day,
			count: 19, first: "2026-11-24T07:00:00Z", last: "2026-11-24T16:00:00Z"},
		{name: "minimum notice of 2 h", now: utc("2026-11-24T09:10:00Z"), loc: berlin, dur: 30 * time.Minute, rule: day,
			// 10:10 local now, so 12:10 is the earliest: 12:30 local = 11:30 UTC.
			count: 11, first: "2026-11-24T11:30:00Z", last: "2026-11-24T16:30:00Z"},
		{name: "nothing left today", now: utc("2026-11-24T16:00:00Z"), loc: berlin, dur: 30 * time.Minute, rule: day, count: 0},
		{name: "busy agent", now: utc("2026-11-24T00:00:00Z"), loc: berlin, dur: 30 * time.Minute, rule: day,
			busy:  []Busy{{Start: utc("2026-11-24T08:15:00Z"), End: utc("2026-11-24T09:00:00Z")}},
			count: 18, notIn: []string{"2026-11-24T08:00:00Z", "2026-11-24T08:30:00Z"}},
		{name: "busy touching edges does not block", now: utc("2026-11-24T00:00:00Z"), loc: berlin, dur: 30 * time.Minute, rule: day,
			busy:  []Busy{{Start: utc("2026-11-24T08:00:00Z"), End: utc("2026-11-24T08:30:00Z")}},
			count: 19, notIn: []string{"2026-11-24T08:00:00Z"}},
		{name: "half-hour zone Kolkata", now: utc("2026-11-24T00:00:00Z"), loc: kolkata, dur: 30 * time.Minute, rule: day,
			// now is 05:30 IST; 08:00 IST = 02:30 UTC.
			count: 20, first: "2026-11-24T02:30:00Z", last: "2026-11-24T12:00:00Z"},
		{name: "Berlin spring forward", now: utc("2026-03-28T23:00:00Z"), loc: berlin, dur: 30 * time.Minute, rule: day,
			// 29 March 2026: CET→CEST at 02:00, so 08:00 local is 06:00 UTC.
			count: 20, first: "2026-03-29T06:00:00Z", last: "2026-03-29T15:30:00Z"},
		{name: "Berlin fall back", now: utc("2026-10-24T22:00:00Z"), loc: berlin, dur: 30 * time.Minute, rule: day,
			// 25 October 2026: CEST→CET at 03:00, so 08:00 local is 07:00 UTC.
			count: 20, first: "2026-10-25T07:00:00Z", last: "2026-10-25T16:30:00Z"},
		{name: "Adelaide DST ends", now: utc("2026-04-04T14:00:00Z"), loc: adelaide, dur: 30 * time.Minute, rule: day,
			// 5 April 2026 00:30 ACDT; at 03:00 ACDT clocks go back to 02:00 ACST (+09:30).
			count: 20, first: "2026-04-04T22:30:00Z", last: "2026-04-05T08:00:00Z"},
		{name: "Adelaide DST starts", now: utc("2026-10-03T14:30:00Z"), loc: adelaide, dur: 30 * time.Minute, rule: day,
			// 4 October 2026 00:00 ACST; at 02:00 clocks go to 03:00 ACDT (+10:30).
			count: 20, first: "2026-10-03T21:30:00Z", last: "2026-10-04T07:00:00Z"},
		{name: "two weeks across a DST change", now: utc("2026-10-25T23:00:00Z"), loc: ny, dur: 30 * time.Minute,
			rule: SlotRule{Days: 14, DayStart: 8 * 60, DayEnd: 18 * 60, Step: 30 * time.Minute, MinNotice: 2 * time.Hour},
			// 25 Oct 19:00 EDT, so today has nothing left; New York falls back on 1 November:
			// 08:00 EDT is 12:00 UTC before, 08:00 EST 13:00 UTC after.
			count: 13 * 20, first: "2026-10-26T12:00:00Z", last: "2026-11-07T22:30:00Z",
			notIn: []string{"2026-11-02T12:00:00Z"}},
		{name: "odd start inside a gap zone day", now: utc("2026-03-07T12:00:00Z"), loc: ny,
			dur: 30 * time.Minute, rule: SlotRule{Days: 2, DayStart: 0, DayEnd: 4 * 60, Step: 30 * time.Minute, MinNotice: 0},
			// 7 March is over (07:00 EST); on 8 March 02:00 and 02:30 do not exist in New
			// York: they are skipped, not turned into a second 03:00.
			count: 6, first: "2026-03-08T05:00:00Z", last: "2026-03-08T07:30:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := FreeSlots(tc.now, tc.loc, tc.dur, tc.busy, tc.rule)
			if len(got) != tc.count {
				t.Fatalf("%d slots, want %d: %v", len(got), tc.count, got)
			}
			for i := 1; i < len(got); i++ {
				if !got[i].After(got[i-1]) {
					t.Fatalf("slots not strictly increasing at %d: %v", i, got)
				}
			}
			for _, s := range got {
				l := s.In(tc.loc)
				min := l.Hour()*60 + l.Minute()
				if min < tc.rule.DayStart || s.Add(tc.dur).In(tc.loc).Hour()*60+s.Add(tc.dur).In(tc.loc).Minute() > tc.rule.DayEnd || l.Minute()%30 != 0 {
					t.Errorf("slot %s (%s local) outside office hours", s, l.Format("15:04"))
				}
				if s.Before(tc.now.Add(tc.rule.MinNotice)) {
					t.Errorf("slot %s inside the minimum notice", s)
				}
			}
			if tc.first != "" && !got[0].Equal(utc(tc.first)) {
				t.Errorf("first %s, want %s", got[0], tc.first)
			}
			if tc.last != "" && !got[len(got)-1].Equal(utc(tc.last)) {
				t.Errorf("last %s, want %s", got[len(got)-1], tc.last)
			}
			for _, n := range tc.notIn {
				for _, s := range got {
					if s.Equal(utc(n)) {
						t.Errorf("slot %s offered, but it is taken", n)
					}
				}
			}
		})
	}
}
