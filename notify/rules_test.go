package notify

import (
	"strings"
	"testing"
	"time"

	"rendezvous"
)

func testAppointment(start time.Time) *rendezvous.Appointment {
	return &rendezvous.Appointment{
		ID: "a1", OrgID: "o", Status: rendezvous.StatusScheduled, Version: 1, Start: start, Duration: 30 * time.Minute,
		TimeZone: "Europe/Berlin", NotificationsEnabled: true,
		Customers: []rendezvous.Customer{{Name: "A", Phone: "+4915112345678", Email: "a@example.com"}, {Name: "B", Email: "b@example.com"}},
	}
}

func TestPlanEvent(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	start := now.Add(48 * time.Hour)
	both := []Channel{ChannelSMS, ChannelEmail}
	count := func(p Plan, kind string) int {
		n := 0
		for _, d := range p.Deliveries {
			if d.Kind == kind {
				n++
			}
		}
		return n
	}
	a := testAppointment(start)
	p := PlanEvent(a, "created", 1, DefaultSettings(), both, now)
	// customer A: sms+email, customer B: email → 3 addresses.
	if count(p, KindMessage) != 3 || count(p, KindReminder) != 6 || count(p, KindFollowUp) != 3 || len(p.Withdraw) != 0 {
		t.Fatalf("created plan: %+v", p)
	}
	for _, d := range p.Deliveries {
		switch {
		case d.Kind == KindReminder && d.OffsetMinutes == 15 && !d.Due.Equal(start.Add(-15*time.Minute)):
			t.Errorf("15 min reminder due %s", d.Due)
		case d.Kind == KindFollowUp && !d.Due.Equal(start.Add(90*time.Minute)):
			t.Errorf("follow-up due %s, want end + 60 min", d.Due)
		}
	}
	// Only verified channels are planned.
	if p := PlanEvent(a, "created", 1, DefaultSettings(), []Channel{ChannelSMS}, now); len(p.Deliveries) != 4 {
		t.Errorf("sms only: %d deliveries, want 4", len(p.Deliveries))
	}
	// A reminder already due when planned is not planned: booked 10 hours ahead, the 24 h
	// reminder is dropped.
	soon := testAppointment(now.Add(10 * time.Hour))
	if p := PlanEvent(soon, "created", 1, DefaultSettings(), both, now); count(p, KindReminder) != 3 {
		t.Errorf("reminders for a booking 10 h ahead: %d, want 3 (15 min only)", count(p, KindReminder))
	}
	// Rescheduled: withdraw, message, re-plan at the current version.
	a.Version = 2
	p = PlanEvent(a, "rescheduled", 2, DefaultSettings(), both, now)
	if strings.Join(p.Withdraw, ",") != "reminder,followup" || count(p, KindMessage) != 3 || count(p, KindReminder) != 6 {
		t.Errorf("rescheduled plan: %+v", p)
	}
	if k := p.Deliveries[3].Key("a1"); !strings.HasPrefix(k, "notify/a1/reminder/") || !strings.HasSuffix(k, "/v2") {
		t.Errorf("key %q", k)
	}
	// A change message waits for the coalescing window; so does a booking's.
	for _, d := range p.Deliveries {
		if d.Kind == KindMessage && (d.Event != EventRescheduled || !d.Due.Equal(now.Add(DefaultCoalesceSeconds*time.Second))) {
			t.Errorf("rescheduled message %+v, want a change message due after the window", d)
		}
	}
	// Updated or reassigned: a change message too (it says nothing if nothing changed).
	if p := PlanEvent(a, "reassigned", 2, DefaultSettings(), both, now); count(p, KindMessage) != 3 || p.Deliveries[0].Event != EventRescheduled {
		t.Errorf("reassigned plan: %+v", p)
	}
	// Cancelled: withdraw (the messages still waiting too) and the cancel message only,
	// at once.
	a.Status = rendezvous.StatusCancelled
	p = PlanEvent(a, "cancelled", 3, DefaultSettings(), both, now)
	if count(p, KindMessage) != 3 || count(p, KindReminder) != 0 || p.Deliveries[0].Event != EventCancelled || !p.Deliveries[0].Due.Equal(now) ||
		strings.Join(p.Withdraw, ",") != "message,reminder,followup" {
		t.Errorf("cancelled plan: %+v", p)
	}
	// Switched off at booking: withdrawals only.
	a.NotificationsEnabled = false
	if p := PlanEvent(a, "cancelled", 3, DefaultSettings(), both, now); len(p.Deliveries) != 0 || len(p.Withdraw) != 3 {
		t.Errorf("disabled plan: %+v", p)
	}
}

