// Package availability computes the free appointment slots of a queue: pure functions of
// a schedule, the bookings that already hold time, and the current instant.
//
// A Schedule is what an administrator writes (weekly hours in an IANA zone, date
// exceptions, holidays, slot length and step, buffers, minimum notice, horizon, capacity,
// and the queue's agents with their own hours). Compile checks it and turns it into a
// Plan, which answers "which slots are free between these instants, and how many places
// does each have left" (Plan.Slots), "may this slot still be booked" (Plan.Check) and
// "which agents are free then" (Plan.FreeAgents).
//
// Time is the hard part. Hours are wall-clock times in the schedule's zone; slots are
// instants. Candidate starts step along the wall clock from each range's start, and each
// is turned into an instant with these rules, whatever the zone's offsets (whole hours,
// half hours, 45 minutes) and whenever its clocks change (at 02:00, at midnight, by 30
// minutes):
//
//   - a wall time that does not exist (clocks sprang forward over it) offers no slot; a
//     range that starts or ends inside the gap starts or ends at the change;
//   - a wall time that happens twice (clocks fell back) offers one slot, at its first
//     occurrence; a range starting in the fold starts at the first occurrence and one
//     ending in it ends at the second, so nobody loses working time;
//   - a slot lasts its length in real time, so a slot that spans a change keeps it;
//   - a range whose end is not after its start ends on the next day (night shifts).
//
// The package does no I/O and reads no clock: callers pass the instant "now".
package availability

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"rendezvous"
)

// Limits on what a schedule may hold.
const (
	MaxRangesPerDay   = 12
	MaxExceptions     = 400
	MaxHolidays       = 400
	MaxAgents         = 1000
	MaxHorizonDays    = 366
	MaxBufferMinutes  = 240
	MaxNoticeMinutes  = 60 * 24 * 60
	MaxCapacity       = 10000
	DefaultHorizonDay = 30
)

// Range is one span of working hours on a day, as wall-clock times "HH:MM" in the zone.
// End may be "24:00". An End that is not after Start ends on the next day, so a night
// shift is written {"22:00", "06:00"}.
type Range struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Week holds working hours per weekday; a day without ranges is closed.
type Week struct {
	Monday    []Range `json:"monday,omitempty"`
	Tuesday   []Range `json:"tuesday,omitempty"`
	Wednesday []Range `json:"wednesday,omitempty"`
	Thursday  []Range `json:"thursday,omitempty"`
	Friday    []Range `json:"friday,omitempty"`
	Saturday  []Range `json:"saturday,omitempty"`
	Sunday    []Range `json:"sunday,omitempty"`
}

// days returns the week's ranges indexed by time.Weekday, with their JSON names.
func (w *Week) days() [7]struct {
	name   string
	ranges []Range
} {
	var out [7]struct {
		name   string
		ranges []Range
	}
	set := func(d time.Weekday, name string, r []Range) { out[d].name, out[d].ranges = name, r }
	set(time.Sunday, "sunday", w.Sunday)
	set(time.Monday, "monday", w.Monday)
	set(time.Tuesday, "tuesday", w.Tuesday)
	set(time.Wednesday, "wednesday", w.Wednesday)
	set(time.Thursday, "thursday", w.Thursday)
	set(time.Friday, "friday", w.Friday)
	set(time.Saturday, "saturday", w.Saturday)
	return out
}

// Exception replaces the weekly hours of one date (in the zone): other hours, or none
// (closed).
type Exception struct {
	// Date is "YYYY-MM-DD".
	Date string `json:"date"`
	// Hours are the day's hours instead of the weekly ones; empty means closed.
	Hours []Range `json:"hours"`
	// Note says why, for administrators.
	Note string `json:"note,omitempty"`
}

// Holiday closes one date (in the zone).
type Holiday struct {
	// Date is "YYYY-MM-DD".
	Date string `json:"date"`
	// Name is shown to administrators.
	Name string `json:"name,omitempty"`
}

