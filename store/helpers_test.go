package store_test

import (
	"context"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/store"
)

// bookOne books one appointment for agent in orgID, an hour after now, for tests that hang
// their own rows (interactions, callbacks, room sessions) on an appointment.
func bookOne(t *testing.T, st *store.Store, orgID, agent string, now time.Time) *rendezvous.Appointment {
	t.Helper()
	ctx := context.Background()
	if err := st.EnsureOrg(ctx, rendezvous.Org{ID: orgID, Name: "Org"}); err != nil {
		t.Fatal(err)
	}
	a, err := rendezvous.NewAppointment(orgID, rendezvous.AppointmentInput{
		Start: now.Add(time.Hour), DurationMinutes: 30, TimeZone: "Europe/Athens", AgentUserID: agent,
		Customers: []rendezvous.Customer{{Name: "C", Email: "c@example.com"}},
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	saved, _, err := st.CreateAppointment(ctx, a, store.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	return saved
}
