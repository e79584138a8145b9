package notify

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"rendezvous"
)

// athensAcrossDST is Europe/Athens on both sides of the last Sunday of October 2026, when
// the clocks go back from EEST (UTC+3) to EET (UTC+2).
func athensAcrossDST(t *testing.T) (before, after time.Time) {
	t.Helper()
	athens, err := time.LoadLocation("Europe/Athens")
	if err != nil {
		t.Fatal(err)
	}
	return time.Date(2026, 10, 24, 10, 0, 0, 0, time.UTC).In(athens), time.Date(2026, 10, 25, 10, 0, 0, 0, time.UTC).In(athens)
}

func TestGreekDateAndTimeAcrossDST(t *testing.T) {
	before, after := athensAcrossDST(t)
	cases := []struct {
		at         time.Time
		date, time string
	}{
		{before, "Σάββατο, 24 Οκτωβρίου 2026", "13:00 (EEST, ώρα Ελλάδας)"},
		{after, "Κυριακή, 25 Οκτωβρίου 2026", "12:00 (EET, ώρα Ελλάδας)"},
	}
	for _, c := range cases {
		if got := FormatDate(c.at, "el-GR"); got != c.date {
			t.Errorf("date = %q, want %q", got, c.date)
		}
		if got := FormatTime(c.at, "el"); got != c.time {
			t.Errorf("time = %q, want %q", got, c.time)
		}
	}
	for d, want := range map[time.Duration]string{30 * time.Minute: "30 λεπτά", time.Minute: "1 λεπτό", time.Hour: "1 ώρα", 150 * time.Minute: "2 ώρες 30 λεπτά"} {
		if got := FormatDuration(d, "el"); got != want {
			t.Errorf("duration %v = %q, want %q", d, got, want)
		}
	}
}

func TestGreekDefaultsRenderEveryEvent(t *testing.T) {
	_, after := athensAcrossDST(t)
	link := "https://meet.example.com/a/tok"
	v := Vars{
		CustomerName: "Μαρία Παπαδοπούλου", AgentName: "Νίκος Γεωργίου", OrgName: "Τράπεζα Αιγαίου",
		Date: FormatDate(after, "el"), Time: FormatTime(after, "el"), TimeZone: "Europe/Athens",
		Duration: FormatDuration(45*time.Minute, "el"),
		Link:     link, RescheduleLink: link + "/reschedule", CancelLink: link + "/cancel", CalendarLink: link + "/calendar.ics",
	}
	for _, e := range Events() {
		v.Changes = ""
		if e == EventRescheduled {
			// What a change message says when the time moved to this one.
			v.Changes = describeChanges(told{Start: after.Add(-24 * time.Hour), DurationMinutes: 45, TimeZone: "Europe/Athens"}, true,
				&rendezvous.Appointment{Start: after, Duration: 45 * time.Minute, TimeZone: "Europe/Athens"}, "el", func(string) string { return "" })
		}
		for _, ch := range Channels() {
			tpl, ok := DefaultTemplate(e, ch, "el")
			if !ok {
				t.Fatalf("no Greek default for %s/%s", e, ch)
			}
			m, err := Render(tpl, v)
			if err != nil {
				t.Fatalf("%s/%s: %v", e, ch, err)
			}
			all := m.Subject + m.Text + m.HTML
			want := []string{v.OrgName}
			if e != EventReminder || ch == ChannelEmail {
				want = append(want, v.CustomerName)
			}
			if e != EventFollowUp {
				want = append(want, "Κυριακή, 25 Οκτωβρίου 2026", "12:00 (EET, ώρα Ελλάδας)")
			}
			if e == EventCreated || e == EventRescheduled || e == EventReminder {
				want = append(want, link)
			}
			if ch == ChannelEmail {
				if e != EventCancelled {
					want = append(want, v.AgentName)
				}
				if e == EventCreated || e == EventRescheduled {
					want = append(want, "45 λεπτά", v.CalendarLink)
				}
				if e == EventCreated {
					want = append(want, v.CancelLink, v.RescheduleLink)
				}
				if m.Subject == "" || m.HTML == "" {
					t.Errorf("%s/%s: email without subject or HTML: %+v", e, ch, m)
				}
			}
			for _, w := range want {
				if !strings.Contains(all, w) {
					t.Errorf("%s/%s lacks %q:\n%s", e, ch, w, all)
				}
			}
			if strings.ContainsAny(m.Text+m.Subject, "{}") || !strings.Contains(m.Text, "σας") {
				t.Errorf("%s/%s not fully rendered Greek: %q", e, ch, m.Text)
			}
		}
	}
}

func TestGreekSMSFitsWithLongestValues(t *testing.T) {
	v := LongestVars("el", "https://rendezvous.example.com")
	for _, e := range Events() {
		tpl, _ := DefaultTemplate(e, ChannelSMS, "el")
		m, err := Render(tpl, v)
		if err != nil {
			t.Fatal(err)
		}
		info := SMSInfoOf(m.Text)
		// Greek letters outside GSM 03.38 force UCS-2: 67 UTF-16 units per part, so the
		// longest names and links take six parts; the bound catches a template that grows.
		// A change message that names the old and new time, length and agent takes more.
		parts := 6
		if e == EventRescheduled {
			parts = 10
		}
		if info.Encoding != "UCS-2" || info.Characters > 765 || info.Segments > parts {
			t.Errorf("%s: %+v, want UCS-2 within 765 characters and 6 parts", e, info)
		}
		t.Logf("%s: %d characters, %d UCS-2 parts", e, info.Characters, info.Segments)
	}
}

func TestVerificationMessageLanguage(t *testing.T) {
	for lang, want := range map[string]string{
		"":      "Your Rendezvous verification code is 123456.",
		"fr":    "Your Rendezvous verification code is 123456.",
		"de-AT": "Ihr Rendezvous-Bestätigungscode lautet 123456.",
		"el":    "Ο κωδικός επαλήθευσης Rendezvous είναι 123456.",
	} {
		sms := otpText("123456", ChannelSMS, lang)
		mail := otpText("123456", ChannelEmail, lang)
		if !strings.HasPrefix(sms.Text, want) || !strings.HasPrefix(mail.Text, want) {
			t.Errorf("%q: sms %q, email %q, want prefix %q", lang, sms.Text, mail.Text, want)
		}
		if !strings.Contains(mail.Subject, "123456") || !strings.Contains(mail.HTML, "<strong>123456</strong>") {
			t.Errorf("%q: email %+v", lang, mail)
		}
		// The lifetime it states is the one the code has.
		minutes := strconv.Itoa(int(OTPLifetime / time.Minute))
		if !strings.Contains(sms.Text, " "+minutes+" ") || !strings.Contains(mail.HTML, " "+minutes+" ") || strings.Contains(sms.Text, "%!") {
			t.Errorf("%q: %q does not say the code lasts %s minutes", lang, sms.Text, minutes)
		}
	}
}