// Agent is one of the queue's agents who take video appointments. Without hours of their
// own they work the queue's; with them, the intersection of both (an agent's hours narrow
// the queue's, they never widen them).
type Agent struct {
	// UserID is the agent's Genesys Cloud user id.
	UserID string `json:"userId"`
	// TimeZone of the agent's own hours; empty means the schedule's.
	TimeZone string `json:"timeZone,omitempty"`
	// WeeklyHours, when set, are the agent's own working hours.
	WeeklyHours *Week `json:"weeklyHours,omitempty"`
	// Exceptions change the agent's own days (leave, other hours).
	Exceptions []Exception `json:"exceptions,omitempty"`
}

// Schedule is the availability of one queue, as an administrator writes it. It is also
// the stored and the API form, so its JSON names are fixed.
type Schedule struct {
	// QueueName is the Genesys Cloud queue the appointments are for.
	QueueName string `json:"queueName"`
	// TimeZone is the IANA zone the hours are in.
	TimeZone    string      `json:"timeZone"`
	WeeklyHours Week        `json:"weeklyHours"`
	Exceptions  []Exception `json:"exceptions,omitempty"`
	Holidays    []Holiday   `json:"holidays,omitempty"`
	// SlotMinutes is the length of an appointment booked from a slot.
	SlotMinutes int `json:"slotMinutes"`
	// StepMinutes is the distance between slot starts, counted along the wall clock from
	// each range's start; 0 means SlotMinutes.
	StepMinutes int `json:"stepMinutes,omitempty"`
	// BufferBeforeMinutes and BufferAfterMinutes hold the agent before and after every
	// appointment (preparation, notes): two appointments' held spans may not overlap.
	BufferBeforeMinutes int `json:"bufferBeforeMinutes,omitempty"`
	BufferAfterMinutes  int `json:"bufferAfterMinutes,omitempty"`
	// MinNoticeMinutes is how long after now the earliest slot may start.
	MinNoticeMinutes int `json:"minNoticeMinutes,omitempty"`
	// HorizonDays is how far ahead slots are offered; 0 means DefaultHorizonDay.
	HorizonDays int `json:"horizonDays,omitempty"`
	// Capacity is how many appointments may run at once; 0 means as many as there are
	// agents free at that time.
	Capacity int `json:"capacity,omitempty"`
	// Agents are the queue's agents who take video appointments.
	Agents []Agent `json:"agents,omitempty"`
}

// span is a range in minutes after the local midnight of its date; end may exceed 1440.
type span struct{ start, end int }

// hours is a compiled week with its exceptions in one zone.
type hours struct {
	loc    *time.Location
	weekly [7][]span
	// byDate overrides the weekly hours of a date ("YYYY-MM-DD" as days since the epoch);
	// an empty slice means closed.
	byDate map[int64][]span
}

// Plan is a compiled, valid schedule. It is immutable and safe for concurrent use.
type Plan struct {
	schedule    Schedule
	queue       hours
	slot, step  time.Duration
	before      time.Duration
	after       time.Duration
	notice      time.Duration
	horizon     time.Duration
	capacity    int
	agents      []string
	agentIndex  map[string]int
	agentHours  []*hours // nil: the queue's hours
	hasOwnHours bool
}

// Schedule returns the schedule the plan was compiled from.
func (p *Plan) Schedule() Schedule { return p.schedule }

// Location returns the schedule's zone.
func (p *Plan) Location() *time.Location { return p.queue.loc }

// SlotLength is the length of an appointment booked from a slot.
func (p *Plan) SlotLength() time.Duration { return p.slot }

// Agents returns the queue's agents' user ids, in the schedule's order.
func (p *Plan) Agents() []string { return slices.Clone(p.agents) }

// Buffers returns the time held before and after each appointment.
func (p *Plan) Buffers() (before, after time.Duration) { return p.before, p.after }

