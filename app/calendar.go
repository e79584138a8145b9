package app

import (
	"context"
	"html/template"
	"net/http"
	"time"

	"rendezvous"
	"rendezvous/auth"
	"rendezvous/store"
)

// calendarDay is one column of the calendar.
type calendarDay struct {
	Date         time.Time
	Today        bool
	Appointments []store.AppointmentCard
}

// calendarData is the calendar page's own data.
type calendarData struct {
	F          filters
	Days       []calendarDay
	Prev, Next time.Time
	Count      int
	Truncated  bool
	Names      map[string]string
	People     []rendezvous.StaffUser
	Queues     []string
}

// AgentName names an agent, falling back to the start of the id for one who never signed in.
func (d calendarData) AgentName(id string) string { return agentName(d.Names, id) }

// Cards writes a day's cards (as view.Card does) in one call and into one buffer: a
// supervisor's week has thousands, and a template call per card costs more than the card
// itself. An agent's cards are all their own: they name no agent.
func (v *view) Cards(d calendarData, day calendarDay) template.HTML {
	b := v.cards[:0]
	supervises := v.Session != nil && v.Session.User.Supervises()
	for i := range day.Appointments {
		c := &day.Appointments[i]
		agent := ""
		if supervises {
			agent = d.AgentName(c.AgentUserID)
		}
		b = v.appendCard(b, c, agent)
	}
	v.cards = b
	return template.HTML(b)
}

func agentName(names map[string]string, id string) string {
	if n := names[id]; n != "" {
		return n
	}
	if len(id) > 8 {
		return id[:8] + "…"
	}
	return id
}

// handleCalendar serves GET /app/calendar: a day or a week (Monday first) in the person's
// zone, each day's appointments in start order, with the filters of the list.
func (a *App) handleCalendar(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.newView(r, s, "calendar")
	v.Title = v.T("Calendar")
	v.Live = "refresh"
	f := readFilters(r, v.Zone, s.User, a.clock.Now())
	first, n := f.Date, 1
	if f.View == "week" {
		first = f.Date.AddDate(0, 0, -((int(f.Date.Weekday()) + 6) % 7))
		n = 7
	}
	end := first.AddDate(0, 0, n)
	items, truncated, err := a.cardsIn(r.Context(), s, first, end, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := calendarData{F: f, Prev: f.Date.AddDate(0, 0, -n), Next: f.Date.AddDate(0, 0, n), Count: len(items), Truncated: truncated}
	today := dayStart(a.clock.Now().In(v.Zone))
	for i := range n {
		day := first.AddDate(0, 0, i)
		d.Days = append(d.Days, calendarDay{Date: day, Today: day.Equal(today)})
	}
	// The cards come in start order: each day's are a run of them, and the days share
	// items' array. An appointment that began before the first day shows on the first day.
	i, from := 0, 0
	for k := range items {
		for i+1 < n && !items[k].Start.Before(d.Days[i+1].Date) {
			d.Days[i].Appointments = items[from:k]
			i, from = i+1, k
		}
	}
	d.Days[i].Appointments = items[from:]
	if s.User.Supervises() {
		if d.Names, d.People, err = a.people(r.Context(), s.User.OrgID); err != nil {
			a.fail(w, r, err)
			return
		}
		d.Queues = a.queueNames(r.Context(), s.User.OrgID)
	}
	v.Data = d
	a.render(w, r, http.StatusOK, "calendar", v)
}

// cardsIn reads the cards of the appointments overlapping [from, to) that s may see and f
// selects, in start order, as appointmentsIn does. Without a search or a queue filter it
// reads only what the cards show; those two filters look at fields a card does not show
// (the customers' contact details, the interaction), so with them the appointments are
// read whole, filtered, and made into cards.
func (a *App) cardsIn(ctx context.Context, s *auth.Session, from, to time.Time, f filters) ([]store.AppointmentCard, bool, error) {
	if f.Search != "" || f.Queue != "" {
		items, truncated, err := a.appointmentsIn(ctx, s, from, to, f)
		if err != nil {
			return nil, false, err
		}
		out := make([]store.AppointmentCard, len(items))
		for i, ap := range items {
			out[i] = cardOf(ap)
		}
		return out, truncated, nil
	}
	lf := store.ListFilter{From: from, To: to, Statuses: f.Statuses, Limit: maxRead, Range: true}
	if !s.User.Supervises() {
		lf.AgentUserID = s.User.ID
	} else if f.Agent != "" {
		lf.AgentUserID = f.Agent
	}
	items, next, err := a.o.Store.ListAppointmentCards(ctx, s.User.OrgID, lf)
	if err != nil {
		return nil, false, err
	}
	out := items[:0] // filtered in place
	for _, c := range items {
		// CanView decides on the organization and the agent, which a card has.
		if rendezvous.CanView(s.User, &rendezvous.Appointment{OrgID: c.OrgID, AgentUserID: c.AgentUserID}) {
			out = append(out, c)
		}
	}
	// One read holds maxRead; a next page means there were more.
	return out, next != "", nil
}

// cardOf is what a card shows of ap.
func cardOf(ap *rendezvous.Appointment) store.AppointmentCard {
	c := store.AppointmentCard{ID: ap.ID, OrgID: ap.OrgID, Status: ap.Status, Start: ap.Start, Duration: ap.Duration,
		Title: ap.Title, AgentUserID: ap.AgentUserID}
	if len(ap.Customers) > 0 {
		c.Customer = ap.Customers[0].Name
	}
	return c
}
