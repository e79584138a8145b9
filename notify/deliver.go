package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"rendezvous"
	"rendezvous/genesys"
	"rendezvous/jobs"
	"rendezvous/store"
)

// Delivery outcomes, as stored and shown in the delivery log.
const (
	OutcomeScheduled = "scheduled" // waiting for its due time
	OutcomeSending   = "sending"   // handed to Genesys; the answer is not recorded yet
	OutcomeRetrying  = "retrying"  // failed in a way another try can fix; a retry is queued
	OutcomeSent      = "sent"
	OutcomeFailed    = "failed"    // refused for good (400/401/403/404, or out of tries)
	OutcomeSkipped   = "skipped"   // not sent on purpose; the error says why
	OutcomeUnknown   = "unknown"   // may or may not have been accepted; not re-sent automatically
	OutcomeWithdrawn = "withdrawn" // the appointment changed before it was due
)

// eventArgs are the Args of EventJobKind: the store's event, and a revision when this
// package asks for a re-plan of the same version.
type eventArgs struct {
	store.EventArgs
	Revision string `json:"revision,omitempty"`
}

type sendArgs struct {
	DeliveryID string `json:"deliveryId"`
}

// verifiedChannels lists the organization's channels that may send, in Channels order.
func (s *Service) verifiedChannels(ctx context.Context, orgID string) ([]Channel, error) {
	all, err := s.st.NotifyChannels(ctx, orgID)
	if err != nil {
		return nil, err
	}
	var out []Channel
	for _, ch := range Channels() {
		for _, c := range all {
			if c.Channel == string(ch) && !c.VerifiedAt.IsZero() {
				out = append(out, ch)
			}
		}
	}
	return out, nil
}

// HandleAppointmentEvent is the handler of EventJobKind: it withdraws what the change made
// obsolete and records and enqueues the deliveries it causes, in one transaction. It is
// idempotent: each delivery has a deduplication key, so an event handled twice (after a
// crash) plans nothing twice.
func (s *Service) HandleAppointmentEvent(ctx context.Context, j *store.Job) error {
	var ev eventArgs
	if err := j.Decode(&ev); err != nil {
		return jobs.Permanent(err)
	}
	verified, err := s.verifiedChannels(ctx, j.OrgID)
	if err != nil {
		return err
	}
	// What an event withdraws depends on the event alone (a disabled appointment plans
	// nothing else), so no settings are needed to ask.
	if len(verified) == 0 && len(PlanEvent(&rendezvous.Appointment{}, ev.Event, ev.Version, Settings{}, nil, s.clock.Now()).Withdraw) == 0 {
		// With no channel that may send, the event can only withdraw; a booking withdraws
		// nothing. Returning here spares the settings read and a locked transaction per
		// booking in an organization without notifications, work that competed with the
		// bookings themselves.
		return nil
	}
	set, err := s.Settings(ctx, j.OrgID)
	if err != nil {
		return err
	}
	chosen, err := s.appointmentChannels(ctx, j.OrgID, ev.AppointmentID)
	if err != nil {
		return err
	}
	var channels []Channel
	for _, ch := range verified {
		if chosen.allows(ch) {
			channels = append(channels, ch)
		}
	}
	planned := 0
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.Lock(ctx, "notify/"+ev.AppointmentID); err != nil {
			return err
		}
		a, err := tx.AppointmentInTx(ctx, j.OrgID, ev.AppointmentID)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		plan := PlanEvent(a, ev.Event, ev.Version, set, channels, now)
		for _, k := range plan.Withdraw {
			if _, err := tx.CancelJobs(ctx, j.OrgID, kindPrefix(a.ID, k)); err != nil {
				return err
			}
			if _, err := tx.WithdrawNotifyDeliveries(ctx, j.OrgID, a.ID, "withdrawn: the appointment was "+ev.Event, k); err != nil {
				return err
			}
		}
		skip, err := coalesced(ctx, tx, a, plan)
		if err != nil {
			return err
		}
		for _, p := range plan.Deliveries {
			if p.Kind == KindMessage && skip[p.Customer][p.Channel] {
				continue
			}
			if p.Kind != KindMessage {
				p.Revision = ev.Revision
			}
			key := p.Key(a.ID)
			d := &store.NotifyDelivery{
				ID: uuid.NewString(), OrgID: j.OrgID, AppointmentID: a.ID, DedupeKey: key, Kind: p.Kind,
				Event: string(p.Event), Channel: string(p.Channel), CustomerIndex: p.Customer,
				OffsetMinutes: p.OffsetMinutes, Version: p.Version, Recipient: recipientMask(a, p.Customer, p.Channel),
				DueAt: p.Due, Outcome: OutcomeScheduled,
			}
			ok, err := tx.InsertNotifyDelivery(ctx, d)
			if err != nil {
				return err
			}
			if !ok {
				continue // planned before: this event was handled already
			}
			kind, runAt := SendJobKind, p.Due
			if p.Kind == KindReminder {
				kind = ReminderJobKind // its own lane: never behind a backlog of messages
			} else if pc, ok := s.channelPacers.Load(j.OrgID + "\x00" + string(p.Channel)); ok {
				// Behind a backlog of sends: enqueued for its slot rather than due.
				if at := pc.(*pacer).slotFor(p.Due, d.ID); !at.IsZero() {
					runAt = at
				}
			}
			if err := tx.Enqueue(ctx, store.Job{OrgID: j.OrgID, Kind: kind, Args: sendArgs{DeliveryID: d.ID},
				RunAt: runAt, MaxAttempts: sendMaxAttempts, UniqueKey: key}); err != nil {
				return err
			}
			planned++
		}
		return nil
	})
	if errors.Is(err, rendezvous.ErrNotFound) {
		s.log.Warn("appointment of an event is gone", "appointment_id", ev.AppointmentID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("plan notifications for %s %s: %w", ev.AppointmentID, ev.Event, err)
	}
	s.log.Debug("notifications planned", "appointment_id", ev.AppointmentID, "event", ev.Event, "deliveries", planned)
	return nil
}

