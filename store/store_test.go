package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// env is one store on one dialect with a fake clock and two organizations.
type env struct {
	st    *store.Store
	clock *clock.Fake
	ctx   context.Context
}

// eachDialect runs f on a fresh store of every dialect.
func eachDialect(t *testing.T, f func(t *testing.T, e *env)) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fc := clock.NewFake(t0)
			st := storetest.OpenWith(t, d, store.Options{Clock: fc})
			e := &env{st: st, clock: fc, ctx: context.Background()}
			for _, o := range []string{"org-a", "org-b"} {
				if err := st.EnsureOrg(e.ctx, rendezvous.Org{ID: o, Name: strings.ToUpper(o)}); err != nil {
					t.Fatal(err)
				}
			}
			f(t, e)
		})
	}
}

func (e *env) appt(t *testing.T, org, agent string, start time.Time, minutes int) *rendezvous.Appointment {
	t.Helper()
	routing := rendezvous.Routing{Type: rendezvous.RoutingFlow}
	if agent == "" {
		routing = rendezvous.Routing{Type: rendezvous.RoutingQueue, QueueName: "Mortgages"}
	}
	a, err := rendezvous.NewAppointment(org, rendezvous.AppointmentInput{
		Start: start, DurationMinutes: minutes, TimeZone: "Europe/London", Title: "Mortgage review",
		AgentUserID: agent,
		Customers:   []rendezvous.Customer{{Name: "Ada", Phone: "+447911123456", Email: "ada@example.com"}},
		Interaction: rendezvous.Interaction{Routing: routing, CustomFields: map[string]string{"crm": "42"}},
	}, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *env) create(t *testing.T, org, agent string, start time.Time, minutes int) *rendezvous.Appointment {
	t.Helper()
	a, _, err := e.st.CreateAppointment(e.ctx, e.appt(t, org, agent, start, minutes), store.Idempotency{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return a
}

func TestMigrateIsIdempotentAndReady(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		if err := e.st.Ready(e.ctx); err != nil {
			t.Fatalf("Ready after Open: %v", err)
		}
		if err := e.st.Migrate(e.ctx); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		var n int
		if err := e.st.ReadRow(e.ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil || n == 0 {
			t.Fatalf("schema_migrations rows = %d, %v", n, err)
		}
	})
}

func TestReadyReportsPendingMigrations(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			st, err := store.Open(context.Background(), storetest.URL(t, d), store.Options{SkipMigrate: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "pending migrations") {
				t.Fatalf("Ready on an empty database = %v, want pending migrations", err)
			}
			if err := st.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := st.Ready(context.Background()); err != nil {
				t.Fatalf("Ready after Migrate: %v", err)
			}
		})
	}
}

func TestOpenRefusesUnknownURL(t *testing.T) {
	if _, err := store.Open(context.Background(), "mysql://x", store.Options{}); err == nil {
		t.Fatal("Open accepted a mysql URL")
	}
}

func TestCreateAndReadBack(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		in := e.appt(t, "org-a", "agent-1", t0.Add(24*time.Hour), 30)
		in.NotificationsEnabled = true
		got, replayed, err := e.st.CreateAppointment(e.ctx, in, store.Idempotency{})
		if err != nil || replayed {
			t.Fatalf("create = %v, replayed %v", err, replayed)
		}
		if got.ID == "" || got.Version != 1 || len(got.LinkToken) < 43 || got.Status != rendezvous.StatusScheduled {
			t.Fatalf("created = %+v", got)
		}
		read, err := e.st.Appointment(e.ctx, "org-a", got.ID)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%+v", read) != fmt.Sprintf("%+v", got) {
			t.Fatalf("read back differs:\n got %+v\nwant %+v", read, got)
		}
		byLink, err := e.st.AppointmentByLinkToken(e.ctx, got.LinkToken)
		if err != nil || byLink.ID != got.ID {
			t.Fatalf("by link = %v, %v", byLink, err)
		}
		if _, err := e.st.AppointmentByLinkToken(e.ctx, got.LinkToken+"x"); !errors.Is(err, rendezvous.ErrNotFound) {
			t.Fatalf("unknown link: %v, want ErrNotFound", err)
		}
		// The "created" event job committed with the appointment.
		jobs, err := e.st.Jobs(e.ctx, "org-a", store.EventJobKind)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("jobs = %v, %v", jobs, err)
		}
		var args store.EventArgs
		if err := jobs[0].Decode(&args); err != nil || args != (store.EventArgs{AppointmentID: got.ID, Event: "created", Version: 1}) {
			t.Fatalf("job args = %+v, %v", args, err)
		}
	})
}