// Compile validates s and returns its plan; all problems are reported together in a
// *rendezvous.ValidationError.
func Compile(s Schedule) (*Plan, error) {
	var pr rendezvous.Problems
	p := &Plan{schedule: s, agentIndex: map[string]int{}}
	if strings.TrimSpace(s.QueueName) == "" {
		pr.Add("queueName", "is required: the name of the Genesys Cloud queue the appointments are for")
	} else if len(s.QueueName) > 200 || !printable(s.QueueName) {
		pr.Add("queueName", "must be at most 200 printable characters")
	}
	loc, err := rendezvous.LoadZone(s.TimeZone)
	if err != nil {
		pr.Add("timeZone", "%s", err)
		loc = time.UTC
	}
	p.queue = compileHours(&pr, "", loc, &s.WeeklyHours, s.Exceptions)
	if len(s.Holidays) > MaxHolidays {
		pr.Add("holidays", "has %d dates; the limit is %d", len(s.Holidays), MaxHolidays)
	}
	for i, h := range s.Holidays {
		f := fmt.Sprintf("holidays[%d]", i)
		d, ok := parseDate(h.Date)
		if !ok {
			pr.Add(f+".date", "must be a date such as 2026-12-25")
			continue
		}
		if len(h.Name) > 200 || !printable(h.Name) {
			pr.Add(f+".name", "must be at most 200 printable characters")
		}
		p.queue.byDate[d] = []span{}
	}
	switch {
	case s.SlotMinutes < rendezvous.MinDurationMinutes || s.SlotMinutes > rendezvous.MaxDurationMinutes:
		pr.Add("slotMinutes", "must be between %d and %d minutes", rendezvous.MinDurationMinutes, rendezvous.MaxDurationMinutes)
	}
	step := s.StepMinutes
	if step == 0 {
		step = s.SlotMinutes
	}
	if step < 5 || step > 24*60 {
		pr.Add("stepMinutes", "must be between 5 and 1440 minutes (0 means the slot length)")
		step = 60
	}
	checkRange(&pr, "bufferBeforeMinutes", s.BufferBeforeMinutes, 0, MaxBufferMinutes)
	checkRange(&pr, "bufferAfterMinutes", s.BufferAfterMinutes, 0, MaxBufferMinutes)
	checkRange(&pr, "minNoticeMinutes", s.MinNoticeMinutes, 0, MaxNoticeMinutes)
	horizon := s.HorizonDays
	if horizon == 0 {
		horizon = DefaultHorizonDay
	}
	checkRange(&pr, "horizonDays", horizon, 1, MaxHorizonDays)
	checkRange(&pr, "capacity", s.Capacity, 0, MaxCapacity)
	if len(s.Agents) > MaxAgents {
		pr.Add("agents", "has %d agents; the limit is %d", len(s.Agents), MaxAgents)
	}
	for i, a := range s.Agents {
		f := fmt.Sprintf("agents[%d]", i)
		id := strings.TrimSpace(a.UserID)
		switch {
		case id == "" || len(id) > 100 || !printable(id):
			pr.Add(f+".userId", "is required: the agent's Genesys Cloud user id (at most 100 characters)")
			continue
		case p.hasAgent(id):
			pr.Add(f+".userId", "lists agent %s a second time", id)
			continue
		}
		p.agentIndex[id] = len(p.agents)
		p.agents = append(p.agents, id)
		if a.WeeklyHours == nil && len(a.Exceptions) == 0 && a.TimeZone == "" {
			p.agentHours = append(p.agentHours, nil)
			continue
		}
		aloc := loc
		if a.TimeZone != "" {
			if aloc, err = rendezvous.LoadZone(a.TimeZone); err != nil {
				pr.Add(f+".timeZone", "%s", err)
				aloc = loc
			}
		}
		week := a.WeeklyHours
		if week == nil {
			week = &s.WeeklyHours // exceptions alone narrow the queue's week
		}
		h := compileHours(&pr, f+".", aloc, week, a.Exceptions)
		p.agentHours = append(p.agentHours, &h)
		p.hasOwnHours = true
	}
	if len(p.agents) == 0 && s.Capacity == 0 {
		pr.Add("capacity", "must be set when the schedule lists no agents (otherwise it is the number of agents free)")
	}
	if err := pr.Err(); err != nil {
		return nil, err
	}
	p.slot = time.Duration(s.SlotMinutes) * time.Minute
	p.step = time.Duration(step) * time.Minute
	p.before = time.Duration(s.BufferBeforeMinutes) * time.Minute
	p.after = time.Duration(s.BufferAfterMinutes) * time.Minute
	p.notice = time.Duration(s.MinNoticeMinutes) * time.Minute
	p.horizon = time.Duration(horizon) * 24 * time.Hour
	p.capacity = s.Capacity
	return p, nil
}