func TestSkipReason(t *testing.T) {
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	set := DefaultSettings()
	due := start.Add(-15 * time.Minute)
	cases := []struct {
		name   string
		mod    func(a *rendezvous.Appointment)
		kind   string
		event  Event
		now    time.Time
		manual bool
		want   string // substring; "" = send
	}{
		{"reminder on time", nil, KindReminder, EventReminder, due, false, ""},
		{"reminder a little late", nil, KindReminder, EventReminder, due.Add(10 * time.Minute), false, ""},
		{"reminder after start", nil, KindReminder, EventReminder, start, false, "already started"},
		{"reminder too late", func(a *rendezvous.Appointment) { a.Start = start.Add(24 * time.Hour) }, KindReminder, EventReminder, due.Add(2 * time.Hour), false, "later than the allowed 60 minutes"},
		{"manual retry ignores lateness", func(a *rendezvous.Appointment) { a.Start = start.Add(24 * time.Hour) }, KindReminder, EventReminder, due.Add(2 * time.Hour), true, ""},
		{"reminder of a started appointment", func(a *rendezvous.Appointment) { a.Status = rendezvous.StatusInProgress }, KindReminder, EventReminder, due, false, "in_progress"},
		{"follow-up, nobody joined", nil, KindFollowUp, EventFollowUp, start.Add(2 * time.Hour), false, "nobody joined"},
		{"follow-up after a meeting", func(a *rendezvous.Appointment) {
			a.Status, a.StartedAt = rendezvous.StatusCompleted, start
		}, KindFollowUp, EventFollowUp, start.Add(2 * time.Hour), false, ""},
		{"created message of a cancelled appointment", func(a *rendezvous.Appointment) { a.Status = rendezvous.StatusCancelled }, KindMessage, EventCreated, due, false, "cancelled before"},
		{"cancel message", func(a *rendezvous.Appointment) { a.Status = rendezvous.StatusCancelled }, KindMessage, EventCancelled, due, false, ""},
		{"switched off", func(a *rendezvous.Appointment) { a.NotificationsEnabled = false }, KindMessage, EventCreated, due, false, "switched off"},
	}
	for _, c := range cases {
		a := testAppointment(start)
		if c.mod != nil {
			c.mod(a)
		}
		got := SkipReason(a, c.kind, c.event, due, c.manual, set, c.now)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestSettingsValidate(t *testing.T) {
	if err := DefaultSettings().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Settings{ReminderOffsetsMinutes: []int{0, 15, 15}, FollowUpOffsetsMinutes: []int{1, 2, 3, 4, 5, 6}, ReminderMaxLatenessMinutes: -1, DefaultLanguage: "xx"}
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad settings accepted")
	}
	for _, f := range []string{"reminderOffsetsMinutes[0]", "reminderOffsetsMinutes[2]", "followUpOffsetsMinutes", "reminderMaxLatenessMinutes", "defaultLanguage"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("no problem on %s: %v", f, err)
		}
	}
}

func TestICS(t *testing.T) {
	a := testAppointment(time.Date(2026, 3, 30, 12, 30, 0, 0, time.UTC)) // after Berlin's switch to CEST
	a.ID, a.Version = "0b7c", 1
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	long := "Video appointment with " + strings.Repeat("a very long organization name, ", 4)
	ics := string(ICS(CalendarInput{Appointment: a, Summary: long, Link: "https://meet.example.com/a/tok", Host: "meet.example.com", Now: now}))
	for _, want := range []string{
		"BEGIN:VCALENDAR\r\n", "METHOD:PUBLISH\r\n", "UID:0b7c@meet.example.com\r\n", "SEQUENCE:0\r\n",
		"DTSTART:20260330T123000Z\r\n", "DTEND:20260330T130000Z\r\n",
		"STATUS:CONFIRMED\r\n", "DTSTAMP:20260301T090000Z\r\n", "SUMMARY:Video appointment with a very long organization name\\, ",
	} {
		if !strings.Contains(ics, want) {
			t.Errorf("ics lacks %q:\n%s", want, ics)
		}
	}
	for _, line := range strings.Split(ics, "\r\n") {
		if len(line) > 75 {
			t.Errorf("line longer than 75 octets: %q", line)
		}
	}
	// Rescheduled twice, then cancelled: same UID, higher SEQUENCE, METHOD:CANCEL.
	a.Version, a.Status = 4, rendezvous.StatusCancelled
	ics = string(ICS(CalendarInput{Appointment: a, Summary: "x", Host: "meet.example.com", Now: now}))
	for _, want := range []string{"METHOD:CANCEL\r\n", "STATUS:CANCELLED\r\n", "UID:0b7c@meet.example.com\r\n", "SEQUENCE:3\r\n"} {
		if !strings.Contains(ics, want) {
			t.Errorf("cancel ics lacks %q:\n%s", want, ics)
		}
	}
}

