package journey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"rendezvous"
	"rendezvous/genesys"
	"rendezvous/jobs"
	"rendezvous/store"
)

// The callbacks (legacy) scheduling channel: for an organization whose settings choose
// ChannelCallbacks, every appointment has a Genesys Cloud scheduled callback that Genesys
// offers to the assigned agent at the start. Booking creates it, rescheduling (or
// reassigning) moves it, cancelling disconnects it.
//
// What Genesys allows shapes the steps. A callback aimed at the assigned agent is an
// agent-owned callback, which its queue must take (agent-owned callbacks enabled and a
// preferred-agent rule) and which may be scheduled only as far ahead as the queue's
// maxOwnedCallbackDelayHours; a callback with no agent may be 30 days ahead. Moving one
// (PATCH, PatchCallbackRequest) requires an agent, so a callback with no agent before or
// after the change is disconnected and created again instead.
//
// The work runs as durable jobs: the journey's appointment event handler enqueues a
// CallbackJobKind job, and that job brings Genesys in line with the appointment as it is
// when the job runs (not as it was at the event), so jobs that run late, twice or out of
// order still converge. The callback's ids live in journey_callbacks; a claim on that row
// makes sure a create is sent at most once.

// CallbackJobKind is the kind of the job that brings an appointment's scheduled callback
// in line with the appointment; its Args are CallbackArgs.
const CallbackJobKind = "journey.callback_sync"

// CallbackArgs are the arguments of a CallbackJobKind job.
type CallbackArgs struct {
	AppointmentID string `json:"appointmentId"`
}

// Callbacks is the part of the Genesys Cloud API client (*genesys.Client) the callbacks
// channel uses.
type Callbacks interface {
	CreateCallback(ctx context.Context, req genesys.CallbackRequest) (genesys.CallbackResponse, error)
	RescheduleCallback(ctx context.Context, req genesys.CallbackUpdate) error
	CancelCallback(ctx context.Context, conversationID string) error
	QueueByName(ctx context.Context, name string) (genesys.Queue, error)
	Queue(ctx context.Context, id string) (genesys.Queue, error)
}

// callbacksFor returns the organization's callbacks client; when it has none, one whose
// every call fails with the reason (rendezvous.ErrNotConnected, which the job records as
// a refusal), so the sync's steps need no second error path.
func (s *Service) callbacksFor(ctx context.Context, orgID string) Callbacks {
	c, err := s.callbacks(ctx, orgID)
	if err == nil && c == nil {
		err = rendezvous.NotConnectedError(orgID, "no Genesys Cloud client for callbacks")
	}
	if err != nil {
		return failingCallbacks{err}
	}
	return c
}

// failingCallbacks answers every call with err.
type failingCallbacks struct{ err error }

func (f failingCallbacks) CreateCallback(context.Context, genesys.CallbackRequest) (genesys.CallbackResponse, error) {
	return genesys.CallbackResponse{}, f.err
}
func (f failingCallbacks) RescheduleCallback(context.Context, genesys.CallbackUpdate) error {
	return f.err
}
func (f failingCallbacks) CancelCallback(context.Context, string) error { return f.err }
func (f failingCallbacks) QueueByName(context.Context, string) (genesys.Queue, error) {
	return genesys.Queue{}, f.err
}
func (f failingCallbacks) Queue(context.Context, string) (genesys.Queue, error) {
	return genesys.Queue{}, f.err
}

// callbackEvents are the appointment events that can change a callback.
var callbackEvents = map[string]bool{
	"created": true, "rescheduled": true, "reassigned": true, "updated": true, "cancelled": true,
}

// enqueueCallbackSync enqueues the callback job of an appointment event when the
// organization uses the callbacks channel, or when the appointment already has a callback
// (so that one made before a change of channel is still moved or disconnected).
func (s *Service) enqueueCallbackSync(ctx context.Context, orgID string, ev EventArgs) error {
	if !s.hasCallbacks() || !callbackEvents[ev.Event] {
		return nil
	}
	set, err := s.Settings(ctx, orgID)
	if err != nil {
		return err
	}
	if set.SchedulingChannel != ChannelCallbacks {
		if _, err := s.st.JourneyCallback(ctx, orgID, ev.AppointmentID); errors.Is(err, rendezvous.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		return tx.Enqueue(ctx, store.Job{OrgID: orgID, Kind: CallbackJobKind,
			Args:      CallbackArgs{AppointmentID: ev.AppointmentID},
			UniqueKey: fmt.Sprintf("callback/%s/v%d", ev.AppointmentID, ev.Version)})
	})
}

