package sandbox

import (
	"maps"
	"net/http"
)

// getConversation serves GET /api/v2/conversations/{conversationId} (permission
// conversation:communication:view): every participant with its purpose, its user (agents),
// its state and its participant data (attributes), which the Interaction Widget reads
// beside an interaction to find its appointment. A conversation of another organization
// is 404, as Genesys answers for one the caller cannot see.
func (s *Sandbox) getConversation(w http.ResponseWriter, r *http.Request, caller caller) error {
	id := r.PathValue("conversationId")
	s.mu.Lock()
	c := s.convInLocked(id, caller.org())
	var body wireConversation
	if c != nil {
		body = s.wireConversationLocked(c)
		// The maps are the conversation's own; the answer is written after unlocking.
		for i := range body.Participants {
			body.Participants[i].Attributes = maps.Clone(body.Participants[i].Attributes)
		}
	}
	s.mu.Unlock()
	if c == nil {
		return notFound("The conversation %s was not found.", id)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}