func TestBrandSettings(t *testing.T) {
	for _, c := range []struct {
		color, logo string
		fields      string
	}{
		{"#2457C5", "https://bank.example/logo.svg", ""},
		{"blue", "", "brandColor"},
		{"#12345", "", "brandColor"},
		{"", "http://bank.example/logo.png", "logoUrl"},
		{"", "javascript:alert(1)", "logoUrl"},
		{"", `https://bank.example/a"onerror="x`, "logoUrl"},
	} {
		s := DefaultSettings()
		s.BrandColor, s.LogoURL = c.color, c.logo
		err := s.Validate()
		if (err == nil) != (c.fields == "") || (err != nil && !strings.Contains(err.Error(), c.fields)) {
			t.Errorf("%q %q: %v, want problems on %q", c.color, c.logo, err, c.fields)
		}
	}
	// A custom template's HTML is left alone.
	if got := brand("<p>mine</p>", "Acme", DefaultSettings()); got != "<p>mine</p>" {
		t.Errorf("custom HTML branded: %s", got)
	}
}

// TestPlanEventDisabledEvents: an event switched off on a channel plans nothing on that
// channel and leaves the other channel and the other events alone.
func TestPlanEventDisabledEvents(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	both := []Channel{ChannelSMS, ChannelEmail}
	// per (kind, channel) the deliveries a created event plans for testAppointment: customer
	// A has sms and email, B email only; two reminders, one follow-up.
	type counts map[string]int
	cases := []struct {
		name  string
		off   []string
		event string
		want  counts
	}{
		{"default sends all", nil, "created",
			counts{"message/sms": 1, "message/email": 2, "reminder/sms": 2, "reminder/email": 4, "followup/sms": 1, "followup/email": 2}},
		{"reminders off on sms", []string{"reminder/sms"}, "created",
			counts{"message/sms": 1, "message/email": 2, "reminder/email": 4, "followup/sms": 1, "followup/email": 2}},
		{"confirmation off on email, follow-up off on both", []string{"created/email", "followup/sms", "followup/email"}, "created",
			counts{"message/sms": 1, "reminder/sms": 2, "reminder/email": 4}},
		{"change message off on sms", []string{"rescheduled/sms", "created/email"}, "rescheduled",
			counts{"message/email": 2, "reminder/sms": 2, "reminder/email": 4, "followup/sms": 1, "followup/email": 2}},
		{"cancellation off on email", []string{"cancelled/email"}, "cancelled",
			counts{"message/sms": 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set := DefaultSettings()
			set.DisabledEvents = c.off
			if err := set.Validate(); err != nil {
				t.Fatal(err)
			}
			got := counts{}
			for _, d := range PlanEvent(testAppointment(now.Add(48*time.Hour)), c.event, 1, set, both, now).Deliveries {
				got[d.Kind+"/"+string(d.Channel)]++
			}
			if len(got) != len(c.want) {
				t.Fatalf("planned %v, want %v", got, c.want)
			}
			for k, n := range c.want {
				if got[k] != n {
					t.Errorf("planned %v, want %v", got, c.want)
				}
			}
		})
	}
}

func TestSettingsSends(t *testing.T) {
	set := DefaultSettings()
	for _, e := range Events() {
		for _, ch := range Channels() {
			if !set.Sends(e, ch) {
				t.Errorf("default settings do not send %s on %s", e, ch)
			}
		}
	}
	set.DisabledEvents = []string{EventChannel(EventReminder, ChannelSMS)}
	if set.Sends(EventReminder, ChannelSMS) || !set.Sends(EventReminder, ChannelEmail) || !set.Sends(EventCreated, ChannelSMS) {
		t.Errorf("reminder/sms off: %+v", set)
	}
	for _, c := range []struct {
		off  []string
		want string // in the problem, "" for valid
	}{
		{[]string{"reminder/sms", "followup/email"}, ""},
		{[]string{"birthday/sms"}, "disabledEvents[0]: names no event"},
		{[]string{"reminder/fax"}, "disabledEvents[0]: names no channel"},
		{[]string{"reminder"}, "disabledEvents[0]: names no channel"},
		{[]string{"reminder/sms", "reminder/sms"}, "disabledEvents[1]: repeats reminder/sms"},
	} {
		set.DisabledEvents = c.off
		err := set.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%v: %v, want %q", c.off, err, c.want)
		}
	}
}
