package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
		for _, p := range plan.Deliveries {
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
			if err := tx.Enqueue(ctx, store.Job{OrgID: j.OrgID, Kind: SendJobKind, Args: sendArgs{DeliveryID: d.ID},
				RunAt: p.Due, MaxAttempts: sendMaxAttempts, UniqueKey: key}); err != nil {
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

// HandleSend is the handler of SendJobKind; see the package comment for its rule.
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
	ch := Channel(d.Channel)
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
	// Wait for a send slot before the delivery is marked "sending", so that a crash while
	// waiting leaves nothing ambiguous behind.
	var gc *sendClient
	if chErr == nil && !chRow.VerifiedAt.IsZero() && (d.Outcome == OutcomeScheduled || d.Outcome == OutcomeRetrying) {
		if gc, err = s.client(ctx, j.OrgID, chRow.ClientID, sec); err != nil {
			return sendFailed(err)
		}
		if ctx, err = s.pace(ctx, gc); err != nil {
			return sendFailed(fmt.Errorf("wait for a send slot: %w", err))
		}
	}
	var prep *prepared
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		d, err := tx.NotifyDeliveryForUpdate(ctx, j.OrgID, args.DeliveryID)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		switch d.Outcome {
		case OutcomeScheduled, OutcomeRetrying:
		case OutcomeSending:
			// A previous run handed the message to Genesys and never recorded the
			// answer: it may have been accepted. Do not send it twice.
			d.Outcome = OutcomeUnknown
			d.Error = "interrupted while the message was being handed to Genesys Cloud; it may have been delivered, so it was not re-sent automatically (retry it by hand if needed)"
			if err := tx.PutNotifyAttempt(ctx, d.ID, store.NotifyAttempt{N: d.Attempts, FinishedAt: now, Outcome: OutcomeUnknown, Error: d.Error}); err != nil {
				return err
			}
			return tx.SaveNotifyDelivery(ctx, d)
		default:
			return nil // finished already
		}
		a, err := tx.AppointmentInTx(ctx, j.OrgID, d.AppointmentID)
		if err != nil {
			return err
		}
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
		case to == "":
			skip = fmt.Sprintf("the customer has no %s any more", map[Channel]string{ChannelSMS: "phone number", ChannelEmail: "email address"}[ch])
		case chErr != nil || chRow.VerifiedAt.IsZero() || gc == nil:
			skip = fmt.Sprintf("%s is not set up and verified for the organization", channelLabel(ch))
		}
		d.Attempts++
		if skip != "" {
			d.Outcome, d.Error = OutcomeSkipped, skip
			if err := tx.PutNotifyAttempt(ctx, d.ID, store.NotifyAttempt{N: d.Attempts, StartedAt: now, FinishedAt: now, Outcome: OutcomeSkipped, Error: skip}); err != nil {
				return err
			}
			return tx.SaveNotifyDelivery(ctx, d)
		}
		msg, lang, source, err := s.render(ctx, a, Event(d.Event), ch, d.CustomerIndex, set)
		if err != nil {
			d.Outcome, d.Error = OutcomeFailed, err.Error()
			if err := tx.PutNotifyAttempt(ctx, d.ID, store.NotifyAttempt{N: d.Attempts, StartedAt: now, FinishedAt: now, Outcome: OutcomeFailed, Error: d.Error}); err != nil {
				return err
			}
			return tx.SaveNotifyDelivery(ctx, d)
		}
		d.Outcome, d.Error, d.Recipient, d.Language, d.Template = OutcomeSending, "", mask(ch, to), lang, source
		if err := tx.PutNotifyAttempt(ctx, d.ID, store.NotifyAttempt{N: d.Attempts, StartedAt: now, Outcome: OutcomeSending}); err != nil {
			return err
		}
		if err := tx.SaveNotifyDelivery(ctx, d); err != nil {
			return err
		}
		prep = &prepared{d: d, n: d.Attempts, client: gc, ch: ch, cfg: cfg, to: to, toName: toName, msg: msg}
		return nil
	})
	if err != nil {
		return fmt.Errorf("prepare delivery %s: %w", args.DeliveryID, err)
	}
	if prep == nil {
		return nil
	}
	msgID, convID, sendErr := s.send(ctx, prep)
	return s.record(ctx, j, prep, msgID, convID, sendErr)
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

// record stores the outcome of a send and tells the job queue what to do next.
func (s *Service) record(ctx context.Context, j *store.Job, p *prepared, msgID, convID string, sendErr error) error {
	// Record even when ctx ended: the answer is known now and must not be lost.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
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
		if kind == genesys.KindRetryAfter && wait > 0 {
			result = jobs.RetryAfter(wait, sendErr)
		}
		if j.Attempt >= j.MaxAttempts {
			d.Outcome, d.Error = OutcomeFailed, fmt.Sprintf("gave up after %d tries: %v", j.Attempt, sendErr)
			result = jobs.Permanent(sendErr)
		}
	}
	errText := ""
	if sendErr != nil {
		errText = sendErr.Error()
	}
	err := s.st.InTx(rctx, func(tx *store.Tx) error {
		if err := tx.PutNotifyAttempt(rctx, d.ID, store.NotifyAttempt{N: p.n, StartedAt: d.UpdatedAt, FinishedAt: now,
			Outcome: d.Outcome, Status: status, Error: errText, MessageID: msgID}); err != nil {
			return err
		}
		return tx.SaveNotifyDelivery(rctx, d)
	})
	if err != nil {
		// The delivery stays "sending", so a rerun marks it unknown instead of sending
		// twice.
		return jobs.Permanent(fmt.Errorf("record delivery %s (outcome %s): %w", d.ID, d.Outcome, err))
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
		if !slices.Contains([]string{OutcomeFailed, OutcomeSkipped, OutcomeUnknown}, d.Outcome) {
			return fmt.Errorf("delivery is %s; only failed, skipped or unknown deliveries can be retried: %w", d.Outcome, rendezvous.ErrConflict)
		}
		d.Outcome, d.Error, d.Manual = OutcomeScheduled, "", true
		if err := tx.SaveNotifyDelivery(ctx, d); err != nil {
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
