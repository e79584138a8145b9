package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/store"
)

// apptForm is the appointment form as typed: every value is kept as a string, so that a
// page shown again after an error shows exactly what the person entered.
type apptForm struct {
	Name, Phone, Email, Language string
	Date, Time, TimeZone         string
	Duration                     string
	Title, Notes                 string
	Agent                        string
	Routing, Queue               string
	CustomKeys, CustomValues     []string
	SMS, EmailOn                 bool
	// Version is the appointment's version the edit form was based on.
	Version string
	// Idem is the form's one-time key: submitting the same form twice books once.
	Idem string
	// Errors holds one plain-words problem per field name; Clash explains a clash.
	Errors map[string]string
}

// customRows is how many custom field rows the form offers.
const customRows = 3

// Err returns the problem with field, if any.
func (f *apptForm) Err(field string) string { return f.Errors[field] }

// Custom pairs the custom field rows for the template.
func (f *apptForm) Custom() [][2]string {
	out := make([][2]string, customRows)
	for i := range out {
		if i < len(f.CustomKeys) {
			out[i][0] = f.CustomKeys[i]
		}
		if i < len(f.CustomValues) {
			out[i][1] = f.CustomValues[i]
		}
	}
	return out
}

// readForm reads the posted form.
func readForm(r *http.Request) *apptForm {
	p := r.PostForm
	f := &apptForm{
		Name: p.Get("name"), Phone: p.Get("phone"), Email: strings.TrimSpace(p.Get("email")), Language: p.Get("language"),
		Date: p.Get("date"), Time: p.Get("time"), TimeZone: p.Get("tz"), Duration: p.Get("duration"),
		Title: p.Get("title"), Notes: p.Get("notes"), Agent: p.Get("agent"), Routing: p.Get("routing"), Queue: p.Get("queue"),
		CustomKeys: p["cf_key"], CustomValues: p["cf_value"], SMS: p.Get("notify_sms") != "", EmailOn: p.Get("notify_email") != "",
		Version: p.Get("version"), Idem: p.Get("idem"), Errors: map[string]string{},
	}
	return f
}

// fieldOf maps a domain field path to the form field that shows its problem.
func fieldOf(path string) string {
	switch {
	case strings.HasSuffix(path, ".name"):
		return "name"
	case strings.HasSuffix(path, ".phone"):
		return "phone"
	case strings.HasSuffix(path, ".email"):
		return "email"
	case strings.HasSuffix(path, ".language"):
		return "language"
	case strings.HasPrefix(path, "customers"):
		return "phone"
	case path == "start":
		return "time"
	case path == "durationMinutes":
		return "duration"
	case path == "timeZone":
		return "tz"
	case path == "agentUserId":
		return "agent"
	case strings.HasPrefix(path, "interaction.routing"):
		return "queue"
	case strings.HasPrefix(path, "interaction.customFields"):
		return "custom"
	}
	return path
}

// plainWords turns a domain problem into the sentence the form shows beside the field, in
// the page's language. The rules are the API's; only the wording is the person's.
func plainWords(t *tr, fp rendezvous.FieldProblem) string {
	m := fp.Message
	switch fieldOf(fp.Field) {
	case "name":
		if strings.Contains(m, "required") {
			return t.T("Enter the customer's name.")
		}
		return t.T("The name is too long or contains characters that cannot be stored.")
	case "phone":
		if fp.Field != "" && !strings.HasSuffix(fp.Field, ".phone") {
			return t.T("Enter a mobile number or an email address, so the customer receives their link.")
		}
		return t.T("This is not a phone number we can text. Write it with the country code, for example +30 691 234 5678.")
	case "email":
		return t.T("This is not an email address we can send to. Check it, for example maria@example.com.")
	case "language":
		return t.T("Choose the customer's language from the list.")
	case "time":
		switch {
		case strings.Contains(m, "past"):
			return t.T("This time has already passed. Choose a time in the future.")
		case strings.Contains(m, "ahead"):
			return t.T("This is too far ahead. Appointments can be booked up to a year in advance.")
		}
		return t.T("Enter the date and time of the appointment.")
	case "duration":
		return t.T("Choose a length between %d minutes and %d hours.", rendezvous.MinDurationMinutes, rendezvous.MaxDurationMinutes/60)
	case "tz":
		return t.T("Choose the customer's time zone from the list.")
	case "agent":
		return t.T("Choose the agent who meets the customer.")
	case "queue":
		return t.T("Choose a queue that exists in Genesys Cloud.")
	case "custom":
		return t.T("Each custom field needs a short name and a value (names up to %d characters).", rendezvous.MaxCustomKeyLength)
	case "title":
		return t.T("The title is too long (up to %d characters).", rendezvous.MaxTitleLength)
	case "notes":
		return t.T("The notes are too long (up to %d characters).", rendezvous.MaxNotesLength)
	case "reason":
		return t.T("The reason is too long (up to 500 characters).")
	}
	return m
}

