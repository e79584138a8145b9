package sandbox

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"
)

// Errors of the agent actions.
var (
	// ErrNotFound: no such user or conversation.
	ErrNotFound = errors.New("sandbox: not found")
	// ErrNoOffer: the agent has no interaction alerting.
	ErrNoOffer = errors.New("sandbox: no interaction is offered to this agent")
	// ErrNotConnected: the agent is not connected to that conversation.
	ErrNotConnected = errors.New("sandbox: the agent is not connected to this conversation")
	// ErrInvalid: a value the sandbox cannot accept (an unknown presence, an empty text).
	ErrInvalid = errors.New("sandbox: invalid value")
)

// Conversation is a routed interaction as the inspection API shows it.
type Conversation struct {
	ID string `json:"id"`
	// OrgID is the Genesys organization the conversation belongs to.
	OrgID        string        `json:"orgId"`
	MediaType    string        `json:"mediaType"` // "message" (web messaging) or "callback"
	State        string        `json:"state"`
	QueueID      string        `json:"queueId,omitempty"`
	QueueName    string        `json:"queueName,omitempty"`
	DeploymentID string        `json:"deploymentId,omitempty"`
	Participants []Participant `json:"participants"`
	// PreferredAgents are the agent/score pairs the flow or callback asked for.
	PreferredAgents  []ScoredAgent `json:"preferredAgents"`
	OfferedAgentID   string        `json:"offeredAgentId,omitempty"`
	ConnectedAgentID string        `json:"connectedAgentId,omitempty"`
	CreatedAt        time.Time     `json:"createdAt"`
	EnqueuedAt       *time.Time    `json:"enqueuedAt,omitempty"`
	EndedAt          *time.Time    `json:"endedAt,omitempty"`
	// Callback holds the callback's numbers and schedule (callbacks only).
	Callback *CallbackView `json:"callback,omitempty"`
	// FlowError says why the deployment's flow could not route the conversation.
	FlowError  string            `json:"flowError,omitempty"`
	Transcript []TranscriptEntry `json:"transcript"`
}

// Participant is one party of a conversation.
type Participant struct {
	ID         string            `json:"id"`
	Purpose    string            `json:"purpose"` // customer, acd, agent
	Name       string            `json:"name,omitempty"`
	UserID     string            `json:"userId,omitempty"`
	QueueID    string            `json:"queueId,omitempty"`
	State      string            `json:"state"`
	Attributes map[string]string `json:"attributes"`
}

// CallbackView is the callback part of a conversation.
type CallbackView struct {
	Numbers       []string   `json:"callbackNumbers"`
	UserName      string     `json:"callbackUserName,omitempty"`
	ScheduledTime *time.Time `json:"callbackScheduledTime,omitempty"`
	CallbackID    string     `json:"callbackId"`
	AgentOwned    bool       `json:"agentOwned"`
	OwnerID       string     `json:"ownerId,omitempty"`
}

// TranscriptEntry is one message of a web messaging conversation.
type TranscriptEntry struct {
	Time      time.Time `json:"time"`
	Direction string    `json:"direction"` // Inbound (guest) or Outbound (agent)
	Type      string    `json:"type"`      // Text or Event
	Text      string    `json:"text,omitempty"`
	Event     string    `json:"event,omitempty"` // for events: Presence Join, Presence Disconnect...
	UserID    string    `json:"userId,omitempty"`
}

// Conversations lists every routed conversation, oldest first.
func (s *Sandbox) Conversations() []Conversation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Conversation, 0, len(s.convOrder))
	for _, id := range s.convOrder {
		out = append(out, s.conversationViewLocked(s.convs[id]))
	}
	return out
}

// ConversationCount counts the routed conversations of a media type ("message" or
// "callback"; "" counts all). Unlike Conversations it copies nothing, so a WaitFor
// condition built on it holds the sandbox up for no longer than a count takes.
func (s *Sandbox) ConversationCount(mediaType string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.convs {
		if mediaType == "" || c.media == mediaType {
			n++
		}
	}
	return n
}

// Conversation returns one conversation.
func (s *Sandbox) Conversation(id string) (Conversation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convs[id]
	if c == nil {
		return Conversation{}, false
	}
	return s.conversationViewLocked(c), true
}

func (s *Sandbox) conversationViewLocked(c *conversation) Conversation {
	v := Conversation{ID: c.id, MediaType: c.media, State: c.state, QueueID: c.queueID, DeploymentID: c.deploymentID,
		PreferredAgents: slices.Clone(c.preferred), OfferedAgentID: c.offeredTo, ConnectedAgentID: c.connectedTo,
		CreatedAt: c.createdAt, FlowError: c.flowError, Transcript: slices.Clone(c.transcript), OrgID: s.convOrgLocked(c)}
	if v.PreferredAgents == nil {
		v.PreferredAgents = []ScoredAgent{}
	}
	if v.Transcript == nil {
		v.Transcript = []TranscriptEntry{}
	}
	if q := s.queues[c.queueID]; q != nil {
		v.QueueName = q.name
	}
	if !c.enqueuedAt.IsZero() {
		t := c.enqueuedAt
		v.EnqueuedAt = &t
	}
	if !c.endedAt.IsZero() {
		t := c.endedAt
		v.EndedAt = &t
	}
	for _, p := range c.participants {
		v.Participants = append(v.Participants, Participant{ID: p.id, Purpose: p.purpose, Name: p.name, UserID: p.userID,
			QueueID: p.queueID, State: p.state, Attributes: maps.Clone(p.attributes)})
	}
	if cb := c.callback; cb != nil {
		v.Callback = &CallbackView{Numbers: slices.Clone(cb.numbers), UserName: cb.userName, CallbackID: c.customer().id, AgentOwned: cb.owner != "", OwnerID: cb.owner}
		if !cb.scheduled.IsZero() {
			t := cb.scheduled
			v.Callback.ScheduledTime = &t
		}
	}
	return v
}