func TestDatabaseDumpDoesNotRevealLinkToken(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		a := e.create(t, "org-a", "agent-1", t0.Add(time.Hour), 30)
		rows, err := e.st.Read(e.ctx, "SELECT * FROM appointments WHERE id = ?", a.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		if !rows.Next() {
			t.Fatal("row missing")
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if s := fmt.Sprintf("%s", v); strings.Contains(s, a.LinkToken) {
				t.Fatalf("column %s holds the link token in clear", cols[i])
			}
		}
	})
}

func TestOrganizationsAreIsolated(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		a := e.create(t, "org-a", "agent-1", t0.Add(time.Hour), 30)
		// The same agent id in another organization is another person: no overlap.
		b := e.create(t, "org-b", "agent-1", t0.Add(time.Hour), 30)
		if _, err := e.st.Appointment(e.ctx, "org-b", a.ID); !errors.Is(err, rendezvous.ErrNotFound) {
			t.Fatalf("org-b read org-a's appointment: %v", err)
		}
		items, _, err := e.st.ListAppointments(e.ctx, "org-b", store.ListFilter{})
		if err != nil || len(items) != 1 || items[0].ID != b.ID {
			t.Fatalf("org-b list = %v, %v", items, err)
		}
		_, err = e.st.UpdateAppointment(e.ctx, "org-b", a.ID, 0, func(x *rendezvous.Appointment) (string, error) {
			return "cancelled", x.Cancel("", e.clock.Now())
		})
		if !errors.Is(err, rendezvous.ErrNotFound) {
			t.Fatalf("org-b updated org-a's appointment: %v", err)
		}
		if got, _ := e.st.Appointment(e.ctx, "org-a", a.ID); got.Status != rendezvous.StatusScheduled {
			t.Fatalf("org-a appointment became %s", got.Status)
		}
		// Idempotency keys are per organization too.
		k := store.Idempotency{Key: "same", RequestHash: "h"}
		x, _, err := e.st.CreateAppointment(e.ctx, e.appt(t, "org-a", "", t0.Add(2*time.Hour), 30), k)
		if err != nil {
			t.Fatal(err)
		}
		y, replayed, err := e.st.CreateAppointment(e.ctx, e.appt(t, "org-b", "", t0.Add(2*time.Hour), 30), k)
		if err != nil || replayed || y.ID == x.ID {
			t.Fatalf("org-b with org-a's key: %v replayed=%v", err, replayed)
		}
		if keys, _ := e.st.Jobs(e.ctx, "org-b", ""); len(keys) != 2 {
			t.Fatalf("org-b has %d jobs, want 2", len(keys))
		}
	})
}

func TestAgentCannotHoldOverlappingAppointments(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		start := t0.Add(10 * time.Hour)
		first := e.create(t, "org-a", "agent-1", start, 60)
		cases := []struct {
			name    string
			agent   string
			start   time.Time
			minutes int
			wantErr error
		}{
			{"same slot", "agent-1", start, 60, rendezvous.ErrConflict},
			{"inside", "agent-1", start.Add(15 * time.Minute), 15, rendezvous.ErrConflict},
			{"covers", "agent-1", start.Add(-30 * time.Minute), 120, rendezvous.ErrConflict},
			{"overlaps end", "agent-1", start.Add(59 * time.Minute), 30, rendezvous.ErrConflict},
			{"long one before overlaps", "agent-1", start.Add(-7 * time.Hour), 7*60 + 1, rendezvous.ErrConflict},
			{"back to back after", "agent-1", start.Add(60 * time.Minute), 30, nil},
			{"back to back before", "agent-1", start.Add(-30 * time.Minute), 30, nil},
			{"other agent", "agent-2", start, 60, nil},
			{"no agent (queue)", "", start, 60, nil},
		}
		for _, c := range cases {
			_, _, err := e.st.CreateAppointment(e.ctx, e.appt(t, "org-a", c.agent, c.start, c.minutes), store.Idempotency{})
			if !errors.Is(err, c.wantErr) && !(c.wantErr == nil && err == nil) {
				t.Errorf("%s: err = %v, want %v", c.name, err, c.wantErr)
			}
		}
		// A cancelled appointment frees its slot.
		if _, err := e.st.UpdateAppointment(e.ctx, "org-a", first.ID, 1, func(a *rendezvous.Appointment) (string, error) {
			return "cancelled", a.Cancel("customer asked", e.clock.Now())
		}); err != nil {
			t.Fatal(err)
		}
		e.create(t, "org-a", "agent-1", start, 60)
	})
}

