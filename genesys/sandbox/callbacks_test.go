package sandbox

import (
	"net/http"
	"testing"
	"time"
)

func (e *env) createCallback(tok string, body map[string]any) (convID, callbackID string) {
	e.t.Helper()
	r := e.do("POST", "/api/v2/conversations/callbacks", tok, body)
	wantStatus(e.t, r, http.StatusOK)
	m := r.json(e.t)
	ids := m["callbackIdentifiers"].([]any)
	return m["conversation"].(map[string]any)["id"].(string), ids[0].(map[string]any)["id"].(string)
}

func TestCallbackOfferedAtItsTime(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.token(Demo.APIClient)
	at := epoch.Add(time.Hour)
	id, _ := e.createCallback(tok, map[string]any{
		"queueId": Demo.PlainQueue.ID, "callbackNumbers": []string{"+33612345678"}, "callbackUserName": "Jane",
		"callbackScheduledTime": at.Format(scheduledLayout), "data": map[string]string{"roomUrl": "https://room", "appointmentId": "a1"},
	})
	c := e.conversation(id)
	if c.MediaType != MediaCallback || c.State != StateScheduled || c.Callback == nil || !c.Callback.ScheduledTime.Equal(at) {
		t.Fatalf("callback %+v", c)
	}
	if c.Participants[0].Attributes["roomUrl"] != "https://room" {
		t.Fatalf("participant data %+v", c.Participants[0])
	}
	e.clock.Advance(59 * time.Minute)
	if c = e.conversation(id); c.State != StateScheduled {
		t.Fatalf("early: %s", c.State)
	}
	e.clock.Advance(time.Minute)
	e.waitState(id, StateAlerting, Demo.Agents[0].ID)
	if _, err := e.sb.Answer(Demo.Agents[0].ID); err != nil {
		t.Fatal(err)
	}
}

func TestAgentOwnedCallbackAndIgnoredPreference(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.token(Demo.APIClient)
	chloe := Demo.Agents[2]
	scored := []any{map[string]any{"agent": map[string]any{"id": chloe.ID}, "score": 100}}
	// Preferred agents without AGENT_OWNED_CALLBACK do not apply to callbacks.
	plain, _ := e.createCallback(tok, map[string]any{"callbackNumbers": []string{"+33612345678"},
		"routingData": map[string]any{"queueId": Demo.VideoQueue.ID, "scoredAgents": scored}})
	e.waitState(plain, StateAlerting, Demo.Agents[0].ID)

	owned, _ := e.createCallback(tok, map[string]any{"callbackNumbers": []string{"+33612345678"},
		"routingData": map[string]any{"queueId": Demo.VideoQueue.ID, "scoredAgents": scored, "routingFlags": []string{"AGENT_OWNED_CALLBACK"}}})
	e.waitState(owned, StateAlerting, chloe.ID)

	// An owner who is not on queue keeps the callback for an hour, then the queue takes it.
	if err := e.sb.SetPresence(Demo.Agents[1].ID, PresenceOffline); err != nil {
		t.Fatal(err)
	}
	// A queue without agent-owned callbacks (or without a preferred-agent rule) refuses one.
	wantError(t, e.do("POST", "/api/v2/conversations/callbacks", tok, map[string]any{"callbackNumbers": []string{"+33612345678"},
		"routingData": map[string]any{"queueId": Demo.PlainQueue.ID, "routingFlags": []string{"AGENT_OWNED_CALLBACK"}, "scoredAgents": scored}}), 400, "bad.request")
	owned2, _ := e.createCallback(tok, map[string]any{"callbackNumbers": []string{"+33612345678"},
		"routingData": map[string]any{"queueId": Demo.VideoQueue.ID, "routingFlags": []string{"AGENT_OWNED_CALLBACK"},
			"scoredAgents": []any{map[string]any{"agent": map[string]any{"id": Demo.Agents[1].ID}, "score": 100}}}})
	if c := e.waitState(owned2, StateQueued, ""); c.Callback.OwnerID != Demo.Agents[1].ID {
		t.Fatalf("owner %+v", c.Callback)
	}
	for _, a := range []DemoUser{Demo.Agents[0], chloe} { // answered, so no alert timeout runs
		if _, err := e.sb.Answer(a.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.sb.Disconnect(owned); err != nil { // Chloé is free, but not the owner
		t.Fatal(err)
	}
	if c := e.conversation(owned2); c.State != StateQueued {
		t.Fatalf("an agent-owned callback went to %s", c.OfferedAgentID)
	}
	e.clock.Advance(time.Hour)
	e.waitState(owned2, StateAlerting, chloe.ID)
}

func TestCallbackValidation(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.token(Demo.APIClient)
	nums := []string{"+33612345678"}
	tooMany := make([]any, 21)
	for i := range tooMany {
		tooMany[i] = map[string]any{"agent": map[string]any{"id": Demo.Agents[0].ID}, "score": 50}
	}
	for name, c := range map[string]struct {
		body map[string]any
		code string
	}{
		"no queue":         {map[string]any{"callbackNumbers": nums}, "bad.request"},
		"unknown queue":    {map[string]any{"queueId": "nope", "callbackNumbers": nums}, "bad.request"},
		"routing no queue": {map[string]any{"routingData": map[string]any{}, "callbackNumbers": nums}, "bad.request"},
		"no numbers":       {map[string]any{"queueId": Demo.PlainQueue.ID}, "bad.request"},
		"bad number":       {map[string]any{"queueId": Demo.PlainQueue.ID, "callbackNumbers": []string{"06 12"}}, "bad.request"},
		"31 days ahead": {map[string]any{"queueId": Demo.PlainQueue.ID, "callbackNumbers": nums,
			"callbackScheduledTime": epoch.Add(31 * 24 * time.Hour).Format(scheduledLayout)}, "bad.request"},
		"bad time":    {map[string]any{"queueId": Demo.PlainQueue.ID, "callbackNumbers": nums, "callbackScheduledTime": "tomorrow"}, "bad.request"},
		"too many":    {map[string]any{"routingData": map[string]any{"queueId": Demo.PlainQueue.ID, "scoredAgents": tooMany}, "callbackNumbers": nums}, "TooManyPreferredAgents"},
		"owned twice": {map[string]any{"routingData": map[string]any{"queueId": Demo.PlainQueue.ID, "scoredAgents": tooMany[:2], "routingFlags": []string{"AGENT_OWNED_CALLBACK"}}, "callbackNumbers": nums}, "bad.request"},
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, e.do("POST", "/api/v2/conversations/callbacks", tok, c.body), 400, c.code)
		})
	}
	// Exactly 30 days ahead is fine; unvalidated numbers are taken as they are.
	e.createCallback(tok, map[string]any{"queueId": Demo.PlainQueue.ID, "callbackNumbers": []string{"06 12 34 56 78"},
		"validateCallbackNumbers": false, "callbackScheduledTime": epoch.Add(30 * 24 * time.Hour).Format(scheduledLayout)})
}