// HandleCallbackSync is the handler of CallbackJobKind jobs.
func (s *Service) HandleCallbackSync(ctx context.Context, j *store.Job) error {
	var args CallbackArgs
	if err := j.Decode(&args); err != nil {
		return jobs.Permanent(fmt.Errorf("journey: decode callback job: %w", err))
	}
	if !s.hasCallbacks() {
		return jobs.Permanent(errors.New("journey: no Genesys Cloud client for callbacks"))
	}
	a, err := s.st.Appointment(ctx, j.OrgID, args.AppointmentID)
	if errors.Is(err, rendezvous.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	// Three passes at most: a create that raced a reschedule is corrected by the next
	// ones, which for a callback with no agent are two (disconnect, create again).
	for range 3 {
		again, err := s.syncCallback(ctx, a)
		if err != nil || !again {
			return err
		}
		if a, err = s.st.Appointment(ctx, j.OrgID, args.AppointmentID); err != nil {
			return err
		}
	}
	return nil
}

// syncCallback does one step towards the callback a needs; again asks for another look.
func (s *Service) syncCallback(ctx context.Context, a *rendezvous.Appointment) (again bool, err error) {
	log := s.log.With("appointment_id", a.ID, "org_id", a.OrgID)
	cb, err := s.st.JourneyCallback(ctx, a.OrgID, a.ID)
	exists := err == nil
	if err != nil && !errors.Is(err, rendezvous.ErrNotFound) {
		return false, err
	}
	now := s.clock.Now()

	if a.Status != rendezvous.StatusScheduled {
		if a.Status == rendezvous.StatusCancelled && exists && cb.State == store.CallbackScheduled {
			if err := s.callbacksFor(ctx, a.OrgID).CancelCallback(ctx, cb.ConversationID); err != nil {
				return false, s.callbackFailed(ctx, log, cb, "cancel", err)
			}
			cb.State, cb.LastError = store.CallbackCancelled, ""
			log.Info("journey: scheduled callback disconnected", "conversation_id", cb.ConversationID)
			return false, s.st.PutJourneyCallback(ctx, cb)
		}
		return false, nil
	}

	if exists && cb.State == store.CallbackCreating {
		// Another run is sending the create (or died doing so): look again later.
		return false, jobs.Retry(time.Minute)
	}
	if exists && (cb.State == store.CallbackUnknown || cb.State == store.CallbackCancelled) {
		return false, nil // nothing safe to do automatically
	}

	if !exists || cb.State == store.CallbackFailed || cb.State == store.CallbackDeferred {
		set, err := s.Settings(ctx, a.OrgID)
		if err != nil {
			return false, err
		}
		if set.SchedulingChannel != ChannelCallbacks {
			return false, nil
		}
		return s.createCallback(ctx, log, a, set, now)
	}

	// cb.State == scheduled: move it when the time or the agent changed.
	if cb.ScheduledAt.Equal(a.Start) && cb.AgentUserID == a.AgentUserID {
		return false, nil
	}
	q, err := s.callbacksFor(ctx, a.OrgID).Queue(ctx, cb.QueueID)
	if err != nil {
		return false, s.callbackFailed(ctx, log, cb, "look up queue", err)
	}
	if a.Start.Sub(now) > callbackHorizon(q, a.AgentUserID != "") {
		// Genesys refuses a time that far ahead: disconnect now, create again later.
		if err := s.callbacksFor(ctx, a.OrgID).CancelCallback(ctx, cb.ConversationID); err != nil {
			return false, s.callbackFailed(ctx, log, cb, "cancel", err)
		}
		cb.State, cb.LastError = store.CallbackDeferred, ""
		if err := s.st.PutJourneyCallback(ctx, cb); err != nil {
			return false, err
		}
		return false, s.deferCallback(ctx, a, callbackHorizon(q, a.AgentUserID != ""))
	}
	if a.AgentUserID == "" || cb.AgentUserID == "" {
		// PatchCallbackRequest requires an agent: a callback with none before or after the
		// change cannot be moved. Disconnect it and create it again ("deferred": Genesys
		// holds nothing for it), in the next pass.
		if err := s.callbacksFor(ctx, a.OrgID).CancelCallback(ctx, cb.ConversationID); err != nil {
			return false, s.callbackFailed(ctx, log, cb, "cancel", err)
		}
		log.Info("journey: scheduled callback disconnected to be created again", "conversation_id", cb.ConversationID)
		cb.State, cb.LastError = store.CallbackDeferred, ""
		return true, s.st.PutJourneyCallback(ctx, cb)
	}
	err = s.callbacksFor(ctx, a.OrgID).RescheduleCallback(ctx, genesys.CallbackUpdate{
		ConversationID: cb.ConversationID, AgentID: a.AgentUserID, QueueID: cb.QueueID,
		CallbackScheduledTime: genesys.FormatTime(a.Start),
	})
	if err != nil {
		return false, s.callbackFailed(ctx, log, cb, "reschedule", err)
	}
	cb.ScheduledAt, cb.AgentUserID, cb.LastError = a.Start, a.AgentUserID, ""
	log.Info("journey: scheduled callback moved", "conversation_id", cb.ConversationID, "scheduled_at", a.Start)
	return false, s.st.PutJourneyCallback(ctx, cb)
}

// callbackHorizon is how far ahead Genesys takes a callback on q: the queue's owned-callback
// horizon for one aimed at an agent (agent-owned), 30 days otherwise.
func callbackHorizon(q genesys.Queue, owned bool) time.Duration {
	if owned {
		return q.OwnedCallbackHorizon()
	}
	return genesys.MaxCallbackHorizon
}

// deferCallback enqueues the job that creates a's callback once its start is within
// Genesys' horizon.
func (s *Service) deferCallback(ctx context.Context, a *rendezvous.Appointment, horizon time.Duration) error {
	at := a.Start.Add(-horizon).Add(time.Minute)
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		return tx.Enqueue(ctx, store.Job{OrgID: a.OrgID, Kind: CallbackJobKind, RunAt: at,
			Args:      CallbackArgs{AppointmentID: a.ID},
			UniqueKey: fmt.Sprintf("callback/%s/at/%d", a.ID, a.Start.Unix())})
	})
}