// coalesced returns the customers and channels whose booking or change message of the plan
// is not needed: one still waits to go (it will describe the appointment as it is then),
// or, for a change, nothing the customer was last told has changed.
func coalesced(ctx context.Context, tx *store.Tx, a *rendezvous.Appointment, plan Plan) (map[int]map[Channel]bool, error) {
	skip := map[int]map[Channel]bool{}
	mark := func(i int, ch Channel) {
		if skip[i] == nil {
			skip[i] = map[Channel]bool{}
		}
		skip[i][ch] = true
	}
	var pending []store.NotifyPending
	read := false
	for _, p := range plan.Deliveries {
		if p.Kind != KindMessage || !Coalesces(p.Event) {
			continue
		}
		if !read {
			var err error
			if pending, err = tx.PendingNotifyMessages(ctx, a.OrgID, a.ID, string(EventCreated), string(EventRescheduled)); err != nil {
				return nil, err
			}
			read = true
		}
		for _, w := range pending {
			if w.CustomerIndex == p.Customer && w.Channel == string(p.Channel) {
				mark(p.Customer, p.Channel)
			}
		}
		if p.Event == EventRescheduled {
			last, err := tx.LastNotifyTold(ctx, a.OrgID, a.ID, p.Customer, string(p.Channel), "")
			if err != nil {
				return nil, err
			}
			if before, ok := decodeTold(last); ok && !changesBetween(before, toldOf(a)).any() {
				mark(p.Customer, p.Channel)
			}
		}
	}
	return skip, nil
}

func recipientMask(a *rendezvous.Appointment, i int, ch Channel) string {
	if i < 0 || i >= len(a.Customers) {
		return ""
	}
	addr := address(a.Customers[i], ch)
	if addr == "" {
		return ""
	}
	return mask(ch, addr)
}

// channelLabel is a channel's name in a skip reason: "SMS" or "email".
func channelLabel(ch Channel) string {
	if ch == ChannelSMS {
		return "SMS"
	}
	return "email"
}

// address is the customer's phone number for SMS or email address for email; "" when
// they gave none.
func address(c rendezvous.Customer, ch Channel) string {
	if ch == ChannelSMS {
		return c.Phone
	}
	return c.Email
}

// prepared is a delivery ready to hand to Genesys.
type prepared struct {
	d      *store.NotifyDelivery
	n      int
	client *sendClient
	ch     Channel
	cfg    channelConfig
	to     string
	toName string
	msg    Message
}