func TestParallelBookingsOfOneSlotOnlyOneWins(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		const n = 50
		start := t0.Add(5 * time.Hour)
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			in := e.appt(t, "org-a", "agent-7", start.Add(time.Duration(i%3)*time.Minute), 30)
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, errs[i] = e.st.CreateAppointment(e.ctx, in, store.Idempotency{})
			}()
		}
		wg.Wait()
		ok, conflicts := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, rendezvous.ErrConflict):
				conflicts++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 || conflicts != n-1 {
			t.Fatalf("%d succeeded and %d conflicted; want 1 and %d", ok, conflicts, n-1)
		}
		items, _, err := e.st.ListAppointments(e.ctx, "org-a", store.ListFilter{AgentUserID: "agent-7"})
		if err != nil || len(items) != 1 {
			t.Fatalf("stored %d appointments for the agent (%v)", len(items), err)
		}
	})
}

func TestIdempotencyKey(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		k := store.Idempotency{Key: "key-1", RequestHash: "hash-1"}
		first, replayed, err := e.st.CreateAppointment(e.ctx, e.appt(t, "org-a", "agent-1", t0.Add(time.Hour), 30), k)
		if err != nil || replayed {
			t.Fatalf("first = %v, replayed %v", err, replayed)
		}
		// A retry of the same request: same appointment back, nothing new stored. It would
		// overlap if it were inserted, so a conflict would mean the key was ignored.
		again, replayed, err := e.st.CreateAppointment(e.ctx, e.appt(t, "org-a", "agent-1", t0.Add(time.Hour), 30), k)
		if err != nil || !replayed || again.ID != first.ID || again.LinkToken != first.LinkToken {
			t.Fatalf("replay = %v, %v, replayed %v", again, err, replayed)
		}
		// The same key with another body is a client bug.
		_, _, err = e.st.CreateAppointment(e.ctx, e.appt(t, "org-a", "agent-2", t0.Add(time.Hour), 30),
			store.Idempotency{Key: "key-1", RequestHash: "hash-2"})
		if !errors.Is(err, rendezvous.ErrConflict) {
			t.Fatalf("reused key with other body: %v, want ErrConflict", err)
		}
		// Parallel retries with one key create exactly one appointment.
		var wg sync.WaitGroup
		ids := make([]string, 10)
		for i := range ids {
			in := e.appt(t, "org-a", "", t0.Add(2*time.Hour), 30)
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, _, err := e.st.CreateAppointment(e.ctx, in, store.Idempotency{Key: "key-par", RequestHash: "h"})
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = a.ID
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("parallel retries created different appointments: %v", ids)
			}
		}
		if jobs, _ := e.st.Jobs(e.ctx, "org-a", store.EventJobKind); len(jobs) != 2 {
			t.Fatalf("%d created events, want 2", len(jobs))
		}
	})
}

