package app

// Administration / Availability: each queue's schedule for the booking widget (working
// hours in a time zone, date exceptions and holidays, slot length and step, buffers,
// minimum notice, horizon, capacity, the agents and their own hours), with a preview of
// the next week's free slots as a customer in a chosen zone sees them. It follows the
// rules of PUT /api/v1/settings/schedules/{queue}: availability.Compile validates, the
// store saves and audits in one transaction; the preview asks the engine as
// GET /api/v1/availability does.

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"rendezvous"
	"rendezvous/auth"
	"rendezvous/availability"
	"rendezvous/store"
)

// Limits on what the schedule form takes, so a pasted novel is refused plainly.
const (
	maxHoursText  = 300
	maxListText   = 40000
	maxNumberText = 9
	maxZoneText   = 100
)

// previewDays is how far the preview looks ahead.
const previewDays = 7

// scheduleForm is the schedule as typed: strings, so a page shown again after an error
// shows exactly what was entered.
type scheduleForm struct {
	Queue    string
	Exists   bool
	Version  string
	TimeZone string
	// Hours holds each weekday's ranges by its key ("monday").
	Hours                                           map[string]string
	Exceptions, Holidays                            string
	Slot, Step, Before, After, Notice, Horizon, Cap string
	Agents                                          []agentRow
	// PreviewZone is the customer's zone the preview is shown in.
	PreviewZone string
	Errors      map[string]string
}

// agentRow is one person who may take the queue's video appointments.
type agentRow struct {
	ID, Name string
	On       bool
	// Hours are the agent's own week as typed; empty means the queue's hours.
	Hours string
}

// Err returns the problem with field, if any.
func (f *scheduleForm) Err(field string) string { return f.Errors[field] }

// dayRow is one weekday of the editor.
type dayRow struct {
	Key, Label, Value, Err string
}

// Days lists the week for the editor, Monday first, with the page's day names.
func (f *scheduleForm) Days(v *view) []dayRow {
	out := make([]dayRow, len(weekdays))
	for i, d := range weekdays {
		out[i] = dayRow{Key: d.Key, Label: v.cal.Days[d.Day], Value: f.Hours[d.Key], Err: f.Errors["hours_"+d.Key]}
	}
	return out
}

// scheduleData is the editor page's data.
type scheduleData struct {
	F       *scheduleForm
	Zones   []string
	Preview *schedulePreview
	// UpdatedAt is when the stored schedule was saved last (zero for a new one).
	UpdatedAt time.Time
}

// schedulePreview is the next week's free slots as a customer sees them.
type schedulePreview struct {
	Zone string
	// Unsaved says the preview is of the typed schedule, not yet saved.
	Unsaved bool
	Days    []previewDay
	Total   int
}

type previewDay struct {
	Label string
	Slots []previewSlot
}

type previewSlot struct {
	Time      string
	Remaining int
}

// scheduleRow is one queue of the list.
type scheduleRow struct {
	Queue, Href string
	Rec         *store.ScheduleRecord
	Days        int
}

