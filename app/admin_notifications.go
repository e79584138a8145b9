package app

// Administration / Notifications: the organization's switch, when reminders and
// follow-ups go, and which messages go on which channel. Saved through
// notify.Service.PutSettings like PUT /api/v1/settings/notifications.

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"rendezvous/auth"
	"rendezvous/notify"
)

// notificationsPage is the page's data.
type notificationsPage struct {
	F        *settingsForm
	Channels []channelStatus
	Events   []eventRow
	Off      bool // notifications are switched off (saved)
}

// channelStatus is one channel's setup, as the SMS and email pages leave it.
type channelStatus struct {
	Channel  notify.Channel
	Label    string
	Href     string
	Verified bool
	Detail   string // the number or sender
}

// eventRow is one kind of message with a checkbox per channel: ticked, it goes out on
// that channel (notify.Settings.DisabledEvents holds the unticked ones).
type eventRow struct {
	Label string
	Note  string // why none go out whatever is ticked ("" when they may)
	Cells []eventCell
}

// eventCell is the checkbox of one event on one channel.
type eventCell struct {
	Value string // "<event>/<channel>", posted as a "send" value when ticked
	ID    string
	Label string // for screen readers: the event and the channel
	On    bool
}

// sendField is where the form keeps whether event e is ticked on channel ch.
func sendField(e notify.Event, ch notify.Channel) string {
	return "send:" + notify.EventChannel(e, ch)
}

// offsetsText writes minutes as the form shows them: "1440, 15".
func offsetsText(list []int) string {
	parts := make([]string, len(list))
	for i, m := range list {
		parts[i] = strconv.Itoa(m)
	}
	return strings.Join(parts, ", ")
}