func (s *Service) createCallback(ctx context.Context, log *slog.Logger, a *rendezvous.Appointment, set Settings, now time.Time) (bool, error) {
	cb := store.Callback{AppointmentID: a.ID, OrgID: a.OrgID, AgentUserID: a.AgentUserID, ScheduledAt: a.Start}
	fail := func(msg string) (bool, error) {
		cb.State, cb.LastError = store.CallbackFailed, msg
		log.Error("journey: cannot create the scheduled callback", "reason", msg)
		return false, s.st.PutJourneyCallback(ctx, cb)
	}
	if !a.Start.After(now) {
		return fail("the appointment's start has passed")
	}
	var phone, name string
	for _, c := range a.Customers {
		if c.Phone != "" {
			phone, name = c.Phone, c.Name
			break
		}
	}
	if phone == "" {
		return fail("no customer has a phone number for the callback")
	}
	queueName := set.DefaultQueue
	if a.Interaction.Routing.Type == rendezvous.RoutingQueue && a.Interaction.Routing.QueueName != "" {
		queueName = a.Interaction.Routing.QueueName
	}
	if queueName == "" {
		return fail("no queue: set a default queue in the scheduling settings")
	}
	q, err := s.callbacksFor(ctx, a.OrgID).QueueByName(ctx, queueName)
	if err != nil {
		if k, _ := genesys.Classify(err); k == genesys.KindPermanent {
			return fail(fmt.Sprintf("queue %q: %v", queueName, err))
		}
		return false, fmt.Errorf("look up queue %q: %w", queueName, err)
	}
	owned := a.AgentUserID != ""
	if owned && !q.OwnsCallbacks() {
		return fail(fmt.Sprintf("queue %q does not take agent-owned callbacks: in Genesys Cloud, turn on agent-owned callbacks in the queue's settings and give it a preferred agent routing rule, or pick another queue", queueName))
	}
	if horizon := callbackHorizon(q, owned); a.Start.Sub(now) > horizon {
		return false, s.deferCallback(ctx, a, horizon)
	}
	cb.QueueID = q.ID
	ok, err := s.st.ClaimJourneyCallback(ctx, cb)
	if err != nil || !ok {
		return false, err // !ok: another run holds the row; its outcome stands
	}
	data := make(map[string]string, len(a.Interaction.CustomFields)+2)
	maps.Copy(data, a.Interaction.CustomFields)
	data[AppointmentIDAttribute] = a.ID
	data[AgentRoomLinkAttribute] = s.agentLink(a)
	rd := &genesys.RoutingData{QueueID: q.ID}
	if a.AgentUserID != "" {
		rd.ScoredAgents = []genesys.AgentScore{{Agent: genesys.AddressableEntityRef{ID: a.AgentUserID}, Score: 100}}
		rd.RoutingFlags = []string{genesys.RoutingFlagAgentOwned}
	}
	resp, err := s.callbacksFor(ctx, a.OrgID).CreateCallback(ctx, genesys.CallbackRequest{
		RoutingData:           rd,
		CallbackNumbers:       []string{phone},
		CallbackUserName:      name,
		CallbackScheduledTime: genesys.FormatTime(a.Start),
		Data:                  data,
	})
	if err != nil {
		return false, s.callbackFailed(ctx, log, store.Callback{AppointmentID: a.ID, OrgID: a.OrgID, State: store.CallbackCreating,
			QueueID: q.ID, AgentUserID: a.AgentUserID, ScheduledAt: a.Start, Attempts: 1}, "create", err)
	}
	cb.State, cb.ConversationID, cb.CallbackID = store.CallbackScheduled, resp.Conversation.ID, resp.CallbackID()
	if err := s.st.PutJourneyCallback(ctx, cb); err != nil {
		// The callback exists but its ids are not recorded: say so loudly; the row stays
		// "creating" and is never sent again automatically.
		log.Error("journey: scheduled callback created but not recorded", "conversation_id", cb.ConversationID, "error", err)
		return false, jobs.Permanent(err)
	}
	log.Info("journey: scheduled callback created", "conversation_id", cb.ConversationID, "scheduled_at", a.Start)
	return true, nil
}

