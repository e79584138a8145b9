package availability

import (
	"errors"
	"strings"
	"testing"
	"time"

	"rendezvous"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func weekdays(r ...Range) Week {
	return Week{Monday: r, Tuesday: r, Wednesday: r, Thursday: r, Friday: r}
}

func TestCompileRefusesBadSchedules(t *testing.T) {
	cases := []struct {
		name   string
		s      Schedule
		fields []string
	}{
		{"empty", Schedule{}, []string{"queueName", "timeZone", "slotMinutes", "capacity"}},
		{"bad clock times", Schedule{QueueName: "Q", TimeZone: "UTC", SlotMinutes: 30, Capacity: 1,
			WeeklyHours: Week{Monday: []Range{{"9:00", "17:00"}, {"10:00", "24:30"}}}},
			[]string{"weeklyHours.monday[0].start", "weeklyHours.monday[1].end"}},
		{"bad dates and zone", Schedule{QueueName: "Q", TimeZone: "Mars/Olympus", SlotMinutes: 30, Capacity: 1,
			Exceptions: []Exception{{Date: "2026-02-30"}}, Holidays: []Holiday{{Date: "tomorrow"}}},
			[]string{"timeZone", "exceptions[0].date", "holidays[0].date"}},
		{"agents", Schedule{QueueName: "Q", TimeZone: "UTC", SlotMinutes: 30,
			Agents: []Agent{{UserID: "a"}, {UserID: "a"}, {UserID: ""}, {UserID: "b", TimeZone: "Nowhere"}}},
			[]string{"agents[1].userId", "agents[2].userId", "agents[3].timeZone"}},
		{"limits", Schedule{QueueName: "Q\x00", TimeZone: "UTC", SlotMinutes: 3, StepMinutes: 2, Capacity: -1,
			BufferAfterMinutes: 999, HorizonDays: 400},
			[]string{"queueName", "slotMinutes", "stepMinutes", "bufferAfterMinutes", "horizonDays", "capacity"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(c.s)
			var ve *rendezvous.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a validation error", err)
			}
			got := map[string]bool{}
			for _, p := range ve.Problems {
				got[p.Field] = true
			}
			for _, f := range c.fields {
				if !got[f] {
					t.Errorf("no problem reported for %s; got %v", f, ve.Problems)
				}
			}
		})
	}
}

