package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/genesys/sandbox"
	"rendezvous/store"
)

// BenchmarkSupervisorWeek measures the week view a supervisor opens over 200 agents with
// 2,000 appointments that week (go test ./cmd/rendezvous -run '^$' -bench SupervisorWeek),
// beside its floor in the same run: one raw SQL read of the same rows and columns from the
// same database. The page is served by the real service started through run, to a client
// signed in through the sandbox's Genesys Cloud login; the goal is the page within 2× of
// the read (BENCHMARKS.md).
func BenchmarkSupervisorWeek(b *testing.B) {
	e := startService(b)
	ctx := context.Background()

	// A second handle on the service's database, for seeding and for the floor.
	st := openServiceStore(b, e)

	// Next week, Monday to Monday in UTC: 200 agents with 10 appointments each.
	now := time.Now().UTC()
	monday := nextMonday(now)
	for ag := range 200 {
		agent := rendezvous.StaffUser{OrgID: "demo", ID: fmt.Sprintf("bench-agent-%03d", ag), Name: fmt.Sprintf("Agent %03d", ag)}
		if _, err := st.SignInStaff(ctx, agent, rendezvous.RoleAgent); err != nil {
			b.Fatal(err)
		}
		for i := range 10 {
			start := monday.Add(time.Duration(i%5)*24*time.Hour + time.Duration(8+i/5*2+ag%6)*time.Hour)
			a, err := rendezvous.NewAppointment("demo", rendezvous.AppointmentInput{
				Start: start, DurationMinutes: 30, TimeZone: "Europe/Berlin", Title: "Claim review", AgentUserID: agent.ID,
				Customers:   []rendezvous.Customer{{Name: fmt.Sprintf("Customer %d-%d", ag, i), Email: fmt.Sprintf("c%d.%d@example.com", ag, i)}},
				Interaction: rendezvous.Interaction{Routing: rendezvous.Routing{Type: rendezvous.RoutingFlow}},
			}, now)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := st.CreateAppointment(ctx, a, store.Idempotency{}); err != nil {
				b.Fatal(err)
			}
		}
	}

	// The bookings' events (messages to 2,000 customers) are worked through first, so
	// that the page and its floor share the cores with nothing left over.
	for deadline := time.Now().Add(5 * time.Minute); ; {
		n, err := st.JobQueueDepth(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d jobs still due after 5 minutes", n)
		}
		time.Sleep(200 * time.Millisecond)
	}

	client := signInHTTP(b, e, sandbox.Demo.Supervisor.ID)
	page := e.base + "/app/calendar?view=week&date=" + monday.Format("2006-01-02")
	first := get(b, client, page)
	if n := strings.Count(first, `class="card `); n != 2000 {
		b.Fatalf("the week shows %d appointments, want 2000", n)
	}

	raw := "SELECT id, org_id, status, version, start_at, end_at, time_zone, title, notes, agent_user_id, customers, interaction, " +
		"link_sealed, notifications_enabled, created_at, updated_at, cancelled_at, cancel_reason, started_at, ended_at " +
		"FROM appointments WHERE org_id = ? AND end_at > ? AND start_at < ? ORDER BY start_at, id LIMIT 5001"
	b.Run("page", func(b *testing.B) {
		for b.Loop() {
			get(b, client, page)
		}
	})
	b.Run("raw-read", func(b *testing.B) {
		for b.Loop() {
			rows, err := st.Read(ctx, raw, "demo", store.TimeToDB(monday), store.TimeToDB(monday.AddDate(0, 0, 7)))
			if err != nil {
				b.Fatal(err)
			}
			vals := make([]any, 20)
			for i := range vals {
				vals[i] = new(any)
			}
			n := 0
			for rows.Next() {
				if err := rows.Scan(vals...); err != nil {
					b.Fatal(err)
				}
				n++
			}
			rows.Close()
			if n != 2000 {
				b.Fatalf("raw read %d rows, want 2000", n)
			}
		}
	})
}

// signInHTTP signs in through the sandbox's Genesys Cloud login as a plain HTTP client
// would: the sign-in page, the sandbox's authorize form with its hidden fields, the user's
// openServiceStore opens a second handle on the database of the service e, as `serve`
// opens it, closed when the test ends.
func openServiceStore(tb testing.TB, e *staffEnv) *store.Store {
	tb.Helper()
	var c config
	fs := newFlags("serve", testEnv(e.dir), &c)
	if err := fs.parse(nil, io.Discard, io.Discard); err != nil {
		tb.Fatal(err)
	}
	log, _ := c.logger(io.Discard)
	st, _, err := c.openStore(context.Background(), log, clock.Real(), true)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// nextMonday is the start, in UTC, of the Monday after the week of now.
func nextMonday(now time.Time) time.Time {
	now = now.UTC()
	return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 8-int(now.Weekday()))
}

// button, and the callback that sets the session cookie.
func signInHTTP(tb testing.TB, e *staffEnv, userID string) *http.Client {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	form := get(tb, client, e.base+"/signin?go=1&org=demo")
	fields := url.Values{}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(form, -1) {
		fields.Set(m[1], htmlUnescape(m[2]))
	}
	fields.Set("userId", userID)
	resp, err := client.PostForm(e.sandbox+"/oauth/authorize", fields)
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.Path, "/app/") {
		tb.Fatalf("sign-in ended at %s with %d: %s\nform: %s", resp.Request.URL, resp.StatusCode, body, form)
	}
	return client
}

// get reads a page that must answer 200.
func get(tb testing.TB, client *http.Client, u string) string {
	tb.Helper()
	resp, err := client.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
	}
	return string(body)
}

// htmlUnescape undoes what html/template escapes in an attribute value.
func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">", "&quot;", `"`).Replace(s)
}
