package app

import (
	"html/template"
	"net/http"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/auth"
)

// calendarDay is one column of the calendar.
type calendarDay struct {
	Date         time.Time
	Today        bool
	Appointments []*rendezvous.Appointment
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

// Cards writes a day's appointments, each with view.Card, in one call: a supervisor's
// week has thousands, and a template call per card costs more than the card itself.
func (v *view) Cards(d calendarData, day calendarDay) template.HTML {
	var b strings.Builder
	for _, ap := range day.Appointments {
		b.WriteString(string(v.Card(ap, d.AgentName(ap.AgentUserID))))
	}
	return template.HTML(b.String())
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
	items, truncated, err := a.appointmentsIn(r.Context(), s, first, end, f)
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
	for _, ap := range items {
		// An appointment that began before the first day shows on the first day.
		i := 0
		for i+1 < n && !ap.Start.Before(d.Days[i+1].Date) {
			i++
		}
		d.Days[i].Appointments = append(d.Days[i].Appointments, ap)
	}
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
