package notify_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/genesys/sandbox"
	"rendezvous/notify"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// TestEventsInTwoLanguagesAndZones books one appointment for an English customer in New
// York and one for a German customer in Berlin, each after its zone's daylight-saving
// change, and follows both through created, reminders, reschedule, cancel and follow-up.
func TestEventsInTwoLanguagesAndZones(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d)
			e.seed()
			e.start()
			enPhone, enMail := "+12125550147", "jane@example.com"
			dePhone, deMail := "+4915112345678", "jonas@example.de"
			// Monday 9 March 2026, 10:00 in New York: EDT since the day before.
			ny := e.book(time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC), "America/New_York",
				rendezvous.Customer{Name: "Jane <Doe>", Phone: enPhone, Email: enMail, Language: "en-US"})
			// Monday 30 March 2026, 14:30 in Berlin: CEST since the day before.
			be := e.book(time.Date(2026, 3, 30, 12, 30, 0, 0, time.UTC), "Europe/Berlin",
				rendezvous.Customer{Name: "Jonas Müller", Phone: dePhone, Email: deMail, Language: "de"})
			e.settle()

			// Created, in each customer's language and zone.
			sms := e.outbox(enPhone)
			if len(sms) != 1 {
				t.Fatalf("english sms: %+v", sms)
			}
			contains(t, "english created sms", sms[0].Text, "Hi Jane <Doe>", "Monday, March 9, 2026", "10:00 AM (EDT, Eastern Time)",
				"https://meet.example.com/a/"+ny.LinkToken, "Acme Bank")
			if sms[0].From != e.demo.SMSNumber {
				t.Errorf("sms from %s", sms[0].From)
			}
			mail := e.outbox(enMail)
			if len(mail) != 1 {
				t.Fatalf("english email: %+v", mail)
			}
			contains(t, "english created email", mail[0].Subject, "Monday, March 9, 2026")
			contains(t, "english created html", mail[0].HTML, "Hello Jane &lt;Doe&gt;", "10:00 AM (EDT, Eastern Time)",
				`href="https://meet.example.com/a/`+ny.LinkToken+`/calendar.ics"`, "30 minutes")
			if strings.Contains(mail[0].HTML, "Jane <Doe>") {
				t.Error("html carries an unescaped variable")
			}
			contains(t, "english created text", mail[0].Body, "Hello Jane <Doe>")
			desms := e.outbox(dePhone)
			if len(desms) != 1 {
				t.Fatalf("german sms: %+v", desms)
			}
			contains(t, "german created sms", desms[0].Text, "Hallo Jonas Müller", "Montag, 30. März 2026", "14:30 Uhr (MESZ, Mitteleuropäische Zeit)")
			demail := e.outbox(deMail)
			if len(demail) != 1 {
				t.Fatalf("german email: %+v", demail)
			}
			contains(t, "german created email", demail[0].Subject, "Ihr Videotermin am Montag, 30. März 2026")
			ds := e.deliveries(be.ID)
			created := find(ds, notify.KindMessage, "created", "sms", notify.OutcomeSent)
			if len(created) != 1 || created[0].Language != "de" || created[0].Template != "default" || created[0].Recipient != "+491••••••••78" ||
				created[0].MessageID == "" || created[0].ConversationID == "" || created[0].SentAt == nil || created[0].DueAt == nil || len(created[0].Attempts) != 1 {
				t.Fatalf("delivery log: %+v", created)
			}
			if n := len(find(ds, notify.KindReminder, "", "", notify.OutcomeScheduled)); n != 4 {
				t.Fatalf("%d reminders scheduled for Berlin, want 4 (2 offsets x 2 channels)", n)
			}

			// The 24 h reminder of New York (Sunday 10:00 EDT).
			e.advanceTo(ny.Start.Add(-24 * time.Hour))
			sms = e.outbox(enPhone)
			if len(sms) != 2 {
				t.Fatalf("after the 24 h reminder: %d sms", len(sms))
			}
			contains(t, "english reminder", sms[1].Text, "Reminder:", "Monday, March 9, 2026", "10:00 AM (EDT")

			// Reschedule New York by two hours: the reminders withdraw and come back.
			newStart := ny.Start.Add(2 * time.Hour)
			ny, err := e.st.UpdateAppointment(e.ctx, e.org, ny.ID, 0, func(a *rendezvous.Appointment) (string, error) {
				return "rescheduled", a.Apply(rendezvous.AppointmentPatch{Start: &newStart}, e.clk.Now())
			})
			if err != nil {
				t.Fatal(err)
			}
			e.settle()
			sms = e.outbox(enPhone)
			contains(t, "rescheduled sms", sms[len(sms)-1].Text, "has changed: it is now on Monday, March 9, 2026 at 12:00 PM (EDT, Eastern Time) instead of Monday, March 9, 2026 at 10:00 AM (EDT, Eastern Time). Join here:")
			ds = e.deliveries(ny.ID)
			if n := len(find(ds, notify.KindReminder, "", "", notify.OutcomeWithdrawn)); n != 2 {
				t.Errorf("withdrawn reminders: %d, want the two 15 min ones", n)
			}
			replanned := find(ds, notify.KindReminder, "", "", notify.OutcomeScheduled)
			if len(replanned) != 4 {
				t.Fatalf("re-planned reminders: %+v", replanned)
			}
			// The old 15 min time passes without a message; the new one sends.
			before := len(e.outbox(enPhone))
			e.advanceTo(newStart.Add(-2*time.Hour - 15*time.Minute))
			if got := len(e.outbox(enPhone)); got != before {
				t.Fatalf("a withdrawn reminder was sent (%d messages, had %d)", got, before)
			}
			e.advanceTo(newStart.Add(-24 * time.Hour))
			e.advanceTo(newStart.Add(-15 * time.Minute))
			sms = e.outbox(enPhone)
			contains(t, "new 15 min reminder", sms[len(sms)-1].Text, "12:00 PM (EDT")

			// The customer joins; the follow-up goes out an hour after the end.
			ny, err = e.st.UpdateAppointment(e.ctx, e.org, ny.ID, 0, func(a *rendezvous.Appointment) (string, error) {
				return "started", a.MarkStarted(e.clk.Now())
			})
			if err != nil {
				t.Fatal(err)
			}
			e.settle()
			e.clk.Set(ny.End())
			if _, err := e.st.UpdateAppointment(e.ctx, e.org, ny.ID, 0, func(a *rendezvous.Appointment) (string, error) {
				return "completed", a.MarkCompleted(e.clk.Now())
			}); err != nil {
				t.Fatal(err)
			}
			e.advanceTo(ny.End().Add(time.Hour))
			mail = e.outbox(enMail)
			contains(t, "follow-up email", mail[len(mail)-1].Subject, "Thank you")

			// Berlin is cancelled: the cancel message in German, the .ics cancels.
			e.advanceTo(be.Start.Add(-24 * time.Hour)) // 24 h reminder goes first
			if _, err := e.st.UpdateAppointment(e.ctx, e.org, be.ID, 0, func(a *rendezvous.Appointment) (string, error) {
				return "cancelled", a.Cancel("customer asked", e.clk.Now())
			}); err != nil {
				t.Fatal(err)
			}
			e.settle()
			desms = e.outbox(dePhone)
			contains(t, "german cancel sms", desms[len(desms)-1].Text, "wurde abgesagt", "14:30 Uhr (MESZ")
			demail = e.outbox(deMail)
			contains(t, "german cancel email", demail[len(demail)-1].HTML, "/calendar.ics")
			ics, err := e.svc.Calendar(e.ctx, be.LinkToken)
			if err != nil {
				t.Fatal(err)
			}
			contains(t, "cancelled ics", string(ics), "METHOD:CANCEL", "STATUS:CANCELLED", "UID:"+be.ID+"@meet.example.com", "SEQUENCE:1")
			count := len(e.outbox(dePhone))
			e.advanceTo(be.Start.Add(-15 * time.Minute))
			e.advanceTo(be.End().Add(time.Hour))
			if len(e.outbox(dePhone)) != count {
				t.Error("a message went out after the cancellation")
			}
			ds = e.deliveries(be.ID)
			if n := len(find(ds, notify.KindReminder, "", "", notify.OutcomeWithdrawn)); n != 2 {
				t.Errorf("withdrawn Berlin reminders: %d", n)
			}
			if n := len(find(ds, notify.KindFollowUp, "", "", notify.OutcomeWithdrawn)); n != 2 {
				t.Errorf("withdrawn Berlin follow-ups: %d", n)
			}
		})
	}
}