// handleAvailabilityList serves GET /app/admin/availability: every queue, with or without
// a schedule. ?queue= opens one by name (a queue Genesys Cloud did not list).
func (a *App) handleAvailabilityList(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	if q := strings.TrimSpace(r.URL.Query().Get("queue")); q != "" && len(q) <= 200 && storable(q) {
		http.Redirect(w, r, scheduleHref(q), http.StatusSeeOther)
		return
	}
	v := a.adminView(r, s, "availability", "Availability")
	recs, err := a.o.Store.Schedules(r.Context(), s.User.OrgID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	byQueue := map[string]*store.ScheduleRecord{}
	names := slices.Clone(a.queueNames(r.Context(), s.User.OrgID))
	for i := range recs {
		byQueue[recs[i].QueueName] = &recs[i]
		if !slices.Contains(names, recs[i].QueueName) {
			names = append(names, recs[i].QueueName)
		}
	}
	slices.Sort(names)
	rows := make([]scheduleRow, 0, len(names))
	for _, n := range names {
		row := scheduleRow{Queue: n, Href: scheduleHref(n), Rec: byQueue[n]}
		if row.Rec != nil {
			for _, d := range weekdays {
				if len(*dayOf(&row.Rec.WeeklyHours, d.Day)) > 0 {
					row.Days++
				}
			}
		}
		rows = append(rows, row)
	}
	v.Data = rows
	a.render(w, r, http.StatusOK, "admin_availability", v)
}

func scheduleHref(queue string) string { return "/app/admin/availability/" + url.PathEscape(queue) }

// handleScheduleEdit serves GET /app/admin/availability/{queue}: the stored schedule and
// its preview, or a new one to start from.
func (a *App) handleScheduleEdit(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.adminView(r, s, "availability", "Availability")
	queue := r.PathValue("queue")
	if len(queue) > 200 || !storable(queue) || strings.TrimSpace(queue) == "" {
		a.notFound(w, r, s)
		return
	}
	d := &scheduleData{Zones: commonZones}
	rec, err := a.o.Store.Schedule(r.Context(), s.User.OrgID, queue)
	switch {
	case errors.Is(err, rendezvous.ErrNotFound):
		d.F = a.newScheduleForm(r, s, v, queue)
	case err != nil:
		a.fail(w, r, err)
		return
	default:
		d.F = a.formOfSchedule(r, s, v, rec)
		d.UpdatedAt = rec.UpdatedAt
	}
	if z := r.URL.Query().Get("zone"); z != "" {
		d.F.PreviewZone = z
	}
	if d.F.Exists {
		if plan, err := availability.Compile(rec.Schedule); err == nil {
			d.Preview, err = a.preview(r, s, v, plan, d.F)
			if err != nil {
				a.fail(w, r, err)
				return
			}
		}
	}
	v.Title = v.T("Availability of %s", queue)
	v.Data = d
	a.render(w, r, http.StatusOK, "admin_schedule", v)
}

// newScheduleForm is a schedule to start from: weekdays 09:00–17:00 in the
// administrator's zone, half-hour appointments, the organization's people listed.
func (a *App) newScheduleForm(r *http.Request, s *auth.Session, v *view, queue string) *scheduleForm {
	f := &scheduleForm{Queue: queue, TimeZone: v.Zone.String(), Hours: map[string]string{}, Slot: "30", Notice: "60",
		Horizon: strconv.Itoa(availability.DefaultHorizonDay), PreviewZone: v.Zone.String(), Errors: map[string]string{}}
	for _, d := range weekdays[:5] {
		f.Hours[d.Key] = "09:00-17:00"
	}
	f.Agents = a.agentRows(r, s, nil, v)
	return f
}

// formOfSchedule writes a stored schedule into the form.
func (a *App) formOfSchedule(r *http.Request, s *auth.Session, v *view, rec store.ScheduleRecord) *scheduleForm {
	sc := rec.Schedule
	num := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	f := &scheduleForm{Queue: sc.QueueName, Exists: true, Version: strconv.Itoa(rec.Version), TimeZone: sc.TimeZone,
		Hours: map[string]string{}, Exceptions: formatExceptions(sc.Exceptions), Holidays: formatHolidays(sc.Holidays),
		Slot: strconv.Itoa(sc.SlotMinutes), Step: num(sc.StepMinutes), Before: num(sc.BufferBeforeMinutes),
		After: num(sc.BufferAfterMinutes), Notice: num(sc.MinNoticeMinutes), Horizon: num(sc.HorizonDays), Cap: num(sc.Capacity),
		PreviewZone: v.Zone.String(), Errors: map[string]string{}}
	for _, d := range weekdays {
		f.Hours[d.Key] = formatRanges(*dayOf(&sc.WeeklyHours, d.Day))
	}
	f.Agents = a.agentRows(r, s, sc.Agents, v)
	return f
}

// agentRows lists the organization's people with those the schedule names ticked, and
// any agent the schedule names who has not signed in to Rendezvous yet (by id).
func (a *App) agentRows(r *http.Request, s *auth.Session, listed []availability.Agent, v *view) []agentRow {
	var rows []agentRow
	_, people, err := a.people(r.Context(), s.User.OrgID)
	if err != nil {
		a.log.WarnContext(r.Context(), "availability: list people", "error", err)
	}
	for _, p := range people {
		rows = append(rows, agentRow{ID: p.ID, Name: p.Name})
	}
	for _, ag := range listed {
		i := slices.IndexFunc(rows, func(row agentRow) bool { return row.ID == ag.UserID })
		if i < 0 {
			rows = append(rows, agentRow{ID: ag.UserID, Name: ag.UserID})
			i = len(rows) - 1
		}
		rows[i].On, rows[i].Hours = true, formatWeek(v.tr, ag.WeeklyHours)
	}
	return rows
}

// readScheduleForm reads the posted form, refusing at the edge what no field may hold
// (NUL, invalid UTF-8, too long) but keeping it in the form.
func readScheduleForm(t *tr, r *http.Request, queue string) *scheduleForm {
	p := r.PostForm
	f := &scheduleForm{Queue: queue, Version: p.Get("version"), Exists: p.Get("version") != "", TimeZone: strings.TrimSpace(p.Get("tz")),
		Hours: map[string]string{}, Exceptions: p.Get("exceptions"), Holidays: p.Get("holidays"),
		Slot: strings.TrimSpace(p.Get("slot")), Step: strings.TrimSpace(p.Get("step")), Before: strings.TrimSpace(p.Get("before")),
		After: strings.TrimSpace(p.Get("after")), Notice: strings.TrimSpace(p.Get("notice")), Horizon: strings.TrimSpace(p.Get("horizon")),
		Cap: strings.TrimSpace(p.Get("capacity")), PreviewZone: strings.TrimSpace(p.Get("zone")), Errors: map[string]string{}}
	check := func(field, value string, limit int) {
		switch {
		case !storable(value):
			f.Errors[field] = t.T("This contains characters that cannot be stored. Please retype it.")
		case utf8.RuneCountInString(value) > limit:
			f.Errors[field] = t.T("This is too long: at most %d characters.", limit)
		}
	}
	for _, d := range weekdays {
		f.Hours[d.Key] = p.Get("hours_" + d.Key)
		check("hours_"+d.Key, f.Hours[d.Key], maxHoursText)
	}
	check("tz", f.TimeZone, maxZoneText)
	check("zone", f.PreviewZone, maxZoneText)
	check("exceptions", f.Exceptions, maxListText)
	check("holidays", f.Holidays, maxListText)
	for k, v := range map[string]string{"slot": f.Slot, "step": f.Step, "before": f.Before, "after": f.After,
		"notice": f.Notice, "horizon": f.Horizon, "capacity": f.Cap} {
		check(k, v, maxNumberText)
	}
	on := p["agent"]
	hours := p["agent_hours"]
	names := p["agent_name"]
	for i, id := range p["agent_row"] {
		row := agentRow{ID: id, Name: id, On: slices.Contains(on, id)}
		if i < len(hours) {
			row.Hours = hours[i]
		}
		if i < len(names) {
			row.Name = names[i]
		}
		if !storable(row.ID) || !storable(row.Name) || len(row.ID) > 100 || len(row.Name) > 200 {
			f.Errors["agents"] = t.T("This contains characters that cannot be stored. Please retype it.")
			continue
		}
		check("agent_"+id, row.Hours, maxHoursText*3)
		f.Agents = append(f.Agents, row)
	}
	return f
}

// schedule turns the form into a schedule, adding the problems it finds to f.Errors.
func (f *scheduleForm) schedule(t *tr) availability.Schedule {
	sc := availability.Schedule{QueueName: f.Queue, TimeZone: f.TimeZone}
	if _, ok := f.Errors["tz"]; !ok && f.TimeZone == "" {
		f.Errors["tz"] = t.T("Choose the time zone the hours are in, such as Europe/Athens.")
	}
	for _, d := range weekdays {
		if _, bad := f.Errors["hours_"+d.Key]; bad {
			continue
		}
		rs, p := parseRanges(t, f.Hours[d.Key])
		if p != "" {
			f.Errors["hours_"+d.Key] = p
		}
		*dayOf(&sc.WeeklyHours, d.Day) = rs
	}
	var p string
	if _, bad := f.Errors["exceptions"]; !bad {
		if sc.Exceptions, p = parseExceptions(t, f.Exceptions); p != "" {
			f.Errors["exceptions"] = p
		}
	}
	if _, bad := f.Errors["holidays"]; !bad {
		if sc.Holidays, p = parseHolidays(t, f.Holidays); p != "" {
			f.Errors["holidays"] = p
		}
	}
	number := func(field, value string, unit string, dst *int) {
		if _, bad := f.Errors[field]; bad || value == "" {
			return
		}
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			if unit == "days" {
				f.Errors[field] = t.T("Enter a whole number of days.")
			} else if unit == "places" {
				f.Errors[field] = t.T("Enter a whole number, or leave it empty.")
			} else {
				f.Errors[field] = t.T("Enter a whole number of minutes.")
			}
			return
		}
		*dst = n
	}
	if f.Slot == "" {
		f.Errors["slot"] = t.T("Enter how long an appointment lasts, in minutes.")
	}
	number("slot", f.Slot, "minutes", &sc.SlotMinutes)
	number("step", f.Step, "minutes", &sc.StepMinutes)
	number("before", f.Before, "minutes", &sc.BufferBeforeMinutes)
	number("after", f.After, "minutes", &sc.BufferAfterMinutes)
	number("notice", f.Notice, "minutes", &sc.MinNoticeMinutes)
	number("horizon", f.Horizon, "days", &sc.HorizonDays)
	number("capacity", f.Cap, "places", &sc.Capacity)
	for _, row := range f.Agents {
		if !row.On {
			continue
		}
		ag := availability.Agent{UserID: row.ID}
		if _, bad := f.Errors["agent_"+row.ID]; !bad {
			w, p := parseWeek(t, row.Hours)
			if p != "" {
				f.Errors["agent_"+row.ID] = p
			}
			ag.WeeklyHours = w
		}
		sc.Agents = append(sc.Agents, ag)
	}
	return sc
}

