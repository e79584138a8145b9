package sandbox

import (
	"cmp"
	"slices"
	"time"

	"github.com/google/uuid"

	"rendezvous/clock"
)

// Conversation states as the inspection API reports them.
const (
	// StateScheduled is a callback waiting for its time.
	StateScheduled = "scheduled"
	// StateQueued is waiting in a queue for an agent.
	StateQueued = "queued"
	// StateAlerting is offered to an agent who has not answered yet.
	StateAlerting = "alerting"
	// StateConnected is answered by an agent.
	StateConnected = "connected"
	// StateDisconnected is over.
	StateDisconnected = "disconnected"
)

// Media types of routed conversations.
const (
	MediaMessage  = "message"
	MediaCallback = "callback"
)

// ScoredAgent is a preferred agent with its score (0..100).
type ScoredAgent struct {
	UserID string `json:"userId"`
	Score  int    `json:"score"`
}

// participant is one party of a conversation.
type participant struct {
	id, purpose, name, userID, queueID string
	state                              string // alerting, connected, disconnected
	attributes                         map[string]string
}

// conversation is a routed interaction: a web messaging conversation or a callback.
type conversation struct {
	id        string
	media     string
	state     string
	createdAt time.Time
	endedAt   time.Time

	participants []*participant // customer first, then acd, then one agent participant per offer
	queueID      string
	preferred    []ScoredAgent
	enqueuedAt   time.Time
	skipped      map[string]bool // agents who declined or let the offer time out
	ownedBy      string          // agent-owned callbacks: only this agent, for agentOwnedWait

	offeredTo   string
	offerSeq    int
	alertTimer  clock.Timer
	ringTimers  []clock.Timer
	connectedTo string
	flowError   string
	transcript  []TranscriptEntry

	// web messaging
	deploymentID string
	session      *wmSession

	// callbacks
	callback *callbackInfo
}

func (c *conversation) customer() *participant { return c.participants[0] }

func (c *conversation) participant(id string) *participant {
	for _, p := range c.participants {
		if p.id == id {
			return p
		}
	}
	return nil
}

// agentParticipant is the latest agent participant of userID.
func (c *conversation) agentParticipant(userID string) *participant {
	for i := len(c.participants) - 1; i >= 0; i-- {
		if p := c.participants[i]; p.purpose == "agent" && p.userID == userID {
			return p
		}
	}
	return nil
}

// stopRinging stops the alert timeout and the preferred-agent ring timers.
func (c *conversation) stopRinging() {
	if c.alertTimer != nil {
		c.alertTimer.Stop()
		c.alertTimer = nil
	}
	for _, t := range c.ringTimers {
		t.Stop()
	}
	c.ringTimers = nil
}

// stopTimers stops every timer of c, the scheduled callback's included.
func (c *conversation) stopTimers() {
	c.stopRinging()
	if c.callback != nil && c.callback.timer != nil {
		c.callback.timer.Stop()
		c.callback.timer = nil
	}
}

// newConversationLocked registers a conversation with its customer participant.
func (s *Sandbox) newConversationLocked(media, customerName string, attrs map[string]string) *conversation {
	if attrs == nil {
		attrs = map[string]string{}
	}
	c := &conversation{id: uuid.NewString(), media: media, createdAt: s.clock.Now(), skipped: map[string]bool{},
		participants: []*participant{{id: uuid.NewString(), purpose: "customer", name: customerName, state: StateConnected, attributes: attrs}}}
	s.convs[c.id] = c
	s.convOrder = append(s.convOrder, c.id)
	return c
}

