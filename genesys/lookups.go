package genesys

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"rendezvous"
)

// Queue is a routing queue (the fields Rendezvous uses).
type Queue struct {
	ID           string        `json:"id"`
	Name         string        `json:"name"`
	DivisionRef  *Division     `json:"division,omitempty"`
	MemberCount  int           `json:"memberCount,omitempty"`
	RoutingRules []RoutingRule `json:"routingRules,omitempty"`
	// AgentOwnedRouting says whether the queue takes agent-owned callbacks and how far
	// ahead; nil when Genesys sent none (the queue does not take them).
	AgentOwnedRouting *AgentOwnedRouting `json:"agentOwnedRouting,omitempty"`
	SelfURI           string             `json:"selfUri,omitempty"`
}

// RoutingRule is one ring of a queue's preferred agent routing.
type RoutingRule struct {
	Operator    string `json:"operator"`
	Threshold   int    `json:"threshold,omitempty"`
	WaitSeconds int    `json:"waitSeconds,omitempty"`
}

// AgentOwnedRouting is a queue's agent-owned callback settings.
type AgentOwnedRouting struct {
	EnableAgentOwnedCallbacks bool `json:"enableAgentOwnedCallbacks"`
	// MaxOwnedCallbackDelayHours is how far ahead an owned callback may be scheduled
	// (1 to 720 hours).
	MaxOwnedCallbackDelayHours int `json:"maxOwnedCallbackDelayHours,omitempty"`
}

// OwnsCallbacks reports whether Genesys accepts agent-owned callbacks on q: agent-owned
// callbacks enabled and at least one preferred-agent routing rule.
func (q Queue) OwnsCallbacks() bool {
	return q.AgentOwnedRouting != nil && q.AgentOwnedRouting.EnableAgentOwnedCallbacks && len(q.RoutingRules) > 0
}

// OwnedCallbackHorizon is how far ahead an agent-owned callback may be scheduled on q:
// the queue's maxOwnedCallbackDelayHours, within MaxCallbackHorizon.
func (q Queue) OwnedCallbackHorizon() time.Duration {
	if q.AgentOwnedRouting == nil || q.AgentOwnedRouting.MaxOwnedCallbackDelayHours <= 0 {
		return MaxCallbackHorizon
	}
	return min(time.Duration(q.AgentOwnedRouting.MaxOwnedCallbackDelayHours)*time.Hour, MaxCallbackHorizon)
}

// Queue returns the queue with id; a missing queue is an *APIError matching
// rendezvous.ErrNotFound.
func (c *Client) Queue(ctx context.Context, id string) (Queue, error) {
	if id == "" {
		return Queue{}, invalid("get queue", "id is required")
	}
	var q Queue
	err := c.do(ctx, call{op: "get queue", method: http.MethodGet, path: "/routing/queues/" + url.PathEscape(id), out: &q})
	return q, err
}

// ErrQueueNotFound is wrapped by QueueByName when no queue has exactly that name; it also
// matches rendezvous.ErrNotFound.
var ErrQueueNotFound = fmt.Errorf("queue %w", rendezvous.ErrNotFound)

// QueueByName finds the queue named exactly name. Genesys' name filter is a pattern that
// also matches longer names, so every page of matches is read and compared exactly
// (case-sensitively, as Genesys stores names; a case-insensitive match is used only when
// no exact one exists).
func (c *Client) QueueByName(ctx context.Context, name string) (Queue, error) {
	const op = "queue by name"
	if strings.TrimSpace(name) == "" {
		return Queue{}, invalid(op, "name is required")
	}
	// "*" would widen the pattern; a queue name containing one can only be matched by
	// listing more, so strip it from the filter and let the exact comparison decide.
	filter := strings.ReplaceAll(name, "*", "")
	var exact, folded *Queue
	err := listAll(ctx, c, op, "/routing/queues", url.Values{"name": {filter}}, func(q Queue) bool {
		switch {
		case q.Name == name:
			exact = &q
			return false
		case folded == nil && strings.EqualFold(q.Name, name):
			folded = &q
		}
		return true
	})
	if err != nil {
		return Queue{}, err
	}
	if exact != nil {
		return *exact, nil
	}
	if folded != nil {
		return *folded, nil
	}
	return Queue{}, fmt.Errorf("genesys: %s %q: %w", op, name, ErrQueueNotFound)
}

// Division is a Genesys division reference.
type Division struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// User is a Genesys Cloud user (the fields Rendezvous uses).
type User struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Email        string    `json:"email,omitempty"`
	Username     string    `json:"username,omitempty"`
	State        string    `json:"state,omitempty"`
	Title        string    `json:"title,omitempty"`
	Department   string    `json:"department,omitempty"`
	Division     *Division `json:"division,omitempty"`
	Organization *Division `json:"organization,omitempty"`
	SelfURI      string    `json:"selfUri,omitempty"`
}

// User returns the user with id; a missing user is an *APIError matching
// rendezvous.ErrNotFound.
func (c *Client) User(ctx context.Context, id string) (User, error) {
	if id == "" {
		return User{}, invalid("get user", "id is required")
	}
	var u User
	err := c.do(ctx, call{op: "get user", method: http.MethodGet, path: "/users/" + url.PathEscape(id), out: &u})
	return u, err
}

// Me returns the user who owns userToken (from UserAuth.Exchange), with the organization
// expanded so the caller learns the org id. The call does not use the client's
// credentials, limiter or renewal: a 401 means the user must sign in again.
func (c *Client) Me(ctx context.Context, userToken string) (User, error) {
	if userToken == "" {
		return User{}, invalid("get me", "user token is required")
	}
	var u User
	err := c.do(ctx, call{op: "get me", method: http.MethodGet, path: "/users/me",
		query: url.Values{"expand": {"organization"}}, out: &u, userToken: userToken})
	return u, err
}

