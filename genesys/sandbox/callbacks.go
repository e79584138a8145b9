package sandbox

import (
	"net/http"
	"slices"
	"time"

	"rendezvous/clock"
)

// Limits of scheduled callbacks.
const (
	maxCallbackAhead     = 30 * 24 * time.Hour
	maxPreferredAgents   = 20
	flagAgentOwned       = "AGENT_OWNED_CALLBACK"
	callbackDisconnected = "disconnected"
)

type callbackInfo struct {
	numbers   []string
	userName  string
	scheduled time.Time // zero: as soon as possible
	owner     string    // the owning agent of an agent-owned callback
	timer     clock.Timer
}

// Wire format of callbacks.

type wireScoredAgent struct {
	Agent *struct {
		ID string `json:"id"`
	} `json:"agent"`
	Score int `json:"score"`
}

type wireRoutingData struct {
	QueueID           string            `json:"queueId"`
	LanguageID        string            `json:"languageId,omitempty"`
	Priority          *int              `json:"priority,omitempty"`
	SkillIDs          []string          `json:"skillIds,omitempty"`
	PreferredAgentIDs []string          `json:"preferredAgentIds,omitempty"`
	ScoredAgents      []wireScoredAgent `json:"scoredAgents,omitempty"`
	RoutingFlags      []string          `json:"routingFlags,omitempty"`
}

type createCallbackRequest struct {
	ScriptID                string            `json:"scriptId,omitempty"`
	QueueID                 string            `json:"queueId,omitempty"`
	RoutingData             *wireRoutingData  `json:"routingData,omitempty"`
	CallbackUserName        string            `json:"callbackUserName,omitempty"`
	CallbackNumbers         []string          `json:"callbackNumbers"`
	CallbackScheduledTime   string            `json:"callbackScheduledTime,omitempty"`
	CountryCode             string            `json:"countryCode,omitempty"`
	ValidateCallbackNumbers *bool             `json:"validateCallbackNumbers,omitempty"`
	Data                    map[string]string `json:"data,omitempty"`
	CallerID                string            `json:"callerId,omitempty"`
	CallerIDName            string            `json:"callerIdName,omitempty"`
}

type callbackIdentifier struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type callbackResponse struct {
	Conversation        wireRef              `json:"conversation"`
	CallbackIdentifiers []callbackIdentifier `json:"callbackIdentifiers"`
}

func (s *Sandbox) callbackResponseLocked(c *conversation) callbackResponse {
	return callbackResponse{
		Conversation:        wireRef{ID: c.id, SelfURI: "/api/v2/conversations/" + c.id},
		CallbackIdentifiers: []callbackIdentifier{{Type: "EXTERNAL", ID: c.customer().id}},
	}
}

// scheduledLayout is callbackScheduledTime's documented format, yyyy-MM-ddTHH:mm:ss.SSSZ.
// The sandbox accepts nothing else, so that a client writing another ISO-8601 form is
// caught here rather than by Genesys.
const scheduledLayout = "2006-01-02T15:04:05.000Z"

// parseScheduled reads callbackScheduledTime and applies the 30-day rule. Empty means now.
func (s *Sandbox) parseScheduled(v string) (time.Time, *apiError) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(scheduledLayout, v)
	if err != nil {
		return time.Time{}, badRequest("callbackScheduledTime", "callbackScheduledTime must be formatted yyyy-MM-ddTHH:mm:ss.SSSZ, for example 2025-01-31T14:00:00.000Z.")
	}
	if t.After(s.clock.Now().Add(maxCallbackAhead)) {
		return time.Time{}, badRequest("callbackScheduledTime", "A callback cannot be scheduled more than 30 days ahead.")
	}
	return t.UTC(), nil
}

func validateNumbers(numbers []string, validate bool) *apiError {
	if len(numbers) == 0 {
		return badRequest("callbackNumbers", "callbackNumbers is required.")
	}
	for _, n := range numbers {
		if n == "" || (validate && !e164.MatchString(n)) {
			return badRequest("callbackNumbers", "callbackNumbers must hold E.164 phone numbers.")
		}
	}
	return nil
}