// TestCrashBetweenCommitAndSend books while no runner runs (the process died right after
// the commit), then starts a fresh store, service and runner on the same database: the
// messages go out once. It then leaves a delivery as a crash in the middle of a send would
// (marked sending, its job due again): the rerun does not send it twice.
func TestCrashBetweenCommitAndSend(t *testing.T) {
	e := newEnv(t, store.SQLite)
	e.seed()
	phone := "+4915112345678"
	a := e.book(t0.Add(72*time.Hour), "Europe/Berlin", rendezvous.Customer{Name: "Jonas", Phone: phone, Language: "de"})
	if len(e.outbox(phone)) != 0 {
		t.Fatal("sent before any runner ran")
	}
	// Restart: a new process on the same database.
	e.st.Close()
	e.open()
	e.start()
	e.settle()
	if n := len(e.outbox(phone)); n != 1 {
		t.Fatalf("after restart: %d messages, want 1", n)
	}
	// Handling the same event again (a crash before the event job was marked done) plans
	// nothing twice.
	if err := e.svc.HandleAppointmentEvent(e.ctx, &store.Job{OrgID: e.org, Kind: notify.EventJobKind,
		Args: store.EventArgs{AppointmentID: a.ID, Event: "created", Version: 1}}); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if n := len(e.outbox(phone)); n != 1 {
		t.Fatalf("event handled twice: %d messages", n)
	}
	if n := len(e.deliveries(a.ID)); n != 4 { // created + 2 reminders + follow-up
		t.Fatalf("%d deliveries after a replayed event, want 4", n)
	}

	// A crash during a send leaves the delivery "sending" and its job due again.
	e.halt()
	created := find(e.deliveries(a.ID), notify.KindMessage, "created", "sms", notify.OutcomeSent)[0]
	err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(e.ctx, "UPDATE notify_deliveries SET outcome = 'sending' WHERE id = ?", created.ID); err != nil {
			return err
		}
		_, err := tx.Exec(e.ctx, "UPDATE jobs SET state = 'pending', run_at = ? WHERE kind = ? AND args LIKE ?",
			store.TimeToDB(e.clk.Now()), notify.SendJobKind, "%"+created.ID+"%")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.start()
	e.settle()
	if n := len(e.outbox(phone)); n != 1 {
		t.Fatalf("a possibly delivered message was re-sent: %d messages", n)
	}
	got := find(e.deliveries(a.ID), notify.KindMessage, "created", "sms", "")[0]
	if got.Outcome != notify.OutcomeUnknown || !strings.Contains(got.Error, "not re-sent automatically") {
		t.Fatalf("after the interrupted send: %+v", got)
	}
	// An agent can retry it by hand.
	if _, err := e.svc.Retry(e.ctx, e.org, a.ID, got.ID); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if n := len(e.outbox(phone)); n != 2 {
		t.Fatalf("manual retry: %d messages, want 2", n)
	}
}

