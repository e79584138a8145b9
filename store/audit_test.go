package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// Every appointment change writes its audit entry in its own transaction, attributed to
// the actor of the context, with the changed fields and never a personal value; a change
// that rolls back leaves no entry.
func TestAuditOfAppointmentChanges(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			fc := clock.NewFake(time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC))
			st := storetest.OpenWith(t, d, store.Options{Clock: fc})
			ctx := rendezvous.WithActor(context.Background(), rendezvous.Actor{Kind: rendezvous.ActorPerson, ID: "u-1", Name: "Ann Admin"})
			a := bookOne(t, st, "org-a", "agent-1", fc.Now()) // booked by the system (no actor)
			start := a.Start.Add(24 * time.Hour)
			if _, err := st.UpdateAppointment(ctx, "org-a", a.ID, 0, func(x *rendezvous.Appointment) (string, error) {
				notes := "secret note"
				return "rescheduled", x.Apply(rendezvous.AppointmentPatch{Start: &start, Notes: &notes}, fc.Now())
			}); err != nil {
				t.Fatal(err)
			}
			boom := errors.New("boom")
			if _, err := st.UpdateAppointment(ctx, "org-a", a.ID, 0, func(x *rendezvous.Appointment) (string, error) {
				x.Cancel("x", fc.Now())
				return "cancelled", boom
			}); !errors.Is(err, boom) {
				t.Fatal(err)
			}
			cctx := rendezvous.WithActor(context.Background(), rendezvous.Actor{Kind: rendezvous.ActorCustomer})
			if _, err := st.UpdateAppointment(cctx, "org-a", a.ID, 0, func(x *rendezvous.Appointment) (string, error) {
				return "cancelled", x.Cancel("I am ill", fc.Now())
			}); err != nil {
				t.Fatal(err)
			}
			es, next, err := st.AuditLog(context.Background(), "org-a", store.AuditFilter{TargetID: a.ID})
			if err != nil || next != "" {
				t.Fatal(err, next)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.Action+" by "+e.Actor.Kind+" v"+string(rune('0'+e.Version)))
			}
			want := "appointment.cancelled by customer v3,appointment.rescheduled by person v2,appointment.created by system v1"
			if strings.Join(got, ",") != want {
				t.Fatalf("audit %v, want %s", got, want)
			}
			resch := es[1]
			if resch.Actor.Name != "Ann Admin" || len(resch.Changes) != 2 || resch.Changes[0].Field != "start" ||
				resch.Changes[0].From != a.Start.Format(time.RFC3339) || resch.Changes[1] != (rendezvous.FieldChange{Field: "notes", Redacted: true}) {
				t.Errorf("reschedule entry %+v", resch)
			}
			hits, err := storetest.FindText(context.Background(), st, "secret note", "I am ill")
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hits {
				if strings.HasPrefix(h.Where, "audit_log.") {
					t.Errorf("the audit log holds %q in %s", h.Value, h.Where)
				}
			}
			// Filters and paging.
			page, next, err := st.AuditLog(context.Background(), "org-a", store.AuditFilter{Action: "appointment.", Limit: 2})
			if err != nil || len(page) != 2 || next == "" {
				t.Fatalf("page 1: %d %q %v", len(page), next, err)
			}
			page, next, err = st.AuditLog(context.Background(), "org-a", store.AuditFilter{Action: "appointment.", Limit: 2, Cursor: next})
			if err != nil || len(page) != 1 || next != "" || page[0].Action != "appointment.created" {
				t.Fatalf("page 2: %+v %q %v", page, next, err)
			}
			if es, _, _ := st.AuditLog(context.Background(), "org-b", store.AuditFilter{}); len(es) != 0 {
				t.Errorf("another organization sees %d entries", len(es))
			}
		})
	}
}