// TestSlotsCapacity covers the rules that decide a slot's remaining places: agents free
// by their own hours and bookings (from any channel), queue bookings without an agent of
// the schedule, an explicit capacity, buffers, notice, horizon, exceptions and holidays.
func TestSlotsCapacity(t *testing.T) {
	now := mustTime(t, "2026-06-01T06:00:00Z") // Monday
	base := Schedule{QueueName: "Q", TimeZone: "UTC", WeeklyHours: weekdays(Range{"09:00", "11:00"}),
		SlotMinutes: 30, Agents: []Agent{{UserID: "a"}, {UserID: "b"}, {UserID: "c"}}}
	day := func(s string) (time.Time, time.Time) {
		return mustTime(t, s+"T00:00:00Z"), mustTime(t, s+"T23:59:00Z")
	}
	type want map[string]int // "15:04" → remaining; missing means not offered
	cases := []struct {
		name   string
		edit   func(s *Schedule)
		booked []Booking
		date   string
		want   want
	}{
		{"three agents free", nil, nil, "2026-06-02",
			want{"09:00": 3, "09:30": 3, "10:00": 3, "10:30": 3}},
		{"an agent's booking from another channel takes one place", nil,
			[]Booking{{mustTime(t, "2026-06-02T09:15:00Z"), mustTime(t, "2026-06-02T09:45:00Z"), "b"}}, "2026-06-02",
			want{"09:00": 2, "09:30": 2, "10:00": 3, "10:30": 3}},
		{"a queue booking without agent takes one place", nil,
			[]Booking{{mustTime(t, "2026-06-02T10:00:00Z"), mustTime(t, "2026-06-02T10:30:00Z"), ""}}, "2026-06-02",
			want{"09:00": 3, "09:30": 3, "10:00": 2, "10:30": 3}},
		{"full slot is not offered", nil,
			[]Booking{
				{mustTime(t, "2026-06-02T09:00:00Z"), mustTime(t, "2026-06-02T09:30:00Z"), "a"},
				{mustTime(t, "2026-06-02T09:00:00Z"), mustTime(t, "2026-06-02T09:30:00Z"), "b"},
				{mustTime(t, "2026-06-02T09:00:00Z"), mustTime(t, "2026-06-02T09:30:00Z"), ""},
			}, "2026-06-02",
			want{"09:30": 3, "10:00": 3, "10:30": 3}},
		{"explicit capacity below the agents", func(s *Schedule) { s.Capacity = 2 },
			[]Booking{{mustTime(t, "2026-06-02T09:00:00Z"), mustTime(t, "2026-06-02T09:30:00Z"), "a"}}, "2026-06-02",
			want{"09:00": 1, "09:30": 2, "10:00": 2, "10:30": 2}},
		{"a capacity above the agents never frees a place the agents lack", func(s *Schedule) { s.Capacity = 5 },
			// All three agents held and a queue booking waiting for one of them: over-full,
			// however much capacity is left.
			[]Booking{
				{mustTime(t, "2026-06-02T09:00:00Z"), mustTime(t, "2026-06-02T09:30:00Z"), "a"},
				{mustTime(t, "2026-06-02T09:00:00Z"), mustTime(t, "2026-06-02T09:30:00Z"), "b"},
				{mustTime(t, "2026-06-02T09:00:00Z"), mustTime(t, "2026-06-02T09:30:00Z"), "c"},
				{mustTime(t, "2026-06-02T09:00:00Z"), mustTime(t, "2026-06-02T09:30:00Z"), ""},
			}, "2026-06-02",
			want{"09:30": 3, "10:00": 3, "10:30": 3}},
		{"capacity without agents", func(s *Schedule) { s.Agents = nil; s.Capacity = 2 },
			[]Booking{{mustTime(t, "2026-06-02T09:00:00Z"), mustTime(t, "2026-06-02T10:00:00Z"), ""}}, "2026-06-02",
			want{"09:00": 1, "09:30": 1, "10:00": 2, "10:30": 2}},
		{"buffers hold the agent around a booking", func(s *Schedule) { s.BufferAfterMinutes = 10; s.BufferBeforeMinutes = 5 },
			[]Booking{{mustTime(t, "2026-06-02T09:30:00Z"), mustTime(t, "2026-06-02T10:00:00Z"), "a"}}, "2026-06-02",
			// held 09:25–10:10; the 09:00 slot is held 08:55–09:40, the 10:00 one 09:55–10:40.
			want{"09:00": 2, "09:30": 2, "10:00": 2, "10:30": 3}},
		{"agent's own hours narrow the queue's", func(s *Schedule) {
			s.Agents[2].WeeklyHours = &Week{Tuesday: []Range{{"10:00", "18:00"}}}
		}, nil, "2026-06-02",
			want{"09:00": 2, "09:30": 2, "10:00": 3, "10:30": 3}},
		{"agent's exception (leave)", func(s *Schedule) {
			s.Agents[0].Exceptions = []Exception{{Date: "2026-06-02"}}
		}, nil, "2026-06-02",
			want{"09:00": 2, "09:30": 2, "10:00": 2, "10:30": 2}},
		{"changed hours", func(s *Schedule) {
			s.Exceptions = []Exception{{Date: "2026-06-02", Hours: []Range{{"13:00", "14:00"}}}}
		}, nil, "2026-06-02",
			want{"13:00": 3, "13:30": 3}},
		{"holiday", func(s *Schedule) { s.Holidays = []Holiday{{Date: "2026-06-02", Name: "Whit Tuesday"}} }, nil, "2026-06-02",
			want{}},
		{"weekend closed", nil, nil, "2026-06-06", want{}},
		{"minimum notice", func(s *Schedule) { s.MinNoticeMinutes = 4 * 60 }, nil, "2026-06-01",
			want{"10:00": 3, "10:30": 3}},
		{"horizon", func(s *Schedule) { s.HorizonDays = 3 }, nil, "2026-06-03",
			want{"09:00": 3, "09:30": 3, "10:00": 3, "10:30": 3}},
		{"beyond horizon", func(s *Schedule) { s.HorizonDays = 3 }, nil, "2026-06-04", want{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := base
			s.Agents = append([]Agent(nil), base.Agents...)
			if c.edit != nil {
				c.edit(&s)
			}
			p, err := Compile(s)
			if err != nil {
				t.Fatal(err)
			}
			from, to := day(c.date)
			got := map[string]int{}
			for _, sl := range p.Slots(Query{Now: now, From: from, To: to, Booked: c.booked}) {
				got[sl.Start.Format("15:04")] = sl.Remaining
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s: %d places, want %d (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}

// TestRemainingNeverAboveTheAgents: the rule API bookings are held to counts as the
// slots do. With every agent held and a queue booking waiting for one of them, the queue
// is over-full whatever capacity is left; freeing an agent frees one place.
func TestRemainingNeverAboveTheAgents(t *testing.T) {
	p, err := Compile(Schedule{QueueName: "Q", TimeZone: "UTC", WeeklyHours: weekdays(Range{"09:00", "11:00"}),
		SlotMinutes: 30, Capacity: 5, Agents: []Agent{{UserID: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	at := mustTime(t, "2026-06-02T09:00:00Z")
	held := Booking{at, at.Add(30 * time.Minute), "a"}
	waiting := Booking{at, at.Add(30 * time.Minute), ""}
	for _, c := range []struct {
		booked []Booking
		want   int
	}{
		{nil, 1},
		{[]Booking{held}, 0},
		{[]Booking{waiting}, 0},
		{[]Booking{held, waiting}, -1},
	} {
		if got := p.Remaining(at, at.Add(30*time.Minute), c.booked); got != c.want {
			t.Errorf("booked %v: %d places, want %d", c.booked, got, c.want)
		}
	}
}

func TestCheck(t *testing.T) {
	now := mustTime(t, "2026-06-01T06:00:00Z")
	p, err := Compile(Schedule{QueueName: "Q", TimeZone: "Europe/Athens", WeeklyHours: weekdays(Range{"09:00", "12:00"}),
		SlotMinutes: 30, MinNoticeMinutes: 120, HorizonDays: 10, Capacity: 1})
	if err != nil {
		t.Fatal(err)
	}
	full := []Booking{{mustTime(t, "2026-06-02T07:00:00Z"), mustTime(t, "2026-06-02T07:30:00Z"), ""}}
	cases := []struct {
		start string
		want  error
	}{
		{"2026-06-02T06:00:00Z", nil}, // Tuesday 09:00 in Athens
		{"2026-06-02T06:10:00Z", ErrNotOffered},
		{"2026-06-02T05:30:00Z", ErrNotOffered}, // 08:30, before the hours
		{"2026-06-02T07:00:00Z", ErrFull},
		{"2026-06-01T07:00:00Z", ErrTooSoon}, // 10:00 today, inside two hours' notice
		{"2026-05-30T07:00:00Z", ErrTooSoon},
		{"2026-06-12T06:00:00Z", ErrTooFar},
	}
	for _, c := range cases {
		_, err := p.Check(now, mustTime(t, c.start), full)
		if !errors.Is(err, c.want) && !(err == nil && c.want == nil) {
			t.Errorf("Check(%s) = %v, want %v", c.start, err, c.want)
		}
	}
	near := p.Nearest(now, mustTime(t, "2026-06-02T07:00:00Z"), full, 3)
	var got []string
	for _, s := range near {
		got = append(got, s.Start.Format("01-02T15:04"))
	}
	if strings.Join(got, " ") != "06-02T06:30 06-02T07:30 06-02T08:00" && strings.Join(got, " ") != "06-02T06:00 06-02T06:30 06-02T07:30" {
		t.Errorf("nearest free slots = %v", got)
	}
}

func TestChooseAgent(t *testing.T) {
	p, err := Compile(Schedule{QueueName: "Q", TimeZone: "America/New_York", WeeklyHours: weekdays(Range{"09:00", "17:00"}),
		SlotMinutes: 30, Agents: []Agent{{UserID: "a"}, {UserID: "b"}, {UserID: "c"}, {UserID: "d"}}})
	if err != nil {
		t.Fatal(err)
	}
	start := mustTime(t, "2026-06-02T18:00:00Z") // Tuesday 14:00 in New York
	booked := []Booking{
		{mustTime(t, "2026-06-02T13:00:00Z"), mustTime(t, "2026-06-02T13:30:00Z"), "a"},
		{mustTime(t, "2026-06-02T14:00:00Z"), mustTime(t, "2026-06-02T14:30:00Z"), "a"},
		{mustTime(t, "2026-06-02T14:00:00Z"), mustTime(t, "2026-06-02T14:30:00Z"), "c"},
		// The evening before in New York: another local day, not counted.
		{mustTime(t, "2026-06-02T01:00:00Z"), mustTime(t, "2026-06-02T01:30:00Z"), "b"},
		{mustTime(t, "2026-06-02T18:00:00Z"), mustTime(t, "2026-06-02T18:30:00Z"), "d"},
	}
	free := p.FreeAgents(start, booked)
	if strings.Join(free, ",") != "a,b,c" {
		t.Fatalf("free agents = %v, want a,b,c (d is booked then)", free)
	}
	cases := []struct {
		free []string
		last string
		want string
	}{
		{free, "", "b"},                    // b has none that day
		{[]string{"a", "c"}, "", "c"},      // c has one, a two
		{[]string{"a", "c", "d"}, "", "d"}, // d has one, as c; round robin from the start: c
		{[]string{"c", "d"}, "c", "d"},     // tie: the one after the last chosen
		{[]string{"c", "d"}, "d", "c"},     // wraps around
		{nil, "a", ""},
	}
	cases[2].want = "c"
	for _, c := range cases {
		if got := p.ChooseAgent(c.free, start, booked, c.last); got != c.want {
			t.Errorf("ChooseAgent(%v, last %q) = %q, want %q", c.free, c.last, got, c.want)
		}
	}
}