// TestRetries: a 429 waits for Retry-After, a 5xx is retried with backoff, a 403 is not
// retried.
func TestRetries(t *testing.T) {
	e := newEnv(t, store.SQLite)
	e.seed()
	e.start()
	phone := "+4915112345678"
	smsPath := "/api/v2/conversations/messages/agentless"

	// 429 with a Retry-After longer than the client waits inline: the job comes back then.
	e.sb.InjectFault(sandbox.Fault{Method: http.MethodPost, PathPrefix: smsPath, Status: http.StatusTooManyRequests, RetryAfter: 90 * time.Second})
	a := e.book(t0.Add(72*time.Hour), "Europe/Berlin", rendezvous.Customer{Name: "Jonas", Phone: phone})
	e.settle()
	d := find(e.deliveries(a.ID), notify.KindMessage, "created", "sms", "")[0]
	if d.Outcome != notify.OutcomeRetrying || len(d.Attempts) != 1 || d.Attempts[0].Status != 429 || len(e.outbox(phone)) != 0 {
		t.Fatalf("after 429: %+v", d)
	}
	e.advanceTo(e.clk.Now().Add(89 * time.Second))
	if len(e.outbox(phone)) != 0 {
		t.Fatal("retried before Retry-After")
	}
	e.advanceTo(e.clk.Now().Add(2 * time.Second))
	d = find(e.deliveries(a.ID), notify.KindMessage, "created", "sms", "")[0]
	if d.Outcome != notify.OutcomeSent || len(d.Attempts) != 2 || len(e.outbox(phone)) != 1 {
		t.Fatalf("after Retry-After: %+v", d)
	}

	// 503 twice: retried with backoff, then sent once.
	e.sb.InjectFault(sandbox.Fault{Method: http.MethodPost, PathPrefix: smsPath, Status: http.StatusServiceUnavailable, Count: 2, RetryAfter: -1})
	phone2 := "+4915112345679"
	b := e.book(t0.Add(96*time.Hour), "Europe/Berlin", rendezvous.Customer{Name: "Lena", Phone: phone2})
	e.settle()
	for i := 0; i < 5 && len(e.outbox(phone2)) == 0; i++ {
		e.advanceTo(e.clk.Now().Add(time.Minute))
	}
	d = find(e.deliveries(b.ID), notify.KindMessage, "created", "sms", "")[0]
	if d.Outcome != notify.OutcomeSent || len(d.Attempts) != 3 || d.Attempts[0].Status != 503 || len(e.outbox(phone2)) != 1 {
		t.Fatalf("after 5xx: %+v", d)
	}

	// 403: the SMS channel uses a client without conversation:message:create.
	if _, err := e.st.UpdateNotifyChannel(e.ctx, e.org, "sms", func(c *store.NotifyChannel) error {
		c.ClientID = e.demo.EmailClient.ID
		sealed, err := e.box.Seal([]byte(e.demo.EmailClient.Secret))
		c.SecretSealed = sealed
		return err
	}); err != nil {
		t.Fatal(err)
	}
	phone3 := "+4915112345670"
	c := e.book(t0.Add(120*time.Hour), "Europe/Berlin", rendezvous.Customer{Name: "Mia", Phone: phone3})
	e.settle()
	e.advanceTo(e.clk.Now().Add(10 * time.Minute))
	d = find(e.deliveries(c.ID), notify.KindMessage, "created", "sms", "")[0]
	if d.Outcome != notify.OutcomeFailed || len(d.Attempts) != 1 || d.Attempts[0].Status != 403 || len(e.outbox(phone3)) != 0 {
		t.Fatalf("after 403: %+v", d)
	}
	jobs, err := e.st.Jobs(e.ctx, e.org, notify.SendJobKind)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if strings.Contains(fmt.Sprint(j.Args), d.ID) && (j.State != store.JobFailed || j.Attempt != 1) {
			t.Fatalf("403 job: state %s after %d attempts", j.State, j.Attempt)
		}
	}
}