// enqueueLocked puts c in queue q with its preferred agents and starts routing it: ring
// timers wake the router when each preferred agent ring ends.
func (s *Sandbox) enqueueLocked(c *conversation, q *queue, preferred []ScoredAgent) {
	now := s.clock.Now()
	c.queueID, c.preferred, c.enqueuedAt, c.state = q.id, preferred, now, StateQueued
	c.participants = append(c.participants, &participant{id: uuid.NewString(), purpose: "acd", name: q.name, queueID: q.id, state: StateConnected, attributes: map[string]string{}})
	if c.ownedBy != "" {
		id := c.id
		c.ringTimers = append(c.ringTimers, s.afterFunc(agentOwnedWait, func() {
			if s.convs[id] != nil {
				s.routeLocked()
			}
		}))
	} else if q.method == MethodPreferredAgent && s.anyPreferredMemberLocked(c, q) {
		var elapsed time.Duration
		for _, rule := range q.rules {
			elapsed += time.Duration(rule.WaitSeconds) * time.Second
			id := c.id
			c.ringTimers = append(c.ringTimers, s.afterFunc(elapsed, func() {
				if s.convs[id] != nil {
					s.routeLocked()
				}
			}))
		}
	}
	s.log.Info("sandbox conversation queued", "conversation_id", c.id, "queue", q.name, "preferred_agents", len(preferred))
	s.routeLocked()
}

// anyPreferredMemberLocked reports whether a preferred agent can ever be considered: only
// members of the queue are.
func (s *Sandbox) anyPreferredMemberLocked(c *conversation, q *queue) bool {
	return slices.ContainsFunc(c.preferred, func(a ScoredAgent) bool { return q.isMember(a.UserID) })
}

// routingStatusLocked derives an agent's routing status.
func (s *Sandbox) routingStatusLocked(u *user) string {
	switch {
	case u.presence != PresenceOnQueue:
		return RoutingOffQueue
	case u.notResponding:
		return RoutingNotResponding
	case s.busyLocked(u.id):
		return RoutingInteracting
	default:
		return RoutingIdle
	}
}

// busyLocked reports whether an agent is alerting or connected: the sandbox gives every
// agent a capacity of one interaction, which keeps routing predictable.
func (s *Sandbox) busyLocked(userID string) bool { return s.busyAgentsLocked()[userID] }

// busyAgentsLocked is the set of agents alerting or connected, computed in one pass.
func (s *Sandbox) busyAgentsLocked() map[string]bool {
	busy := map[string]bool{}
	for _, c := range s.convs {
		switch c.state {
		case StateAlerting:
			busy[c.offeredTo] = true
		case StateConnected:
			busy[c.connectedTo] = true
		}
	}
	return busy
}

// agentOwnedWait is how long an agent-owned callback waits for its owner before any member
// of the queue may take it (Genesys' queue setting maxOwnedCallbackHours, here fixed).
const agentOwnedWait = time.Hour

// routeLocked offers every queued conversation, oldest first, to the agent the facts file's
// rules pick, if any is free.
func (s *Sandbox) routeLocked() {
	if s.closed {
		return
	}
	busy := s.busyAgentsLocked()
	for _, id := range s.convOrder {
		c := s.convs[id]
		if c.state != StateQueued {
			continue
		}
		if u := s.pickAgentLocked(c, busy); u != nil {
			s.offerLocked(c, u)
			busy[u.id] = true
		}
	}
}