// parseOffsets reads "1440, 15" (commas or spaces between whole minutes).
func parseOffsets(s string) ([]int, bool) {
	out := []int{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

func notificationsForm(set notify.Settings) *settingsForm {
	f := newSettingsForm()
	if set.Enabled {
		f.V["enabled"] = "on"
	}
	f.V["reminders"] = offsetsText(set.ReminderOffsetsMinutes)
	f.V["followups"] = offsetsText(set.FollowUpOffsetsMinutes)
	f.V["language"] = set.DefaultLanguage
	for _, e := range notify.Events() {
		for _, ch := range notify.Channels() {
			if set.Sends(e, ch) {
				f.V[sendField(e, ch)] = "on"
			}
		}
	}
	return f
}

func (a *App) handleAdminNotifications(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	set, err := a.o.Admin.Notify.Settings(r.Context(), s.User.OrgID)
	if err != nil {
		a.fail(w, r, fmt.Errorf("read notification settings: %w", err))
		return
	}
	v := a.adminView(r, s, "notifications", "Notifications")
	a.renderNotifications(w, r, s, v, http.StatusOK, notificationsForm(set), set)
}

func (a *App) renderNotifications(w http.ResponseWriter, r *http.Request, s *auth.Session, v *view, status int, f *settingsForm, saved notify.Settings) {
	p := &notificationsPage{F: f}
	for _, ch := range notify.Channels() {
		cv, err := a.o.Admin.Notify.Channel(r.Context(), s.User.OrgID, ch)
		if err != nil {
			a.fail(w, r, fmt.Errorf("read %s setup: %w", ch, err))
			return
		}
		st := channelStatus{Channel: ch, Verified: cv.Verified}
		if ch == notify.ChannelSMS {
			st.Label, st.Href, st.Detail = v.T("SMS"), "/app/admin/sms", cv.FromNumber
		} else {
			st.Label, st.Href, st.Detail = v.T("Email"), "/app/admin/email", cv.FromAddress
		}
		p.Channels = append(p.Channels, st)
	}
	// A checkbox per event and channel, ticked as typed (or saved). Reminders and
	// follow-ups without times go nowhere, ticked or not: the row says so.
	labels := map[notify.Event]string{
		notify.EventCreated:     v.T("Confirmation of a new booking"),
		notify.EventRescheduled: v.T("Change of time, agent or details"),
		notify.EventCancelled:   v.T("Cancellation message"),
		notify.EventReminder:    v.T("Reminders before the start"),
		notify.EventFollowUp:    v.T("Follow-ups after the end"),
	}
	for _, e := range notify.Events() {
		row := eventRow{Label: labels[e]}
		if (e == notify.EventReminder && len(saved.ReminderOffsetsMinutes) == 0) || (e == notify.EventFollowUp && len(saved.FollowUpOffsetsMinutes) == 0) {
			row.Note = v.T("No times are saved above, so none go out.")
		}
		for _, ch := range p.Channels {
			name := sendField(e, ch.Channel)
			row.Cells = append(row.Cells, eventCell{Value: notify.EventChannel(e, ch.Channel), ID: "f-send-" + string(e) + "-" + string(ch.Channel),
				Label: row.Label + ", " + ch.Label, On: f.Get(name) != ""})
		}
		p.Events = append(p.Events, row)
	}
	p.Off = !saved.Enabled
	v.Data = p
	a.render(w, r, status, "admin_notifications", v)
}

func (a *App) handleAdminNotificationsSave(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	ctx := r.Context()
	saved, err := a.o.Admin.Notify.Settings(ctx, s.User.OrgID)
	if err != nil {
		a.fail(w, r, fmt.Errorf("read notification settings: %w", err))
		return
	}
	v := a.adminView(r, s, "notifications", "Notifications")
	t := v.tr
	f := readSettingsForm(r, "enabled", "reminders", "followups", "language")
	set := saved // fields the page does not show keep their value
	set.Enabled = f.Get("enabled") != ""
	// The checkboxes count only from a form that has them (a page from before they
	// existed posts none, which must not switch every event off).
	table := r.PostFormValue("send-table") != ""
	if table {
		set.DisabledEvents = nil
	}
	for _, e := range notify.Events() {
		for _, ch := range notify.Channels() {
			name := sendField(e, ch)
			switch {
			case !table:
				if set.Sends(e, ch) {
					f.V[name] = "on"
				}
			case slices.Contains(r.PostForm["send"], notify.EventChannel(e, ch)):
				f.V[name] = "on"
			default:
				set.DisabledEvents = append(set.DisabledEvents, notify.EventChannel(e, ch))
			}
		}
	}
	for _, k := range []string{"reminders", "followups"} {
		list, ok := parseOffsets(f.line(t, k, 100))
		if !ok {
			f.fail(k, t.T("Write whole minutes separated by commas, for example 1440, 15."))
		}
		if k == "reminders" {
			set.ReminderOffsetsMinutes = list
		} else {
			set.FollowUpOffsetsMinutes = list
		}
	}
	if lang := f.Get("language"); slices.Contains(notify.Languages(), lang) {
		set.DefaultLanguage = lang
	} else {
		f.fail("language", t.T("Choose a language from the list."))
	}
	if len(f.Errors) == 0 {
		_, err = a.o.Admin.Notify.PutSettings(ctx, s.User.OrgID, set)
		words := func(k string) string {
			switch k {
			case "reminders", "followups":
				return t.T("Give at most %d different times, each between 1 minute and %d days.", notify.MaxOffsets, notify.MaxOffsetMinutes/(24*60))
			}
			return ""
		}
		if err != nil && !f.problems(err, notificationsField, words) {
			a.fail(w, r, fmt.Errorf("save notification settings: %w", err))
			return
		}
	}
	if len(f.Errors) > 0 {
		a.renderNotifications(w, r, s, v, http.StatusUnprocessableEntity, f, saved)
		return
	}
	http.Redirect(w, r, "/app/admin/notifications?done=saved", http.StatusSeeOther)
}

// notificationsField maps a settings field to the form field that shows its problem.
func notificationsField(field string) string {
	switch {
	case strings.HasPrefix(field, "reminderOffsetsMinutes"):
		return "reminders"
	case strings.HasPrefix(field, "followUpOffsetsMinutes"):
		return "followups"
	case field == "defaultLanguage":
		return "language"
	}
	return field
}
