package journey

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/availability"
	"rendezvous/store"
)

// SlotRule says which times a customer may move an appointment to on the self-service
// reschedule page when no availability schedule covers the appointment (see
// scheduledSlots): office hours in the customer's own zone, a fixed step, a minimum
// notice.
type SlotRule struct {
	// Days is how many calendar days, today included, in the customer's zone are offered.
	Days int
	// DayStart and DayEnd bound a slot in wall-clock minutes after local midnight: a slot
	// starts at or after DayStart and ends at or before DayEnd.
	DayStart, DayEnd int
	// Step is the distance between candidate starts, counted from DayStart.
	Step time.Duration
	// MinNotice is how far after now the earliest slot may start.
	MinNotice time.Duration
	// Closed are the weekdays nothing is offered on (the organization does not work).
	Closed []time.Weekday
}

// DefaultSlotRule is the rule of the self-service reschedule page: the next 14 days,
// Monday to Friday, 08:00–18:00 in the customer's zone, every 30 minutes, at least 2 hours
// ahead.
var DefaultSlotRule = SlotRule{Days: 14, DayStart: 8 * 60, DayEnd: 18 * 60, Step: 30 * time.Minute, MinNotice: 2 * time.Hour, Closed: []time.Weekday{time.Saturday, time.Sunday}}

// Busy is a span of time the agent is already taken.
type Busy struct {
	Start, End time.Time
}

// FreeSlots returns, in order, the start instants (UTC) of the slots of length dur that
// rule offers at instant now in zone loc and that overlap none of busy. Wall-clock times
// that do not exist on a daylight-saving day are skipped, and a slot's end is measured in
// real time, so a slot that crosses a clock change keeps its true length.
func FreeSlots(now time.Time, loc *time.Location, dur time.Duration, busy []Busy, rule SlotRule) []time.Time {
	if dur <= 0 || rule.Step <= 0 || rule.Days <= 0 {
		return nil
	}
	earliest := now.Add(rule.MinNotice)
	today := now.In(loc)
	var out []time.Time
	for d := 0; d < rule.Days; d++ {
		y, m, day := today.Date()
		date := time.Date(y, m, day+d, 12, 0, 0, 0, loc) // noon: never in a clock change
		y, m, day = date.Date()
		if slices.Contains(rule.Closed, date.Weekday()) {
			continue
		}
		dayEnd := wall(y, m, day, rule.DayEnd, loc)
		for min := rule.DayStart; min < rule.DayEnd; min += int(rule.Step / time.Minute) {
			start := wall(y, m, day, min, loc)
			local := start.In(loc)
			if local.Hour()*60+local.Minute() != min || local.Day() != day {
				continue // this wall-clock time does not exist today (clocks sprang forward)
			}
			end := start.Add(dur)
			if end.After(dayEnd) || start.Before(earliest) {
				continue
			}
			if len(out) > 0 && !start.After(out[len(out)-1]) {
				continue
			}
			if overlapsAny(start, end, busy) {
				continue
			}
			out = append(out, start.UTC())
		}
	}
	return out
}

func wall(y int, m time.Month, d, minutes int, loc *time.Location) time.Time {
	return time.Date(y, m, d, minutes/60, minutes%60, 0, 0, loc)
}

func overlapsAny(start, end time.Time, busy []Busy) bool {
	for _, b := range busy {
		if start.Before(b.End) && b.Start.Before(end) {
			return true
		}
	}
	return false
}

// busyOf turns the agent's other appointments into Busy spans, leaving out a itself and
// appointments that no longer hold time.
func busyOf(a *rendezvous.Appointment, others []*rendezvous.Appointment) []Busy {
	var out []Busy
	for _, o := range others {
		if o.ID == a.ID || o.OrgID != a.OrgID || (o.Status != rendezvous.StatusScheduled && o.Status != rendezvous.StatusInProgress) {
			continue
		}
		out = append(out, Busy{Start: o.Start, End: o.End()})
	}
	return out
}

