package availability

import (
	"math"
	"time"
)

// Remaining returns how many more appointments may hold time in the queue over
// [start, end), given booked, by the same count a slot's Remaining is (the schedule's
// agents working then and not held, bookings routed to the queue without one of them,
// and the capacity), but for any span: the schedule's hours, step, notice and horizon
// are not asked. It is the rule an integrator's booking for the queue through the API is
// held to inside its writing transaction; 0 or less means full.
func (p *Plan) Remaining(start, end time.Time, booked []Booking) int {
	b := sortedBookings(booked)
	var own [][]interval
	if p.hasOwnHours {
		own = p.agentOpen(start.Add(-p.slot), end.Add(p.slot))
	}
	busy := make([]bool, len(p.agents))
	busyWorking, unassigned, total := 0, 0, 0
	p.conflicts(b, maxLen(b), start, end, func(k Booking) {
		total++
		i, ok := p.agentIndex[k.AgentUserID]
		if !ok {
			unassigned++
			return
		}
		if busy[i] {
			return
		}
		busy[i] = true
		if own == nil || p.agentHours[i] == nil || covers(own[i], start, end) {
			busyWorking++
		}
	})
	remaining := -1 // no limit from the agents: the schedule lists none
	if len(p.agents) > 0 {
		working := len(p.agents)
		if own != nil {
			working = 0
			for i := range p.agents {
				if p.agentHours[i] == nil || covers(own[i], start, end) {
					working++
				}
			}
		}
		remaining = working - busyWorking - unassigned
	}
	if p.capacity > 0 {
		if c := p.capacity - total; remaining < 0 || c < remaining {
			remaining = c
		}
	}
	if remaining < 0 && len(p.agents) == 0 && p.capacity == 0 {
		return math.MaxInt // neither agents nor a capacity: no limit (Compile refuses it)
	}
	return remaining
}
