package room

import (
	"context"
	"errors"
	"fmt"
	"time"

	"rendezvous"
	"rendezvous/store"
)

// jobArgs are the arguments of the room's own jobs.
type jobArgs struct {
	AppointmentID string `json:"appointmentId"`
}

// errNoChange aborts an UpdateAppointment whose change has nothing to do.
var errNoChange = errors.New("no change")

// update applies change to the appointment through the store; a change returning
// errNoChange leaves it untouched and is not an error. It reports whether it changed.
func (r *Rooms) update(ctx context.Context, orgID, id string, change func(a *rendezvous.Appointment) (string, error)) (bool, error) {
	_, err := r.st.UpdateAppointment(ctx, orgID, id, 0, change)
	if errors.Is(err, errNoChange) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	r.changed(id)
	return true, nil
}

// markStarted moves a scheduled appointment to in_progress (the customer joined).
func (r *Rooms) markStarted(ctx context.Context, a *rendezvous.Appointment) error {
	_, err := r.update(ctx, a.OrgID, a.ID, func(cur *rendezvous.Appointment) (string, error) {
		if cur.Status != rendezvous.StatusScheduled {
			return "", errNoChange
		}
		return "started", cur.MarkStarted(r.clock.Now())
	})
	return err
}

// complete moves an in-progress appointment to completed; it reports whether it did.
func (r *Rooms) complete(ctx context.Context, orgID, id string) (bool, error) {
	return r.update(ctx, orgID, id, func(cur *rendezvous.Appointment) (string, error) {
		if cur.Status != rendezvous.StatusInProgress {
			return "", errNoChange
		}
		return "completed", cur.MarkCompleted(r.clock.Now())
	})
}

// deadlineKey is the unique-key prefix of an appointment's deadline jobs.
func deadlineKey(id string) string { return "room/deadline/" + id + "/" }

// scheduleDeadline replaces the pending deadline job of a with one at a's end plus
// grace. The version in the key lets the new job coexist with the one being withdrawn.
func (r *Rooms) scheduleDeadline(ctx context.Context, a *rendezvous.Appointment) error {
	at := a.End().Add(r.grace(ctx, a.OrgID))
	deadline := store.Job{
		OrgID: a.OrgID, Kind: DeadlineJobKind, Args: jobArgs{AppointmentID: a.ID}, RunAt: at,
		UniqueKey: fmt.Sprintf("%s%d", deadlineKey(a.ID), a.Version),
	}
	if a.Version == 1 {
		// At version 1 no deadline of another version can exist (a retry of this one is
		// deduplicated by its key): a new booking's deadline is one insert, no withdrawal
		// and no transaction around it.
		return r.st.Enqueue(ctx, deadline)
	}
	return r.st.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.CancelJobs(ctx, a.OrgID, deadlineKey(a.ID)); err != nil {
			return err
		}
		return tx.Enqueue(ctx, deadline)
	})
}

// scheduleEmptyCheck asks for a look at the room EmptyGrace from now: if nobody came
// back by then, the meeting is over.
func (r *Rooms) scheduleEmptyCheck(ctx context.Context, a *rendezvous.Appointment) error {
	return r.scheduleEmptyCheckAt(ctx, a.OrgID, a.ID, r.clock.Now().Add(r.o.EmptyGrace))
}

func (r *Rooms) scheduleEmptyCheckAt(ctx context.Context, orgID, id string, at time.Time) error {
	return r.st.Enqueue(ctx, store.Job{
		OrgID: orgID, Kind: EmptyJobKind, Args: jobArgs{AppointmentID: id}, RunAt: at,
		UniqueKey: "room/empty/" + id,
	})
}

// HandleAppointmentEvent handles EventJobKind: it schedules the no-show deadline when an
// appointment is created or rescheduled, withdraws it when cancelled, and closes the
// room on this instance when the appointment was cancelled or ended elsewhere.
func (r *Rooms) HandleAppointmentEvent(ctx context.Context, j *store.Job) error {
	var ev store.EventArgs
	if err := j.Decode(&ev); err != nil {
		return fmt.Errorf("room: appointment event: %w", err)
	}
	switch ev.Event {
	case "created", "rescheduled":
		a, err := r.st.Appointment(ctx, j.OrgID, ev.AppointmentID)
		if errors.Is(err, rendezvous.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("room: appointment event: %w", err)
		}
		if a.Status.Final() {
			return nil
		}
		if err := r.scheduleDeadline(ctx, a); err != nil {
			return fmt.Errorf("room: schedule deadline of %s: %w", a.ID, err)
		}
	case "cancelled":
		if err := r.st.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.CancelJobs(ctx, j.OrgID, deadlineKey(ev.AppointmentID))
			return err
		}); err != nil {
			return fmt.Errorf("room: withdraw deadline of %s: %w", ev.AppointmentID, err)
		}
		r.hub.End(ev.AppointmentID, "cancelled")
	case "completed", "no_show":
		r.hub.End(ev.AppointmentID, ev.Event)
	case "reassigned":
		// The previous agent's link no longer opens the room; whoever is on it leaves.
		r.hub.Kick(ev.AppointmentID, Agent, "reassigned")
	}
	return nil
}

