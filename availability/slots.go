package availability

import (
	"errors"
	"math"
	"slices"
	"sort"
	"time"
)

// Booking is an appointment that already holds time in the queue: one of its agents'
// (from any channel or queue), or one routed to the queue with no agent of the schedule
// (AgentUserID empty or not one of the schedule's agents).
type Booking struct {
	Start, End  time.Time
	AgentUserID string
}

// Slot is a bookable start with its places left.
type Slot struct {
	Start, End time.Time
	// Remaining is how many more appointments may still be booked at this time.
	Remaining int
}

// Query asks for the slots starting in [From, To) at instant Now.
type Query struct {
	Now      time.Time
	From, To time.Time
	// Booked are the bookings that hold time in the queue around [From, To); any order.
	Booked []Booking
}

// Why a slot cannot be booked (Plan.Check).
var (
	// ErrNotOffered means the schedule offers no slot starting then: outside the hours,
	// off the step, in a clock change, on a closed day.
	ErrNotOffered = errors.New("the schedule offers no appointment starting at that time")
	// ErrTooSoon means the start is inside the minimum notice (or past).
	ErrTooSoon = errors.New("that time is too soon to book")
	// ErrTooFar means the start is beyond the booking horizon.
	ErrTooFar = errors.New("that time is too far ahead to book")
	// ErrFull means every place at that time is taken.
	ErrFull = errors.New("that time is fully booked")
)

// Slots returns the free slots (Remaining > 0) starting in [q.From, q.To), in order,
// within the minimum notice and the horizon as seen at q.Now.
func (p *Plan) Slots(q Query) []Slot {
	all := p.slots(q)
	out := all[:0]
	for _, s := range all {
		if s.Remaining > 0 {
			out = append(out, s)
		}
	}
	return out
}

// Check reports whether one more appointment may start at start, at instant now, given
// booked: nil with the slot, or ErrTooSoon, ErrTooFar, ErrNotOffered or ErrFull. It is
// the rule a booking is held to inside its writing transaction.
func (p *Plan) Check(now, start time.Time, booked []Booking) (Slot, error) {
	switch {
	case start.Before(now.Add(p.notice)) || !start.After(now):
		return Slot{}, ErrTooSoon
	case start.After(now.Add(p.horizon)):
		return Slot{}, ErrTooFar
	}
	for _, s := range p.slots(Query{Now: now, From: start, To: start.Add(time.Microsecond), Booked: booked}) {
		if s.Start.Equal(start) {
			if s.Remaining <= 0 {
				return s, ErrFull
			}
			return s, nil
		}
	}
	return Slot{}, ErrNotOffered
}

