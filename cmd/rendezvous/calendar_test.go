package main

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/genesys/sandbox"
	"rendezvous/store"
)

// TestCalendarWeekShowsEachPersonTheirCards reads the week view of the real service,
// signed in through the sandbox's login, and checks what each card shows and on which
// day: for the supervisor and for an agent, in UTC and in a zone half a day ahead, with
// each filter (agent, status, search and queue, the last two of which look at fields a
// card does not show).
func TestCalendarWeekShowsEachPersonTheirCards(t *testing.T) {
	e := startService(t)
	ctx := context.Background()
	st := openServiceStore(t, e)

	sam := signInHTTP(t, e, sandbox.Demo.Supervisor.ID)
	alice := signInHTTP(t, e, sandbox.Demo.Agents[0].ID)
	signInHTTP(t, e, sandbox.Demo.Agents[1].ID) // so that Bruno has a name

	now := time.Now().UTC()
	monday := nextMonday(now)
	aliceID, brunoID := sandbox.Demo.Agents[0].ID, sandbox.Demo.Agents[1].ID
	book := func(agent, customer, title string, start time.Time, routing rendezvous.Routing) string {
		t.Helper()
		a, err := rendezvous.NewAppointment("demo", rendezvous.AppointmentInput{
			Start: start, DurationMinutes: 30, TimeZone: "Europe/Berlin", Title: title, AgentUserID: agent,
			Customers:   []rendezvous.Customer{{Name: customer, Email: "someone@example.com"}},
			Interaction: rendezvous.Interaction{Routing: routing},
		}, now)
		if err != nil {
			t.Fatal(err)
		}
		saved, _, err := st.CreateAppointment(ctx, a, store.Idempotency{})
		if err != nil {
			t.Fatal(err)
		}
		return saved.ID
	}
	flow := rendezvous.Routing{Type: rendezvous.RoutingFlow}
	book(aliceID, "Early Bird", "", monday.Add(-10*time.Minute), flow) // began before the week
	book(aliceID, `Ann "A&B" <b>`, "Claim <review>", monday.Add(9*time.Hour), flow)
	book(aliceID, "Dora", "Follow-up", monday.Add(12*time.Hour), flow)
	book(brunoID, "Zoë Queue", "Mortgage", monday.Add(34*time.Hour), rendezvous.Routing{Type: rendezvous.RoutingQueue, QueueName: "Mortgages"})
	book(brunoID, "Midnight", "", monday.Add(72*time.Hour), flow) // at the start of Thursday in UTC
	gone := book(aliceID, "Gone", "", monday.Add(57*time.Hour), flow)
	if _, err := st.UpdateAppointment(ctx, "demo", gone, 0, func(a *rendezvous.Appointment) (string, error) {
		return "cancelled", a.Cancel("", now)
	}); err != nil {
		t.Fatal(err)
	}

	week := func(client *http.Client, query string) [7][]string {
		t.Helper()
		page := get(t, client, e.base+"/app/calendar?view=week&date="+monday.Format("2006-01-02")+query)
		sections := strings.Split(page, `<section class="day`)[1:]
		if len(sections) != 7 {
			t.Fatalf("%s: %d days", query, len(sections))
		}
		var days [7][]string
		card := regexp.MustCompile(`<a class="card status-[a-z_]+" href="/app/appointments/[^"]+"><span class="time">([0-9:–]+)</span> <span class="who">([^<]*)</span>(?: <span class="what">[^<]*</span>)?(?: <span class="agent">([^<]*)</span>)?(?: <span class="badge">[^<]*</span>)?</a>`)
		for i, s := range sections {
			if n, m := strings.Count(s, `class="card `), len(card.FindAllString(s, -1)); n != m {
				t.Fatalf("%s: day %d has %d cards, %d of the expected form:\n%s", query, i, n, m, s)
			}
			for _, m := range card.FindAllStringSubmatch(s, -1) {
				days[i] = append(days[i], m[2]+" "+m[1]+"|"+m[3])
			}
		}
		return days
	}
	same := func(what string, got [7][]string, want [7][]string) {
		t.Helper()
		for i := range got {
			if !slices.Equal(got[i], want[i]) {
				t.Errorf("%s, day %d: %q, want %q", what, i, got[i], want[i])
			}
		}
	}
	ann := `Ann &#34;A&amp;B&#34; &lt;b&gt;`
	same("Sam's week", week(sam, ""), [7][]string{
		{"Early Bird 23:50–00:20|Alice Martin", ann + " 09:00–09:30|Alice Martin", "Dora 12:00–12:30|Alice Martin"},
		{"Zoë Queue 10:00–10:30|Bruno Costa"},
		{"Gone 09:00–09:30|Alice Martin"},
		{"Midnight 00:00–00:30|Bruno Costa"},
	})
	if page := get(t, sam, e.base+"/app/calendar?view=week&date="+monday.Format("2006-01-02")); !strings.Contains(page, "Claim &lt;review&gt;") ||
		!strings.Contains(page, `<span class="badge">Cancelled</span>`) {
		t.Error("the week lacks the escaped title or the cancelled badge")
	}
	same("Sam's week, Alice's", week(sam, "&agent="+url.QueryEscape(aliceID)), [7][]string{
		{"Early Bird 23:50–00:20|Alice Martin", ann + " 09:00–09:30|Alice Martin", "Dora 12:00–12:30|Alice Martin"},
		nil,
		{"Gone 09:00–09:30|Alice Martin"},
	})
	same("Sam's week, cancelled", week(sam, "&status=cancelled"), [7][]string{2: {"Gone 09:00–09:30|Alice Martin"}})
	same("Sam's week, searched", week(sam, "&q=zo%C3%AB"), [7][]string{1: {"Zoë Queue 10:00–10:30|Bruno Costa"}})
	same("Sam's week, one queue", week(sam, "&queue=Mortgages"), [7][]string{1: {"Zoë Queue 10:00–10:30|Bruno Costa"}})
	// Alice sees her own, whichever agent she asks for; being all hers, they name no agent.
	same("Alice's week", week(alice, "&agent="+url.QueryEscape(brunoID)), [7][]string{
		{"Early Bird 23:50–00:20|", ann + " 09:00–09:30|", "Dora 12:00–12:30|"},
		nil,
		{"Gone 09:00–09:30|"},
	})

	// Half a day ahead of UTC, Dora's appointment is on Tuesday and the week starts on
	// Sunday in UTC. The sandbox signs people in without a zone, so the browser's counts.
	auckland, err := time.LoadLocation("Pacific/Auckland")
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(e.base)
	sam.Jar.SetCookies(base, []*http.Cookie{{Name: "rdv_tz", Value: "Pacific/Auckland", Path: "/"}})
	at := func(hours, minutes int) string {
		s := monday.Add(time.Duration(hours)*time.Hour + time.Duration(minutes)*time.Minute).In(auckland)
		return s.Format("15:04") + "–" + s.Add(30*time.Minute).Format("15:04")
	}
	same("Sam's week in Auckland", week(sam, ""), [7][]string{
		{"Early Bird " + at(0, -10) + "|Alice Martin", ann + " " + at(9, 0) + "|Alice Martin"},
		{"Dora " + at(12, 0) + "|Alice Martin", "Zoë Queue " + at(34, 0) + "|Bruno Costa"},
		{"Gone " + at(57, 0) + "|Alice Martin"},
		{"Midnight " + at(72, 0) + "|Bruno Costa"},
	})
}
