package store_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/store"
)

// TestListAppointmentCardsMatchesTheFullRead checks the narrow read of the calendar
// against ListAppointments on every dialect: for each filter the same appointments, in
// the same order, with the same next cursor, and each card what the appointment says,
// including customers' names that are stored with JSON escapes or in a form the fast path
// does not expect.
func TestListAppointmentCardsMatchesTheFullRead(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		names := []string{`Ann "A&B" <b>`, `Zoë Παπαδοπούλου`, `back\slash`, "tab\there", "Ada"}
		var ids []string
		for i := range 12 {
			in := e.appt(t, "org-a", fmt.Sprintf("agent-%d", i%3), t0.Add(time.Duration(1+i/2)*time.Hour), 30)
			in.Customers[0].Name = names[i%len(names)]
			if i == 7 {
				in.Customers = append(in.Customers, rendezvous.Customer{Name: "Second", Email: "second@example.com"})
			}
			if i == 8 {
				in.Title = ""
			}
			a, _, err := e.st.CreateAppointment(e.ctx, in, store.Idempotency{})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, a.ID)
		}
		e.create(t, "org-b", "agent-0", t0.Add(time.Hour), 30) // another organization's
		if _, err := e.st.UpdateAppointment(e.ctx, "org-a", ids[3], 0, func(a *rendezvous.Appointment) (string, error) {
			return "cancelled", a.Cancel("", e.clock.Now())
		}); err != nil {
			t.Fatal(err)
		}
		// Columns written otherwise than encodeAppointment writes them: the email first,
		// no customers at all.
		if err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(e.ctx, `UPDATE appointments SET customers = ? WHERE id = ?`, `[{"email":"x@example.com","name":"Xena"}]`, ids[4]); err != nil {
				return err
			}
			_, err := tx.Exec(e.ctx, `UPDATE appointments SET customers = ? WHERE id = ?`, `[]`, ids[5])
			return err
		}); err != nil {
			t.Fatal(err)
		}

		filters := map[string]store.ListFilter{
			"all":            {Range: true, Limit: 5000},
			"a small page":   {Limit: 5},
			"one agent":      {AgentUserID: "agent-1"},
			"cancelled":      {Statuses: []rendezvous.Status{rendezvous.StatusCancelled}},
			"a window":       {From: t0.Add(2*time.Hour + 15*time.Minute), To: t0.Add(4 * time.Hour)},
			"agent's window": {AgentUserID: "agent-2", From: t0.Add(2 * time.Hour), To: t0.Add(6 * time.Hour)},
		}
		for name, f := range filters {
			for page := 0; ; page++ {
				full, nextFull, err := e.st.ListAppointments(e.ctx, "org-a", f)
				if err != nil {
					t.Fatal(err)
				}
				cards, next, err := e.st.ListAppointmentCards(e.ctx, "org-a", f)
				if err != nil {
					t.Fatal(err)
				}
				if next != nextFull || len(cards) != len(full) {
					t.Fatalf("%s, page %d: %d cards and next %q; the full read has %d and %q", name, page, len(cards), next, len(full), nextFull)
				}
				for i, a := range full {
					want := store.AppointmentCard{ID: a.ID, OrgID: a.OrgID, Status: a.Status, Start: a.Start, Duration: a.Duration,
						Title: a.Title, AgentUserID: a.AgentUserID}
					if len(a.Customers) > 0 {
						want.Customer = a.Customers[0].Name
					}
					if !reflect.DeepEqual(cards[i], want) {
						t.Errorf("%s, page %d, card %d:\n got %+v\nwant %+v", name, page, i, cards[i], want)
					}
					if !cards[i].End().Equal(a.End()) {
						t.Errorf("%s: card ends %v, the appointment %v", name, cards[i].End(), a.End())
					}
				}
				if next == "" {
					break
				}
				f.Cursor = next
			}
		}

		// The names came through, whichever way they were stored.
		all, _, err := e.st.ListAppointmentCards(e.ctx, "org-a", store.ListFilter{Range: true, Limit: 5000})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, c := range all {
			got[c.ID] = c.Customer
		}
		for i, id := range ids {
			want := names[i%len(names)]
			switch i {
			case 4:
				want = "Xena"
			case 5:
				want = ""
			}
			if got[id] != want {
				t.Errorf("appointment %d: customer %q, want %q", i, got[id], want)
			}
		}
	})
}
