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

func TestJourneyCallbacks(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			clk := clock.NewFake(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
			st := storetest.OpenWith(t, d, store.Options{Clock: clk})
			a := bookOne(t, st, "org1", "agent", clk.Now())

			if _, err := st.JourneyCallback(ctx, "org1", a.ID); !errors.Is(err, rendezvous.ErrNotFound) {
				t.Fatalf("no callback yet: %v", err)
			}
			c := store.Callback{AppointmentID: a.ID, OrgID: "org1", QueueID: "q1", AgentUserID: "agent", ScheduledAt: a.Start}

			// Of parallel claims exactly one wins: only it may send the create.
			var wins int
			var mu sync.Mutex
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					ok, err := st.ClaimJourneyCallback(ctx, c)
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						wins++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if wins != 1 {
				t.Fatalf("%d claims won, want 1", wins)
			}
			got, err := st.JourneyCallback(ctx, "org1", a.ID)
			if err != nil || got.State != store.CallbackCreating || got.Attempts != 1 || !got.ScheduledAt.Equal(a.Start) {
				t.Fatalf("claimed row %+v %v", got, err)
			}

			// Recorded as scheduled: no further claim.
			got.State, got.ConversationID, got.CallbackID = store.CallbackScheduled, "conv1", "cb1"
			if err := st.PutJourneyCallback(ctx, got); err != nil {
				t.Fatal(err)
			}
			if ok, err := st.ClaimJourneyCallback(ctx, c); err != nil || ok {
				t.Fatalf("claim of a scheduled callback: %v %v", ok, err)
			}
			// Another organization sees nothing.
			if _, err := st.JourneyCallback(ctx, "org2", a.ID); !errors.Is(err, rendezvous.ErrNotFound) {
				t.Fatalf("other org: %v", err)
			}

			// Failed and deferred rows (Genesys holds nothing) may be claimed again.
			for _, state := range []string{store.CallbackFailed, store.CallbackDeferred} {
				got.State, got.LastError = state, "boom"
				if err := st.PutJourneyCallback(ctx, got); err != nil {
					t.Fatal(err)
				}
				if ok, err := st.ClaimJourneyCallback(ctx, c); err != nil || !ok {
					t.Fatalf("claim after %s: %v %v", state, ok, err)
				}
				got, _ = st.JourneyCallback(ctx, "org1", a.ID)
				if got.State != store.CallbackCreating || got.ConversationID != "" {
					t.Fatalf("re-claimed row %+v", got)
				}
			}
			if got.Attempts != 3 {
				t.Fatalf("attempts %d, want 3", got.Attempts)
			}
			// Unknown and cancelled rows are never claimed again automatically.
			for _, state := range []string{store.CallbackUnknown, store.CallbackCancelled} {
				got.State = state
				if err := st.PutJourneyCallback(ctx, got); err != nil {
					t.Fatal(err)
				}
				if ok, err := st.ClaimJourneyCallback(ctx, c); err != nil || ok {
					t.Fatalf("claim after %s: %v %v", state, ok, err)
				}
			}
		})
	}
}