// callbackFailed records a failed Genesys call on the callback row and turns it into the
// job's outcome: rate limits and transient failures retry through the job queue, a
// refusal is recorded and logged and not retried, and a create that may have gone through
// is marked unknown and never re-sent automatically.
func (s *Service) callbackFailed(ctx context.Context, log *slog.Logger, cb store.Callback, op string, err error) error {
	kind, after := genesys.Classify(err)
	cb.LastError = fmt.Sprintf("%s: %v", op, err)
	creating := cb.State == store.CallbackCreating
	switch {
	case kind == genesys.KindAmbiguous && creating:
		cb.State = store.CallbackUnknown
		log.Error("journey: scheduled callback may or may not exist; check Genesys Cloud", "op", op, "error", err)
		if perr := s.st.PutJourneyCallback(ctx, cb); perr != nil {
			return perr
		}
		return jobs.Permanent(err)
	case kind == genesys.KindPermanent:
		if creating {
			cb.State = store.CallbackFailed
		}
		log.Error("journey: Genesys Cloud refused the scheduled callback", "op", op, "error", err)
		if perr := s.st.PutJourneyCallback(ctx, cb); perr != nil {
			return perr
		}
		return jobs.Permanent(err)
	}
	// Genesys did not act (or the call is idempotent): retry. A create that did not
	// happen frees the row so the retry may claim it again.
	if creating {
		cb.State = store.CallbackFailed
	}
	log.Warn("journey: scheduled callback call failed; retrying", "op", op, "kind", kind.String(), "error", err)
	if perr := s.st.PutJourneyCallback(ctx, cb); perr != nil {
		return perr
	}
	if kind == genesys.KindRetryAfter && after > 0 {
		return jobs.RetryAfter(after, err)
	}
	return err
}