// addProblems puts the domain's problems beside their fields (the first per field).
func (f *apptForm) addProblems(t *tr, err error) bool {
	var ve *rendezvous.ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	for _, fp := range ve.Problems {
		k := fieldOf(fp.Field)
		if _, ok := f.Errors[k]; !ok {
			f.Errors[k] = plainWords(t, fp)
		}
	}
	return true
}

// checkText refuses text that cannot be stored alike on both databases (NUL, invalid
// UTF-8) before the domain sees it, so PostgreSQL and SQLite answer the same.
func (f *apptForm) checkText(t *tr) {
	for k, v := range map[string]string{"name": f.Name, "phone": f.Phone, "email": f.Email, "title": f.Title,
		"notes": f.Notes, "queue": f.Queue} {
		if !storable(v) {
			f.Errors[k] = t.T("This contains characters that cannot be stored. Please retype it.")
		}
	}
	for _, v := range append(slices.Clone(f.CustomKeys), f.CustomValues...) {
		if !storable(v) {
			f.Errors["custom"] = t.T("This contains characters that cannot be stored. Please retype it.")
		}
	}
}

func storable(s string) bool {
	return !strings.ContainsRune(s, 0) && strings.ToValidUTF8(s, "\uFFFD") == s
}

// when reads the date and time, typed in zone, as an instant. A time that does not exist
// that day (the clocks jump forward) is refused rather than silently moved.
func (f *apptForm) when(t *tr, zone *time.Location) (time.Time, int) {
	var start time.Time
	if f.Date == "" || f.Time == "" {
		f.Errors["time"] = t.T("Enter the date and time of the appointment.")
	} else if st, err := time.ParseInLocation("2006-01-02 15:04", f.Date+" "+f.Time, zone); err != nil {
		f.Errors["time"] = t.T("Enter the date as YYYY-MM-DD and the time as HH:MM.")
	} else if st.Format("2006-01-02 15:04") != f.Date+" "+f.Time {
		f.Errors["time"] = t.T("On that day the clocks change in %s and %s does not exist. Choose another time.", zone.String(), f.Time)
	} else {
		start = st
	}
	minutes, err := strconv.Atoi(strings.TrimSpace(f.Duration))
	if err != nil {
		f.Errors["duration"] = t.T("Choose a length between %d minutes and %d hours.", rendezvous.MinDurationMinutes, rendezvous.MaxDurationMinutes/60)
	}
	return start, minutes
}

// customers builds the customer list from the form.
func (f *apptForm) customers() []rendezvous.Customer {
	return []rendezvous.Customer{{Name: f.Name, Phone: strings.TrimSpace(f.Phone), Email: f.Email, Language: f.Language}}
}

// customFields builds the custom fields from the rows that were filled in.
func (f *apptForm) customFields(t *tr) map[string]string {
	out := map[string]string{}
	for i := range f.CustomKeys {
		k := strings.TrimSpace(f.CustomKeys[i])
		v := ""
		if i < len(f.CustomValues) {
			v = f.CustomValues[i]
		}
		switch {
		case k == "" && strings.TrimSpace(v) == "":
			continue
		case k == "":
			f.Errors["custom"] = t.T("Each custom field needs a short name and a value (names up to %d characters).", rendezvous.MaxCustomKeyLength)
		default:
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// clashMessage explains a clash: which of the agent's appointments is in the way, and when.
func (a *App) clashMessage(ctx context.Context, t *tr, zone *time.Location, ap *rendezvous.Appointment, names map[string]string, err error) string {
	if errors.Is(err, rendezvous.ErrQueueFull) {
		return t.T("The queue %s has no place left at that time: its availability schedule is fully booked. Choose another time.", ap.Interaction.Routing.QueueName)
	}
	other, _, err := a.o.Store.ListAppointments(ctx, ap.OrgID, store.ListFilter{AgentUserID: ap.AgentUserID, From: ap.Start, To: ap.End(),
		Statuses: []rendezvous.Status{rendezvous.StatusScheduled, rendezvous.StatusInProgress}, Limit: 5})
	if err != nil {
		a.log.WarnContext(ctx, "explain clash", "error", err)
	}
	who := agentName(names, ap.AgentUserID)
	for _, o := range other {
		if o.ID == ap.ID {
			continue
		}
		title := o.Title
		if title == "" && len(o.Customers) > 0 {
			title = o.Customers[0].Name
		}
		return t.T("%s already has an appointment at that time: “%s”, %s–%s. Choose another time or another agent.",
			who, title, t.When(o.Start, zone), t.Clock(o.End().In(zone)))
	}
	return t.T("%s already has an appointment at that time. Choose another time or another agent.", who)
}

// formAgentLabel is shown as the agent of an agent's own booking.
func formAgentLabel(u rendezvous.StaffUser) string { return fmt.Sprintf("%s (%s)", u.Name, u.Email) }
