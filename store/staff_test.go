package store_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/store"
)

func TestSignInStaffRoles(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		in := func(org, id string, granted rendezvous.Role) rendezvous.StaffUser {
			t.Helper()
			u, err := e.st.SignInStaff(e.ctx, rendezvous.StaffUser{OrgID: org, ID: id, Name: "N " + id, Email: id + "@x.example"}, granted)
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		if u := in("org-a", "ada", rendezvous.RoleAgent); u.Role != rendezvous.RoleAdmin {
			t.Fatalf("first person of org-a is %s, want administrator", u.Role)
		}
		if u := in("org-a", "bob", rendezvous.RoleAgent); u.Role != rendezvous.RoleAgent {
			t.Fatalf("second person is %s, want agent", u.Role)
		}
		if u := in("org-b", "cid", rendezvous.RoleAgent); u.Role != rendezvous.RoleAdmin {
			t.Fatalf("first person of org-b is %s, want administrator", u.Role)
		}
		if u := in("org-a", "sue", rendezvous.RoleSupervisor); u.Role != rendezvous.RoleSupervisor {
			t.Fatalf("granted supervisor is %s", u.Role)
		}
		// An assigned role survives a sign-in that grants less.
		if _, err := e.st.SetStaffRole(e.ctx, "org-a", "bob", rendezvous.RoleSupervisor); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Hour)
		u := in("org-a", "bob", rendezvous.RoleAgent)
		if u.Role != rendezvous.RoleSupervisor || !u.LastSignInAt.Equal(e.clock.Now()) || u.Name != "N bob" {
			t.Fatalf("after re-sign-in: %+v", u)
		}
		if _, err := e.st.SetStaffRole(e.ctx, "org-a", "bob", "boss"); err == nil {
			t.Fatal("an unknown role was accepted")
		}
		if _, err := e.st.SetStaffRole(e.ctx, "org-b", "bob", rendezvous.RoleAgent); !errors.Is(err, rendezvous.ErrNotFound) {
			t.Fatalf("role in another org: %v", err)
		}
		all, err := e.st.StaffUsers(e.ctx, "org-a")
		if err != nil || len(all) != 3 {
			t.Fatalf("org-a people: %v %v", all, err)
		}
		if err := e.st.SetStaffPreferences(e.ctx, "org-a", "bob", "Europe/Berlin", "de"); err != nil {
			t.Fatal(err)
		}
		if u, err := e.st.StaffUser(e.ctx, "org-a", "bob"); err != nil || u.TimeZone != "Europe/Berlin" || u.Language != "de" {
			t.Fatalf("preferences: %+v %v", u, err)
		}
		if _, err := e.st.StaffUser(e.ctx, "org-b", "bob"); !errors.Is(err, rendezvous.ErrNotFound) {
			t.Fatalf("bob in org-b: %v", err)
		}
	})
}

// Two people signing in to a new organization at once: exactly one becomes administrator.
func TestSignInStaffFirstIsAlone(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		var wg sync.WaitGroup
		roles := make([]rendezvous.Role, 8)
		for i := range roles {
			wg.Go(func() {
				u, err := e.st.SignInStaff(e.ctx, rendezvous.StaffUser{OrgID: "org-b", ID: string(rune('a' + i)), Name: "n"}, rendezvous.RoleAgent)
				if err != nil {
					t.Error(err)
				}
				roles[i] = u.Role
			})
		}
		wg.Wait()
		admins := 0
		for _, r := range roles {
			if r == rendezvous.RoleAdmin {
				admins++
			}
		}
		if admins != 1 {
			t.Fatalf("%d administrators among %v", admins, roles)
		}
	})
}

func TestStaffSessions(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		now := e.clock.Now()
		ss := store.StaffSession{IDHash: "h1", OrgID: "org-a", UserID: "ada", CSRF: "c", Token: "genesys-token",
			TokenExpiry: now.Add(24 * time.Hour), CreatedAt: now, SeenAt: now, CheckedAt: now, ExpiresAt: now.Add(12 * time.Hour)}
		if err := e.st.CreateStaffSession(e.ctx, ss); err != nil {
			t.Fatal(err)
		}
		got, err := e.st.StaffSessionByHash(e.ctx, "h1")
		if err != nil || got.Token != "genesys-token" || got.UserID != "ada" || !got.ExpiresAt.Equal(ss.ExpiresAt) {
			t.Fatalf("session: %+v %v", got, err)
		}
		later := now.Add(time.Minute)
		if err := e.st.TouchStaffSession(e.ctx, "h1", later, later); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.st.StaffSessionByHash(e.ctx, "h1"); !got.SeenAt.Equal(later) || !got.CheckedAt.Equal(later) {
			t.Fatalf("touched: %+v", got)
		}
		ss.IDHash = "h2"
		if err := e.st.CreateStaffSession(e.ctx, ss); err != nil {
			t.Fatal(err)
		}
		if n, err := e.st.PruneStaffSessions(e.ctx, now, now.Add(30*time.Second)); err != nil || n != 1 {
			t.Fatalf("pruned %d (%v), want the idle one", n, err)
		}
		if err := e.st.DeleteStaffSessionsOf(e.ctx, "org-a", "ada"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.StaffSessionByHash(e.ctx, "h1"); !errors.Is(err, rendezvous.ErrNotFound) {
			t.Fatalf("after sign-out everywhere: %v", err)
		}
	})
}

// A role change is audited in its transaction, and the last administrator stays one.
func TestSetStaffRoleAuditedAndLastAdmin(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		for _, id := range []string{"ada", "bob"} {
			if _, err := e.st.SignInStaff(e.ctx, rendezvous.StaffUser{OrgID: "org-a", ID: id, Name: id}, rendezvous.RoleAgent); err != nil {
				t.Fatal(err)
			}
		}
		ctx := rendezvous.WithActor(e.ctx, rendezvous.Actor{Kind: rendezvous.ActorPerson, ID: "ada", Name: "ada"})
		var ve *rendezvous.ValidationError
		if _, err := e.st.SetStaffRole(ctx, "org-a", "ada", rendezvous.RoleAgent); !errors.As(err, &ve) {
			t.Fatalf("the last administrator demoted themselves: %v", err)
		}
		if old, err := e.st.SetStaffRole(ctx, "org-a", "bob", rendezvous.RoleAdmin); err != nil || old != rendezvous.RoleAgent {
			t.Fatalf("promote bob: %v %v", old, err)
		}
		if _, err := e.st.SetStaffRole(ctx, "org-a", "ada", rendezvous.RoleSupervisor); err != nil {
			t.Fatalf("with two administrators ada may step down: %v", err)
		}
		if _, err := e.st.SetStaffRole(ctx, "org-a", "bob", rendezvous.RoleAgent); !errors.As(err, &ve) {
			t.Fatalf("bob, now the last administrator, was demoted: %v", err)
		}
		log, _, err := e.st.AuditLog(e.ctx, "org-a", store.AuditFilter{Action: "staff.role_changed"})
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != 2 {
			t.Fatalf("audit entries %+v, want 2 (refused changes leave none)", log)
		}
		got := log[0] // newest first
		if got.TargetID != "ada" || got.Actor.ID != "ada" || len(got.Changes) != 1 ||
			got.Changes[0].From != "administrator" || got.Changes[0].To != "supervisor" {
			t.Fatalf("audit entry %+v", got)
		}
	})
}
