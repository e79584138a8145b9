package sandbox

import (
	"net/http"
	"slices"
	"strings"
)

// User is a user of the sandbox org as the inspection API shows it.
type User struct {
	ID            string   `json:"id"`
	OrgID         string   `json:"orgId"`
	Name          string   `json:"name"`
	Email         string   `json:"email"`
	Role          string   `json:"role"`
	Presence      Presence `json:"presence"`
	RoutingStatus string   `json:"routingStatus"`
	QueueIDs      []string `json:"queueIds"`
	// OfferedConversationID is the interaction currently alerting this agent.
	OfferedConversationID string `json:"offeredConversationId,omitempty"`
	// ConnectedConversationIDs are the interactions this agent is connected to.
	ConnectedConversationIDs []string `json:"connectedConversationIds"`
}

// Users lists the org's users in seed order.
func (s *Sandbox) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.userOrder))
	for _, id := range s.userOrder {
		out = append(out, s.userViewLocked(s.users[id]))
	}
	return out
}

func (s *Sandbox) userViewLocked(u *user) User {
	v := User{ID: u.id, OrgID: u.org, Name: u.name, Email: u.email, Role: u.role, Presence: u.presence,
		RoutingStatus: s.routingStatusLocked(u), QueueIDs: []string{}, ConnectedConversationIDs: []string{}}
	for _, qid := range s.queueOrder {
		if s.queues[qid].isMember(u.id) {
			v.QueueIDs = append(v.QueueIDs, qid)
		}
	}
	for _, cid := range s.convOrder {
		c := s.convs[cid]
		switch {
		case c.state == StateAlerting && c.offeredTo == u.id:
			v.OfferedConversationID = c.id
		case c.state == StateConnected && c.connectedTo == u.id:
			v.ConnectedConversationIDs = append(v.ConnectedConversationIDs, c.id)
		}
	}
	return v
}

// Wire format of users (GET /api/v2/users/{id} and friends).

type wireRef struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	SelfURI string `json:"selfUri,omitempty"`
}

type wireContact struct {
	Address   string `json:"address"`
	MediaType string `json:"mediaType"`
	Type      string `json:"type"`
}

type wirePresence struct {
	PresenceDefinition wirePresenceDefinition `json:"presenceDefinition"`
	ModifiedDate       string                 `json:"modifiedDate"`
}

type wirePresenceDefinition struct {
	ID             string `json:"id"`
	SystemPresence string `json:"systemPresence"`
}

type wireRoutingStatus struct {
	UserID    string `json:"userId"`
	Status    string `json:"status"`
	StartTime string `json:"startTime"`
}

type wireAuthorization struct {
	Roles       []wireRef `json:"roles"`
	Permissions []string  `json:"permissions"`
}

type wireOrganization struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	DefaultLanguage    string `json:"defaultLanguage"`
	DefaultCountryCode string `json:"defaultCountryCode"`
	ThirdPartyOrgName  string `json:"thirdPartyOrgName"`
	Domain             string `json:"domain"`
	State              string `json:"state"`
	Version            int    `json:"version"`
	SelfURI            string `json:"selfUri"`
}

type wireUser struct {
	ID                 string             `json:"id"`
	Name               string             `json:"name"`
	Division           wireRef            `json:"division"`
	Email              string             `json:"email"`
	PrimaryContactInfo []wireContact      `json:"primaryContactInfo"`
	State              string             `json:"state"`
	Username           string             `json:"username"`
	Version            int                `json:"version"`
	AcdAutoAnswer      bool               `json:"acdAutoAnswer"`
	SelfURI            string             `json:"selfUri"`
	Presence           *wirePresence      `json:"presence,omitempty"`
	RoutingStatus      *wireRoutingStatus `json:"routingStatus,omitempty"`
	Authorization      *wireAuthorization `json:"authorization,omitempty"`
	Organization       *wireOrganization  `json:"organization,omitempty"`
}

