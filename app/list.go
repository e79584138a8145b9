package app

import (
	"net/http"

	"rendezvous"
	"rendezvous/auth"
)

// listData is the list page's own data.
type listData struct {
	calendarData
	Items []*rendezvous.Appointment
}

// handleList serves GET /app/list: the appointments of a date range (today and the next
// 13 days unless chosen) as a table, with the same filters as the calendar.
func (a *App) handleList(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.newView(r, s, "list")
	v.Title = v.T("Appointments")
	v.Live = "refresh"
	f := readFilters(r, v.Zone, s.User, a.clock.Now())
	items, truncated, err := a.appointmentsIn(r.Context(), s, f.From, f.To.AddDate(0, 0, 1), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := listData{calendarData: calendarData{F: f, Count: len(items), Truncated: truncated}, Items: items}
	if s.User.Supervises() {
		if d.Names, d.People, err = a.people(r.Context(), s.User.OrgID); err != nil {
			a.fail(w, r, err)
			return
		}
		d.Queues = a.queueNames(r.Context(), s.User.OrgID)
	}
	v.Data = d
	a.render(w, r, http.StatusOK, "list", v)
}
