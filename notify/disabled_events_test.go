package notify_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/notify"
	"rendezvous/store/storetest"
)

// TestDisabledEventsPlanNothingOnTheirChannel: with reminders switched off on SMS and the
// confirmation switched off on email (settings saved and read back through the store), a
// booking sends its confirmation by SMS only and plans its reminders by email only.
func TestDisabledEventsPlanNothingOnTheirChannel(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d)
			e.seed()
			set, err := e.svc.Settings(e.ctx, e.org)
			if err != nil {
				t.Fatal(err)
			}
			set.DisabledEvents = []string{"reminder/sms", "created/email"}
			if _, err := e.svc.PutSettings(e.ctx, e.org, set); err != nil {
				t.Fatal(err)
			}
			if got, err := e.svc.Settings(e.ctx, e.org); err != nil || !slices.Equal(got.DisabledEvents, set.DisabledEvents) {
				t.Fatalf("read back %+v, %v", got.DisabledEvents, err)
			}
			set.DisabledEvents = []string{"reminder/fax"}
			if _, err := e.svc.PutSettings(e.ctx, e.org, set); err == nil {
				t.Fatal("an unknown channel was saved")
			}
			e.start()
			phone, mail := "+4915112345678", "jonas@example.de"
			a := e.book(t0.Add(72*time.Hour), "Europe/Berlin", rendezvous.Customer{Name: "Jonas", Phone: phone, Email: mail, Language: "de"})
			e.settle()
			if len(e.outbox(phone)) != 1 || len(e.outbox(mail)) != 0 {
				t.Fatalf("created: %d sms, %d email; want the confirmation by SMS only", len(e.outbox(phone)), len(e.outbox(mail)))
			}
			ds := e.deliveries(a.ID)
			if n := len(find(ds, notify.KindReminder, "", "sms", "")); n != 0 {
				t.Errorf("%d sms reminders planned, want none", n)
			}
			if n := len(find(ds, notify.KindReminder, "", "email", notify.OutcomeScheduled)); n != 2 {
				t.Errorf("%d email reminders scheduled, want 2", n)
			}
			if n := len(find(ds, notify.KindMessage, "created", "email", "")); n != 0 {
				t.Errorf("%d email confirmations planned, want none", n)
			}

			// Switched off after they were planned: the email reminders are skipped when due,
			// with the reason in the log.
			set.DisabledEvents = []string{"reminder/sms", "created/email", "reminder/email"}
			if _, err := e.svc.PutSettings(e.ctx, e.org, set); err != nil {
				t.Fatal(err)
			}
			e.advanceTo(a.Start.Add(-24 * time.Hour))
			if len(e.outbox(mail)) != 0 {
				t.Errorf("%d emails after reminders by email were switched off", len(e.outbox(mail)))
			}
			skipped := find(e.deliveries(a.ID), notify.KindReminder, "", "email", notify.OutcomeSkipped)
			if len(skipped) != 1 {
				t.Fatalf("%d email reminders skipped at the 24 h mark, want 1: %+v", len(skipped), e.deliveries(a.ID))
			}
			contains(t, "skip reason", fmt.Sprintf("%+v", skipped[0]), "reminder messages by email are switched off")
		})
	}
}
