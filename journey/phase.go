package journey

import (
	"time"

	"rendezvous"
)

// Phase is what the customer's link shows at a given instant.
type Phase string

// The phases of a customer link.
const (
	// PhaseNotYet: the waiting room has not opened yet (earlier than OpensEarly before the start).
	PhaseNotYet Phase = "not_yet"
	// PhaseWaiting: the waiting room, with a countdown to the start.
	PhaseWaiting Phase = "waiting"
	// PhaseLive: from the start until the end plus grace; opening the link creates or
	// resumes the Genesys interaction.
	PhaseLive Phase = "live"
	// PhaseTooLate: the end plus grace has passed and the customer never got in.
	PhaseTooLate Phase = "too_late"
	// PhaseEnded: the meeting took place and is over (completed or no-show).
	PhaseEnded Phase = "ended"
	// PhaseCancelled: the appointment was cancelled.
	PhaseCancelled Phase = "cancelled"
)

// PhaseAt decides the phase of appointment a at instant now under settings s. It is the
// one rule the page, the event stream and the interaction start agree on.
func PhaseAt(a *rendezvous.Appointment, s Settings, now time.Time) Phase {
	switch a.Status {
	case rendezvous.StatusCancelled:
		return PhaseCancelled
	case rendezvous.StatusCompleted, rendezvous.StatusNoShow:
		return PhaseEnded
	}
	switch {
	case now.Before(a.Start.Add(-s.OpensEarly())):
		return PhaseNotYet
	case now.Before(a.Start):
		return PhaseWaiting
	case now.Before(a.End().Add(s.Grace())) || a.Status == rendezvous.StatusInProgress:
		// A meeting still in progress past its planned end stays reachable: the customer
		// who dropped out may come back while the agent is still in the room.
		return PhaseLive
	default:
		return PhaseTooLate
	}
}

// HTTPStatus is the status code of the page for phase p: the link works (200) until it
// is over; cancelled and over links are gone (410).
func (p Phase) HTTPStatus() int {
	switch p {
	case PhaseCancelled, PhaseEnded, PhaseTooLate:
		return 410
	}
	return 200
}

// Progress is how far the Genesys interaction of an appointment has come, in the words
// the customer's page shows.
type Progress string

// The progress states of an interaction.
const (
	// ProgressNone: nobody has opened the link in the live phase yet.
	ProgressNone Progress = ""
	// ProgressConnecting: the web messaging session is being opened.
	ProgressConnecting Progress = "connecting"
	// ProgressWaitingAgent: the presence join reached Genesys; the interaction is being
	// routed to the agent.
	ProgressWaitingAgent Progress = "waiting_agent"
	// ProgressAgentJoined: the agent answered.
	ProgressAgentJoined Progress = "agent_joined"
)