// HandleSend is the handler of SendJobKind and ReminderJobKind; see the package comment
// for its rule. Nothing slow happens inside a transaction: the message is rendered (which
// may ask Genesys for the agent's name) and sent between two short transactions, one
// that marks the delivery "sending" and one that records Genesys' answer. A delivery
// that must wait for its OAuth client's rate is deferred (jobs.Defer), not held in a
// worker. A database error anywhere is retried, never recorded as the delivery's
// failure.
func (s *Service) HandleSend(ctx context.Context, j *store.Job) error {
	var args sendArgs
	if err := j.Decode(&args); err != nil {
		return jobs.Permanent(err)
	}
	d, err := s.st.NotifyDelivery(ctx, j.OrgID, args.DeliveryID)
	if err != nil {
		if errors.Is(err, rendezvous.ErrNotFound) {
			return jobs.Permanent(err)
		}
		return err
	}
	switch d.Outcome {
	case OutcomeScheduled, OutcomeRetrying:
	case OutcomeSending:
		return s.markInterrupted(ctx, j.OrgID, d.ID)
	default:
		return nil // finished already
	}
	ch := Channel(d.Channel)
	if d.Kind != KindReminder {
		// Behind a backlog: deferred to its slot before the work of preparing it.
		if p, ok := s.channelPacers.Load(j.OrgID + "\x00" + string(ch)); ok {
			if later, queued := p.(*pacer).early(s.clock.Now(), d.ID); !later.IsZero() {
				if queued {
					// Due without a slot: so, most likely, are the rest of its burst.
					s.deferBacklog(ctx, j.OrgID)
				} else {
					// Perhaps given its slot by a deferBacklog still writing: wait for
					// it, rather than have the runner claim the others it is deferring.
					s.awaitBacklog(j.OrgID)
				}
				return jobs.Defer(later, rateLimitNote)
			}
		}
	}
	set, err := s.Settings(ctx, j.OrgID)
	if err != nil {
		return err
	}
	chosen, err := s.appointmentChannels(ctx, j.OrgID, d.AppointmentID)
	if err != nil {
		return err
	}
	chRow, cfg, sec, chErr := s.loadChannel(ctx, j.OrgID, ch)
	if chErr != nil && !errors.Is(chErr, rendezvous.ErrNotFound) {
		return chErr
	}
	a, err := s.st.Appointment(ctx, j.OrgID, d.AppointmentID)
	if errors.Is(err, rendezvous.ErrNotFound) {
		return s.finishUnsent(ctx, j.OrgID, d.ID, OutcomeSkipped, "the appointment no longer exists", 0)
	}
	if err != nil {
		return err
	}
	now := s.clock.Now()
	skip := SkipReason(a, d.Kind, Event(d.Event), d.DueAt, d.Manual, set, now)
	var to, toName string
	if skip == "" && d.CustomerIndex < len(a.Customers) {
		c := a.Customers[d.CustomerIndex]
		to, toName = address(c, ch), c.Name
	}
	switch {
	case skip != "":
	case !chosen.allows(ch):
		skip = fmt.Sprintf("%s is switched off for this appointment", channelLabel(ch))
	case !d.Manual && !set.Sends(Event(d.Event), ch):
		// Switched off after it was planned; a person sending it again by hand means it.
		skip = fmt.Sprintf("%s messages by %s are switched off in the notification settings", d.Event, channelLabel(ch))
	case to == "":
		skip = fmt.Sprintf("the customer has no %s any more", map[Channel]string{ChannelSMS: "phone number", ChannelEmail: "email address"}[ch])
	case chErr != nil || chRow.VerifiedAt.IsZero():
		skip = fmt.Sprintf("%s is not set up and verified for the organization", channelLabel(ch))
	}
	if skip != "" {
		return s.finishUnsent(ctx, j.OrgID, d.ID, OutcomeSkipped, skip, a.Version)
	}
	// A change message says what changed since the customer's last message, and is not
	// sent when nothing they were told has (the changes undid each other, or touched only
	// what no message shows).
	var before told
	var toldBefore bool
	if d.Kind == KindMessage && Event(d.Event) == EventRescheduled {
		last, err := s.st.LastNotifyTold(ctx, j.OrgID, a.ID, d.CustomerIndex, string(ch), d.ID)
		if err != nil {
			return err
		}
		before, toldBefore = decodeTold(last)
		if toldBefore && !changesBetween(before, toldOf(a)).any() {
			return s.finishUnsent(ctx, j.OrgID, d.ID, OutcomeSkipped, "nothing the customer was told has changed since their last message", a.Version)
		}
	}
	msg, lang, source, err := s.renderChange(ctx, a, Event(d.Event), ch, d.CustomerIndex, set, before, toldBefore)
	if err != nil {
		var te *templateError
		if errors.As(err, &te) {
			// The template itself cannot be rendered: another try cannot fix it.
			return s.finishUnsent(ctx, j.OrgID, d.ID, OutcomeFailed, err.Error(), a.Version)
		}
		return fmt.Errorf("render delivery %s: %w", d.ID, err)
	}

	// The send slot is taken last, when nothing but the send itself is left to do.
	gc, err := s.client(ctx, j.OrgID, chRow.ClientID, sec)
	if err != nil {
		return sendFailed(err)
	}
	s.channelPacers.Store(j.OrgID+"\x00"+string(ch), gc.pacer)
	res, wait, later := gc.pacer.take(now, d.ID, d.Kind == KindReminder)
	if !later.IsZero() {
		return jobs.Defer(later, rateLimitNote)
	}
	if err := s.wait(ctx, wait); err != nil {
		gc.pacer.release(res, s.clock.Now())
		return fmt.Errorf("wait for a send slot: %w", err)
	}
	sendCtx := ctx
	if gc.shared {
		// The pace shared with the other instances has the last word; a slot further
		// away than a second defers the job to it.
		if sendCtx, err = gc.TakeSlot(ctx, "send"); err != nil {
			gc.pacer.release(res, s.clock.Now())
			var pe *genesys.PacedError
			if errors.As(err, &pe) {
				return jobs.Defer(s.clock.Now().Add(pe.Wait), "waiting for the OAuth client's rate limit shared by every instance")
			}
			return sendFailed(fmt.Errorf("wait for a send slot: %w", err))
		}
	}
	var prep *prepared
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		d, err := tx.NotifyDeliveryForUpdate(ctx, j.OrgID, args.DeliveryID)
		if err != nil {
			return err
		}
		if d.Outcome != OutcomeScheduled && d.Outcome != OutcomeRetrying {
			return nil // withdrawn or finished meanwhile
		}
		cur, err := tx.AppointmentInTx(ctx, j.OrgID, d.AppointmentID)
		if err != nil {
			return err
		}
		if cur.Version != a.Version {
			return errAppointmentChanged
		}
		now := s.clock.Now()
		d.Attempts++
		d.Outcome, d.Error, d.Recipient, d.Language, d.Template = OutcomeSending, "", mask(ch, to), lang, source
		if err := tx.PutNotifyAttempt(ctx, d.ID, store.NotifyAttempt{N: d.Attempts, StartedAt: now, Outcome: OutcomeSending}); err != nil {
			return err
		}
		if err := tx.SaveNotifyDelivery(ctx, d); err != nil {
			return err
		}
		if d.Kind == KindReminder || (d.Kind == KindMessage && Coalesces(Event(d.Event))) {
			if err := tx.SetNotifyTold(ctx, j.OrgID, d.ID, toldOf(a).encode()); err != nil {
				return err
			}
		}
		prep = &prepared{d: d, n: d.Attempts, client: gc, ch: ch, cfg: cfg, to: to, toName: toName, msg: msg}
		return nil
	})
	if errors.Is(err, errAppointmentChanged) {
		gc.pacer.release(res, s.clock.Now())
		// Render again with what the appointment says now.
		return jobs.Defer(s.clock.Now(), "the appointment changed while the message was prepared")
	}
	if err != nil {
		gc.pacer.release(res, s.clock.Now())
		return fmt.Errorf("prepare delivery %s: %w", args.DeliveryID, err)
	}
	if prep == nil {
		gc.pacer.release(res, s.clock.Now())
		return nil
	}
	var retriedMu sync.Mutex
	var retried []genesys.Retried
	sctx := genesys.WithRetryObserver(sendCtx, func(r genesys.Retried) {
		retriedMu.Lock()
		retried = append(retried, r)
		retriedMu.Unlock()
	})
	msgID, convID, sendErr := s.send(sctx, prep)
	retriedMu.Lock()
	notes := slices.Clone(retried)
	retriedMu.Unlock()
	return s.record(ctx, j, prep, msgID, convID, sendErr, notes)
}

