package sandbox

import (
	"errors"
	"testing"
	"time"
)

func (e *env) waitState(id, state, offered string) Conversation {
	e.t.Helper()
	var c Conversation
	e.wait(state+" "+offered, func() bool {
		c, _ = e.sb.Conversation(id)
		return c.State == state && c.OfferedAgentID == offered
	})
	return c
}

func TestPreferredAgentIsOfferedFirst(t *testing.T) {
	e := newEnv(t, Options{})
	chloe := Demo.Agents[2]
	_, c := e.startGuest(Demo.AgentDeploymentID, "g", map[string]string{Demo.AgentAttribute: chloe.ID})
	if c.State != StateAlerting || c.OfferedAgentID != chloe.ID {
		t.Fatalf("offered to %s, want the preferred agent %s", c.OfferedAgentID, chloe.ID)
	}
	if len(c.PreferredAgents) != 1 || c.PreferredAgents[0] != (ScoredAgent{chloe.ID, 100}) {
		t.Fatalf("preferred %+v", c.PreferredAgents)
	}
	id, err := e.sb.Answer(chloe.ID)
	if err != nil || id != c.ID {
		t.Fatalf("answer: %s %v", id, err)
	}
	c = e.conversation(c.ID)
	if c.State != StateConnected || c.ConnectedAgentID != chloe.ID || c.OfferedAgentID != "" {
		t.Fatalf("after answer %+v", c)
	}
	if _, err := e.sb.Answer(chloe.ID); !errors.Is(err, ErrNoOffer) {
		t.Fatalf("second answer: %v", err)
	}
}

func TestOffQueuePreferredAgentFallsBackAfterRing(t *testing.T) {
	e := newEnv(t, Options{})
	alice, bruno := Demo.Agents[0], Demo.Agents[1]
	if err := e.sb.SetPresence(alice.ID, PresenceAvailable); err != nil {
		t.Fatal(err)
	}
	_, c := e.startGuest(Demo.AgentDeploymentID, "g", map[string]string{Demo.AgentAttribute: alice.ID})
	if c.State != StateQueued {
		t.Fatalf("state %s, want queued while the preferred ring runs", c.State)
	}
	e.clock.Advance(29 * time.Second)
	if c = e.conversation(c.ID); c.State != StateQueued {
		t.Fatalf("offered to %s before the ring's wait", c.OfferedAgentID)
	}
	// The preferred agent coming back on queue during the ring gets it.
	if err := e.sb.SetPresence(alice.ID, PresenceOnQueue); err != nil {
		t.Fatal(err)
	}
	if c = e.conversation(c.ID); c.OfferedAgentID != alice.ID {
		t.Fatalf("offered to %q, want alice back on queue", c.OfferedAgentID)
	}
	if err := e.sb.Decline(alice.ID); err != nil {
		t.Fatal(err)
	}
	if c = e.conversation(c.ID); c.State != StateQueued {
		t.Fatalf("after decline during the ring: %+v", c)
	}
	e.clock.Advance(time.Second)
	e.waitState(c.ID, StateAlerting, bruno.ID)
}

func TestPreferredAgentNotAMemberIsIgnored(t *testing.T) {
	e := newEnv(t, Options{})
	// The supervisor is not a member of the video queue: standard routing at once.
	_, c := e.startGuest(Demo.AgentDeploymentID, "g", map[string]string{Demo.AgentAttribute: Demo.Supervisor.ID})
	if c.State != StateAlerting || c.OfferedAgentID != Demo.Agents[0].ID {
		t.Fatalf("conversation %+v", c)
	}
	// An unknown user id gives no preferred agent at all.
	_, c = e.startGuest(Demo.AgentDeploymentID, "h", map[string]string{Demo.AgentAttribute: "nobody"})
	if len(c.PreferredAgents) != 0 || c.State != StateAlerting {
		t.Fatalf("conversation %+v", c)
	}
}

func TestAlertTimeoutReoffers(t *testing.T) {
	e := newEnv(t, Options{})
	alice, bruno := Demo.Agents[0], Demo.Agents[1]
	_, c := e.startGuest(Demo.QueueDeploymentID, "g", map[string]string{Demo.QueueAttribute: Demo.PlainQueue.Name})
	if c.OfferedAgentID != alice.ID {
		t.Fatalf("offered to %s", c.OfferedAgentID)
	}
	e.clock.Advance(30 * time.Second)
	c = e.waitState(c.ID, StateAlerting, bruno.ID)
	for _, u := range e.sb.Users() {
		if u.ID == alice.ID && u.RoutingStatus != RoutingNotResponding {
			t.Fatalf("alice is %s after not answering", u.RoutingStatus)
		}
	}
	var agents []string
	for _, p := range c.Participants {
		if p.Purpose == "agent" {
			agents = append(agents, p.UserID+":"+p.State)
		}
	}
	if len(agents) != 2 || agents[0] != alice.ID+":disconnected" || agents[1] != bruno.ID+":alerting" {
		t.Fatalf("agent participants %v", agents)
	}
	// Going on queue again clears NOT_RESPONDING.
	if err := e.sb.SetPresence(alice.ID, PresenceOnQueue); err != nil {
		t.Fatal(err)
	}
	for _, u := range e.sb.Users() {
		if u.ID == alice.ID && u.RoutingStatus != RoutingIdle {
			t.Fatalf("alice is %s", u.RoutingStatus)
		}
	}
}

