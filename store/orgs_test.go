package store_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

func ptr(s string) *string { return &s }

// TestOrganizations covers organizations with their Genesys connection on both
// databases: create, the two uniqueness rules, lookup by Genesys organization id, updates
// that move the connection's version, and client secrets sealed at rest and opened only
// through OrgSecrets.
func TestOrganizations(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, d)
			o, err := st.CreateOrg(ctx, rendezvous.Org{ID: "acme", Name: " Acme Bank ", Genesys: rendezvous.GenesysConnection{
				Region: "eu-west-1", OrgID: "7C0F1E2A-5B3D-4C8E-9A10-0000000000AA"}})
			if err != nil {
				t.Fatal(err)
			}
			if o.Name != "Acme Bank" || o.Genesys.OrgID != "7c0f1e2a-5b3d-4c8e-9a10-0000000000aa" || o.Genesys.Version != 1 || o.CreatedAt.IsZero() {
				t.Fatalf("created: %+v", o)
			}
			if _, err := st.CreateOrg(ctx, rendezvous.Org{ID: "acme", Name: "Again"}); !errors.Is(err, rendezvous.ErrConflict) {
				t.Fatalf("same id: %v", err)
			}
			_, err = st.CreateOrg(ctx, rendezvous.Org{ID: "other", Name: "Other", Genesys: rendezvous.GenesysConnection{
				Region: "eu-west-1", OrgID: "7c0f1e2a-5b3d-4c8e-9a10-0000000000aa"}})
			if !errors.Is(err, rendezvous.ErrConflict) || !strings.Contains(err.Error(), `"acme"`) {
				t.Fatalf("same Genesys org id: %v", err)
			}
			// Bad input is refused with every field named, and nothing is stored.
			_, err = st.CreateOrg(ctx, rendezvous.Org{ID: "Bad Id", Name: "x\x00y", Genesys: rendezvous.GenesysConnection{
				APIURL: "ftp://x", OrgID: "nope"}})
			var ve *rendezvous.ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) < 4 {
				t.Fatalf("bad input: %v", err)
			}
			if _, err := st.CreateOrg(ctx, rendezvous.Org{ID: "plain", Name: "Plain"}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateOrg(ctx, rendezvous.Org{ID: "plain2", Name: "Plain too"}); err != nil {
				t.Fatal("two organizations without a Genesys org id:", err)
			}

			got, err := st.OrgByGenesysOrgID(ctx, "7C0F1E2A-5B3D-4C8E-9A10-0000000000AA")
			if err != nil || got.ID != "acme" {
				t.Fatalf("by Genesys org id: %+v %v", got, err)
			}
			if _, err := st.OrgByGenesysOrgID(ctx, "7c0f1e2a-5b3d-4c8e-9a10-0000000000bb"); !errors.Is(err, rendezvous.ErrNotFound) {
				t.Fatalf("unknown Genesys org id: %v", err)
			}

			up, err := st.UpdateOrg(ctx, "acme", store.OrgUpdate{APIClientID: ptr("api-client"), APIClientSecret: ptr("api-secret-1234"),
				SignInClientID: ptr("signin-client")})
			if err != nil {
				t.Fatal(err)
			}
			g := up.Genesys
			if g.APIClientID != "api-client" || g.APIClientSecretHint != "••••1234" || g.SignInClientID != "signin-client" ||
				g.SignInClientSecretHint != "" || g.Version != 2 || g.Region != "eu-west-1" {
				t.Fatalf("updated: %+v", g)
			}
			sec, err := st.OrgSecrets(ctx, "acme")
			if err != nil || sec.APIClientSecret != "api-secret-1234" || sec.SignInClientSecret != "" {
				t.Fatalf("secrets: %+v %v", sec, err)
			}
			// At rest the secret is sealed: the database does not hold it in the clear.
			rows, err := st.Read(ctx, "SELECT api_client_secret FROM orgs WHERE id = ?", "acme")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var b []byte
				if err := rows.Scan(&b); err != nil {
					t.Fatal(err)
				}
				if len(b) == 0 || bytes.Contains(b, []byte("api-secret")) {
					t.Fatalf("stored secret is not sealed: %q", b)
				}
			}
			rows.Close()
			// An update that changes nothing keeps the version; a Genesys org id in use
			// elsewhere is refused.
			same, err := st.UpdateOrg(ctx, "acme", store.OrgUpdate{Region: ptr("eu-west-1")})
			if err != nil || same.Genesys.Version != 2 {
				t.Fatalf("no-op update: %+v %v", same.Genesys, err)
			}
			if _, err := st.UpdateOrg(ctx, "plain", store.OrgUpdate{GenesysOrgID: ptr(g.OrgID)}); !errors.Is(err, rendezvous.ErrConflict) {
				t.Fatalf("taken Genesys org id: %v", err)
			}
			if _, err := st.UpdateOrg(ctx, "acme", store.OrgUpdate{APIClientSecret: ptr("bad\x00secret")}); !errors.As(err, &ve) {
				t.Fatalf("control character in secret: %v", err)
			}
			if _, err := st.UpdateOrg(ctx, "missing", store.OrgUpdate{Name: ptr("x")}); !errors.Is(err, rendezvous.ErrNotFound) {
				t.Fatalf("missing org: %v", err)
			}
			cleared, err := st.UpdateOrg(ctx, "acme", store.OrgUpdate{APIClientSecret: ptr(""), GenesysOrgID: ptr("")})
			if err != nil || cleared.Genesys.APIClientSecretHint != "" || cleared.Genesys.OrgID != "" {
				t.Fatalf("cleared: %+v %v", cleared.Genesys, err)
			}
			if sec, err := st.OrgSecrets(ctx, "acme"); err != nil || sec.APIClientSecret != "" {
				t.Fatalf("cleared secret: %+v %v", sec, err)
			}

			all, err := st.Orgs(ctx)
			if err != nil || len(all) != 3 || all[0].ID != "acme" || all[1].ID != "plain" {
				t.Fatalf("list: %+v %v", all, err)
			}
		})
	}
}