// rateLimitNote is the last error of a send job deferred to its OAuth client's next slot.
const rateLimitNote = "waiting for the OAuth client's rate limit"

// backlogBatch is how many due sends deferBacklog gives their slots at a time.
const backlogBatch = 2000

// deferBacklog gives every send of the organization that is due now without a slot (at
// its planned time still, store.DueNotifySends), and cannot go within maxInlineWait, its
// slot behind its OAuth client's backlog (the answer each would get from its pacer when
// claimed), and defers their jobs to those slots in a few statements. HandleSend calls
// it when it finds a send due without a slot behind a backlog: the messages of a burst,
// planned before any was sent (their pacer saw no backlog then) and due together after
// the coalescing window, used to be claimed and deferred one by one, 40,000 claims and
// deferrals on the database's writer, while the messages whose slots had come waited
// behind them (issue 14). Sends given a slot before, here or by another instance, keep
// it. A send whose channel has no pacer here yet is left due, as is every send when the
// database cannot be read or written now: each is then deferred when claimed, as before.
// One call per organization runs at a time; a call that waited for another that began
// after it was made has nothing left to do.
func (s *Service) deferBacklog(ctx context.Context, orgID string) {
	v, _ := s.backlogs.LoadOrStore(orgID, &backlog{})
	b := v.(*backlog)
	asked := b.begun.Load()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.begun.Load() != asked {
		return // one began since: it read every send due when this call was made
	}
	b.begun.Add(1)
	now := s.clock.Now()
	due, err := s.st.DueNotifySends(ctx, orgID, SendJobKind, now, backlogBatch)
	if err != nil {
		s.log.Warn("read the due sends behind a backlog", "error", err)
		return
	}
	var moves []store.JobAt
	for _, x := range due {
		p, ok := s.channelPacers.Load(orgID + "\x00" + x.Channel)
		if !ok {
			continue
		}
		if later, _ := p.(*pacer).early(now, x.DeliveryID); !later.IsZero() {
			moves = append(moves, store.JobAt{ID: x.JobID, RunAt: later})
		}
	}
	if len(moves) == 0 {
		return
	}
	n, err := s.st.DeferPending(ctx, moves, now, rateLimitNote)
	if err != nil {
		s.log.Warn("defer the sends behind a backlog", "error", err)
		return
	}
	s.log.Debug("sends deferred to their slots behind a backlog", "org_id", orgID, "due", len(due), "deferred", n)
}