// scheduleField maps a problem the engine found to the field that shows it.
func scheduleField(path string) string {
	for _, d := range weekdays {
		if strings.HasPrefix(path, "weeklyHours."+d.Key) {
			return "hours_" + d.Key
		}
	}
	switch {
	case path == "timeZone":
		return "tz"
	case strings.HasPrefix(path, "exceptions"):
		return "exceptions"
	case strings.HasPrefix(path, "holidays"):
		return "holidays"
	case strings.HasPrefix(path, "agents"):
		return "agents"
	}
	return map[string]string{"slotMinutes": "slot", "stepMinutes": "step", "bufferBeforeMinutes": "before",
		"bufferAfterMinutes": "after", "minNoticeMinutes": "notice", "horizonDays": "horizon", "capacity": "capacity",
		"queueName": "queue"}[path]
}

// scheduleWords is the engine's problem in the page's words.
func scheduleWords(t *tr, fp rendezvous.FieldProblem) string {
	switch scheduleField(fp.Field) {
	case "tz":
		return t.T("This is not a time zone we know. Choose one from the list, such as Europe/Athens.")
	case "slot":
		return t.T("Choose a length between %d and %d minutes.", rendezvous.MinDurationMinutes, rendezvous.MaxDurationMinutes)
	case "step":
		return t.T("Between 5 and 1440 minutes; leave it empty to start a slot when the previous one ends.")
	case "before", "after":
		return t.T("Between 0 and %d minutes.", availability.MaxBufferMinutes)
	case "notice":
		return t.T("Between 0 and %d minutes.", availability.MaxNoticeMinutes)
	case "horizon":
		return t.T("Between 1 and %d days.", availability.MaxHorizonDays)
	case "capacity":
		if strings.Contains(fp.Message, "no agents") {
			return t.T("Choose the agents who take this queue's video appointments, or enter how many may run at once.")
		}
		return t.T("Between 0 and %d.", availability.MaxCapacity)
	case "queue":
		return t.T("The queue's name is too long or contains characters that cannot be stored.")
	}
	return fp.Message
}