// HandleDeadline handles DeadlineJobKind at an appointment's end plus grace: a customer
// who never joined makes it a no-show; an in-progress meeting whose room is empty is
// completed. It does nothing when the customer came and the meeting still runs.
func (r *Rooms) HandleDeadline(ctx context.Context, j *store.Job) error {
	var args jobArgs
	if err := j.Decode(&args); err != nil {
		return fmt.Errorf("room: deadline: %w", err)
	}
	a, err := r.st.Appointment(ctx, j.OrgID, args.AppointmentID)
	if errors.Is(err, rendezvous.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("room: deadline: %w", err)
	}
	if a.Status.Final() {
		return nil
	}
	now := r.clock.Now()
	if deadline := a.End().Add(r.grace(ctx, a.OrgID)); now.Before(deadline) {
		// Moved later (a longer grace, or a reschedule whose own job is on its way).
		return r.scheduleDeadline(ctx, a)
	}
	sessions, err := r.st.RoomSessions(ctx, a.OrgID, a.ID)
	if err != nil {
		return fmt.Errorf("room: deadline: %w", err)
	}
	came, open := false, false
	for _, s := range sessions {
		came = came || s.Side == string(Customer)
		open = open || r.alive(a.ID, s, now)
	}
	switch a.Status {
	case rendezvous.StatusScheduled:
		if came {
			return nil // the customer came; the join marks the start, never a no-show
		}
		_, err = r.update(ctx, a.OrgID, a.ID, func(cur *rendezvous.Appointment) (string, error) {
			if cur.Status != rendezvous.StatusScheduled {
				return "", errNoChange
			}
			return "no_show", cur.MarkNoShow(now)
		})
		if err == nil {
			r.hub.End(a.ID, "no_show")
		}
	case rendezvous.StatusInProgress:
		if !open {
			_, err = r.complete(ctx, a.OrgID, a.ID)
			break
		}
		// The meeting runs over. Its end is normally seen when the last one leaves (the
		// empty check); look again later in case that instance dies first.
		err = r.st.Enqueue(ctx, store.Job{OrgID: a.OrgID, Kind: DeadlineJobKind, Args: jobArgs{AppointmentID: a.ID},
			RunAt: now.Add(overrunCheck), UniqueKey: deadlineKey(a.ID) + "overrun"})
	}
	if err != nil {
		return fmt.Errorf("room: deadline of %s: %w", a.ID, err)
	}
	return nil
}

// HandleEmpty handles EmptyJobKind: the room became empty EmptyGrace ago. If nobody is
// connected and nobody left more recently, the meeting is over.
func (r *Rooms) HandleEmpty(ctx context.Context, j *store.Job) error {
	var args jobArgs
	if err := j.Decode(&args); err != nil {
		return fmt.Errorf("room: empty check: %w", err)
	}
	sessions, err := r.st.RoomSessions(ctx, j.OrgID, args.AppointmentID)
	if err != nil {
		return fmt.Errorf("room: empty check: %w", err)
	}
	now := r.clock.Now()
	var lastLeft time.Time
	for _, s := range sessions {
		left := s.LeftAt
		if left.IsZero() {
			if r.alive(args.AppointmentID, s, now) {
				return nil // someone is back; their leaving will schedule another check
			}
			left = s.SeenAt // left behind by a crashed instance: gone since last seen
		}
		if left.After(lastLeft) {
			lastLeft = left
		}
	}
	if due := lastLeft.Add(r.o.EmptyGrace); now.Before(due) {
		// Someone came and went again since this check was scheduled.
		return r.scheduleEmptyCheckAt(ctx, j.OrgID, args.AppointmentID, due)
	}
	if _, err := r.complete(ctx, j.OrgID, args.AppointmentID); err != nil {
		return fmt.Errorf("room: empty check of %s: %w", args.AppointmentID, err)
	}
	return nil
}

// overrunCheck is how often a meeting running past its end plus grace is looked at.
const overrunCheck = 15 * time.Minute

// staleAfter is how long an open session may go unseen before it counts as gone: a few
// missed heartbeats (pingEvery), so only a crashed instance's leftovers qualify.
const staleAfter = 4 * pingEvery

// alive reports whether session s of appointment id is someone in the room now: open,
// and either connected to this instance or seen recently by another.
func (r *Rooms) alive(id string, s store.RoomSession, now time.Time) bool {
	if !s.LeftAt.IsZero() {
		return false
	}
	for _, side := range r.hub.Present(id) {
		if string(side) == s.Side {
			return true
		}
	}
	return now.Sub(s.SeenAt) < staleAfter
}