// TestAppointmentChannelChoices: switching SMS off for one appointment withdraws its SMS
// reminders and keeps the email ones.
func TestAppointmentChannelChoices(t *testing.T) {
	e := newEnv(t, store.SQLite)
	e.seed()
	e.start()
	phone, mail := "+4915112345678", "jonas@example.de"
	a := e.book(t0.Add(72*time.Hour), "Europe/Berlin", rendezvous.Customer{Name: "Jonas", Phone: phone, Email: mail, Language: "de"})
	e.settle()
	if len(e.outbox(phone)) != 1 || len(e.outbox(mail)) != 1 {
		t.Fatalf("created: %d sms, %d email", len(e.outbox(phone)), len(e.outbox(mail)))
	}
	got, err := e.svc.AppointmentChannels(e.ctx, e.org, a.ID)
	if err != nil || !got.SMS || !got.Email {
		t.Fatalf("default choices: %+v %v", got, err)
	}
	if _, err := e.svc.PutAppointmentChannels(e.ctx, e.org, a.ID, notify.AppointmentChannels{SMS: false, Email: true}); err != nil {
		t.Fatal(err)
	}
	e.settle()
	ds := e.deliveries(a.ID)
	if n := len(find(ds, notify.KindReminder, "", "sms", notify.OutcomeScheduled)); n != 0 {
		t.Errorf("%d sms reminders still scheduled", n)
	}
	if n := len(find(ds, notify.KindReminder, "", "email", notify.OutcomeScheduled)); n != 2 {
		t.Errorf("%d email reminders scheduled, want 2", n)
	}
	e.advanceTo(a.Start.Add(-24 * time.Hour))
	if len(e.outbox(phone)) != 1 || len(e.outbox(mail)) != 2 {
		t.Fatalf("24 h reminder: %d sms, %d email", len(e.outbox(phone)), len(e.outbox(mail)))
	}
}