// pickAgentLocked applies preferred agent routing, then standard routing:
//   - an agent-owned callback goes only to its owner, for agentOwnedWait;
//   - while a ring of the queue's routingRules is running, only preferred agents qualifying
//     for that ring or an earlier one are considered (highest score first), and only if they
//     are members of the queue, on queue and free;
//   - after the last ring (or at once for a standard queue or without preferred members),
//     any free on-queue member, longest idle first;
//   - an agent who declined or let the offer time out is skipped, unless nobody else can
//     take the interaction once the rings are over.
func (s *Sandbox) pickAgentLocked(c *conversation, busy map[string]bool) *user {
	q := s.queues[c.queueID]
	if q == nil {
		return nil
	}
	free := func(id string) bool {
		u := s.users[id]
		return u != nil && q.isMember(id) && u.presence == PresenceOnQueue && !u.notResponding && !busy[id]
	}
	if c.ownedBy != "" && s.clock.Now().Sub(c.enqueuedAt) < agentOwnedWait {
		if free(c.ownedBy) {
			return s.users[c.ownedBy]
		}
		return nil
	}
	if c.ownedBy == "" && q.method == MethodPreferredAgent && s.anyPreferredMemberLocked(c, q) {
		if ring := ringAt(q.rules, s.clock.Now().Sub(c.enqueuedAt)); ring >= 0 {
			var best *ScoredAgent
			for i, a := range c.preferred {
				if !qualifies(q.rules[:ring+1], a.Score) || !free(a.UserID) || c.skipped[a.UserID] {
					continue
				}
				if best == nil || a.Score > best.Score {
					best = &c.preferred[i]
				}
			}
			if best == nil {
				return nil
			}
			return s.users[best.UserID]
		}
	}
	var candidates, skipped []*user
	for _, id := range q.members {
		if !free(id) {
			continue
		}
		if c.skipped[id] {
			skipped = append(skipped, s.users[id])
		} else {
			candidates = append(candidates, s.users[id])
		}
	}
	if len(candidates) == 0 {
		candidates = skipped
	}
	if len(candidates) == 0 {
		return nil
	}
	return slices.MinFunc(candidates, func(a, b *user) int {
		return cmp.Or(cmp.Compare(a.idleSince, b.idleSince), cmp.Compare(a.seq, b.seq))
	})
}

// ringAt is the index of the ring running after elapsed in the queue, or -1 once every ring
// has had its wait.
func ringAt(rules []RoutingRule, elapsed time.Duration) int {
	var end time.Duration
	for i, r := range rules {
		end += time.Duration(r.WaitSeconds) * time.Second
		if elapsed < end {
			return i
		}
	}
	return -1
}

// qualifies reports whether a preferred agent with score meets any of the rings so far.
func qualifies(rules []RoutingRule, score int) bool {
	return slices.ContainsFunc(rules, func(r RoutingRule) bool {
		return r.Operator == OperatorAny || score >= r.Threshold
	})
}

// offerLocked alerts agent u with c and arms the queue's alert timeout.
func (s *Sandbox) offerLocked(c *conversation, u *user) {
	q := s.queues[c.queueID]
	c.state, c.offeredTo = StateAlerting, u.id
	c.offerSeq++
	c.participants = append(c.participants, &participant{id: uuid.NewString(), purpose: "agent", name: u.name, userID: u.id, state: StateAlerting, attributes: map[string]string{}})
	seq, id := c.offerSeq, c.id
	c.alertTimer = s.afterFunc(time.Duration(q.alertingTimeoutSeconds)*time.Second, func() { s.alertTimeoutLocked(id, seq) })
	s.log.Info("sandbox conversation offered", "conversation_id", c.id, "agent", u.id)
}

// alertTimeoutLocked ends an unanswered offer: the agent goes NOT_RESPONDING (as in
// Genesys, until their presence is set again) and the interaction is offered again.
func (s *Sandbox) alertTimeoutLocked(convID string, seq int) {
	c := s.convs[convID]
	if c == nil || c.state != StateAlerting || c.offerSeq != seq {
		return
	}
	u := s.users[c.offeredTo]
	s.log.Info("sandbox offer timed out", "conversation_id", c.id, "agent", u.id)
	u.notResponding = true
	s.withdrawOfferLocked(c)
	s.routeLocked()
}

// withdrawOfferLocked puts an alerting conversation back in queue, skipping its agent.
func (s *Sandbox) withdrawOfferLocked(c *conversation) {
	if p := c.agentParticipant(c.offeredTo); p != nil {
		p.state = StateDisconnected
	}
	c.skipped[c.offeredTo] = true
	s.markFreeLocked(c.offeredTo)
	c.state, c.offeredTo = StateQueued, ""
	if c.alertTimer != nil {
		c.alertTimer.Stop()
		c.alertTimer = nil
	}
}

// markFreeLocked records that an agent just became free, for longest-idle selection.
func (s *Sandbox) markFreeLocked(userID string) {
	if u := s.users[userID]; u != nil {
		s.freeSeq++
		u.idleSince = s.freeSeq
	}
}