// POST /api/v2/conversations/callbacks.
func (s *Sandbox) createCallback(w http.ResponseWriter, r *http.Request, caller caller) error {
	var req createCallbackRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	queueID := req.QueueID
	if rd := req.RoutingData; rd != nil {
		if rd.QueueID == "" {
			return badRequest("routingData.queueId", "routingData.queueId is required.")
		}
		if queueID != "" && queueID != rd.QueueID {
			return badRequest("queueId", "queueId and routingData.queueId differ.")
		}
		queueID = rd.QueueID
	}
	if queueID == "" {
		return badRequest("queueId", "queueId or routingData is required.")
	}
	if err := validateNumbers(req.CallbackNumbers, req.ValidateCallbackNumbers == nil || *req.ValidateCallbackNumbers); err != nil {
		return err
	}
	if req.ScriptID != "" {
		return &apiError{status: http.StatusNotImplemented, code: codeNotImplemented, message: "The sandbox does not model callback scripts (scriptId)."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	scheduled, aerr := s.parseScheduled(req.CallbackScheduledTime)
	if aerr != nil {
		return aerr
	}
	q := s.queueInLocked(queueID, caller.org())
	if q == nil {
		return badRequest("queueId", "The queue %s does not exist.", queueID)
	}
	cb := &callbackInfo{numbers: slices.Clone(req.CallbackNumbers), userName: req.CallbackUserName, scheduled: scheduled}
	if rd := req.RoutingData; rd != nil {
		agents, aerr := s.scoredAgentsLocked(rd)
		if aerr != nil {
			return aerr
		}
		for _, a := range agents {
			if s.userInLocked(a.UserID, caller.org()) == nil {
				return badRequest("routingData.scoredAgents", "The agent %s does not exist.", a.UserID)
			}
		}
		if slices.Contains(rd.RoutingFlags, flagAgentOwned) {
			if len(agents) != 1 || agents[0].Score != 100 {
				return badRequest("routingData.scoredAgents", "An agent-owned callback needs exactly one scored agent with score 100.")
			}
			if aerr := ownedAllowed(q, scheduled, s.clock.Now()); aerr != nil {
				return aerr
			}
			cb.owner = agents[0].UserID
		}
		// Preferred agent routing does not apply to scheduled callbacks, only agent-owned
		// ones are routed to their agent: other scored agents are accepted and ignored.
	}
	c := s.newConversationLocked(MediaCallback, req.CallbackUserName, req.Data)
	c.callback = cb
	c.queueID = q.id
	s.scheduleCallbackLocked(c)
	s.notifyLocked()
	writeJSON(w, http.StatusOK, s.callbackResponseLocked(c))
	return nil
}

func (s *Sandbox) scoredAgentsLocked(rd *wireRoutingData) ([]ScoredAgent, *apiError) {
	var out []ScoredAgent
	for _, id := range rd.PreferredAgentIDs {
		out = append(out, ScoredAgent{UserID: id, Score: 100})
	}
	for _, sa := range rd.ScoredAgents {
		if sa.Agent == nil || sa.Agent.ID == "" {
			return nil, badRequest("routingData.scoredAgents", "Every scored agent needs agent.id.")
		}
		if sa.Score < 0 || sa.Score > 100 {
			return nil, badRequest("routingData.scoredAgents", "Scores must be between 0 and 100.")
		}
		out = append(out, ScoredAgent{UserID: sa.Agent.ID, Score: sa.Score})
	}
	if len(out) > maxPreferredAgents {
		return nil, &apiError{status: http.StatusBadRequest, code: codeTooManyAgents, field: "routingData.scoredAgents",
			message: "Too many preferred agents: at most 20 agent/score pairs are allowed."}
	}
	for _, a := range out {
		if s.users[a.UserID] == nil {
			return nil, badRequest("routingData.scoredAgents", "The agent %s does not exist.", a.UserID)
		}
	}
	return out, nil
}

// scheduleCallbackLocked arms (or re-arms) the callback's timer: at its time it enters its
// queue and is offered like any interaction.
func (s *Sandbox) scheduleCallbackLocked(c *conversation) {
	cb := c.callback
	if cb.timer != nil {
		cb.timer.Stop()
	}
	c.state = StateScheduled
	id := c.id
	cb.timer = s.afterFunc(max(cb.scheduled.Sub(s.clock.Now()), 0), func() {
		if c := s.convs[id]; c != nil && c.state == StateScheduled {
			c.callback.timer = nil
			var preferred []ScoredAgent
			if owner := c.callback.owner; owner != "" {
				c.ownedBy = owner
				preferred = []ScoredAgent{{UserID: owner, Score: 100}}
			}
			s.enqueueLocked(c, s.queues[c.queueID], preferred)
		}
	})
}

// ownedAllowed checks an agent-owned callback against its queue: agent-owned callbacks
// enabled, a preferred-agent routing rule, and a time within the queue's
// maxOwnedCallbackDelayHours.
func ownedAllowed(q *queue, scheduled, now time.Time) *apiError {
	if !q.acceptsOwnedCallbacks() {
		return badRequest("routingData.routingFlags", "The queue %s does not accept agent-owned callbacks: enable agentOwnedRouting.enableAgentOwnedCallbacks and add a preferred agent routing rule.", q.name)
	}
	if !scheduled.IsZero() && scheduled.After(now.Add(time.Duration(q.owned.MaxDelayHours)*time.Hour)) {
		return badRequest("callbackScheduledTime", "An agent-owned callback on queue %s can be scheduled at most %d hours ahead (agentOwnedRouting.maxOwnedCallbackDelayHours).", q.name, q.owned.MaxDelayHours)
	}
	return nil
}

// patchCallbackRequest is Genesys' PatchCallbackRequest: conversationId and agentId are
// both required.
type patchCallbackRequest struct {
	ConversationID        string   `json:"conversationId"`
	AgentID               string   `json:"agentId"`
	QueueID               string   `json:"queueId,omitempty"`
	CallbackUserName      string   `json:"callbackUserName,omitempty"`
	CallbackNumbers       []string `json:"callbackNumbers,omitempty"`
	CallbackScheduledTime string   `json:"callbackScheduledTime,omitempty"`
}

// PATCH /api/v2/conversations/callbacks: reschedule a callback that has not been offered
// yet (agentId makes it agent-owned by that agent).
func (s *Sandbox) patchCallback(w http.ResponseWriter, r *http.Request, caller caller) error {
	var req patchCallbackRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.ConversationID == "" {
		return badRequest("conversationId", "conversationId is required.")
	}
	if req.AgentID == "" {
		return badRequest("agentId", "agentId is required.")
	}
	if req.CallbackNumbers != nil {
		if err := validateNumbers(req.CallbackNumbers, true); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convInLocked(req.ConversationID, caller.org())
	if c == nil || c.callback == nil {
		return notFound("The callback conversation %s was not found.", req.ConversationID)
	}
	if c.state != StateScheduled {
		return badRequest("conversationId", "The callback %s is %s and can no longer be rescheduled.", c.id, c.state)
	}
	scheduled, aerr := s.parseScheduled(req.CallbackScheduledTime)
	if aerr != nil {
		return aerr
	}
	queueID := c.queueID
	if req.QueueID != "" {
		if s.queueInLocked(req.QueueID, caller.org()) == nil {
			return badRequest("queueId", "The queue %s does not exist.", req.QueueID)
		}
		queueID = req.QueueID
	}
	if s.userInLocked(req.AgentID, caller.org()) == nil {
		return badRequest("agentId", "The agent %s does not exist.", req.AgentID)
	}
	when := c.callback.scheduled
	if req.CallbackScheduledTime != "" {
		when = scheduled
	}
	// agentId makes the callback the agent's own: the queue must take owned callbacks.
	if aerr := ownedAllowed(s.queues[queueID], when, s.clock.Now()); aerr != nil {
		return aerr
	}
	c.queueID, c.callback.owner = queueID, req.AgentID
	if req.CallbackNumbers != nil {
		c.callback.numbers = slices.Clone(req.CallbackNumbers)
	}
	if req.CallbackUserName != "" {
		c.callback.userName = req.CallbackUserName
	}
	if req.CallbackScheduledTime != "" {
		c.callback.scheduled = scheduled
	}
	s.scheduleCallbackLocked(c)
	s.notifyLocked()
	writeJSON(w, http.StatusOK, s.callbackResponseLocked(c))
	return nil
}

type bulkDisconnectRequest struct {
	CallbackDisconnectIdentifiers []struct {
		ConversationID string `json:"conversationId"`
		CallbackID     string `json:"callbackId"`
	} `json:"callbackDisconnectIdentifiers"`
}

// POST /api/v2/conversations/callbacks/bulk/disconnect. Every identifier is checked before
// any callback is disconnected.
func (s *Sandbox) bulkDisconnectCallbacks(w http.ResponseWriter, r *http.Request, caller caller) error {
	var req bulkDisconnectRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.CallbackDisconnectIdentifiers) == 0 {
		return badRequest("callbackDisconnectIdentifiers", "callbackDisconnectIdentifiers is required.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var targets []*conversation
	for _, id := range req.CallbackDisconnectIdentifiers {
		c := s.convInLocked(id.ConversationID, caller.org())
		if id.ConversationID == "" || id.CallbackID == "" {
			return badRequest("callbackDisconnectIdentifiers", "Every identifier needs conversationId and callbackId.")
		}
		if c == nil || c.callback == nil || c.customer().id != id.CallbackID {
			return notFound("The callback %s of conversation %s was not found.", id.CallbackID, id.ConversationID)
		}
		targets = append(targets, c)
	}
	for _, c := range targets {
		s.disconnectLocked(c)
	}
	s.notifyLocked()
	w.WriteHeader(http.StatusAccepted)
	return nil
}

type conversationStateRequest struct {
	State string `json:"state"`
}

type wireConversation struct {
	ID           string            `json:"id"`
	StartTime    string            `json:"startTime"`
	EndTime      string            `json:"endTime,omitempty"`
	Participants []wireParticipant `json:"participants"`
	SelfURI      string            `json:"selfUri"`
}

type wireParticipant struct {
	ID         string            `json:"id"`
	Purpose    string            `json:"purpose"`
	State      string            `json:"state"`
	UserID     string            `json:"userId,omitempty"`
	QueueID    string            `json:"queueId,omitempty"`
	Name       string            `json:"name,omitempty"`
	Attributes map[string]string `json:"attributes"`
}

func (s *Sandbox) wireConversationLocked(c *conversation) wireConversation {
	w := wireConversation{ID: c.id, StartTime: formatTime(c.createdAt), SelfURI: "/api/v2/conversations/" + c.id, Participants: []wireParticipant{}}
	if !c.endedAt.IsZero() {
		w.EndTime = formatTime(c.endedAt)
	}
	for _, p := range c.participants {
		w.Participants = append(w.Participants, wireParticipant{ID: p.id, Purpose: p.purpose, State: p.state,
			UserID: p.userID, QueueID: p.queueID, Name: p.name, Attributes: p.attributes})
	}
	return w
}

// PATCH /api/v2/conversations/callbacks/{conversationId} with {"state":"disconnected"}.
func (s *Sandbox) patchCallbackConversation(w http.ResponseWriter, r *http.Request, caller caller) error {
	var req conversationStateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.State != callbackDisconnected {
		return &apiError{status: http.StatusNotImplemented, code: codeNotImplemented,
			message: "The sandbox models only {\"state\":\"disconnected\"} on this resource."}
	}
	id := r.PathValue("conversationId")
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convInLocked(id, caller.org())
	if c == nil || c.callback == nil {
		return notFound("The callback conversation %s was not found.", id)
	}
	s.disconnectLocked(c)
	s.notifyLocked()
	writeJSON(w, http.StatusOK, s.wireConversationLocked(c))
	return nil
}
