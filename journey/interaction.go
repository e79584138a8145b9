package journey

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"rendezvous"
	"rendezvous/genesys"
	"rendezvous/jobs"
	"rendezvous/store"
)

// EnsureInteraction makes sure appointment a, which is in its live phase, has its one
// Genesys interaction: it creates it when nobody has, resumes it when its driver is gone,
// and otherwise leaves it alone. It returns the progress as stored. It does not wait for
// Genesys: the session is driven in the background, detached from the request, so a
// customer closing the tab does not stop it.
func (s *Service) EnsureInteraction(ctx context.Context, a *rendezvous.Appointment, set Settings) (Progress, error) {
	s.mu.Lock()
	if s.driving[a.ID] {
		s.mu.Unlock()
		return s.progress(ctx, a.ID)
	}
	s.driving[a.ID] = true
	known := s.known[a.ID]
	s.mu.Unlock()
	drive := false
	defer func() {
		if !drive {
			s.undrive(a.ID)
		}
	}()

	// Fast path: most opens find the row already there, agent joined or driven elsewhere.
	// An appointment this instance has never seen a row for skips the read and goes
	// straight to the claim (which reads the row anyway), so the first open of an
	// appointment reaches Genesys one database round trip sooner.
	var it store.JourneyInteraction
	lookErr := rendezvous.ErrNotFound
	if known {
		it, lookErr = s.st.JourneyInteractionOf(ctx, a.ID)
	}
	if lookErr == nil && (it.Progress == string(ProgressAgentJoined) || it.LeaseUntil.After(s.clock.Now())) {
		return Progress(it.Progress), nil
	}
	if lookErr != nil && !errors.Is(lookErr, rendezvous.ErrNotFound) {
		return ProgressNone, lookErr
	}
	_, deployment, _ := set.EffectiveRouting(a)
	if deployment == "" {
		return ProgressNone, fmt.Errorf("journey: no Messenger deployment key in the scheduling settings of %s", a.OrgID)
	}
	// A fresh token is offered; if the row already exists the stored one wins.
	offered := uuid.NewString()
	sealed, err := s.box.Seal([]byte(offered))
	if err != nil {
		return ProgressNone, fmt.Errorf("seal guest token: %w", err)
	}
	// When nobody has started the interaction yet, open the guest session while the
	// claim commits: the two round trips overlap instead of adding up. A loser closes
	// its session unused; a session without messages creates no conversation.
	type claimed struct {
		it    store.JourneyInteraction
		token string
		won   bool
	}
	var decided chan claimed
	if errors.Is(lookErr, rendezvous.ErrNotFound) && s.hasGuest() {
		// One goroutine dials now and, once the claim is decided, either drives the
		// interaction with the session it opened or closes it: no hand-over between
		// goroutines on the way to the presence join.
		decided = make(chan claimed, 1)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			var sess GuestSession
			guest, err := s.guest(s.ctx, a.OrgID)
			if err == nil {
				sess, err = guest.Open(s.ctx, deployment, offered)
			}
			c := <-decided
			if !c.won || c.token != offered {
				if sess != nil {
					sess.Close()
				}
				if !c.won {
					return
				}
				sess, err = nil, nil // took over another row: dial with its token
			}
			defer s.undrive(a.ID)
			early := make(chan earlySession, 1)
			early <- earlySession{sess, err}
			if sess == nil && err == nil {
				early = nil
			}
			s.drive(a, set, c.it, c.token, early)
		}()
	}
	if decided != nil {
		// Let the dial begin before the claim: the claim is in-process SQLite work that
		// would otherwise hold this processor until it commits.
		runtime.Gosched()
	}
	decide := func(c claimed) {
		if decided != nil {
			decided <- c
		}
	}
	it, won, err := s.st.ClaimJourneyInteraction(ctx, a.OrgID, a.ID, deployment, sealed, s.owner, s.o.Lease)
	if err != nil {
		decide(claimed{})
		return ProgressNone, err
	}
	s.markKnown(a.ID)
	if !won {
		decide(claimed{})
		return Progress(it.Progress), nil
	}
	token, err := s.box.Open(it.GuestTokenSealed)
	if err != nil {
		decide(claimed{})
		s.st.ReleaseJourneyLease(ctx, a.ID, s.owner)
		return ProgressNone, fmt.Errorf("open guest token: %w", err)
	}
	drive = true
	if decided != nil {
		decided <- claimed{it: it, token: string(token), won: true}
	} else {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.undrive(a.ID)
			s.drive(a, set, it, string(token), nil)
		}()
	}
	s.wake(a.ID)
	return Progress(it.Progress), nil
}