// Nearest returns up to n free slots closest in time to start (either side), in order of
// start: what to offer someone whose choice was just taken.
func (p *Plan) Nearest(now, start time.Time, booked []Booking, n int) []Slot {
	free := p.Slots(Query{Now: now, From: now, To: now.Add(p.horizon + time.Minute), Booked: booked})
	slices.SortStableFunc(free, func(a, b Slot) int {
		da, db := absDur(a.Start.Sub(start)), absDur(b.Start.Sub(start))
		return compareDur(da, db)
	})
	if len(free) > n {
		free = free[:n]
	}
	slices.SortFunc(free, func(a, b Slot) int { return a.Start.Compare(b.Start) })
	return free
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func compareDur(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// FreeAgents returns the schedule's agents who may take an appointment starting at start:
// working then by their own hours and not held by another booking. Schedule order.
func (p *Plan) FreeAgents(start time.Time, booked []Booking) []string {
	end := start.Add(p.slot)
	b := sortedBookings(booked)
	busy := make([]bool, len(p.agents))
	p.conflicts(b, maxLen(b), start, end, func(k Booking) {
		if i, ok := p.agentIndex[k.AgentUserID]; ok {
			busy[i] = true
		}
	})
	var own [][]interval
	if p.hasOwnHours {
		own = p.agentOpen(start.Add(-p.slot), end.Add(p.slot))
	}
	var out []string
	for i, id := range p.agents {
		if busy[i] || (own != nil && p.agentHours[i] != nil && !covers(own[i], start, end)) {
			continue
		}
		out = append(out, id)
	}
	return out
}

// ChooseAgent picks fairly among free (user ids of the schedule's agents): the one with
// the fewest bookings starting on the same local day as start (in the schedule's zone),
// ties going round robin: to the first after last in the schedule's order. "" if free is
// empty.
func (p *Plan) ChooseAgent(free []string, start time.Time, booked []Booking, last string) string {
	if len(free) == 0 {
		return ""
	}
	y, m, d := start.In(p.queue.loc).Date()
	dayStart := p.queue.startOf(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
	dayEnd := p.queue.startOf(time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC))
	count := map[string]int{}
	for _, b := range booked {
		if !b.Start.Before(dayStart) && b.Start.Before(dayEnd) {
			count[b.AgentUserID]++
		}
	}
	lastIdx := -1
	if i, ok := p.agentIndex[last]; ok {
		lastIdx = i
	}
	n := len(p.agents)
	best, bestCount, bestDist := "", 0, 0
	for _, id := range free {
		i, ok := p.agentIndex[id]
		if !ok {
			continue
		}
		dist := ((i-lastIdx-1)%n + n) % n
		c := count[id]
		if best == "" || c < bestCount || (c == bestCount && dist < bestDist) {
			best, bestCount, bestDist = id, c, dist
		}
	}
	return best
}

// interval is a span of instants [start, end).
type interval struct{ start, end time.Time }

// slots returns every candidate slot starting in [q.From, q.To) inside notice and
// horizon, with its remaining places (possibly 0 or less, reported as 0).
func (p *Plan) slots(q Query) []Slot {
	from, to := q.From, q.To
	if earliest := q.Now.Add(p.notice); from.Before(earliest) {
		from = earliest
	}
	if !from.After(q.Now) {
		from = q.Now.Add(time.Microsecond)
	}
	if latest := q.Now.Add(p.horizon).Add(time.Microsecond); to.After(latest) {
		to = latest
	}
	if !from.Before(to) {
		return nil
	}
	open := p.queue.open(from.Add(-p.slot), to.Add(p.slot))
	starts := p.queue.candidates(from, to, p.step, p.slot, open)
	if len(starts) == 0 {
		return nil
	}
	var own [][]interval
	if p.hasOwnHours {
		own = p.agentOpen(starts[0].Add(-p.slot), starts[len(starts)-1].Add(2*p.slot))
	}
	b := sortedBookings(q.Booked)
	ml := maxLen(b)
	stamp := make([]int, len(p.agents))
	out := make([]Slot, 0, len(starts))
	for gen, s := range starts {
		gen++ // stamps start at zero: generation 0 would mark everyone busy
		e := s.Add(p.slot)
		remaining := p.placesLeft(b, ml, s, e, own, stamp, gen)
		out = append(out, Slot{Start: s, End: e, Remaining: max(remaining, 0)})
	}
	return out
}

// placesLeft counts how many more appointments the queue takes over [s, e), given b
// (sorted by start; ml the longest): the schedule's agents working then and not held by a
// booking, less the bookings routed to the queue without one of them, and at most what
// the capacity leaves. Either bound alone holds when the schedule has only that one;
// math.MaxInt when it has neither (which Compile refuses). Zero or less means full.
// stamp marks the agents already counted busy with gen, which must differ between calls
// sharing stamp.
func (p *Plan) placesLeft(b []Booking, ml time.Duration, s, e time.Time, own [][]interval, stamp []int, gen int) int {
	busyWorking, unassigned, total := 0, 0, 0
	p.conflicts(b, ml, s, e, func(k Booking) {
		total++
		i, ok := p.agentIndex[k.AgentUserID]
		if !ok {
			unassigned++
			return
		}
		if stamp[i] == gen {
			return
		}
		stamp[i] = gen
		if own == nil || p.agentHours[i] == nil || covers(own[i], s, e) {
			busyWorking++
		}
	})
	left := math.MaxInt
	if len(p.agents) > 0 {
		working := len(p.agents)
		if own != nil {
			working = 0
			for i := range p.agents {
				if p.agentHours[i] == nil || covers(own[i], s, e) {
					working++
				}
			}
		}
		left = working - busyWorking - unassigned
	}
	if p.capacity > 0 {
		left = min(left, p.capacity-total)
	}
	return left
}

// conflicts calls f for every booking in b (sorted by start; ml the longest) whose held
// span (with the buffers) overlaps the held span of [s, e).
func (p *Plan) conflicts(b []Booking, ml time.Duration, s, e time.Time, f func(Booking)) {
	hs, he := s.Add(-p.before), e.Add(p.after)
	lo := hs.Add(-p.before - ml) // a booking starting earlier has ended before hs
	i := sort.Search(len(b), func(i int) bool { return b[i].Start.After(lo) })
	for ; i < len(b); i++ {
		k := b[i]
		if !k.Start.Add(-p.before).Before(he) {
			break
		}
		if hs.Before(k.End.Add(p.after)) {
			f(k)
		}
	}
}

func sortedBookings(in []Booking) []Booking {
	if slices.IsSortedFunc(in, cmpBooking) {
		return in
	}
	b := slices.Clone(in)
	slices.SortFunc(b, cmpBooking)
	return b
}

func cmpBooking(a, b Booking) int { return a.Start.Compare(b.Start) }

func maxLen(b []Booking) time.Duration {
	var m time.Duration
	for _, k := range b {
		m = max(m, k.End.Sub(k.Start))
	}
	return m
}

// agentOpen returns each agent's own open intervals over [from, to), nil for agents who
// work the queue's hours.
func (p *Plan) agentOpen(from, to time.Time) [][]interval {
	out := make([][]interval, len(p.agents))
	for i, h := range p.agentHours {
		if h != nil {
			out[i] = h.open(from, to)
		}
	}
	return out
}

// covers reports whether one of the sorted, merged intervals contains [s, e).
func covers(iv []interval, s, e time.Time) bool {
	i := sort.Search(len(iv), func(i int) bool { return iv[i].end.After(s) })
	return i < len(iv) && !iv[i].start.After(s) && !iv[i].end.Before(e)
}

// rangesOn returns the hours of the local date whose midnight wall reading is day.
func (h *hours) rangesOn(day time.Time) []span {
	if r, ok := h.byDate[day.Unix()/86400]; ok {
		return r
	}
	return h.weekly[day.Weekday()]
}

// forDays calls f for each local date whose hours may reach into [from, to): a range
// starts on its date and ends less than two days after that date's midnight.
func (h *hours) forDays(from, to time.Time, f func(day time.Time)) {
	y, m, d := from.In(h.loc).Date()
	first := time.Date(y, m, d-2, 0, 0, 0, 0, time.UTC)
	y, m, d = to.In(h.loc).Date()
	last := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		f(day)
	}
}

// open returns the merged open intervals of h that overlap [from, to).
func (h *hours) open(from, to time.Time) []interval {
	var out []interval
	h.forDays(from, to, func(day time.Time) {
		for _, r := range h.rangesOn(day) {
			s := h.startOf(day.Add(time.Duration(r.start) * time.Minute))
			e := h.endOf(day.Add(time.Duration(r.end) * time.Minute))
			if e.After(s) && e.After(from) && s.Before(to) {
				out = append(out, interval{s, e})
			}
		}
	})
	slices.SortFunc(out, func(a, b interval) int { return a.start.Compare(b.start) })
	merged := out[:0]
	for _, iv := range out {
		if n := len(merged); n > 0 && !iv.start.After(merged[n-1].end) {
			if iv.end.After(merged[n-1].end) {
				merged[n-1].end = iv.end
			}
			continue
		}
		merged = append(merged, iv)
	}
	return merged
}

// candidates returns, in order and without repeats, the slot starts in [from, to): the
// wall-clock grid of each range (its start, then every step), each at its first
// occurrence, skipping wall times that do not exist, and keeping only slots of length
// slot that fit inside the open intervals.
func (h *hours) candidates(from, to time.Time, step, slot time.Duration, open []interval) []time.Time {
	var out []time.Time
	stepMin := int(step / time.Minute)
	h.forDays(from, to, func(day time.Time) {
		for _, r := range h.rangesOn(day) {
			for m := r.start; m < r.end; m += stepMin {
				first, _, n := instants(day.Add(time.Duration(m)*time.Minute), h.loc)
				if n == 0 || first.Before(from) || !first.Before(to) {
					continue
				}
				if covers(open, first, first.Add(slot)) {
					out = append(out, first)
				}
			}
		}
	})
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return slices.CompactFunc(out, func(a, b time.Time) bool { return a.Equal(b) })
}

// startOf resolves the wall reading w (fields of a UTC time) as the start of a span: its
// first occurrence, or the clock change when the reading falls in a gap.
func (h *hours) startOf(w time.Time) time.Time {
	first, _, n := instants(w, h.loc)
	if n == 0 {
		return gapEnd(w, h.loc)
	}
	return first
}

// endOf resolves w as the end of a span: its last occurrence, or the clock change when
// the reading falls in a gap.
func (h *hours) endOf(w time.Time) time.Time {
	first, second, n := instants(w, h.loc)
	switch n {
	case 0:
		return gapEnd(w, h.loc)
	case 2:
		return second
	}
	return first
}

// instants returns the instants at which loc's clock reads w (given as a UTC time whose
// fields are the reading), earliest first: none when the reading falls in a gap (clocks
// sprang forward over it), two when it falls in a fold (clocks fell back over it).
// Candidate offsets are those in force a day and a quarter either side and at w itself,
// which covers every zone whose clocks change less often than every two and a half days.
func instants(w time.Time, loc *time.Location) (first, second time.Time, n int) {
	var seen [3]int
	for i, probe := range [3]time.Time{w.Add(-30 * time.Hour), w, w.Add(30 * time.Hour)} {
		_, off := probe.In(loc).Zone()
		seen[i] = off
		if (i > 0 && seen[0] == off) || (i > 1 && seen[1] == off) {
			continue
		}
		t := w.Add(-time.Duration(off) * time.Second)
		if _, o := t.In(loc).Zone(); o != off {
			continue
		}
		switch {
		case n == 0:
			first = t
		case t.Before(first):
			first, second = t, first
		default:
			second = t
		}
		n++
	}
	if n > 2 {
		n = 2
	}
	return first.UTC(), second.UTC(), n
}

// gapEnd returns the instant of the clock change whose gap holds the reading w: the
// first instant after it.
func gapEnd(w time.Time, loc *time.Location) time.Time {
	_, before := w.Add(-30 * time.Hour).In(loc).Zone()
	t := w.Add(-time.Duration(before) * time.Second).In(loc)
	start, _ := t.ZoneBounds()
	if start.IsZero() || start.After(t) {
		return t.UTC()
	}
	return start.UTC()
}