func (p *Plan) hasAgent(id string) bool {
	_, ok := p.agentIndex[id]
	return ok
}

func checkRange(pr *rendezvous.Problems, field string, v, lo, hi int) {
	if v < lo || v > hi {
		pr.Add(field, "must be between %d and %d", lo, hi)
	}
}

// printable reports whether s holds no control characters and is valid UTF-8 (what
// PostgreSQL and every page can store and show).
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func compileHours(pr *rendezvous.Problems, prefix string, loc *time.Location, w *Week, exceptions []Exception) hours {
	h := hours{loc: loc, byDate: map[int64][]span{}}
	for d, day := range w.days() {
		h.weekly[d] = compileRanges(pr, prefix+"weeklyHours."+day.name, day.ranges)
	}
	if len(exceptions) > MaxExceptions {
		pr.Add(prefix+"exceptions", "has %d dates; the limit is %d", len(exceptions), MaxExceptions)
		return h
	}
	for i, e := range exceptions {
		f := fmt.Sprintf("%sexceptions[%d]", prefix, i)
		d, ok := parseDate(e.Date)
		if !ok {
			pr.Add(f+".date", "must be a date such as 2026-12-24")
			continue
		}
		if _, dup := h.byDate[d]; dup {
			pr.Add(f+".date", "%s has an exception already", e.Date)
		}
		if len(e.Note) > 500 || !printable(e.Note) {
			pr.Add(f+".note", "must be at most 500 printable characters")
		}
		h.byDate[d] = compileRanges(pr, f+".hours", e.Hours)
	}
	return h
}

func compileRanges(pr *rendezvous.Problems, field string, rs []Range) []span {
	if len(rs) > MaxRangesPerDay {
		pr.Add(field, "has %d ranges; the limit is %d", len(rs), MaxRangesPerDay)
		return nil
	}
	out := make([]span, 0, len(rs))
	for i, r := range rs {
		f := fmt.Sprintf("%s[%d]", field, i)
		start, ok1 := parseClock(r.Start, false)
		end, ok2 := parseClock(r.End, true)
		if !ok1 {
			pr.Add(f+".start", "must be a time of day such as 09:00")
		}
		if !ok2 {
			pr.Add(f+".end", "must be a time of day such as 17:30 (24:00 for midnight)")
		}
		if !ok1 || !ok2 {
			continue
		}
		if end <= start {
			end += 24 * 60 // ends the next day
		}
		out = append(out, span{start, end})
	}
	slices.SortFunc(out, func(a, b span) int { return a.start - b.start })
	return out
}

// parseClock reads "HH:MM" as minutes after midnight; "24:00" only when allowed.
func parseClock(s string, allow24 bool) (int, bool) {
	hh, mm, ok := strings.Cut(s, ":")
	if !ok || len(hh) != 2 || len(mm) != 2 {
		return 0, false
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 {
		return 0, false
	}
	if h == 24 && m == 0 && allow24 {
		return 24 * 60, true
	}
	if h > 23 {
		return 0, false
	}
	return h*60 + m, true
}

// parseDate reads "YYYY-MM-DD" as days since 1970-01-01.
func parseDate(s string) (int64, bool) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, false
	}
	return dayNumber(t), true
}

func dayNumber(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}