// handleScheduleSave serves POST /app/admin/availability/{queue}: "Preview" shows the
// typed schedule's slots without saving; "Save" saves it as PUT
// /api/v1/settings/schedules/{queue} does (the version read is the If-Match).
func (a *App) handleScheduleSave(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.adminView(r, s, "availability", "Availability")
	queue := r.PathValue("queue")
	if len(queue) > 200 || !storable(queue) || strings.TrimSpace(queue) == "" {
		a.notFound(w, r, s)
		return
	}
	v.Title = v.T("Availability of %s", queue)
	f := readScheduleForm(v.tr, r, queue)
	sc := f.schedule(v.tr)
	d := &scheduleData{F: f, Zones: commonZones}
	v.Data = d
	var plan *availability.Plan
	if len(f.Errors) == 0 {
		var err error
		if plan, err = availability.Compile(sc); err != nil {
			var ve *rendezvous.ValidationError
			if !errors.As(err, &ve) {
				a.fail(w, r, err)
				return
			}
			for _, fp := range ve.Problems {
				k := scheduleField(fp.Field)
				if _, ok := f.Errors[k]; !ok {
					f.Errors[k] = scheduleWords(v.tr, fp)
				}
			}
		}
	}
	if len(f.Errors) > 0 {
		a.render(w, r, http.StatusUnprocessableEntity, "admin_schedule", v)
		return
	}
	if r.PostForm.Get("action") == "preview" {
		var err error
		if d.Preview, err = a.preview(r, s, v, plan, f); err != nil {
			a.fail(w, r, err)
			return
		}
		d.Preview.Unsaved = true
		a.render(w, r, http.StatusOK, "admin_schedule", v)
		return
	}
	version := store.CreateOnly // a new schedule: someone else's made meanwhile stays
	if f.Version != "" {
		version, _ = strconv.Atoi(f.Version)
	}
	// The page edits neither an agent's own zone nor their exceptions (the API does): keep
	// what is stored.
	if cur, err := a.o.Store.Schedule(r.Context(), s.User.OrgID, queue); err == nil {
		for i, ag := range sc.Agents {
			if j := slices.IndexFunc(cur.Agents, func(c availability.Agent) bool { return c.UserID == ag.UserID }); j >= 0 {
				sc.Agents[i].TimeZone, sc.Agents[i].Exceptions = cur.Agents[j].TimeZone, cur.Agents[j].Exceptions
			}
		}
	}
	_, err := a.o.Store.PutSchedule(r.Context(), s.User.OrgID, sc, version)
	switch {
	case errors.Is(err, rendezvous.ErrStaleVersion), errors.Is(err, rendezvous.ErrNotFound):
		v.Notice = v.T("Someone changed or deleted this schedule since you opened it. Nothing was saved; your changes are still below. Open the schedule again to see theirs.")
		a.render(w, r, http.StatusConflict, "admin_schedule", v)
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, scheduleHref(queue)+"?done=schedule-saved", http.StatusSeeOther)
}