func TestUpdateAppointment(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		a := e.create(t, "org-a", "agent-1", t0.Add(time.Hour), 30)
		e.create(t, "org-a", "agent-1", t0.Add(3*time.Hour), 30)
		newStart := t0.Add(2 * time.Hour)

		// Stale version.
		_, err := e.st.UpdateAppointment(e.ctx, "org-a", a.ID, 7, func(x *rendezvous.Appointment) (string, error) {
			t.Fatal("change called despite stale version")
			return "", nil
		})
		if !errors.Is(err, rendezvous.ErrStaleVersion) {
			t.Fatalf("stale: %v", err)
		}
		// Reschedule.
		e.clock.Advance(time.Minute)
		got, err := e.st.UpdateAppointment(e.ctx, "org-a", a.ID, 1, func(x *rendezvous.Appointment) (string, error) {
			return "rescheduled", x.Apply(rendezvous.AppointmentPatch{Start: &newStart}, e.clock.Now())
		})
		if err != nil || got.Version != 2 || !got.Start.Equal(newStart) || !got.UpdatedAt.Equal(e.clock.Now()) {
			t.Fatalf("reschedule = %+v, %v", got, err)
		}
		if got.LinkToken != a.LinkToken {
			t.Fatal("reschedule changed the link token")
		}
		// The old version is now stale.
		if _, err := e.st.UpdateAppointment(e.ctx, "org-a", a.ID, 1, func(x *rendezvous.Appointment) (string, error) { return "", nil }); !errors.Is(err, rendezvous.ErrStaleVersion) {
			t.Fatalf("version 1 after update: %v", err)
		}
		// Moving onto the agent's other appointment conflicts and changes nothing.
		clash := t0.Add(3 * time.Hour)
		_, err = e.st.UpdateAppointment(e.ctx, "org-a", a.ID, 2, func(x *rendezvous.Appointment) (string, error) {
			return "rescheduled", x.Apply(rendezvous.AppointmentPatch{Start: &clash}, e.clock.Now())
		})
		if !errors.Is(err, rendezvous.ErrConflict) {
			t.Fatalf("reschedule onto another: %v", err)
		}
		// A failing change aborts everything, including its job.
		_, err = e.st.UpdateAppointment(e.ctx, "org-a", a.ID, 0, func(x *rendezvous.Appointment) (string, error) {
			x.Title = "changed"
			return "updated", errors.New("refused")
		})
		if err == nil || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("failing change: %v", err)
		}
		cur, _ := e.st.Appointment(e.ctx, "org-a", a.ID)
		if cur.Version != 2 || cur.Title != "Mortgage review" || !cur.Start.Equal(newStart) {
			t.Fatalf("after aborted changes: %+v", cur)
		}
		// Domain rule errors come through: cancel, then no reschedule of a cancelled one.
		if _, err := e.st.UpdateAppointment(e.ctx, "org-a", a.ID, 2, func(x *rendezvous.Appointment) (string, error) {
			return "cancelled", x.Cancel("", e.clock.Now())
		}); err != nil {
			t.Fatal(err)
		}
		_, err = e.st.UpdateAppointment(e.ctx, "org-a", a.ID, 3, func(x *rendezvous.Appointment) (string, error) {
			return "rescheduled", x.Apply(rendezvous.AppointmentPatch{Start: &newStart}, e.clock.Now())
		})
		if !errors.Is(err, rendezvous.ErrConflict) {
			t.Fatalf("reschedule of cancelled: %v", err)
		}
		jobs, _ := e.st.Jobs(e.ctx, "org-a", store.EventJobKind)
		var events []string
		for _, j := range jobs {
			var ea store.EventArgs
			j.Decode(&ea)
			if ea.AppointmentID == a.ID {
				events = append(events, fmt.Sprintf("%s/%d", ea.Event, ea.Version))
			}
		}
		if got := strings.Join(events, ","); got != "created/1,rescheduled/2,cancelled/3" {
			t.Fatalf("events = %s", got)
		}
		if _, err := e.st.UpdateAppointment(e.ctx, "org-a", "no-such-id", 0, func(*rendezvous.Appointment) (string, error) { return "", nil }); !errors.Is(err, rendezvous.ErrNotFound) {
			t.Fatalf("missing id: %v", err)
		}
	})
}