// TestGenesysPacing covers the pace shared through the database on both databases: two
// stores on one database (two instances) reserving concurrently never get slots closer
// than the pace allows, a restarted store continues the pace, and a slot too far ahead
// is refused without being taken.
func TestGenesysPacing(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			u := storetest.URL(t, d)
			open := func() *store.Store {
				st, err := store.Open(ctx, u, store.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
			a, b := open(), open()
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			const interval, tolerance = 100 * time.Millisecond, 200 * time.Millisecond
			var mu sync.Mutex
			var slots []time.Time
			var wg sync.WaitGroup
			for i := range 40 {
				st := a
				if i%2 == 1 {
					st = b
				}
				wg.Go(func() {
					at, ok, err := st.ReserveGenesysSlot(ctx, "client", now, interval, tolerance, time.Hour)
					if err != nil || !ok {
						t.Errorf("reserve: %v %v", ok, err)
						return
					}
					mu.Lock()
					slots = append(slots, at)
					mu.Unlock()
				})
			}
			wg.Wait()
			// All at one instant: the tolerance lets 3 go now (slots at now-200ms, -100ms
			// and 0 are clamped to now), then one per interval.
			counts := map[time.Duration]int{}
			for _, s := range slots {
				counts[s.Sub(now)]++
			}
			if counts[0] != 3 {
				t.Fatalf("slots at once: %d, want 3 (%v)", counts[0], counts)
			}
			for i := 1; i <= 37; i++ {
				if counts[time.Duration(i)*interval] != 1 {
					t.Fatalf("slot %d: %d calls (%v)", i, counts[time.Duration(i)*interval], counts)
				}
			}
			// Too far ahead: refused, nothing taken, and the answer says when.
			at, ok, err := a.ReserveGenesysSlot(ctx, "client", now, interval, tolerance, time.Second)
			if err != nil || ok || at.Sub(now) != 38*interval {
				t.Fatalf("far slot: %v %v %v", at.Sub(now), ok, err)
			}
			// A store opened afresh on the same database continues the pace.
			c := open()
			at, ok, err = c.ReserveGenesysSlot(ctx, "client", now, interval, tolerance, time.Hour)
			if err != nil || !ok || at.Sub(now) != 38*interval {
				t.Fatalf("after restart: %v %v %v", at.Sub(now), ok, err)
			}
			// Another client has its own pace.
			at, ok, err = c.ReserveGenesysSlot(ctx, "other", now, interval, tolerance, time.Hour)
			if err != nil || !ok || !at.Equal(now) {
				t.Fatalf("other client: %v %v %v", at, ok, err)
			}
		})
	}
}