// awaitBacklog returns once no deferBacklog of the organization is running.
func (s *Service) awaitBacklog(orgID string) {
	if v, ok := s.backlogs.Load(orgID); ok {
		b := v.(*backlog)
		b.mu.Lock()
		b.mu.Unlock()
	}
}

// backlog serialises deferBacklog's calls for one organization.
type backlog struct {
	mu    sync.Mutex
	begun atomic.Int64 // calls that read the due sends so far
}

// errAppointmentChanged means the appointment changed between rendering its message and
// marking the delivery sending.
var errAppointmentChanged = errors.New("the appointment changed while its message was prepared")

// markInterrupted handles a delivery found "sending": a previous run handed the message
// to Genesys and never recorded the answer. It may have been accepted, so it is not sent
// twice; it becomes "unknown", which an agent can retry by hand.
func (s *Service) markInterrupted(ctx context.Context, orgID, deliveryID string) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		d, err := tx.NotifyDeliveryForUpdate(ctx, orgID, deliveryID)
		if err != nil || d.Outcome != OutcomeSending {
			return err
		}
		d.Outcome = OutcomeUnknown
		d.Error = "interrupted while the message was being handed to Genesys Cloud; it may have been delivered, so it was not re-sent automatically (retry it by hand if needed)"
		if err := tx.PutNotifyAttempt(ctx, d.ID, store.NotifyAttempt{N: d.Attempts, FinishedAt: s.clock.Now(), Outcome: OutcomeUnknown, Error: d.Error}); err != nil {
			return err
		}
		return tx.SaveNotifyDelivery(ctx, d)
	})
}