func TestPreferredAgentTimeoutFallsBack(t *testing.T) {
	e := newEnv(t, Options{})
	chloe := Demo.Agents[2]
	_, c := e.startGuest(Demo.AgentDeploymentID, "g", map[string]string{Demo.AgentAttribute: chloe.ID})
	if c.OfferedAgentID != chloe.ID {
		t.Fatalf("offered to %s", c.OfferedAgentID)
	}
	// The alert timeout and the ring end together: the interaction goes to a member.
	e.clock.Advance(30 * time.Second)
	e.waitState(c.ID, StateAlerting, Demo.Agents[0].ID)
}

func TestBusyAgentsAndLongestIdle(t *testing.T) {
	e := newEnv(t, Options{})
	plain := map[string]string{Demo.QueueAttribute: Demo.PlainQueue.Name}
	var ids []string
	for i, tok := range []string{"a", "b", "c", "d"} {
		_, c := e.startGuest(Demo.QueueDeploymentID, tok, plain)
		ids = append(ids, c.ID)
		if i < 3 {
			if c.OfferedAgentID != Demo.Agents[i].ID {
				t.Fatalf("conversation %d offered to %s", i, c.OfferedAgentID)
			}
			if _, err := e.sb.Answer(Demo.Agents[i].ID); err != nil {
				t.Fatal(err)
			}
		} else if c.State != StateQueued {
			t.Fatalf("a fourth conversation with three busy agents is %s", c.State)
		}
	}
	// Bruno hangs up first: he is the only free agent and gets the waiting one.
	if err := e.sb.Disconnect(ids[1]); err != nil {
		t.Fatal(err)
	}
	if c := e.conversation(ids[3]); c.OfferedAgentID != Demo.Agents[1].ID {
		t.Fatalf("offered to %s", c.OfferedAgentID)
	}
}

func TestAgentActionErrors(t *testing.T) {
	e := newEnv(t, Options{})
	if _, err := e.sb.Answer("nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := e.sb.Decline(Demo.Agents[0].ID); !errors.Is(err, ErrNoOffer) {
		t.Fatal(err)
	}
	if err := e.sb.SetPresence(Demo.Agents[0].ID, "BUSY"); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	if err := e.sb.Disconnect("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	_, c := e.startGuest(Demo.QueueDeploymentID, "g", map[string]string{Demo.QueueAttribute: Demo.PlainQueue.Name})
	if err := e.sb.AgentSendText(Demo.Agents[0].ID, c.ID, "hi"); !errors.Is(err, ErrNotConnected) {
		t.Fatal(err)
	}
}

func TestFlowAndQueueRingsAreData(t *testing.T) {
	e := newEnv(t, Options{})
	chloe := Demo.Agents[2]
	err := e.sb.SetDeploymentFlow(Demo.AgentDeploymentID, Flow{Name: "no prefix", QueueID: Demo.VideoQueue.ID,
		PreferredAgentAttribute: "auvious.agentUserId", PreferredAgentScore: 50})
	if err != nil {
		t.Fatal(err)
	}
	err = e.sb.SetQueueRouting(Demo.VideoQueue.ID, MethodPreferredAgent, []RoutingRule{
		{Operator: OperatorMeetsThreshold, Threshold: 80, WaitSeconds: 10},
		{Operator: OperatorAny, WaitSeconds: 10},
	}, 15)
	if err != nil {
		t.Fatal(err)
	}
	_, c := e.startGuest(Demo.AgentDeploymentID, "g", map[string]string{"auvious.agentUserId": chloe.ID})
	if c.State != StateQueued || len(c.PreferredAgents) != 1 || c.PreferredAgents[0].Score != 50 {
		t.Fatalf("first ring: a score of 50 does not meet 80: %+v", c)
	}
	e.clock.Advance(10 * time.Second)
	e.waitState(c.ID, StateAlerting, chloe.ID)
	// Chloé lets it ring out (15 s): the rings are over, any member takes it.
	e.clock.Advance(15 * time.Second)
	e.waitState(c.ID, StateAlerting, Demo.Agents[0].ID)

	if got := e.sb.Deployments()[0].Flow; got.PreferredAgentAttribute != "auvious.agentUserId" {
		t.Fatalf("deployments %+v", got)
	}
	if err := e.sb.SetDeploymentFlow(Demo.AgentDeploymentID, Flow{Name: "nowhere"}); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	if err := e.sb.SetQueueRouting(Demo.PlainQueue.ID, "bullseye", nil, 10); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
}