// undrive records that this instance no longer drives appointment id's interaction.
func (s *Service) undrive(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.driving, id)
}

// markKnown records that appointment id has its interaction row: rows never go away, so
// later opens may take the read-only fast path.
func (s *Service) markKnown(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.known) >= maxKnown {
		clear(s.known) // forgetting only costs a claim transaction per appointment
	}
	s.known[id] = true
}

// maxKnown bounds the memory of markKnown.
const maxKnown = 100_000

// earlySession is a guest session opened while the claim was deciding.
type earlySession struct {
	sess GuestSession
	err  error
}

// progress reads the stored progress of an appointment's interaction.
func (s *Service) progress(ctx context.Context, id string) (Progress, error) {
	it, err := s.st.JourneyInteractionOf(ctx, id)
	if errors.Is(err, rendezvous.ErrNotFound) {
		return ProgressNone, nil
	}
	if err != nil {
		return ProgressNone, err
	}
	return Progress(it.Progress), nil
}

// drive runs the guest side of the interaction while this instance holds its lease: it
// opens (or resumes) the session, sends the presence join and the agent's link when that
// has not happened yet, and waits for the agent. On any failure it records the error and
// gives the lease up, so the customer's next open (on any instance) tries again with the
// same session token.
func (s *Service) drive(a *rendezvous.Appointment, set Settings, it store.JourneyInteraction, token string, early chan earlySession) {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	// Nobody waits for an agent past the end of the live window.
	windowEnd := s.clock.AfterFunc(a.End().Add(set.Grace()).Sub(s.clock.Now()), cancel)
	defer windowEnd.Stop()
	log := s.log.With("appointment_id", a.ID)
	fail := func(step string, err error) {
		log.Warn("journey: interaction step failed", "step", step, "error", err)
		bg := context.WithoutCancel(ctx)
		s.st.SetJourneyProgress(bg, a.ID, "", step+": "+err.Error())
		s.st.ReleaseJourneyLease(bg, a.ID, s.owner)
		s.wake(a.ID)
	}
	guest, err := s.guest(ctx, a.OrgID)
	if err == nil && guest == nil {
		err = errors.New("no Genesys web messaging client configured")
	}
	if err != nil {
		fail("open", err)
		return
	}

	// Keep the lease while we work; losing it means another instance took over.
	lost := make(chan struct{})
	renewDone := make(chan struct{})
	go func() {
		defer close(renewDone)
		for {
			due := make(chan struct{})
			t := s.clock.AfterFunc(s.o.Lease/3, func() { close(due) })
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-due:
			}
			ok, err := s.st.RenewJourneyLease(ctx, a.ID, s.owner, s.o.Lease)
			if err == nil && !ok {
				close(lost)
				cancel()
				return
			}
		}
	}()
	defer func() { cancel(); <-renewDone }()

	var sess GuestSession
	if early != nil {
		r := <-early
		sess, err = r.sess, r.err
	}
	if sess == nil {
		sess, err = guest.Open(ctx, it.DeploymentID, token)
	}
	if err != nil {
		fail("open", err)
		return
	}
	defer sess.Close()
	if it.Progress == string(ProgressConnecting) {
		base := set.Attributes(a, s.agentLink(a))
		attrs := maps.Clone(base)
		for k, v := range identityAttributes(a) {
			if _, taken := attrs[k]; !taken {
				attrs[k] = v
			}
		}
		err := sess.Join(ctx, attrs)
		if errors.Is(err, genesys.ErrAttributesTooLarge) {
			// Nothing was accepted. The identity also travels in the first text, so it is
			// what gives way to the routing attributes and the custom fields.
			log.Warn("journey: custom attributes too large with the customer's identity; joining without it", "error", err)
			err = sess.Join(ctx, base)
		}
		if err != nil {
			fail("join", err)
			return
		}
		// The presence join carries no visible text; the agent needs a link to click, and
		// to see who is waiting (see agentText).
		if err := sess.Say(ctx, agentText(a, s.agentLink(a))); err != nil {
			fail("message", err)
			return
		}
		// Record the join even if we are being stopped: a resume must not join again.
		rec, done := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = s.st.SetJourneyProgress(rec, a.ID, string(ProgressWaitingAgent), "")
		done()
		if err != nil {
			fail("record", err)
			return
		}
		log.Info("journey: interaction started")
		s.wake(a.ID)
	}
	if err := s.waitAgent(ctx, a, sess); err != nil {
		select {
		case <-lost:
			log.Info("journey: another instance took the interaction over")
			return
		default:
		}
		if s.ctx.Err() != nil {
			// Shutting down: hand over at once rather than after the lease runs out.
			s.st.ReleaseJourneyLease(context.Background(), a.ID, s.owner)
			return
		}
		fail("wait_agent", err)
		return
	}
	if err := s.st.SetJourneyProgress(ctx, a.ID, string(ProgressAgentJoined), ""); err != nil {
		fail("record", err)
		return
	}
	log.Info("journey: agent joined")
	s.wake(a.ID)
}

