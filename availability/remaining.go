package availability

import "time"

// Remaining returns how many more appointments may hold time in the queue over
// [start, end), given booked, by the same count a slot's Remaining is (placesLeft: the
// schedule's agents working then and not held, bookings routed to the queue without one
// of them, and the capacity), but for any span: the schedule's hours, step, notice and
// horizon are not asked. It is the rule an integrator's booking for the queue through the
// API is held to inside its writing transaction; 0 or less means full.
func (p *Plan) Remaining(start, end time.Time, booked []Booking) int {
	b := sortedBookings(booked)
	var own [][]interval
	if p.hasOwnHours {
		own = p.agentOpen(start.Add(-p.slot), end.Add(p.slot))
	}
	return p.placesLeft(b, maxLen(b), start, end, own, make([]int, len(p.agents)), 1)
}
