package journey

import (
	"context"

	"rendezvous"
)

// agentSide is the side the room package (room.Agent) records for the agent's
// connections in store.RoomSessions; journey does not import room, which serves pages
// journey links to.
const agentSide = "agent"

// withRoomJoin returns p, or ProgressAgentJoined when p still waits for the agent but the
// agent has already connected to the appointment's video room. The stored progress comes
// from the agent's presence join in web messaging; that event is lost when the service
// restarts between the customer's presence join and the agent answering, and the agent
// then opens the room link while the customer's page would keep waiting. The room's own
// join record is the proof that survives. The extra read happens only while waiting for
// the agent, and the room's OnChange hook (Notify) re-reads the page's state when the
// agent connects.
func (s *Service) withRoomJoin(ctx context.Context, a *rendezvous.Appointment, p Progress) Progress {
	if p != ProgressWaitingAgent {
		return p
	}
	sessions, err := s.st.RoomSessions(ctx, a.OrgID, a.ID)
	if err != nil {
		s.log.Warn("journey: read room sessions", "appointment_id", a.ID, "error", err)
		return p
	}
	for _, rs := range sessions {
		if rs.Side == agentSide {
			return ProgressAgentJoined
		}
	}
	return p
}