// finishUnsent records a delivery as skipped or failed without sending it, unless it
// changed meanwhile. version, when not zero, is the appointment version the decision was
// made on: if the appointment changed since, the job is deferred to decide again.
func (s *Service) finishUnsent(ctx context.Context, orgID, deliveryID, outcome, reason string, version int) error {
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		d, err := tx.NotifyDeliveryForUpdate(ctx, orgID, deliveryID)
		if err != nil {
			return err
		}
		if d.Outcome != OutcomeScheduled && d.Outcome != OutcomeRetrying {
			return nil
		}
		if version != 0 {
			cur, err := tx.AppointmentInTx(ctx, orgID, d.AppointmentID)
			if err != nil {
				return err
			}
			if cur.Version != version {
				return errAppointmentChanged
			}
		}
		now := s.clock.Now()
		d.Attempts++
		d.Outcome, d.Error = outcome, reason
		if err := tx.PutNotifyAttempt(ctx, d.ID, store.NotifyAttempt{N: d.Attempts, StartedAt: now, FinishedAt: now, Outcome: outcome, Error: reason}); err != nil {
			return err
		}
		return tx.SaveNotifyDelivery(ctx, d)
	})
	if errors.Is(err, errAppointmentChanged) {
		return jobs.Defer(s.clock.Now(), "the appointment changed while the message was prepared")
	}
	if err != nil {
		return fmt.Errorf("record delivery %s (%s): %w", deliveryID, outcome, err)
	}
	return nil
}

// send hands one message to Genesys (a delivery's, or StartVerification's code, for which
// only client, ch, cfg, to and msg are set).
func (s *Service) send(ctx context.Context, p *prepared) (msgID, convID string, err error) {
	if p.ch == ChannelSMS {
		r, err := p.client.SendSMS(ctx, genesys.SMSRequest{FromAddress: p.cfg.FromNumber, ToAddress: p.to, TextBody: p.msg.Text, UseExistingActiveConversation: true})
		return r.ID, r.ConversationID, err
	}
	r, err := p.client.SendEmail(ctx, genesys.EmailRequest{
		FromAddress: genesys.EmailAddress{Email: p.cfg.fromEmail(), Name: p.cfg.SenderName},
		ToAddresses: []genesys.EmailAddress{{Email: p.to, Name: p.toName}},
		Subject:     p.msg.Subject, TextBody: p.msg.Text, HTMLBody: p.msg.HTML,
	})
	return r.ID, r.ConversationID, err
}

// stuckSending is how long after which a delivery still "sending" can be retried by hand:
// longer than a run can take to record its answer (recordPatience) with room to spare.
const stuckSending = 2 * recordPatience

// recordPatience is how long record keeps trying to write Genesys' answer while the
// database is out of reach. The answer exists only in memory: giving up leaves the
// delivery "sending", which the job's next run turns into "unknown".
const recordPatience = 5 * time.Minute