func TestListAppointmentsPagesAndFilters(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		for i := range 25 {
			// Pairs with the same start (for two agents) test the id tie-break.
			e.create(t, "org-a", fmt.Sprintf("agent-%d", i%2), t0.Add(time.Duration(1+i/2)*time.Hour), 30)
		}
		var all []*rendezvous.Appointment
		cursor, pages := "", 0
		for {
			items, next, err := e.st.ListAppointments(e.ctx, "org-a", store.ListFilter{Limit: 10, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			all = append(all, items...)
			if next == "" {
				break
			}
			cursor = next
		}
		if pages != 3 || len(all) != 25 {
			t.Fatalf("%d pages, %d items; want 3 and 25", pages, len(all))
		}
		seen := map[string]bool{}
		for i, a := range all {
			if seen[a.ID] {
				t.Fatalf("%s listed twice", a.ID)
			}
			seen[a.ID] = true
			if i > 0 {
				p := all[i-1]
				if a.Start.Before(p.Start) || (a.Start.Equal(p.Start) && a.ID < p.ID) {
					t.Fatalf("out of order at %d", i)
				}
			}
		}
		// One agent's window: appointments overlapping [2h15, 4h).
		items, _, err := e.st.ListAppointments(e.ctx, "org-a", store.ListFilter{
			AgentUserID: "agent-0", From: t0.Add(2*time.Hour + 15*time.Minute), To: t0.Add(4 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range items {
			if a.AgentUserID != "agent-0" || !a.End().After(t0.Add(2*time.Hour+15*time.Minute)) || !a.Start.Before(t0.Add(4*time.Hour)) {
				t.Fatalf("item outside filter: %+v", a)
			}
		}
		if len(items) != 2 { // starts at 2h (until 2h30) and 3h
			t.Fatalf("window has %d items, want 2", len(items))
		}
		// Status filter.
		if _, err := e.st.UpdateAppointment(e.ctx, "org-a", all[0].ID, 0, func(a *rendezvous.Appointment) (string, error) {
			return "cancelled", a.Cancel("", e.clock.Now())
		}); err != nil {
			t.Fatal(err)
		}
		items, _, err = e.st.ListAppointments(e.ctx, "org-a", store.ListFilter{Statuses: []rendezvous.Status{rendezvous.StatusCancelled}})
		if err != nil || len(items) != 1 || items[0].ID != all[0].ID {
			t.Fatalf("cancelled = %v, %v", items, err)
		}
		// A forged cursor is a validation error.
		var ve *rendezvous.ValidationError
		if _, _, err := e.st.ListAppointments(e.ctx, "org-a", store.ListFilter{Cursor: "not!a!cursor"}); !errors.As(err, &ve) {
			t.Fatalf("bad cursor: %v", err)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		k, secret, err := e.st.CreateAPIKey(e.ctx, "org-a", "CRM", []string{rendezvous.ScopeAppointmentsRead, rendezvous.ScopeAppointmentsRead})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "rdv_") || len(secret) < 40 || len(k.Scopes) != 1 {
			t.Fatalf("key %+v secret %q", k, secret)
		}
		got, err := e.st.APIKeyBySecret(e.ctx, secret)
		if err != nil || got.ID != k.ID || got.OrgID != "org-a" || !got.HasScope(rendezvous.ScopeAppointmentsRead) || got.HasScope(rendezvous.ScopeSettingsAdmin) {
			t.Fatalf("by secret = %+v, %v", got, err)
		}
		var stored string
		if err := e.st.ReadRow(e.ctx, "SELECT secret_hash FROM api_keys WHERE id = ?", k.ID).Scan(&stored); err != nil || strings.Contains(stored, secret[4:]) {
			t.Fatalf("stored secret: %q, %v", stored, err)
		}
		for _, bad := range []string{"", "rdv_nope", secret + "x", "Bearer " + secret} {
			if _, err := e.st.APIKeyBySecret(e.ctx, bad); !errors.Is(err, rendezvous.ErrUnauthenticated) {
				t.Errorf("secret %q: %v, want ErrUnauthenticated", bad, err)
			}
		}
		// The use is recorded to the minute, at most once a minute.
		lastUsed := func() time.Time {
			t.Helper()
			keys, err := e.st.APIKeys(e.ctx, "org-a")
			if err != nil || len(keys) != 1 {
				t.Fatalf("keys %+v, %v", keys, err)
			}
			return keys[0].LastUsedAt
		}
		if got, want := lastUsed(), t0.Truncate(time.Minute); !got.Equal(want) {
			t.Errorf("last used %v, want %v", got, want)
		}
		e.clock.Advance(50 * time.Second)
		e.st.APIKeyBySecret(e.ctx, secret)
		if got, want := lastUsed(), t0.Add(50*time.Second).Truncate(time.Minute); !got.Equal(want) {
			t.Errorf("after 50 s last used %v, want %v", got, want)
		}
		e.clock.Advance(70 * time.Second)
		e.st.APIKeyBySecret(e.ctx, secret)
		if got, want := lastUsed(), t0.Add(2*time.Minute).Truncate(time.Minute); !got.Equal(want) {
			t.Errorf("two minutes later last used %v, want %v", got, want)
		}
		var ve *rendezvous.ValidationError
		if _, _, err := e.st.CreateAPIKey(e.ctx, "org-a", "", []string{"root"}); !errors.As(err, &ve) || len(ve.Problems) != 2 {
			t.Fatalf("bad key input: %v", err)
		}
		if err := e.st.RevokeAPIKey(e.ctx, "org-b", k.ID); !errors.Is(err, rendezvous.ErrNotFound) {
			t.Fatalf("revoke from other org: %v", err)
		}
		if err := e.st.RevokeAPIKey(e.ctx, "org-a", k.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.APIKeyBySecret(e.ctx, secret); !errors.Is(err, rendezvous.ErrUnauthenticated) {
			t.Fatalf("revoked key: %v", err)
		}
	})
}

func TestOrgs(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		if err := e.st.EnsureOrg(e.ctx, rendezvous.Org{ID: "org-a", Name: "Renamed"}); err != nil {
			t.Fatal(err)
		}
		o, err := e.st.Org(e.ctx, "org-a")
		if err != nil || o.Name != "Renamed" {
			t.Fatalf("org = %+v, %v", o, err)
		}
		if _, err := e.st.Org(e.ctx, "org-z"); !errors.Is(err, rendezvous.ErrNotFound) {
			t.Fatalf("missing org: %v", err)
		}
	})
}
