package genesys

import (
	"context"
	"net/http"
	"net/url"
)

// Profile is the signed-in user as GET /api/v2/users/me?expand=organization,authorization
// describes them: who they are, which organization they belong to, and their roles (staff
// sign-in recognises the organization by its id and grants Rendezvous roles from the roles).
type Profile struct {
	User
	Authorization *struct {
		Roles []Division `json:"roles"`
	} `json:"authorization,omitempty"`
}

// RoleNames lists the names of the user's Genesys Cloud roles.
func (p Profile) RoleNames() []string {
	if p.Authorization == nil {
		return nil
	}
	out := make([]string, 0, len(p.Authorization.Roles))
	for _, r := range p.Authorization.Roles {
		out = append(out, r.Name)
	}
	return out
}

// MyProfile returns the user who owns userToken with their organization and roles. Like
// Me, it authorizes as the user: a 401 means the token is no longer accepted and the user
// must sign in again.
func (c *Client) MyProfile(ctx context.Context, userToken string) (Profile, error) {
	if userToken == "" {
		return Profile{}, invalid("get my profile", "user token is required")
	}
	var p Profile
	err := c.do(ctx, call{op: "get my profile", method: http.MethodGet, path: "/users/me",
		query: url.Values{"expand": {"organization,authorization"}}, out: &p, userToken: userToken})
	return p, err
}

// Queues lists every routing queue of the organization (permission routing:queue:view),
// for people to choose from when they route an appointment to a queue.
func (c *Client) Queues(ctx context.Context) ([]Queue, error) {
	var out []Queue
	err := listAll(ctx, c, "list queues", "/routing/queues", url.Values{}, func(q Queue) bool {
		out = append(out, q)
		return true
	})
	return out, err
}

// Conversation is a conversation as GET /api/v2/conversations/{id} shows it (the fields
// Rendezvous uses): its participants, with the participant data each carries.
type Conversation struct {
	ID           string        `json:"id"`
	Participants []Participant `json:"participants"`
}

// Participant is one party of a conversation. Purpose is "customer", "agent", "acd",
// "workflow", ...; UserID is set for agents; State is "alerting", "connected",
// "disconnected", ...; Attributes is the participant data (where a web messaging guest's
// custom attributes land).
type Participant struct {
	ID         string            `json:"id"`
	Purpose    string            `json:"purpose"`
	UserID     string            `json:"userId,omitempty"`
	State      string            `json:"state,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// ConversationAs reads one conversation authorized as the user who owns userToken
// (permission conversation:communication:view), as the Interaction Widget does beside an
// interaction the agent handles.
func (c *Client) ConversationAs(ctx context.Context, userToken, id string) (Conversation, error) {
	if userToken == "" || id == "" {
		return Conversation{}, invalid("get conversation", "user token and conversation id are required")
	}
	var conv Conversation
	err := c.do(ctx, call{op: "get conversation", method: http.MethodGet, path: "/conversations/" + url.PathEscape(id),
		out: &conv, userToken: userToken})
	return conv, err
}