// idle is for tests: it reports whether no session is being driven.
func (s *Service) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.driving) == 0
}

// waitAgent returns once the agent is there: the agent's first message (or a presence
// Join, should Genesys send one: it does not document one) on the guest session, or the
// agent in the appointment's video room, which this instance hears of through wake-ups
// and which another instance's room shows in the store (read every PollEvery).
func (s *Service) waitAgent(ctx context.Context, a *rendezvous.Appointment, sess GuestSession) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inGenesys := make(chan error, 1)
	go func() { inGenesys <- sess.WaitAgent(ctx) }()
	wake, unsubscribe := s.changes.subscribe(a.ID)
	defer unsubscribe()
	for {
		if s.agentInRoom(ctx, a) {
			s.log.Info("journey: the agent opened the room", "appointment_id", a.ID)
			return nil
		}
		poll := make(chan struct{})
		t := s.clock.AfterFunc(s.o.PollEvery, func() { close(poll) })
		select {
		case err := <-inGenesys:
			t.Stop()
			return err
		case <-wake:
		case <-poll:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		t.Stop()
	}
}

// agentInRoom reports whether the agent has joined a's video room (at any time: an agent
// who opened the room and left has still taken the interaction up).
func (s *Service) agentInRoom(ctx context.Context, a *rendezvous.Appointment) bool {
	sessions, err := s.st.RoomSessions(ctx, a.OrgID, a.ID)
	if err != nil {
		return false // the next look tries again; Genesys may tell first anyway
	}
	for _, rs := range sessions {
		if rs.Side == "agent" {
			return true
		}
	}
	return false
}

// Custom attributes that tell the agent who is waiting. An unauthenticated web messaging
// guest has no name in Genesys Cloud (only authenticated messaging fills the customer's
// name from the identity provider), so the agent's view shows a generic guest. The name,
// the appointment's title and its local time therefore travel twice: as participant data
// (which scripts, the Interaction Widget and Architect read) and in the first visible
// text, which every agent sees in the transcript whatever the desktop's configuration.
const (
	CustomerNameAttribute     = "context.auvious.customerName"
	AppointmentTitleAttribute = "context.auvious.appointmentTitle"
	AppointmentTimeAttribute  = "context.auvious.appointmentTime"
)

// maxIdentityRunes bounds each identity value, so that a long title cannot push the
// custom attributes over the deployment's maxCustomDataBytes.
const maxIdentityRunes = 200

// identityAttributes are a's identity attributes: the customers' names, the title and the
// start in the appointment's zone.
func identityAttributes(a *rendezvous.Appointment) map[string]string {
	out := map[string]string{AppointmentTimeAttribute: localStart(a)}
	if names := customerNames(a); names != "" {
		out[CustomerNameAttribute] = clip(names)
	}
	if a.Title != "" {
		out[AppointmentTitleAttribute] = clip(a.Title)
	}
	return out
}