// record stores the outcome of a send (with the tries the Genesys client retried within
// it) and tells the job queue what to do next.
func (s *Service) record(ctx context.Context, j *store.Job, p *prepared, msgID, convID string, sendErr error, retried []genesys.Retried) error {
	now := s.clock.Now()
	d := p.d
	kind, wait := genesys.Classify(sendErr)
	status := 0
	var ae *genesys.APIError
	if errors.As(sendErr, &ae) {
		status = ae.Status
		// A 5xx send is flagged ambiguous by the client; but Genesys answered with its
		// error document, saying it failed, so it is retried (at-least-once, as the
		// product promises). Only a send with no answer at all stays "unknown".
		if kind == genesys.KindAmbiguous {
			kind = genesys.KindTransient
			if ae.RetryAfter > 0 {
				kind = genesys.KindRetryAfter
				wait = ae.RetryAfter
			}
		}
	}
	var result error
	switch kind {
	case genesys.KindNone:
		d.Outcome, d.Error, d.SentAt, d.MessageID, d.ConversationID = OutcomeSent, "", now, msgID, convID
	case genesys.KindPermanent:
		d.Outcome, d.Error = OutcomeFailed, sendErr.Error()
		result = jobs.Permanent(sendErr)
	case genesys.KindAmbiguous:
		d.Outcome = OutcomeUnknown
		d.Error = "no answer from Genesys Cloud after the message was sent; it may have been delivered, so it was not re-sent automatically: " + sendErr.Error()
	default: // transient or retry-after
		d.Outcome, d.Error = OutcomeRetrying, sendErr.Error()
		result = sendErr
		switch {
		case status == http.StatusTooManyRequests:
			// Genesys asks us to slow down: that is no failure of this message, so it
			// waits for the time asked without spending one of its tries.
			result = jobs.Defer(now.Add(max(wait, time.Second)), sendErr.Error())
		case kind == genesys.KindRetryAfter && wait > 0:
			result = jobs.RetryAfter(wait, sendErr)
		}
		if status != http.StatusTooManyRequests && j.Attempt >= j.MaxAttempts {
			d.Outcome, d.Error = OutcomeFailed, fmt.Sprintf("gave up after %d tries: %v", j.Attempt, sendErr)
			result = jobs.Permanent(sendErr)
		}
	}
	errText := ""
	if sendErr != nil {
		errText = sendErr.Error()
	}
	// Every answer the client retried is an attempt of its own in the log, then the last.
	var attempts []store.NotifyAttempt
	n := p.n
	for _, r := range retried {
		attempts = append(attempts, store.NotifyAttempt{N: n, StartedAt: d.UpdatedAt, FinishedAt: now, Outcome: OutcomeRetrying,
			Status: r.Status, Error: fmt.Sprintf("%v; the Genesys Cloud client tried again after %s", r.Err, r.Wait.Round(time.Millisecond))})
		n++
	}
	attempts = append(attempts, store.NotifyAttempt{N: n, StartedAt: d.UpdatedAt, FinishedAt: now,
		Outcome: d.Outcome, Status: status, Error: errText, MessageID: msgID})
	d.Attempts = n
	// Record even when ctx ended, and keep trying while the database is out of reach:
	// the answer is known now and must not be lost.
	rctx := context.WithoutCancel(ctx)
	deadline := time.Now().Add(recordPatience)
	pause := 50 * time.Millisecond
	for {
		tctx, cancel := context.WithTimeout(rctx, 10*time.Second)
		err := s.st.InTx(tctx, func(tx *store.Tx) error {
			for _, a := range attempts {
				if err := tx.PutNotifyAttempt(tctx, d.ID, a); err != nil {
					return err
				}
			}
			return tx.SaveNotifyDelivery(tctx, d)
		})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			// The delivery stays "sending", so the job's next run marks it unknown
			// instead of sending twice; the job is retried, not failed, so that run
			// happens.
			return fmt.Errorf("record delivery %s (outcome %s): %w", d.ID, d.Outcome, err)
		}
		s.log.Warn("record delivery; will try again", "delivery_id", d.ID, "outcome", d.Outcome, "error", err)
		// Wall-clock pauses: this waits for a database, not for appointment time.
		time.Sleep(pause)
		pause = min(2*pause, 2*time.Second)
	}
	s.log.Debug("delivery attempt", "delivery_id", d.ID, "channel", p.ch, "event", d.Event, "outcome", d.Outcome, "status", status)
	return result
}