// scheduledSlots returns the times a's customer may move it to according to the
// availability engine, when a queue schedule covers a: the schedule of the queue it is
// routed to, or else the first schedule (by queue name) that lists its agent. ok is false
// when none does; the fixed grid of FreeSlots then stands in. The slots are the
// schedule's, where a place is left once a itself is set aside and, for an appointment
// with an agent, where that agent is free.
func (s *Service) scheduledSlots(ctx context.Context, a *rendezvous.Appointment, now time.Time) (slots []time.Time, ok bool, err error) {
	recs, err := s.st.Schedules(ctx, a.OrgID)
	if err != nil {
		return nil, false, err
	}
	var rec *store.ScheduleRecord
	for i := range recs {
		r := &recs[i]
		if a.Interaction.Routing.Type == rendezvous.RoutingQueue && r.QueueName == a.Interaction.Routing.QueueName {
			rec = r
			break
		}
		if rec == nil && a.AgentUserID != "" && slices.ContainsFunc(r.Agents, func(ag availability.Agent) bool { return ag.UserID == a.AgentUserID }) {
			rec = r
		}
	}
	if rec == nil {
		return nil, false, nil
	}
	plan, err := availability.Compile(rec.Schedule)
	if err != nil {
		return nil, false, fmt.Errorf("schedule of %q: %w", rec.QueueName, err)
	}
	agents := plan.Agents()
	if a.AgentUserID != "" && !slices.Contains(agents, a.AgentUserID) {
		agents = append(agents, a.AgentUserID) // routed to the queue but assigned elsewhere
	}
	horizon := time.Duration(max(rec.HorizonDays, 1)) * 24 * time.Hour
	if rec.HorizonDays == 0 {
		horizon = availability.DefaultHorizonDay * 24 * time.Hour
	}
	booked, err := s.st.QueueBookings(ctx, a.OrgID, rec.QueueName, agents, now.Add(-24*time.Hour), now.Add(horizon+24*time.Hour))
	if err != nil {
		return nil, false, err
	}
	// Set the appointment itself aside: its own time is free to move within.
	for i, b := range booked {
		if b.Start.Equal(a.Start) && b.End.Equal(a.End()) && b.AgentUserID == a.AgentUserID {
			booked = slices.Delete(booked, i, i+1)
			break
		}
	}
	for _, sl := range plan.Slots(availability.Query{Now: now, From: now, To: now.Add(horizon + time.Minute), Booked: booked}) {
		if sl.Start.Equal(a.Start) {
			continue // moving to the same time is no move
		}
		if a.AgentUserID != "" && !slices.Contains(plan.FreeAgents(sl.Start, booked), a.AgentUserID) && slices.Contains(plan.Agents(), a.AgentUserID) {
			continue
		}
		slots = append(slots, sl.Start)
	}
	return slots, true, nil
}

var bookAgainLabels = map[string]string{
	"en": "Book a new appointment",
	"de": "Neuen Termin buchen",
	"el": "Κλείστε νέο ραντεβού",
}

// bookAgain returns the widget's own page for a's queue, and its label in lang, when a was
// booked through the widget; "" otherwise.
func bookAgain(publicURL string, a *rendezvous.Appointment, lang string) (string, string) {
	f := a.Interaction.CustomFields
	if f[rendezvous.FieldSource] != rendezvous.SourceWidget || f[rendezvous.FieldWidgetQueue] == "" || publicURL == "" {
		return "", ""
	}
	base := strings.TrimRight(publicURL, "/")
	q := url.Values{"org": {a.OrgID}, "queue": {f[rendezvous.FieldWidgetQueue]}, "chatMode": {f[rendezvous.FieldWidgetChatMode]},
		"lang": {lang}, "tz": {a.TimeZone}, "origin": {base}}
	label, ok := bookAgainLabels[lang]
	if !ok {
		label = bookAgainLabels["en"]
	}
	return base + "/widget/frame?" + q.Encode(), label
}