// agentText is the first visible message of the interaction: who, what, when, and the
// link the agent clicks to join the video.
func agentText(a *rendezvous.Appointment, link string) string {
	var b strings.Builder
	b.WriteString("Video appointment")
	if names := customerNames(a); names != "" {
		b.WriteString(" with " + clip(names))
	}
	if a.Title != "" {
		b.WriteString(": \u201c" + clip(a.Title) + "\u201d")
	}
	b.WriteString(", " + localStart(a) + ". Join the customer here: " + link)
	return b.String()
}

func customerNames(a *rendezvous.Appointment) string {
	var names []string
	for _, c := range a.Customers {
		if n := strings.TrimSpace(c.Name); n != "" {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

// localStart is a's start as the customer sees it, with the zone beside it.
func localStart(a *rendezvous.Appointment) string {
	loc := a.Location()
	return a.Start.In(loc).Format("Mon 2 Jan 2006 15:04") + " " + loc.String()
}

func clip(s string) string {
	if utf8.RuneCountInString(s) <= maxIdentityRunes {
		return s
	}
	return string([]rune(s)[:maxIdentityRunes-1]) + "\u2026"
}

// InteractionEndJobKind is the kind of the job that ends the customer's side of an
// appointment's web messaging conversation once the appointment is over; its Args are
// CallbackArgs (the appointment id).
const InteractionEndJobKind = "journey.interaction_end"

// endsInteraction are the appointment events after which nobody will talk in the Genesys
// conversation: the video call ended (completed), the customer never came (no_show), or
// the appointment was cancelled while it ran.
var endsInteraction = map[string]bool{"completed": true, "no_show": true, "cancelled": true}

// enqueueInteractionEnd enqueues the InteractionEndJobKind job of an appointment that has
// a web messaging interaction.
func (s *Service) enqueueInteractionEnd(ctx context.Context, orgID, appointmentID string) error {
	if !s.hasGuest() {
		return nil
	}
	if _, err := s.st.JourneyInteractionOf(ctx, appointmentID); errors.Is(err, rendezvous.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	return s.st.Enqueue(ctx, store.Job{OrgID: orgID, Kind: InteractionEndJobKind,
		Args: CallbackArgs{AppointmentID: appointmentID}, UniqueKey: "interaction_end/" + appointmentID})
}

// HandleInteractionEnd is the handler of InteractionEndJobKind jobs: it resumes the guest
// session with its stored token and ends the customer's side (GuestSession.End), so that
// Genesys disconnects the customer and asks the agent for wrap-up instead of leaving them
// in a conversation with nobody. A Messenger configuration that does not allow clearing
// the conversation refuses it; that is logged with the fix and not retried.
func (s *Service) HandleInteractionEnd(ctx context.Context, j *store.Job) error {
	var args CallbackArgs
	if err := j.Decode(&args); err != nil {
		return jobs.Permanent(fmt.Errorf("journey: decode interaction end job: %w", err))
	}
	if !s.hasGuest() {
		return nil
	}
	it, err := s.st.JourneyInteractionOf(ctx, args.AppointmentID)
	if errors.Is(err, rendezvous.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if it.Progress == string(ProgressConnecting) {
		return nil // no join was recorded: Genesys holds no conversation to end
	}
	token, err := s.box.Open(it.GuestTokenSealed)
	if err != nil {
		return jobs.Permanent(fmt.Errorf("journey: open guest token of %s: %w", args.AppointmentID, err))
	}
	log := s.log.With("appointment_id", args.AppointmentID)
	guest, err := s.guest(ctx, j.OrgID)
	if err != nil || guest == nil {
		return jobs.Permanent(fmt.Errorf("journey: no web messaging client for %s to end the interaction: %w", j.OrgID, err))
	}
	sess, err := guest.Open(ctx, it.DeploymentID, string(token))
	if err != nil {
		return fmt.Errorf("journey: resume the guest session to end it: %w", err)
	}
	if err := sess.End(ctx); err != nil {
		if k, _ := genesys.Classify(err); k == genesys.KindPermanent {
			log.Error("journey: Genesys refused to end the customer's side of the conversation; allow clearing conversations in the Messenger configuration", "error", err)
			return jobs.Permanent(err)
		}
		return fmt.Errorf("journey: end the guest session: %w", err)
	}
	log.Info("journey: the customer's side of the Genesys conversation ended")
	return nil
}