func TestCallbackRescheduleAndCancel(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.token(Demo.APIClient)
	nums := []string{"+33612345678"}
	id, cbID := e.createCallback(tok, map[string]any{"queueId": Demo.VideoQueue.ID, "callbackNumbers": nums,
		"callbackScheduledTime": epoch.Add(time.Hour).Format(scheduledLayout)})

	later := epoch.Add(3 * time.Hour)
	// PatchCallbackRequest requires agentId: without it Genesys refuses, and the time
	// must be written yyyy-MM-ddTHH:mm:ss.SSSZ.
	wantError(t, e.do("PATCH", "/api/v2/conversations/callbacks", tok, map[string]any{"conversationId": id, "callbackScheduledTime": later.Format(scheduledLayout)}), 400, "bad.request")
	wantError(t, e.do("PATCH", "/api/v2/conversations/callbacks", tok, map[string]any{"conversationId": id, "callbackScheduledTime": later.Format(time.RFC3339), "agentId": Demo.Agents[1].ID}), 400, "bad.request")
	// Beyond the queue's owned-callback horizon, an owned callback is refused.
	if err := e.sb.SetAgentOwnedRouting(Demo.VideoQueue.ID, true, 2); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.do("PATCH", "/api/v2/conversations/callbacks", tok, map[string]any{"conversationId": id, "callbackScheduledTime": later.Format(scheduledLayout), "agentId": Demo.Agents[1].ID}), 400, "bad.request")
	if err := e.sb.SetAgentOwnedRouting(Demo.VideoQueue.ID, true, 720); err != nil {
		t.Fatal(err)
	}
	r := e.do("PATCH", "/api/v2/conversations/callbacks", tok, map[string]any{"conversationId": id, "callbackScheduledTime": later.Format(scheduledLayout), "agentId": Demo.Agents[1].ID})
	wantStatus(t, r, 200)
	e.clock.Advance(2 * time.Hour)
	if c := e.conversation(id); c.State != StateScheduled || !c.Callback.ScheduledTime.Equal(later) || !c.Callback.AgentOwned {
		t.Fatalf("rescheduled callback %+v", c.Callback)
	}
	e.clock.Advance(time.Hour)
	e.waitState(id, StateAlerting, Demo.Agents[1].ID)
	wantError(t, e.do("PATCH", "/api/v2/conversations/callbacks", tok, map[string]any{"conversationId": id, "callbackScheduledTime": later.Format(scheduledLayout), "agentId": Demo.Agents[1].ID}), 400, "bad.request")
	wantError(t, e.do("PATCH", "/api/v2/conversations/callbacks", tok, map[string]any{"conversationId": "nope", "agentId": Demo.Agents[1].ID}), 404, "not.found")
	wantError(t, e.do("PATCH", "/api/v2/conversations/callbacks", tok, map[string]any{}), 400, "bad.request")

	// Cancel by bulk disconnect (checked first: a wrong callback id disconnects nothing).
	id2, cb2 := e.createCallback(tok, map[string]any{"queueId": Demo.PlainQueue.ID, "callbackNumbers": nums,
		"callbackScheduledTime": epoch.Add(5 * time.Hour).Format(scheduledLayout)})
	wrong := map[string]any{"callbackDisconnectIdentifiers": []any{map[string]any{"conversationId": id2, "callbackId": cb2}, map[string]any{"conversationId": id, "callbackId": "x"}}}
	wantError(t, e.do("POST", "/api/v2/conversations/callbacks/bulk/disconnect", tok, wrong), 404, "not.found")
	if c := e.conversation(id2); c.State != StateScheduled {
		t.Fatalf("partially cancelled: %s", c.State)
	}
	ok := map[string]any{"callbackDisconnectIdentifiers": []any{map[string]any{"conversationId": id2, "callbackId": cb2}, map[string]any{"conversationId": id, "callbackId": cbID}}}
	wantStatus(t, e.do("POST", "/api/v2/conversations/callbacks/bulk/disconnect", tok, ok), http.StatusAccepted)
	for _, cid := range []string{id, id2} {
		if c := e.conversation(cid); c.State != StateDisconnected {
			t.Fatalf("%s is %s", cid, c.State)
		}
	}
	// A cancelled callback never rings.
	e.clock.Advance(3 * time.Hour)
	if c := e.conversation(id2); c.State != StateDisconnected {
		t.Fatalf("cancelled callback is %s", c.State)
	}

	// Cancel by PATCH state disconnected.
	id3, _ := e.createCallback(tok, map[string]any{"queueId": Demo.PlainQueue.ID, "callbackNumbers": nums,
		"callbackScheduledTime": e.clock.Now().Add(time.Hour).Format(scheduledLayout)})
	r = e.do("PATCH", "/api/v2/conversations/callbacks/"+id3, tok, map[string]any{"state": "disconnected"})
	wantStatus(t, r, 200)
	if c := e.conversation(id3); c.State != StateDisconnected {
		t.Fatalf("patched callback is %s", c.State)
	}
	wantError(t, e.do("PATCH", "/api/v2/conversations/callbacks/"+id3, tok, map[string]any{"state": "connected"}), 501, "not.implemented")
	wantError(t, e.do("PATCH", "/api/v2/conversations/callbacks/nope", tok, map[string]any{"state": "disconnected"}), 404, "not.found")
}

