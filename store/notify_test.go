package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// TestNotifyTables covers the notification rows on both databases: channel
// read-modify-write, template overrides, and deliveries with their deduplication,
// withdrawal and attempts.
func TestNotifyTables(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, d)
			if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "o", Name: "O"}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.NotifyChannel(ctx, "o", "sms"); !errors.Is(err, rendezvous.ErrNotFound) {
				t.Fatalf("missing channel: %v", err)
			}
			for i := 1; i <= 3; i++ {
				if _, err := st.UpdateNotifyChannel(ctx, "o", "sms", func(c *store.NotifyChannel) error {
					c.ClientID, c.SecretSealed, c.OTPAttempts = "client", []byte{1, 2, 3}, c.OTPAttempts+1
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			c, err := st.NotifyChannel(ctx, "o", "sms")
			if err != nil || c.OTPAttempts != 3 || c.ClientID != "client" || len(c.SecretSealed) != 3 {
				t.Fatalf("channel: %+v %v", c, err)
			}
			// An error from change saves nothing.
			boom := errors.New("boom")
			if _, err := st.UpdateNotifyChannel(ctx, "o", "sms", func(c *store.NotifyChannel) error { c.OTPAttempts = 99; return boom }); !errors.Is(err, boom) {
				t.Fatal(err)
			}
			if c, _ := st.NotifyChannel(ctx, "o", "sms"); c.OTPAttempts != 3 {
				t.Fatalf("aborted change saved: %d", c.OTPAttempts)
			}

			if err := st.PutNotifyTemplate(ctx, "o", store.NotifyTemplate{Event: "created", Channel: "sms", Language: "de", Text: "a"}); err != nil {
				t.Fatal(err)
			}
			if err := st.PutNotifyTemplate(ctx, "o", store.NotifyTemplate{Event: "created", Channel: "sms", Language: "de", Text: "b"}); err != nil {
				t.Fatal(err)
			}
			if tpl, err := st.NotifyTemplate(ctx, "o", "created", "sms", "de"); err != nil || tpl.Text != "b" {
				t.Fatalf("template: %+v %v", tpl, err)
			}
			if err := st.DeleteNotifyTemplate(ctx, "o", "created", "sms", "de"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.NotifyTemplate(ctx, "o", "created", "sms", "de"); !errors.Is(err, rendezvous.ErrNotFound) {
				t.Fatalf("deleted template: %v", err)
			}

			due := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
			err = st.InTx(ctx, func(tx *store.Tx) error {
				for i, key := range []string{"k1", "k2", "k1"} {
					ok, err := tx.InsertNotifyDelivery(ctx, &store.NotifyDelivery{ID: key + string(rune('a'+i)), OrgID: "o", AppointmentID: "a1",
						DedupeKey: key, Kind: "reminder", Event: "reminder", Channel: "sms", DueAt: due, Outcome: "scheduled"})
					if err != nil {
						return err
					}
					if ok != (i < 2) {
						t.Errorf("insert %d (%s): inserted=%v", i, key, ok)
					}
				}
				n, err := tx.WithdrawNotifyDeliveries(ctx, "o", "a1", "moved", "reminder")
				if n != 2 {
					t.Errorf("withdrew %d", n)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			err = st.InTx(ctx, func(tx *store.Tx) error {
				dl, err := tx.NotifyDeliveryForUpdate(ctx, "o", "k1a")
				if err != nil {
					return err
				}
				dl.Outcome, dl.Attempts, dl.SentAt = "sent", 1, due.Add(time.Second)
				if err := tx.PutNotifyAttempt(ctx, dl.ID, store.NotifyAttempt{N: 1, StartedAt: due, Outcome: "sending"}); err != nil {
					return err
				}
				if err := tx.PutNotifyAttempt(ctx, dl.ID, store.NotifyAttempt{N: 1, StartedAt: due, FinishedAt: dl.SentAt, Outcome: "sent", Status: 202}); err != nil {
					return err
				}
				return tx.SaveNotifyDelivery(ctx, dl)
			})
			if err != nil {
				t.Fatal(err)
			}
			ds, err := st.NotifyDeliveries(ctx, "o", "a1")
			if err != nil || len(ds) != 2 {
				t.Fatalf("deliveries: %d %v", len(ds), err)
			}
			for _, dl := range ds {
				switch dl.ID {
				case "k1a":
					if dl.Outcome != "sent" || len(dl.AttemptLog) != 1 || dl.AttemptLog[0].Status != 202 || !dl.SentAt.Equal(due.Add(time.Second)) {
						t.Errorf("k1a: %+v", dl)
					}
				case "k2b":
					if dl.Outcome != "withdrawn" || dl.Error != "moved" {
						t.Errorf("k2b: %+v", dl)
					}
				}
			}
		})
	}
}
