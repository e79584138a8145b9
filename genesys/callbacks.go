package genesys

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxCallbackHorizon is how far ahead Genesys accepts a scheduled callback. An agent-owned
// callback has its queue's horizon instead (Queue.OwnedCallbackHorizon), at most this.
const MaxCallbackHorizon = 30 * 24 * time.Hour

// AgentScore is one scored agent of RoutingData.
type AgentScore struct {
	Agent AddressableEntityRef `json:"agent"`
	Score int                  `json:"score"`
}

// RoutingData says where a callback is routed.
type RoutingData struct {
	QueueID           string       `json:"queueId"`
	Priority          int          `json:"priority,omitempty"`
	SkillIDs          []string     `json:"skillIds,omitempty"`
	LanguageID        string       `json:"languageId,omitempty"`
	PreferredAgentIDs []string     `json:"preferredAgentIds,omitempty"`
	ScoredAgents      []AgentScore `json:"scoredAgents,omitempty"`
	RoutingFlags      []string     `json:"routingFlags,omitempty"`
}

// RoutingFlagAgentOwned makes a callback owned by its one scored agent (score 100): the
// only way to aim a scheduled callback at a person, since preferred-agent routing does not
// apply to scheduled callbacks. Genesys accepts it only on a queue with agent-owned
// callbacks enabled and a preferred-agent routing rule (Queue.OwnsCallbacks).
const RoutingFlagAgentOwned = "AGENT_OWNED_CALLBACK"

// CallbackRequest is the body of POST /api/v2/conversations/callbacks.
type CallbackRequest struct {
	QueueID                 string            `json:"queueId,omitempty"`
	RoutingData             *RoutingData      `json:"routingData,omitempty"`
	CallbackNumbers         []string          `json:"callbackNumbers"`
	CallbackUserName        string            `json:"callbackUserName,omitempty"`
	CallbackScheduledTime   string            `json:"callbackScheduledTime,omitempty"`
	CountryCode             string            `json:"countryCode,omitempty"`
	ValidateCallbackNumbers bool              `json:"validateCallbackNumbers,omitempty"`
	Data                    map[string]string `json:"data,omitempty"`
	CallerID                string            `json:"callerId,omitempty"`
	CallerIDName            string            `json:"callerIdName,omitempty"`
	ScriptID                string            `json:"scriptId,omitempty"`
}

// CallbackIdentifier is one {type, id} pair of a created callback.
type CallbackIdentifier struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// CallbackResponse is Genesys' answer to a callback creation.
type CallbackResponse struct {
	Conversation        AddressableEntityRef `json:"conversation"`
	CallbackIdentifiers []CallbackIdentifier `json:"callbackIdentifiers"`
}

// CallbackID returns the callback's identifier of type EXTERNAL, else the first one, else
// "". It is kept for the record: CancelCallback needs only the conversation id, since
// which identifier Genesys' bulk disconnect expects is not documented.
func (r CallbackResponse) CallbackID() string {
	for _, id := range r.CallbackIdentifiers {
		if strings.EqualFold(id.Type, "EXTERNAL") {
			return id.ID
		}
	}
	if len(r.CallbackIdentifiers) > 0 {
		return r.CallbackIdentifiers[0].ID
	}
	return ""
}

// TimeLayout is callbackScheduledTime's documented format, yyyy-MM-ddTHH:mm:ss.SSSZ.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime writes t the way Genesys documents times: ISO-8601 in UTC with
// milliseconds (TimeLayout).
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// CreateCallback schedules a callback. It is a non-idempotent send (a duplicate would ring
// an agent twice). The scheduled time must be written with FormatTime and be within
// MaxCallbackHorizon of now (an agent-owned one within its queue's horizon, which
// Genesys checks).
func (c *Client) CreateCallback(ctx context.Context, req CallbackRequest) (CallbackResponse, error) {
	const op = "create callback"
	if req.QueueID == "" && (req.RoutingData == nil || req.RoutingData.QueueID == "") {
		return CallbackResponse{}, invalid(op, "queueId or routingData.queueId is required")
	}
	if len(req.CallbackNumbers) == 0 {
		return CallbackResponse{}, invalid(op, "callbackNumbers is required")
	}
	if err := c.checkScheduledTime(op, req.CallbackScheduledTime); err != nil {
		return CallbackResponse{}, err
	}
	var out CallbackResponse
	err := c.do(ctx, call{op: op, method: http.MethodPost, path: "/conversations/callbacks", body: req, out: &out, send: true})
	return out, err
}

func (c *Client) checkScheduledTime(op, s string) error {
	if s == "" {
		return nil
	}
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		return invalid(op, "callbackScheduledTime %q is not in Genesys' format yyyy-MM-ddTHH:mm:ss.SSSZ (use FormatTime)", s)
	}
	if t.After(c.clock.Now().Add(MaxCallbackHorizon)) {
		return invalid(op, "callbackScheduledTime is more than 30 days ahead")
	}
	return nil
}

// CallbackUpdate is the body of PATCH /api/v2/conversations/callbacks (Genesys'
// PatchCallbackRequest): ConversationID and AgentID are both required, so a callback with
// no agent cannot be moved this way (cancel it and create it again).
type CallbackUpdate struct {
	ConversationID        string   `json:"conversationId"`
	AgentID               string   `json:"agentId"`
	QueueID               string   `json:"queueId,omitempty"`
	CallbackScheduledTime string   `json:"callbackScheduledTime,omitempty"`
	CallbackNumbers       []string `json:"callbackNumbers,omitempty"`
}

// RescheduleCallback changes a scheduled callback. Setting the same values twice has the
// same effect as once, so it is retried like any idempotent call.
func (c *Client) RescheduleCallback(ctx context.Context, req CallbackUpdate) error {
	const op = "reschedule callback"
	if req.ConversationID == "" || req.AgentID == "" {
		return invalid(op, "conversationId and agentId are required")
	}
	if err := c.checkScheduledTime(op, req.CallbackScheduledTime); err != nil {
		return err
	}
	return c.do(ctx, call{op: op, method: http.MethodPatch, path: "/conversations/callbacks", body: req})
}

// CancelCallback disconnects a scheduled callback by setting its conversation's state to
// disconnected (PATCH /api/v2/conversations/callbacks/{conversationId}), which needs no
// callback id: the bulk disconnect's callbackId is undocumented, and guessing it could
// leave the callback in place. Both require the permission
// conversation:communication:disconnect. Disconnecting twice is harmless, so it is
// retried like an idempotent call.
func (c *Client) CancelCallback(ctx context.Context, conversationID string) error {
	const op = "cancel callback"
	if conversationID == "" {
		return invalid(op, "conversationId is required")
	}
	return c.do(ctx, call{op: op, method: http.MethodPatch, path: "/conversations/callbacks/" + url.PathEscape(conversationID),
		body: map[string]string{"state": "disconnected"}})
}