// TestChangesCoalesce: changes within the coalescing window reach the customer as one
// message saying what changed, or as none when nothing they were told changed; a booking
// cancelled before its confirmation went sends only the cancellation.
func TestChangesCoalesce(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d)
			e.seed()
			set := notify.DefaultSettings()
			set.CoalesceSeconds = 120
			set.BrandColor, set.LogoURL = "#b3261e", "https://acme.example/logo.png"
			if _, err := e.svc.PutSettings(e.ctx, e.org, set); err != nil {
				t.Fatal(err)
			}
			e.start()
			change := func(a *rendezvous.Appointment, event string, p rendezvous.AppointmentPatch) *rendezvous.Appointment {
				t.Helper()
				a, err := e.st.UpdateAppointment(e.ctx, e.org, a.ID, 0, func(a *rendezvous.Appointment) (string, error) {
					return event, a.Apply(p, e.clk.Now())
				})
				if err != nil {
					t.Fatal(err)
				}
				e.settle()
				return a
			}
			minutes := func(n int) *int { return &n }
			at := func(t time.Time) *time.Time { return &t }

			// Book, edit twice and cancel within seconds: only the cancellation goes.
			phone, mail := "+12125550147", "jane@example.com"
			a := e.book(t0.Add(72*time.Hour), "America/New_York", rendezvous.Customer{Name: "Jane", Phone: phone, Email: mail, Language: "en"})
			e.advanceTo(e.clk.Now().Add(3 * time.Second))
			a = change(a, "rescheduled", rendezvous.AppointmentPatch{DurationMinutes: minutes(45)})
			e.advanceTo(e.clk.Now().Add(3 * time.Second))
			a = change(a, "rescheduled", rendezvous.AppointmentPatch{Start: at(a.Start.Add(time.Hour))})
			e.advanceTo(e.clk.Now().Add(3 * time.Second))
			if _, err := e.st.UpdateAppointment(e.ctx, e.org, a.ID, 0, func(a *rendezvous.Appointment) (string, error) {
				return "cancelled", a.Cancel("customer asked", e.clk.Now())
			}); err != nil {
				t.Fatal(err)
			}
			e.settle()
			e.advanceTo(e.clk.Now().Add(10 * time.Minute))
			if sms, mails := e.outbox(phone), e.outbox(mail); len(sms) != 1 || len(mails) != 1 ||
				!strings.Contains(sms[0].Text, "has been cancelled") || !strings.Contains(mails[0].Subject, "is cancelled") {
				t.Fatalf("book, two edits, cancel: %d sms %+v, %d emails; want the cancellation only\n%+v", len(sms), sms, len(mails), e.deliveries(a.ID))
			}

			// Book, edit twice within the window: one confirmation with the final details.
			phone, mail = "+12125550148", "john@example.com"
			b := e.book(t0.Add(96*time.Hour), "America/New_York", rendezvous.Customer{Name: "John", Phone: phone, Email: mail, Language: "en"})
			e.advanceTo(e.clk.Now().Add(30 * time.Second))
			b = change(b, "rescheduled", rendezvous.AppointmentPatch{DurationMinutes: minutes(45)})
			b = change(b, "rescheduled", rendezvous.AppointmentPatch{Start: at(b.Start.Add(30 * time.Minute))})
			e.advanceTo(e.clk.Now().Add(2 * time.Minute))
			sms := e.outbox(phone)
			if len(sms) != 1 || len(e.outbox(mail)) != 1 || !strings.Contains(sms[0].Text, "is booked for Tuesday, March 10, 2026 at 5:30 AM (EDT, Eastern Time)") {
				t.Fatalf("book and two edits: %d sms %+v, %d emails; want one confirmation of the final time", len(sms), sms, len(e.outbox(mail)))
			}
			if !strings.Contains(e.outbox(mail)[0].Body, "(45 minutes)") {
				t.Errorf("confirmation email without the final length:\n%s", e.outbox(mail)[0].Body)
			}
			// The email wears the organization's name, logo and colour (settings).
			contains(t, "branded email", e.outbox(mail)[0].HTML, `border-top: 6px solid #b3261e`,
				`<img src="https://acme.example/logo.png"`, `color: #b3261e">Acme Bank</strong>`, `<a style="color: #b3261e" href=`)

			// Later, the length and then the agent change within the window: one message
			// saying both, and not the time, which did not change.
			b = change(b, "rescheduled", rendezvous.AppointmentPatch{DurationMinutes: minutes(60)})
			e.advanceTo(e.clk.Now().Add(20 * time.Second))
			agent := e.demo.Agents[1].ID
			b = change(b, "reassigned", rendezvous.AppointmentPatch{AgentUserID: &agent})
			e.advanceTo(e.clk.Now().Add(2 * time.Minute))
			sms = e.outbox(phone)
			if len(sms) != 2 || !strings.Contains(sms[1].Text, "has changed: it now lasts 1 hour instead of 45 minutes; another agent will now meet you. Join here:") {
				t.Fatalf("length and agent changed: %+v", sms)
			}
			if len(e.outbox(mail)) != 2 {
				t.Fatalf("length and agent changed: %d emails", len(e.outbox(mail)))
			}

			// The time moves and moves back within the window: nothing to tell.
			b = change(b, "rescheduled", rendezvous.AppointmentPatch{Start: at(b.Start.Add(time.Hour))})
			b = change(b, "rescheduled", rendezvous.AppointmentPatch{Start: at(b.Start.Add(-time.Hour))})
			e.advanceTo(e.clk.Now().Add(3 * time.Minute))
			if n := len(e.outbox(phone)); n != 2 {
				t.Fatalf("a change undone within the window sent a message: %+v", e.outbox(phone))
			}
			skipped := find(e.deliveries(b.ID), notify.KindMessage, "rescheduled", "sms", notify.OutcomeSkipped)
			if len(skipped) != 1 || !strings.Contains(skipped[0].Error, "nothing the customer was told has changed") {
				t.Errorf("the undone change's delivery: %+v", skipped)
			}
		})
	}
}