// expansions the user endpoints understand.
var userExpansions = []string{"presence", "routingStatus", "authorization", "organization"}

func parseExpand(values []string) ([]string, *apiError) {
	var out []string
	for _, v := range values {
		for _, e := range strings.Split(v, ",") {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			if !slices.Contains(userExpansions, e) {
				return nil, badRequest("expand", "The expand value %q is not modelled by the sandbox (supported: %s).", e, strings.Join(userExpansions, ", "))
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// divisionLocked is the home division of the organization orgID (its id is the org's).
func (s *Sandbox) divisionLocked(orgID string) wireRef {
	org := s.tenantLocked(orgID).spec
	return wireRef{ID: org.OrgID, Name: "Home", SelfURI: "/api/v2/authorization/divisions/" + org.OrgID}
}

func (s *Sandbox) wireUserLocked(u *user, expand []string) wireUser {
	w := wireUser{
		ID: u.id, Name: u.name, Division: s.divisionLocked(u.org), Email: u.email,
		PrimaryContactInfo: []wireContact{{Address: u.email, MediaType: "EMAIL", Type: "PRIMARY"}},
		State:              "active", Username: u.email, Version: 1, SelfURI: "/api/v2/users/" + u.id,
	}
	now := formatTime(s.clock.Now())
	for _, e := range expand {
		switch e {
		case "presence":
			w.Presence = &wirePresence{PresenceDefinition: wirePresenceDefinition{ID: strings.ToLower(string(u.presence)), SystemPresence: u.presence.systemPresence()}, ModifiedDate: now}
		case "routingStatus":
			w.RoutingStatus = &wireRoutingStatus{UserID: u.id, Status: s.routingStatusLocked(u), StartTime: now}
		case "authorization":
			w.Authorization = &wireAuthorization{Roles: []wireRef{{ID: strings.ToLower(u.role), Name: u.role}}, Permissions: slices.Clone(u.permissions)}
		case "organization":
			org := s.wireOrgLocked(u.org)
			w.Organization = &org
		}
	}
	return w
}

// wireOrgLocked is the organization orgID as GET /api/v2/users/me?expand=organization
// shows it.
func (s *Sandbox) wireOrgLocked(orgID string) wireOrganization {
	org := s.tenantLocked(orgID).spec
	short := "rendezvous-demo"
	if org.OrgID != s.org.OrgID {
		short = strings.ToLower(strings.Join(strings.Fields(org.OrgName), "-"))
	}
	return wireOrganization{ID: org.OrgID, Name: org.OrgName, DefaultLanguage: "en-us", DefaultCountryCode: "US",
		ThirdPartyOrgName: short, Domain: short, State: "active", Version: 1,
		SelfURI: "/api/v2/organizations/" + org.OrgID}
}

// GET /api/v2/users/me: the signed-in user; client credentials have no user.
func (s *Sandbox) usersMe(w http.ResponseWriter, r *http.Request, c caller) error {
	if c.user == nil {
		return &apiError{status: http.StatusBadRequest, code: codeUserContext,
			message: "This request requires a user context. Client credentials cannot be used for requests to this resource."}
	}
	expand, err := parseExpand(r.URL.Query()["expand"])
	if err != nil {
		return err
	}
	s.mu.Lock()
	body := s.wireUserLocked(c.user, expand)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
	return nil
}

// GET /api/v2/users/{id}. A user of another organization is not found, as in Genesys.
func (s *Sandbox) getUser(w http.ResponseWriter, r *http.Request, c caller) error {
	expand, err := parseExpand(r.URL.Query()["expand"])
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	s.mu.Lock()
	u := s.users[id]
	if u != nil && u.org != c.org() {
		u = nil
	}
	var body wireUser
	if u != nil {
		body = s.wireUserLocked(u, expand)
	}
	s.mu.Unlock()
	if u == nil {
		return notFound("The requested user %s was not found.", id)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

type userSearchRequest struct {
	Query      []userSearchCriterion `json:"query"`
	PageSize   int                   `json:"pageSize,omitempty"`
	PageNumber int                   `json:"pageNumber,omitempty"`
	Expand     []string              `json:"expand,omitempty"`
	SortOrder  string                `json:"sortOrder,omitempty"`
	SortBy     string                `json:"sortBy,omitempty"`
}

type userSearchCriterion struct {
	Type     string   `json:"type"`
	Fields   []string `json:"fields,omitempty"`
	Value    string   `json:"value,omitempty"`
	Values   []string `json:"values,omitempty"`
	Operator string   `json:"operator,omitempty"`
}

type userSearchResponse struct {
	Total      int        `json:"total"`
	PageCount  int        `json:"pageCount"`
	PageSize   int        `json:"pageSize"`
	PageNumber int        `json:"pageNumber"`
	Results    []wireUser `json:"results"`
	Types      []string   `json:"types"`
}

var searchFields = []string{"id", "name", "email", "username"}

// POST /api/v2/users/search: EXACT, CONTAINS, STARTS_WITH and TERM criteria over id, name,
// email and username, all criteria combined with AND, as Genesys does by default.
func (s *Sandbox) searchUsers(w http.ResponseWriter, r *http.Request, c caller) error {
	var req userSearchRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.Query) == 0 {
		return badRequest("query", "At least one search criterion is required.")
	}
	expand, aerr := parseExpand(req.Expand)
	if aerr != nil {
		return aerr
	}
	size, number, aerr := paging(req.PageSize, req.PageNumber, 100)
	if aerr != nil {
		return aerr
	}
	for _, q := range req.Query {
		if !slices.Contains([]string{"EXACT", "CONTAINS", "STARTS_WITH", "TERM"}, q.Type) {
			return badRequest("query.type", "The search type %q is not modelled by the sandbox (EXACT, CONTAINS, STARTS_WITH, TERM).", q.Type)
		}
		if len(q.Fields) == 0 || (q.Value == "" && len(q.Values) == 0) {
			return badRequest("query", "Every criterion needs fields and a value.")
		}
		for _, f := range q.Fields {
			if !slices.Contains(searchFields, f) {
				return badRequest("query.fields", "The search field %q is not modelled by the sandbox (%s).", f, strings.Join(searchFields, ", "))
			}
		}
	}
	s.mu.Lock()
	var hits []wireUser
	for _, id := range s.userOrder {
		u := s.users[id]
		if u.org == c.org() && matchesAll(u, req.Query) {
			hits = append(hits, s.wireUserLocked(u, expand))
		}
	}
	s.mu.Unlock()
	page, total, count := pageOf(hits, size, number)
	writeJSON(w, http.StatusOK, userSearchResponse{Total: total, PageCount: count, PageSize: size, PageNumber: number,
		Results: page, Types: []string{"users"}})
	return nil
}

func matchesAll(u *user, criteria []userSearchCriterion) bool {
	for _, q := range criteria {
		values := q.Values
		if q.Value != "" {
			values = append([]string{q.Value}, values...)
		}
		if !slices.ContainsFunc(q.Fields, func(f string) bool {
			field := map[string]string{"id": u.id, "name": u.name, "email": u.email, "username": u.email}[f]
			return slices.ContainsFunc(values, func(v string) bool { return matchText(q.Type, field, v) })
		}) {
			return false
		}
	}
	return true
}

func matchText(kind, field, value string) bool {
	f, v := strings.ToLower(field), strings.ToLower(value)
	switch kind {
	case "EXACT":
		return f == v
	case "STARTS_WITH":
		return strings.HasPrefix(f, v)
	case "TERM":
		return slices.Contains(strings.Fields(f), v) || f == v
	default: // CONTAINS
		return strings.Contains(f, v)
	}
}
