package notify_test

import (
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
		})
	}
}