// UserSearchCriterion is one criterion of a user search, for example
// {Type: "TERM", Value: "ann", Fields: ["name", "email"]}.
type UserSearchCriterion struct {
	Type     string   `json:"type"`
	Value    string   `json:"value,omitempty"`
	Values   []string `json:"values,omitempty"`
	Fields   []string `json:"fields,omitempty"`
	Operator string   `json:"operator,omitempty"`
}

// UserSearchRequest is the body of POST /api/v2/users/search.
type UserSearchRequest struct {
	PageSize   int                   `json:"pageSize,omitempty"`
	PageNumber int                   `json:"pageNumber,omitempty"`
	Query      []UserSearchCriterion `json:"query"`
}

// UserSearchResponse is the answer of a user search.
type UserSearchResponse struct {
	Total      int    `json:"total"`
	PageCount  int    `json:"pageCount"`
	PageSize   int    `json:"pageSize"`
	PageNumber int    `json:"pageNumber"`
	Results    []User `json:"results"`
}

// SearchUsers runs a user search. A search only reads, so it is retried like any
// idempotent call even though it is a POST.
func (c *Client) SearchUsers(ctx context.Context, req UserSearchRequest) (UserSearchResponse, error) {
	if len(req.Query) == 0 {
		return UserSearchResponse{}, invalid("search users", "at least one query criterion is required")
	}
	var out UserSearchResponse
	err := c.do(ctx, call{op: "search users", method: http.MethodPost, path: "/users/search", body: req, out: &out})
	return out, err
}

// SearchUsersByText finds users whose name or email contains text (first page of up to
// 25), the common case of an agent picker.
func (c *Client) SearchUsersByText(ctx context.Context, text string) ([]User, error) {
	if strings.TrimSpace(text) == "" {
		return nil, invalid("search users", "text is required")
	}
	resp, err := c.SearchUsers(ctx, UserSearchRequest{PageSize: 25, PageNumber: 1, Query: []UserSearchCriterion{
		{Type: "CONTAINS", Value: text, Fields: []string{"name", "email"}},
	}})
	return resp.Results, err
}

// SetParticipantAttributes merges attributes into a participant's data. Writing the same
// values again is harmless, so it is retried like an idempotent call.
func (c *Client) SetParticipantAttributes(ctx context.Context, conversationID, participantID string, attributes map[string]string) error {
	const op = "set participant attributes"
	if conversationID == "" || participantID == "" {
		return invalid(op, "conversationId and participantId are required")
	}
	return c.do(ctx, call{op: op, method: http.MethodPatch,
		path: "/conversations/" + url.PathEscape(conversationID) + "/participants/" + url.PathEscape(participantID) + "/attributes",
		body: map[string]any{"attributes": attributes}})
}

// Capability is one thing a product feature needs from an OAuth client.
type Capability string

// Capabilities CheckCredentials can verify.
const (
	CapabilitySMSNumbers Capability = "sms:phoneNumber:view"
	// CapabilityEmailDomains is listing the outbound email domains, which Genesys allows
	// with routing:email:manage (there is no routing:email:outbound:view).
	CapabilityEmailDomains Capability = "routing:email:manage"
	CapabilityQueues       Capability = "routing:queue:view"
	CapabilityUsers        Capability = "directory:user:view"
)

// CredentialCheck is the outcome of CheckCredentials.
type CredentialCheck struct {
	// Valid is true when Genesys issued a token for the id and secret.
	Valid bool
	// Missing lists the capabilities whose probe call answered 403 (permission missing).
	Missing []Capability
}

// CheckCredentials verifies the client id and secret by fetching a token, then probes
// each capability with a harmless read and reports which ones answered 403, so a settings
// page can say "the OAuth client lacks sms:phoneNumber:view" before anything is sent.
// Permissions to create messages cannot be probed without sending one; the settings page
// lists them and the one-time-password step proves them. An invalid client is returned
// as Valid=false with the *OAuthError.
func (c *Client) CheckCredentials(ctx context.Context, needs ...Capability) (CredentialCheck, error) {
	c.tokens.forget()
	if _, err := c.tokens.get(ctx); err != nil {
		return CredentialCheck{}, fmt.Errorf("genesys: check credentials: %w", err)
	}
	res := CredentialCheck{Valid: true}
	for _, need := range needs {
		var err error
		switch need {
		case CapabilitySMSNumbers:
			err = c.do(ctx, call{op: "probe " + string(need), method: http.MethodGet, path: "/routing/sms/phonenumbers", query: url.Values{"pageSize": {"1"}}})
		case CapabilityEmailDomains:
			err = c.do(ctx, call{op: "probe " + string(need), method: http.MethodGet, path: "/routing/email/outbound/domains", query: url.Values{"pageSize": {"1"}}})
		case CapabilityQueues:
			err = c.do(ctx, call{op: "probe " + string(need), method: http.MethodGet, path: "/routing/queues", query: url.Values{"pageSize": {"1"}}})
		case CapabilityUsers:
			err = c.do(ctx, call{op: "probe " + string(need), method: http.MethodPost, path: "/users/search", body: UserSearchRequest{
				PageSize: 1, Query: []UserSearchCriterion{{Type: "EXACT", Value: "00000000-0000-0000-0000-000000000000", Fields: []string{"id"}}}}})
		default:
			return res, invalid("check credentials", "unknown capability %q", need)
		}
		var ae *APIError
		switch {
		case err == nil:
		case errors.As(err, &ae) && ae.Status == http.StatusForbidden:
			res.Missing = append(res.Missing, need)
		default:
			return res, fmt.Errorf("genesys: check credentials: %w", err)
		}
	}
	return res, nil
}