func TestParticipantAttributes(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.token(Demo.APIClient)
	id, cbID := e.createCallback(tok, map[string]any{"queueId": Demo.PlainQueue.ID, "callbackNumbers": []string{"+33612345678"},
		"callbackScheduledTime": epoch.Add(time.Hour).Format(scheduledLayout), "data": map[string]string{"a": "1"}})
	path := "/api/v2/conversations/" + id + "/participants/" + cbID + "/attributes"
	wantStatus(t, e.do("PATCH", path, tok, map[string]any{"attributes": map[string]string{"b": "2"}}), http.StatusAccepted)
	if got := e.conversation(id).Participants[0].Attributes; got["a"] != "1" || got["b"] != "2" {
		t.Fatalf("attributes %v", got)
	}
	wantError(t, e.do("PATCH", path, tok, map[string]any{}), 400, "bad.request")
	wantError(t, e.do("PATCH", "/api/v2/conversations/"+id+"/participants/nope/attributes", tok, map[string]any{"attributes": map[string]string{}}), 404, "not.found")
	wantError(t, e.do("PATCH", "/api/v2/conversations/nope/participants/x/attributes", tok, map[string]any{"attributes": map[string]string{}}), 404, "not.found")
	wantError(t, e.do("PATCH", path, e.token(Demo.SMSClient), map[string]any{"attributes": map[string]string{}}), 403, "missing.any.permissions")
}
