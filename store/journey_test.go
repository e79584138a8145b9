package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

func TestJourneyStore(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			clk := clock.NewFake(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
			st := storetest.OpenWith(t, d, store.Options{Clock: clk})
			a := bookOne(t, st, "org1", "agent", clk.Now())

			// Settings: none, then saved, then replaced.
			if _, _, err := st.JourneySettings(ctx, "org1"); !errors.Is(err, rendezvous.ErrNotFound) {
				t.Fatalf("no settings yet: %v", err)
			}
			for _, body := range []string{`{"a":1}`, `{"a":2}`} {
				if _, err := st.PutJourneySettings(ctx, "org1", []byte(body)); err != nil {
					t.Fatal(err)
				}
			}
			if b, _, err := st.JourneySettings(ctx, "org1"); err != nil || string(b) != `{"a":2}` {
				t.Fatalf("settings: %s %v", b, err)
			}

			// Media round trip.
			id, err := st.PutJourneyMedia(ctx, "org1", "image/png", []byte{1, 2, 3})
			if err != nil {
				t.Fatal(err)
			}
			org, ct, body, err := st.JourneyMedia(ctx, id)
			if err != nil || org != "org1" || ct != "image/png" || len(body) != 3 {
				t.Fatalf("media: %s %s %v %v", org, ct, body, err)
			}

			// Twenty claimers at once: exactly one wins, all see the same token.
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins, tokens := 0, map[string]bool{}
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					it, won, err := st.ClaimJourneyInteraction(ctx, "org1", a.ID, "dep", []byte{byte(i)}, "owner"+string(rune('a'+i)), 30*time.Second)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					if won {
						wins++
					}
					tokens[string(it.GuestTokenSealed)] = true
				}()
			}
			wg.Wait()
			if wins != 1 || len(tokens) != 1 {
				t.Fatalf("wins %d, distinct tokens %d; want 1 and 1", wins, len(tokens))
			}
			it, err := st.JourneyInteractionOf(ctx, a.ID)
			if err != nil || it.Progress != "connecting" {
				t.Fatalf("row: %+v %v", it, err)
			}
			winner := it.LeaseOwner

			// While the lease runs nobody else wins; after it expires someone else does.
			if _, won, _ := st.ClaimJourneyInteraction(ctx, "org1", a.ID, "dep", []byte{9}, "late", 30*time.Second); won {
				t.Fatal("claimed a live lease")
			}
			if ok, err := st.RenewJourneyLease(ctx, a.ID, winner, 30*time.Second); !ok || err != nil {
				t.Fatalf("renew: %v %v", ok, err)
			}
			clk.Advance(31 * time.Second)
			it2, won, err := st.ClaimJourneyInteraction(ctx, "org1", a.ID, "dep", []byte{9}, "late", 30*time.Second)
			if err != nil || !won || string(it2.GuestTokenSealed) != string(it.GuestTokenSealed) {
				t.Fatalf("take over: won=%v err=%v same token=%v", won, err, string(it2.GuestTokenSealed) == string(it.GuestTokenSealed))
			}
			if ok, _ := st.RenewJourneyLease(ctx, a.ID, winner, 30*time.Second); ok {
				t.Fatal("the old owner renewed a lease it lost")
			}

			// Progress only moves forward.
			for _, p := range []string{"waiting_agent", "agent_joined", "waiting_agent"} {
				if err := st.SetJourneyProgress(ctx, a.ID, p, ""); err != nil {
					t.Fatal(err)
				}
			}
			it, _ = st.JourneyInteractionOf(ctx, a.ID)
			if it.Progress != "agent_joined" || it.JoinedAt.IsZero() || it.AgentJoinedAt.IsZero() {
				t.Fatalf("progress: %+v", it)
			}
			// Nobody claims an interaction whose agent joined.
			if err := st.ReleaseJourneyLease(ctx, a.ID, "late"); err != nil {
				t.Fatal(err)
			}
			if _, won, _ := st.ClaimJourneyInteraction(ctx, "org1", a.ID, "dep", nil, "x", time.Second); won {
				t.Fatal("claimed a finished interaction")
			}
		})
	}
}
