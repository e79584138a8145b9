package store_test

import (
	"context"
	"testing"
	"time"

	"rendezvous/secret"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// A key rotation on both databases: what the old key sealed is read with the new key plus
// the old one, Reseal moves every sealed column to the new key, and then the new key alone
// reads it all. Plain values (a column written without a box) are left alone.
func TestResealMovesEverySecretToTheNewKey(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			u := storetest.URL(t, d)
			oldKey, _ := secret.NewKey()
			newKey, _ := secret.NewKey()
			open := func(key []byte, previous ...[]byte) *store.Store {
				box, err := secret.NewBox(key, previous...)
				if err != nil {
					t.Fatal(err)
				}
				st, err := store.Open(ctx, u, store.Options{Secrets: box})
				if err != nil {
					t.Fatal(err)
				}
				return st
			}
			now := time.Now()
			st := open(oldKey)
			a := bookOne(t, st, "org1", "agent-1", now)
			body, _ := st.Secrets().Seal([]byte(`{"iceServers":[]}`))
			if _, err := st.PutRoomSettings(ctx, "org1", body); err != nil {
				t.Fatal(err)
			}
			st.Close()

			rot := open(newKey, oldKey)
			got, err := rot.Appointment(ctx, "org1", a.ID)
			if err != nil || got.LinkToken != a.LinkToken {
				t.Fatalf("the rotating store cannot read the old link: %v", err)
			}
			counts, err := rot.Reseal(ctx)
			if err != nil {
				t.Fatal(err)
			}
			resealed := map[string]int{}
			for _, c := range counts {
				resealed[c.Column] = c.Resealed
			}
			if resealed["appointments.link_sealed"] != 1 || resealed["room_settings.body"] != 1 {
				t.Fatalf("reseal counts: %+v", counts)
			}
			again, err := rot.Reseal(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range again {
				if c.Resealed != 0 {
					t.Errorf("second reseal sealed %s again: %+v", c.Column, c)
				}
			}
			rot.Close()

			fresh := open(newKey)
			defer fresh.Close()
			got, err = fresh.Appointment(ctx, "org1", a.ID)
			if err != nil || got.LinkToken != a.LinkToken {
				t.Fatalf("after the reseal the new key alone cannot read the link: %v %q", err, got.LinkToken)
			}
			raw, _, err := fresh.RoomSettings(ctx, "org1")
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := fresh.Secrets().Open(raw); err != nil || string(pt) != `{"iceServers":[]}` {
				t.Fatalf("room settings after the reseal: %q %v", pt, err)
			}
		})
	}
}
