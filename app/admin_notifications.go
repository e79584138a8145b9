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
}

// channelStatus is one channel's setup, as the SMS and email pages leave it.
type channelStatus struct {
	Channel  notify.Channel
	Label    string
	Href     string
	Verified bool
	Detail   string // the number or sender
}

// eventRow says whether one kind of message goes out on each channel now.
type eventRow struct {
	Label string
	Sends []bool // per channel, in Channels order
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
	// What goes out follows the saved settings: messages on every verified channel while
	// notifications are on; reminders and follow-ups only when they have offsets.
	for _, ev := range []struct {
		label string
		on    bool
	}{
		{v.T("Confirmation of a new booking"), true},
		{v.T("Change of time, agent or details"), true},
		{v.T("Cancellation message"), true},
		{v.T("Reminders before the start"), len(saved.ReminderOffsetsMinutes) > 0},
		{v.T("Follow-ups after the end"), len(saved.FollowUpOffsetsMinutes) > 0},
	} {
		row := eventRow{Label: ev.label}
		for _, ch := range p.Channels {
			row.Sends = append(row.Sends, saved.Enabled && ev.on && ch.Verified)
		}
		p.Events = append(p.Events, row)
	}
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