// handleScheduleDelete serves POST /app/admin/availability/{queue}/delete.
func (a *App) handleScheduleDelete(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	err := a.o.Store.DeleteSchedule(r.Context(), s.User.OrgID, r.PathValue("queue"))
	if err != nil && !errors.Is(err, rendezvous.ErrNotFound) {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/app/admin/availability?done=schedule-deleted", http.StatusSeeOther)
}

// preview computes the free slots of the next week as the customer in f.PreviewZone sees
// them, with the engine and the bookings GET /api/v1/availability uses.
func (a *App) preview(r *http.Request, s *auth.Session, v *view, plan *availability.Plan, f *scheduleForm) (*schedulePreview, error) {
	loc, err := rendezvous.LoadZone(f.PreviewZone)
	if err != nil {
		f.Errors["zone"] = v.T("This is not a time zone we know. Choose one from the list, such as Europe/Athens.")
		loc = v.Zone
		f.PreviewZone = loc.String()
	}
	now := a.clock.Now()
	y, m, dd := now.In(loc).Date()
	from := time.Date(y, m, dd, 0, 0, 0, 0, loc)
	to := time.Date(y, m, dd+previewDays, 0, 0, 0, 0, loc)
	before, after := plan.Buffers()
	pad := before + after + plan.SlotLength()
	booked, err := a.o.Store.QueueBookings(r.Context(), s.User.OrgID, f.Queue, plan.Agents(), from.Add(-pad), to.Add(pad))
	if err != nil {
		return nil, fmt.Errorf("preview of %q: %w", f.Queue, err)
	}
	slots := plan.Slots(availability.Query{Now: now, From: from, To: to, Booked: booked})
	p := &schedulePreview{Zone: loc.String(), Total: len(slots)}
	for i := range previewDays {
		day := time.Date(y, m, dd+i, 12, 0, 0, 0, loc)
		pd := previewDay{Label: v.Day(day)}
		for _, sl := range slots {
			st := sl.Start.In(loc)
			if st.Year() == day.Year() && st.YearDay() == day.YearDay() {
				pd.Slots = append(pd.Slots, previewSlot{Time: v.Clock(st), Remaining: sl.Remaining})
			}
		}
		p.Days = append(p.Days, pd)
	}
	return p, nil
}

// numberInput is one number field of the editor, for the "number" template.
type numberInput struct {
	Name, Value, Label, Hint, Err string
}

// Number prepares the number field name with its (translated) label and hint.
func (f *scheduleForm) Number(name, label, hint string) numberInput {
	value := map[string]string{"slot": f.Slot, "step": f.Step, "before": f.Before, "after": f.After, "notice": f.Notice,
		"horizon": f.Horizon, "capacity": f.Cap}[name]
	return numberInput{Name: name, Value: value, Label: label, Hint: hint, Err: f.Errors[name]}
}

// Href is the schedule page's address.
func (f *scheduleForm) Href() string { return scheduleHref(f.Queue) }