// Retry queues another try of a failed, skipped or unknown delivery, at an agent's
// request. A manual retry ignores the reminder lateness rule but not the others (a
// reminder still never goes out after its appointment started).
func (s *Service) Retry(ctx context.Context, orgID, appointmentID, deliveryID string) (DeliveryView, error) {
	var out *store.NotifyDelivery
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		d, err := tx.NotifyDeliveryForUpdate(ctx, orgID, deliveryID)
		if err != nil {
			return err
		}
		if d.AppointmentID != appointmentID {
			return fmt.Errorf("delivery %s: %w", deliveryID, rendezvous.ErrNotFound)
		}
		// A delivery "sending" for longer than any run could hold it lost its answer (the
		// database refused it for longer than record's patience): it is as good as unknown.
		stuck := d.Outcome == OutcomeSending && s.clock.Now().Sub(d.UpdatedAt) > stuckSending
		if !stuck && !slices.Contains([]string{OutcomeFailed, OutcomeSkipped, OutcomeUnknown}, d.Outcome) {
			return rendezvous.WithDetail(fmt.Errorf("retry a delivery that is %s: %w", d.Outcome, rendezvous.ErrConflict),
				"The delivery is %s; only failed, skipped or unknown deliveries (or one sending for over %s) can be retried.", d.Outcome, stuckSending)
		}
		d.Outcome, d.Error, d.Manual = OutcomeScheduled, "", true
		if err := tx.SaveNotifyDelivery(ctx, d); err != nil {
			return err
		}
		// The appointment's history (from the audit log) shows who sent it again.
		if _, err := tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: "notification.retried", TargetType: "appointment",
			TargetID: appointmentID, Changes: []rendezvous.FieldChange{{Field: "channel", To: d.Channel}}}); err != nil {
			return err
		}
		out = d
		return tx.Enqueue(ctx, store.Job{OrgID: orgID, Kind: SendJobKind, Args: sendArgs{DeliveryID: d.ID},
			MaxAttempts: sendMaxAttempts, UniqueKey: fmt.Sprintf("%s/retry/%d", d.DedupeKey, d.Attempts)})
	})
	if err != nil {
		return DeliveryView{}, err
	}
	return deliveryView(out), nil
}

// DeliveryView is one delivery in the delivery log.
type DeliveryView struct {
	ID             string        `json:"id"`
	Kind           string        `json:"kind"`
	Event          string        `json:"event"`
	Channel        string        `json:"channel"`
	Recipient      string        `json:"recipient,omitempty"`
	Language       string        `json:"language,omitempty"`
	Template       string        `json:"template,omitempty"`
	OffsetMinutes  int           `json:"offsetMinutes,omitempty"`
	DueAt          *time.Time    `json:"dueAt,omitempty"`
	SentAt         *time.Time    `json:"sentAt,omitempty"`
	Outcome        string        `json:"outcome"`
	Error          string        `json:"error,omitempty"`
	MessageID      string        `json:"messageId,omitempty"`
	ConversationID string        `json:"conversationId,omitempty"`
	Manual         bool          `json:"manual,omitempty"`
	Attempts       []AttemptView `json:"attempts"`
}

// AttemptView is one try of a delivery.
type AttemptView struct {
	N          int        `json:"n"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	Outcome    string     `json:"outcome"`
	Status     int        `json:"status,omitempty"`
	Error      string     `json:"error,omitempty"`
	MessageID  string     `json:"messageId,omitempty"`
}

func deliveryView(d *store.NotifyDelivery) DeliveryView {
	v := DeliveryView{ID: d.ID, Kind: d.Kind, Event: d.Event, Channel: d.Channel, Recipient: d.Recipient,
		Language: d.Language, Template: d.Template, OffsetMinutes: d.OffsetMinutes, DueAt: timePtr(d.DueAt),
		SentAt: timePtr(d.SentAt), Outcome: d.Outcome, Error: d.Error, MessageID: d.MessageID,
		ConversationID: d.ConversationID, Manual: d.Manual, Attempts: []AttemptView{}}
	for _, a := range d.AttemptLog {
		v.Attempts = append(v.Attempts, AttemptView{N: a.N, StartedAt: timePtr(a.StartedAt), FinishedAt: timePtr(a.FinishedAt),
			Outcome: a.Outcome, Status: a.Status, Error: a.Error, MessageID: a.MessageID})
	}
	return v
}

// Deliveries returns an appointment's delivery log. The appointment must belong to orgID.
func (s *Service) Deliveries(ctx context.Context, orgID, appointmentID string) ([]DeliveryView, error) {
	if _, err := s.st.Appointment(ctx, orgID, appointmentID); err != nil {
		return nil, err
	}
	ds, err := s.st.NotifyDeliveries(ctx, orgID, appointmentID)
	if err != nil {
		return nil, err
	}
	out := make([]DeliveryView, 0, len(ds))
	for _, d := range ds {
		out = append(out, deliveryView(d))
	}
	return out, nil
}