// Answer makes the agent answer the interaction currently offered to them and returns its
// conversation id. A web messaging guest receives the agent's Presence Join event only
// with Options.AgentJoinPresence (Genesys does not document one).
func (s *Sandbox) Answer(userID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.offeredLocked(userID)
	if err != nil {
		return "", err
	}
	c.stopRinging()
	c.state, c.connectedTo, c.offeredTo = StateConnected, userID, ""
	c.agentParticipant(userID).state = StateConnected
	s.log.Info("sandbox conversation answered", "conversation_id", c.id, "agent", userID)
	if c.media == MediaMessage && s.opts.AgentJoinPresence {
		s.sendAgentEventLocked(c, userID, "Join")
	}
	s.notifyLocked()
	return c.id, nil
}

// Decline makes the agent decline their offer; the interaction goes back to the queue and
// is offered to someone else.
func (s *Sandbox) Decline(userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.offeredLocked(userID)
	if err != nil {
		return err
	}
	s.log.Info("sandbox offer declined", "conversation_id", c.id, "agent", userID)
	s.withdrawOfferLocked(c)
	s.routeLocked()
	s.notifyLocked()
	return nil
}

func (s *Sandbox) offeredLocked(userID string) (*conversation, error) {
	if s.users[userID] == nil {
		return nil, fmt.Errorf("user %s: %w", userID, ErrNotFound)
	}
	for _, id := range s.convOrder {
		if c := s.convs[id]; c.state == StateAlerting && c.offeredTo == userID {
			return c, nil
		}
	}
	return nil, fmt.Errorf("user %s: %w", userID, ErrNoOffer)
}

// AgentSendText sends a text from the agent to the web messaging guest of conversationID,
// who receives it as an Outbound StructuredMessage.
func (s *Sandbox) AgentSendText(userID, conversationID, text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convs[conversationID]
	switch {
	case c == nil:
		return fmt.Errorf("conversation %s: %w", conversationID, ErrNotFound)
	case c.state != StateConnected || c.connectedTo != userID:
		return fmt.Errorf("conversation %s, user %s: %w", conversationID, userID, ErrNotConnected)
	case c.media != MediaMessage:
		return fmt.Errorf("conversation %s is a %s, it carries no text: %w", conversationID, c.media, ErrInvalid)
	case text == "":
		return fmt.Errorf("empty text: %w", ErrInvalid)
	}
	s.sendAgentTextLocked(c, userID, text)
	s.notifyLocked()
	return nil
}

// Disconnect ends a conversation (the agent hangs up, or a callback is cancelled). A web
// messaging guest receives a Presence Disconnect event.
func (s *Sandbox) Disconnect(conversationID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convs[conversationID]
	if c == nil {
		return fmt.Errorf("conversation %s: %w", conversationID, ErrNotFound)
	}
	s.disconnectLocked(c)
	s.notifyLocked()
	return nil
}

func (s *Sandbox) disconnectLocked(c *conversation) {
	if c.state == StateDisconnected {
		return
	}
	c.stopTimers()
	agent := c.connectedTo
	if agent == "" {
		agent = c.offeredTo
	}
	if c.media == MediaMessage && c.session != nil && c.flowError == "" {
		// The guest learns that the conversation ended, whoever ended it; a flow failure
		// is told after the echo of the guest's message (onMessageLocked).
		s.sendAgentEventLocked(c, c.connectedTo, "Disconnect")
	}
	c.state, c.offeredTo, c.endedAt = StateDisconnected, "", s.clock.Now()
	for _, p := range c.participants {
		p.state = StateDisconnected
	}
	if c.session != nil && c.session.conv == c {
		c.session.conv = nil
	}
	s.log.Info("sandbox conversation disconnected", "conversation_id", c.id)
	if agent != "" {
		s.markFreeLocked(agent)
	}
	s.routeLocked()
}

// SetPresence sets a user's presence. Going on queue also clears NOT_RESPONDING, as
// choosing a presence does in Genesys.
func (s *Sandbox) SetPresence(userID string, p Presence) error {
	if !p.valid() {
		return fmt.Errorf("presence %q: %w", p, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	if u == nil {
		return fmt.Errorf("user %s: %w", userID, ErrNotFound)
	}
	if u.presence != PresenceOnQueue || u.notResponding {
		s.markFreeLocked(u.id)
	}
	u.presence, u.notResponding = p, false
	s.log.Info("sandbox presence set", "user", userID, "presence", string(p))
	s.routeLocked()
	s.notifyLocked()
	return nil
}

type attributesRequest struct {
	Attributes map[string]string `json:"attributes"`
}

// PATCH /api/v2/conversations/{conversationId}/participants/{participantId}/attributes.
func (s *Sandbox) patchParticipantAttributes(w http.ResponseWriter, r *http.Request, caller caller) error {
	var req attributesRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Attributes == nil {
		return badRequest("attributes", "attributes is required.")
	}
	convID, partID := r.PathValue("conversationId"), r.PathValue("participantId")
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convInLocked(convID, caller.org())
	if c == nil {
		return notFound("The conversation %s was not found.", convID)
	}
	p := c.participant(partID)
	if p == nil {
		return notFound("The participant %s was not found in conversation %s.", partID, convID)
	}
	if c.state == StateDisconnected {
		return badRequest("", "The conversation %s is disconnected.", convID)
	}
	maps.Copy(p.attributes, req.Attributes)
	s.notifyLocked()
	w.WriteHeader(http.StatusAccepted)
	return nil
}
