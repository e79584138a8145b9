package app

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/auth"
	"rendezvous/store"
)

// filters are the calendar's and the list's selection, read from the query so that every
// view is a link that can be bookmarked and shared.
type filters struct {
	View     string // calendar: "day" or "week"
	Date     time.Time
	From, To time.Time // list: local dates, To inclusive
	Statuses []rendezvous.Status
	Agent    string // supervisors only
	Queue    string // supervisors only
	Search   string
}

// maxRead bounds the appointments one view reads: a week of a large contact center fits.
const maxRead = 5000

// readFilters reads the query in the person's zone; what cannot be read is ignored.
func readFilters(r *http.Request, zone *time.Location, u rendezvous.StaffUser, now time.Time) filters {
	q := r.URL.Query()
	today := dayStart(now.In(zone))
	f := filters{View: q.Get("view"), Date: today, From: today, To: today.AddDate(0, 0, 13), Search: strings.TrimSpace(q.Get("q"))}
	if f.View != "day" {
		f.View = "week"
	}
	if d, ok := parseDate(q.Get("date"), zone); ok {
		f.Date = d
	}
	if d, ok := parseDate(q.Get("from"), zone); ok {
		f.From = d
	}
	if d, ok := parseDate(q.Get("to"), zone); ok && !d.Before(f.From) {
		f.To = d
	}
	if f.To.Sub(f.From) > 92*24*time.Hour {
		f.To = f.From.AddDate(0, 3, 0)
	}
	for _, v := range q["status"] {
		if st := rendezvous.Status(v); st.Valid() && !slices.Contains(f.Statuses, st) {
			f.Statuses = append(f.Statuses, st)
		}
	}
	if u.Supervises() {
		f.Agent = strings.TrimSpace(q.Get("agent"))
		f.Queue = strings.TrimSpace(q.Get("queue"))
	}
	if len(f.Search) > 200 {
		f.Search = f.Search[:200]
	}
	return f
}

// Query writes the filters back as a query, with the given parameters replaced.
func (f filters) Query(set ...string) string {
	v := url.Values{}
	v.Set("view", f.View)
	v.Set("date", f.Date.Format("2006-01-02"))
	for _, st := range f.Statuses {
		v.Add("status", string(st))
	}
	if f.Agent != "" {
		v.Set("agent", f.Agent)
	}
	if f.Queue != "" {
		v.Set("queue", f.Queue)
	}
	if f.Search != "" {
		v.Set("q", f.Search)
	}
	for i := 0; i+1 < len(set); i += 2 {
		v.Set(set[i], set[i+1])
	}
	return string("?" + v.Encode())
}

// HasStatus reports whether the filter selects st.
func (f filters) HasStatus(st string) bool { return slices.Contains(f.Statuses, rendezvous.Status(st)) }

func parseDate(v string, zone *time.Location) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	d, err := time.ParseInLocation("2006-01-02", v, zone)
	if err != nil || d.Year() < 2000 || d.Year() > 2200 {
		return time.Time{}, false
	}
	return d, true
}

// dayStart is midnight of t's day in t's zone (which may be 01:00 where a zone skips
// midnight: time.Date normalises it).
func dayStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// Matches reports whether appointment a passes the filters that the store does not apply:
// the queue and the search over customers' names, phone numbers and emails (and the
// title). Digits of a phone search match however the number is written.
func (f filters) Matches(a *rendezvous.Appointment) bool {
	if f.Queue != "" && !strings.EqualFold(a.Interaction.Routing.QueueName, f.Queue) {
		return false
	}
	if f.Search == "" {
		return true
	}
	q := strings.ToLower(f.Search)
	digits := onlyDigits(q)
	if strings.Contains(strings.ToLower(a.Title), q) {
		return true
	}
	for _, c := range a.Customers {
		if strings.Contains(strings.ToLower(c.Name), q) || strings.Contains(strings.ToLower(c.Email), q) {
			return true
		}
		if len(digits) >= 3 && strings.Contains(onlyDigits(c.Phone), digits) {
			return true
		}
	}
	return false
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// appointmentsIn reads the appointments overlapping [from, to) that s may see and f
// selects, in start order. Agents get only their own: the rule is applied in the query
// and again per appointment (CanView).
func (a *App) appointmentsIn(ctx context.Context, s *auth.Session, from, to time.Time, f filters) ([]*rendezvous.Appointment, bool, error) {
	lf := store.ListFilter{From: from, To: to, Statuses: f.Statuses, Limit: maxRead, Range: true}
	if !s.User.Supervises() {
		lf.AgentUserID = s.User.ID
	} else if f.Agent != "" {
		lf.AgentUserID = f.Agent
	}
	var out []*rendezvous.Appointment
	read := 0
	for {
		items, next, err := a.o.Store.ListAppointments(ctx, s.User.OrgID, lf)
		if err != nil {
			return nil, false, err
		}
		read += len(items)
		for _, ap := range items {
			if rendezvous.CanView(s.User, ap) && f.Matches(ap) {
				out = append(out, ap)
			}
		}
		if next == "" {
			return out, false, nil
		}
		if read >= maxRead {
			return out, true, nil
		}
		lf.Cursor = next
	}
}

// people maps the organization's staff user ids to names, for showing agents.
func (a *App) people(ctx context.Context, orgID string) (map[string]string, []rendezvous.StaffUser, error) {
	us, err := a.o.Store.StaffUsers(ctx, orgID)
	if err != nil {
		return nil, nil, err
	}
	names := make(map[string]string, len(us))
	for _, u := range us {
		names[u.ID] = u.Name
	}
	return names, us, nil
}
