package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/store/storetest"
)

func TestRoomSessions(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			st := storetest.Open(t, d)
			ctx := context.Background()
			a := bookOne(t, st, "o1", "agent-1", time.Now())
			t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

			agent, err := st.RoomJoin(ctx, a.OrgID, a.ID, "agent", t0)
			if err != nil {
				t.Fatal(err)
			}
			cust1, err := st.RoomJoin(ctx, a.OrgID, a.ID, "customer", t0.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			// A reconnect of the customer closes the first connection as replaced.
			cust2, err := st.RoomJoin(ctx, a.OrgID, a.ID, "customer", t0.Add(2*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			// The replaced connection's own late leave does not overwrite "replaced".
			if err := st.RoomLeave(ctx, cust1, t0.Add(3*time.Minute), "left"); err != nil {
				t.Fatal(err)
			}
			if err := st.RoomLeave(ctx, cust2, t0.Add(4*time.Minute), "hangup"); err != nil {
				t.Fatal(err)
			}
			got, err := st.RoomSessions(ctx, a.OrgID, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 {
				t.Fatalf("got %d sessions, want 3: %+v", len(got), got)
			}
			want := []struct {
				id           int64
				side         string
				joined, left time.Time
				reason       string
			}{
				{agent, "agent", t0, time.Time{}, ""},
				{cust1, "customer", t0.Add(time.Minute), t0.Add(2 * time.Minute), "replaced"},
				{cust2, "customer", t0.Add(2 * time.Minute), t0.Add(4 * time.Minute), "hangup"},
			}
			for i, w := range want {
				g := got[i]
				if g.ID != w.id || g.Side != w.side || !g.JoinedAt.Equal(w.joined) || !g.LeftAt.Equal(w.left) || g.LeftReason != w.reason {
					t.Errorf("session %d = %+v, want %+v", i, g, w)
				}
			}
			// An open session's heartbeat is recorded; a closed one's is not.
			if err := st.RoomSeen(ctx, agent, t0.Add(5*time.Minute)); err != nil {
				t.Fatal(err)
			}
			if err := st.RoomSeen(ctx, cust2, t0.Add(5*time.Minute)); err != nil {
				t.Fatal(err)
			}
			got, err = st.RoomSessions(ctx, a.OrgID, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !got[0].SeenAt.Equal(t0.Add(5*time.Minute)) || !got[2].SeenAt.Equal(t0.Add(2*time.Minute)) {
				t.Errorf("seen at %v and %v", got[0].SeenAt, got[2].SeenAt)
			}
			// Another organization sees nothing.
			other, err := st.RoomSessions(ctx, "o2", a.ID)
			if err != nil || len(other) != 0 {
				t.Errorf("other org sees %v, %v", other, err)
			}
		})
	}
}

func TestRoomSettings(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			st := storetest.Open(t, d)
			ctx := context.Background()
			if err := st.EnsureOrg(ctx, rendezvous.Org{ID: "o1", Name: "Org"}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := st.RoomSettings(ctx, "o1"); !errors.Is(err, rendezvous.ErrNotFound) {
				t.Fatalf("before any put: %v, want ErrNotFound", err)
			}
			for _, body := range []string{`{"a":1}`, `{"a":2}`} {
				if _, err := st.PutRoomSettings(ctx, "o1", []byte(body)); err != nil {
					t.Fatal(err)
				}
				got, at, err := st.RoomSettings(ctx, "o1")
				if err != nil || string(got) != body || at.IsZero() {
					t.Fatalf("got %q at %v, %v; want %q", got, at, err, body)
				}
			}
		})
	}
}

func TestRoomOwner(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			st := storetest.Open(t, d)
			ctx := context.Background()
			t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
			claim := func(inst string, at time.Time) string {
				t.Helper()
				o, err := st.ClaimRoomOwner(ctx, "a1", inst, at, time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				return o
			}
			if o := claim("http://a", t0); o != "http://a" {
				t.Fatalf("first claim: %q", o)
			}
			if o := claim("http://b", t0.Add(30*time.Second)); o != "http://a" {
				t.Fatalf("claim during a's lease: %q", o)
			}
			// a renews; b still loses after a's first lease would have run out.
			claim("http://a", t0.Add(50*time.Second))
			if o := claim("http://b", t0.Add(90*time.Second)); o != "http://a" {
				t.Fatalf("claim during a's renewed lease: %q", o)
			}
			// a's lease runs out (it crashed): b takes over.
			if o := claim("http://b", t0.Add(111*time.Second)); o != "http://b" {
				t.Fatalf("claim after a's lease: %q", o)
			}
			// Release by a non-owner does nothing; by the owner frees the room.
			if err := st.ReleaseRoomOwner(ctx, "a1", "http://a"); err != nil {
				t.Fatal(err)
			}
			if o := claim("http://a", t0.Add(112*time.Second)); o != "http://b" {
				t.Fatalf("after a foreign release: %q", o)
			}
			if err := st.ReleaseRoomOwner(ctx, "a1", "http://b"); err != nil {
				t.Fatal(err)
			}
			if o := claim("http://a", t0.Add(113*time.Second)); o != "http://a" {
				t.Fatalf("after release: %q", o)
			}
		})
	}
}
