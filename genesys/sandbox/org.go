package sandbox

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
)

// Presence is an agent's presence as the sandbox models it: the three states routing cares
// about.
type Presence string

// The presences a user can be set to.
const (
	// PresenceOnQueue means the agent receives ACD interactions from their queues.
	PresenceOnQueue Presence = "ON_QUEUE"
	// PresenceAvailable means signed in but not receiving ACD interactions.
	PresenceAvailable Presence = "AVAILABLE"
	// PresenceOffline means signed out.
	PresenceOffline Presence = "OFFLINE"
)

func (p Presence) valid() bool {
	return p == PresenceOnQueue || p == PresenceAvailable || p == PresenceOffline
}

// systemPresence is Genesys' display name of a presence (presenceDefinition.systemPresence).
func (p Presence) systemPresence() string {
	switch p {
	case PresenceOnQueue:
		return "On Queue"
	case PresenceAvailable:
		return "Available"
	default:
		return "Offline"
	}
}

// Routing statuses, as Genesys reports them in routingStatus.status.
const (
	RoutingOffQueue      = "OFF_QUEUE"
	RoutingIdle          = "IDLE"
	RoutingInteracting   = "INTERACTING"
	RoutingNotResponding = "NOT_RESPONDING"
)

// Roles of seeded users (sandbox data: Genesys shows them with expand=authorization).
const (
	RoleAgent      = "Agent"
	RoleSupervisor = "Supervisor"
)

// Queue routing methods.
const (
	// MethodStandard offers an interaction to any available member, longest idle first.
	MethodStandard = "standard"
	// MethodPreferredAgent tries the interaction's preferred agents ring by ring (the
	// queue's routingRules) before falling back to standard routing.
	MethodPreferredAgent = "preferredAgent"
)

// Routing rule operators (routingRules[].operator).
const (
	OperatorMeetsThreshold = "MEETS_THRESHOLD"
	OperatorAny            = "ANY"
)

// DemoOrg names everything one sandbox organization holds (the seeded demo organization,
// or one added with AddOrg), so that the product (and tests) can wire themselves to a
// sandbox without looking anything up.
type DemoOrg struct {
	OrgID   string `json:"orgId"`
	OrgName string `json:"orgName"`
	// Agents are on queue and members of both queues.
	Agents []DemoUser `json:"agents"`
	// Supervisor is available (not on queue) and a member of no queue.
	Supervisor DemoUser `json:"supervisor"`
	// VideoQueue routes with preferred agent routing; PlainQueue with standard routing.
	VideoQueue DemoQueue `json:"videoQueue"`
	PlainQueue DemoQueue `json:"plainQueue"`
	// AgentDeploymentID is the Messenger deployment whose flow transfers to VideoQueue with
	// the preferred agent taken from AgentAttribute.
	AgentDeploymentID string `json:"agentDeploymentId"`
	// QueueDeploymentID is the Messenger deployment whose flow transfers to the queue named
	// by QueueAttribute.
	QueueDeploymentID string `json:"queueDeploymentId"`
	AgentAttribute    string `json:"agentAttribute"`
	QueueAttribute    string `json:"queueAttribute"`
	// SMSNumber is the org's provisioned SMS number (E.164).
	SMSNumber string `json:"smsNumber"`
	// EmailDomain is the org's outbound (agentless) email domain.
	EmailDomain string `json:"emailDomain"`
	// SMSClient and EmailClient hold only what notifications need; APIClient holds every
	// permission the sandbox checks; LoginClient signs users in (authorization code + PKCE).
	SMSClient   DemoClient `json:"smsClient"`
	EmailClient DemoClient `json:"emailClient"`
	APIClient   DemoClient `json:"apiClient"`
	LoginClient DemoClient `json:"loginClient"`
}

// DemoUser is a seeded user.
type DemoUser struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// DemoQueue is a seeded queue.
type DemoQueue struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// DemoClient is a seeded OAuth client. It is a sandbox: the secret is public.
type DemoClient struct {
	ID          string   `json:"id"`
	Secret      string   `json:"secret"`
	Name        string   `json:"name"`
	GrantType   string   `json:"grantType"` // GrantClientCredentials or GrantAuthorizationCode
	Permissions []string `json:"permissions"`
}

// OAuth grant types of seeded clients.
const (
	GrantClientCredentials = "client_credentials"
	GrantAuthorizationCode = "authorization_code"
)

// Permissions the sandbox checks, one constant per permission string.
const (
	PermMessageCreate       = "conversation:message:create"
	PermSMSNumberView       = "sms:phoneNumber:view"
	PermEmailCreate         = "conversation:email:create"
	PermAgentlessEmailSend  = "conversation:agentlessEmail:send"
	PermEmailManage         = "routing:email:manage" // lists outbound domains (no routing:email:outbound:view exists)
	PermEmailView           = "routing:email:view"   // reads one outbound domain by name
	PermCallbackCreate      = "conversation:callback:create"
	PermCallbackEdit        = "conversation:callback:edit"
	PermDisconnect          = "conversation:communication:disconnect"
	PermParticipantUpdate   = "conversation:participant:update"
	PermQueueView           = "routing:queue:view"
	PermUserView            = "directory:user:view"
	defaultAgentAttribute   = "context.auvious.agentUserId"
	defaultQueueAttribute   = "context.auvious.queueName"
	defaultPreferredScore   = 100
	demoRingWaitSeconds     = 30
	demoAlertTimeoutSeconds = 30
)

// Demo is the demo organization every New sandbox is seeded with. The ids are fixed so
// that a product configured against one sandbox run keeps working against the next.
var Demo = demoOrg()

// Demo returns the ids of the organization this sandbox was seeded with.
func (s *Sandbox) Demo() DemoOrg { return demoOrg() }

func demoOrg() DemoOrg {
	smsPerms := []string{PermMessageCreate, PermSMSNumberView}
	emailPerms := []string{PermEmailCreate, PermEmailManage}
	return DemoOrg{
		OrgID:   "7c0f1e2a-5b3d-4c8e-9a10-000000000001",
		OrgName: "Rendezvous Demo",
		Agents: []DemoUser{
			{ID: "a1b2c3d4-0001-4000-8000-00000000a001", Name: "Alice Martin", Email: "alice.martin@demo.rendezvous.example"},
			{ID: "a1b2c3d4-0002-4000-8000-00000000a002", Name: "Bruno Costa", Email: "bruno.costa@demo.rendezvous.example"},
			{ID: "a1b2c3d4-0003-4000-8000-00000000a003", Name: "Chloé Dubois", Email: "chloe.dubois@demo.rendezvous.example"},
		},
		Supervisor: DemoUser{ID: "a1b2c3d4-0009-4000-8000-00000000a009", Name: "Sam Reyes", Email: "sam.reyes@demo.rendezvous.example"},
		VideoQueue: DemoQueue{ID: "9e8d7c6b-0001-4000-8000-0000000000e1", Name: "Appointments Video"},
		PlainQueue: DemoQueue{ID: "9e8d7c6b-0002-4000-8000-0000000000e2", Name: "Appointments"},

		AgentDeploymentID: "d3f1a2b4-0001-4000-8000-0000000000d1",
		QueueDeploymentID: "d3f1a2b4-0002-4000-8000-0000000000d2",
		AgentAttribute:    defaultAgentAttribute,
		QueueAttribute:    defaultQueueAttribute,

		SMSNumber:   "+15550100100",
		EmailDomain: "demo.rendezvous.example",

		SMSClient: DemoClient{ID: "c0000000-0001-4000-8000-000000000c01", Secret: "sandbox-sms-secret",
			Name: "Rendezvous SMS", GrantType: GrantClientCredentials, Permissions: smsPerms},
		EmailClient: DemoClient{ID: "c0000000-0002-4000-8000-000000000c02", Secret: "sandbox-email-secret",
			Name: "Rendezvous email", GrantType: GrantClientCredentials, Permissions: emailPerms},
		APIClient: DemoClient{ID: "c0000000-0003-4000-8000-000000000c03", Secret: "sandbox-api-secret",
			Name: "Rendezvous API", GrantType: GrantClientCredentials, Permissions: allPermissions()},
		LoginClient: DemoClient{ID: "c0000000-0004-4000-8000-000000000c04", Secret: "sandbox-login-secret",
			Name: "Rendezvous sign-in", GrantType: GrantAuthorizationCode},
	}
}

// allPermissions lists every permission the sandbox checks.
func allPermissions() []string {
	return []string{
		PermMessageCreate, PermSMSNumberView, PermEmailCreate, PermAgentlessEmailSend,
		PermEmailManage, PermEmailView, PermCallbackCreate, PermCallbackEdit, PermDisconnect,
		PermParticipantUpdate, PermQueueView, PermUserView,
	}
}

// user is a seeded Genesys user and its routing state.
type user struct {
	id, name, email, role string
	org                   string // the Genesys organization id it belongs to
	presence              Presence
	notResponding         bool
	permissions           []string
	idleSince             int64 // sequence number of the moment they last became free (longest idle first)
	seq                   int   // seed order, the tie-break
}

// queue is a routing queue.
type queue struct {
	id, name               string
	org                    string
	method                 string
	rules                  []RoutingRule
	alertingTimeoutSeconds int
	members                []string // user ids
	owned                  agentOwnedRouting
}

func (q *queue) isMember(userID string) bool { return slices.Contains(q.members, userID) }

// RoutingRule is one ring of preferred agent routing (Genesys routingRules[]).
type RoutingRule struct {
	Operator    string `json:"operator"`
	Threshold   int    `json:"threshold"`
	WaitSeconds int    `json:"waitSeconds"`
}

// Flow is an Architect inbound message flow reduced to data: it transfers the interaction
// to a queue, fixed (QueueID) or named by a participant attribute (QueueNameAttribute), with
// an optional preferred agent whose user id is read from PreferredAgentAttribute.
type Flow struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// QueueID is the queue the flow transfers to; empty means the queue named by
	// QueueNameAttribute.
	QueueID            string `json:"queueId,omitempty"`
	QueueNameAttribute string `json:"queueNameAttribute,omitempty"`
	// PreferredAgentAttribute, when set, names the participant attribute holding the
	// preferred agent's user id, offered with PreferredAgentScore.
	PreferredAgentAttribute string `json:"preferredAgentAttribute,omitempty"`
	PreferredAgentScore     int    `json:"preferredAgentScore,omitempty"`
}

// deployment is a Messenger deployment.
type deployment struct {
	id, name, flowID string
	org              string
	// allowedDomains empty means every origin is allowed ("allow all domains").
	allowedDomains []string
}

// oauthClient is an OAuth client of the org.
type oauthClient struct {
	DemoClient
	org          string
	redirectURIs []string // empty: any redirect URI (the product runs on any port)
}

func (c *oauthClient) has(perm string) bool { return slices.Contains(c.Permissions, perm) }

// seedLocked fills the sandbox with the demo organization.
func (s *Sandbox) seedLocked() {
	s.org = demoOrg()
	s.seedOrgLocked(s.org)
}

// tenant is one Genesys organization of the sandbox: what it was seeded with and its
// inventories. Users, queues, deployments, OAuth clients and conversations carry their
// organization's id; a request sees only those of its token's organization.
type tenant struct {
	spec         DemoOrg
	smsNumbers   []string
	emailDomains []string
	emailWindow  window // the organization's agentless email limit
}

// AddOrg adds another Genesys organization to the sandbox, seeded like the demo one
// (three agents on queue, a supervisor, a preferred-agent and a plain queue, two
// Messenger deployments with their flows, an SMS number, an email domain and the four
// OAuth clients) under fresh ids, and returns what it holds. Nothing of it is visible to
// the other organizations' tokens, and nothing of theirs to its own. name names the
// organization and prefixes its people and queues; domain is its email domain (empty:
// derived from name).
func (s *Sandbox) AddOrg(name string) DemoOrg {
	id := func() string { return newUUID() }
	slug := strings.ToLower(strings.Join(strings.Fields(name), "-"))
	d := demoOrg()
	d.OrgID, d.OrgName = id(), name
	for i := range d.Agents {
		d.Agents[i].ID = id()
		first := strings.Fields(d.Agents[i].Name)[0]
		d.Agents[i].Name = first + " of " + name
		d.Agents[i].Email = strings.ToLower(first) + "@" + slug + ".example"
	}
	d.Supervisor = DemoUser{ID: id(), Name: "Supervisor of " + name, Email: "supervisor@" + slug + ".example"}
	d.VideoQueue = DemoQueue{ID: id(), Name: name + " Video"}
	d.PlainQueue = DemoQueue{ID: id(), Name: name + " Appointments"}
	d.AgentDeploymentID, d.QueueDeploymentID = id(), id()
	d.EmailDomain = slug + ".example"
	for _, c := range []*DemoClient{&d.SMSClient, &d.EmailClient, &d.APIClient, &d.LoginClient} {
		c.ID, c.Secret, c.Name = id(), randomToken(), c.Name+" ("+name+")"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d.SMSNumber = fmt.Sprintf("+1555010%04d", 200+len(s.tenants))
	s.seedOrgLocked(d)
	s.notifyLocked()
	return d
}

// Orgs lists the sandbox's Genesys organizations, the demo one first.
func (s *Sandbox) Orgs() []DemoOrg {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]DemoOrg, 0, len(s.tenantOrder))
	for _, id := range s.tenantOrder {
		out = append(out, s.tenants[id].spec)
	}
	return out
}

// seedOrgLocked adds the organization d describes.
func (s *Sandbox) seedOrgLocked(d DemoOrg) {
	if s.tenants == nil {
		s.tenants = map[string]*tenant{}
	}
	s.tenants[d.OrgID] = &tenant{spec: d, smsNumbers: []string{d.SMSNumber}, emailDomains: []string{d.EmailDomain}}
	s.tenantOrder = append(s.tenantOrder, d.OrgID)
	agentPerms := []string{PermQueueView, PermUserView}
	seq := len(s.userOrder)
	for i, a := range d.Agents {
		s.addUserLocked(&user{id: a.ID, name: a.Name, email: a.Email, role: RoleAgent, org: d.OrgID,
			presence: PresenceOnQueue, permissions: agentPerms, seq: seq + i})
	}
	sup := d.Supervisor
	s.addUserLocked(&user{id: sup.ID, name: sup.Name, email: sup.Email, role: RoleSupervisor, org: d.OrgID,
		presence: PresenceAvailable, permissions: allPermissions(), seq: seq + len(d.Agents)})

	var members []string
	for _, a := range d.Agents {
		members = append(members, a.ID)
	}
	s.addQueueLocked(&queue{id: d.VideoQueue.ID, name: d.VideoQueue.Name, org: d.OrgID, method: MethodPreferredAgent,
		rules:                  []RoutingRule{{Operator: OperatorMeetsThreshold, Threshold: defaultPreferredScore, WaitSeconds: demoRingWaitSeconds}},
		alertingTimeoutSeconds: demoAlertTimeoutSeconds, members: slices.Clone(members),
		owned: agentOwnedRouting{Enabled: true, MaxDelayHours: maxOwnedDelayHours}})
	s.addQueueLocked(&queue{id: d.PlainQueue.ID, name: d.PlainQueue.Name, org: d.OrgID, method: MethodStandard,
		alertingTimeoutSeconds: demoAlertTimeoutSeconds, members: slices.Clone(members)})

	agentFlow := &Flow{ID: "f1000000-0001-4000-8000-0000000000f1", Name: "Rendezvous agent routing",
		QueueID: d.VideoQueue.ID, PreferredAgentAttribute: d.AgentAttribute, PreferredAgentScore: defaultPreferredScore}
	queueFlow := &Flow{ID: "f1000000-0002-4000-8000-0000000000f2", Name: "Rendezvous queue routing",
		QueueNameAttribute: d.QueueAttribute}
	if len(s.tenantOrder) > 1 {
		agentFlow.ID, queueFlow.ID = newUUID(), newUUID()
	}
	s.flows[agentFlow.ID] = agentFlow
	s.flows[queueFlow.ID] = queueFlow
	s.deployments[d.AgentDeploymentID] = &deployment{id: d.AgentDeploymentID, name: "Rendezvous agent routing", flowID: agentFlow.ID, org: d.OrgID}
	s.deployments[d.QueueDeploymentID] = &deployment{id: d.QueueDeploymentID, name: "Rendezvous queue routing", flowID: queueFlow.ID, org: d.OrgID}
	s.deploymentOrder = append(s.deploymentOrder, d.AgentDeploymentID, d.QueueDeploymentID)

	for _, c := range []DemoClient{d.SMSClient, d.EmailClient, d.APIClient, d.LoginClient} {
		c.Permissions = slices.Clone(c.Permissions)
		s.clients[c.ID] = &oauthClient{DemoClient: c, org: d.OrgID}
		s.clientOrder = append(s.clientOrder, c.ID)
	}
}

// tenantLocked returns the organization with id; the demo one when id is unknown, which
// only an entity created before organizations existed could name.
func (s *Sandbox) tenantLocked(id string) *tenant {
	if t := s.tenants[id]; t != nil {
		return t
	}
	return s.tenants[s.org.OrgID]
}

// newUUID returns a random version 4 UUID, the shape of every Genesys id.
func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (s *Sandbox) addUserLocked(u *user) {
	s.users[u.id] = u
	s.userOrder = append(s.userOrder, u.id)
}

func (s *Sandbox) addQueueLocked(q *queue) {
	s.queues[q.id] = q
	s.queueOrder = append(s.queueOrder, q.id)
}

// Deployment is a Messenger deployment as the inspection API shows it.
type Deployment struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// AllowedDomains empty means every origin may connect.
	AllowedDomains []string `json:"allowedDomains"`
	Flow           Flow     `json:"flow"`
}

// Deployments lists the org's Messenger deployments with their flows.
func (s *Sandbox) Deployments() []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Deployment, 0, len(s.deploymentOrder))
	for _, id := range s.deploymentOrder {
		d := s.deployments[id]
		v := Deployment{ID: d.id, Name: d.name, AllowedDomains: slices.Clone(d.allowedDomains), Flow: *s.flows[d.flowID]}
		if v.AllowedDomains == nil {
			v.AllowedDomains = []string{}
		}
		out = append(out, v)
	}
	return out
}

// SetDeploymentFlow replaces the flow a Messenger deployment runs, for tests that need
// other attribute names, another queue or score. The flow must name a queue that exists
// or an attribute to read one from.
func (s *Sandbox) SetDeploymentFlow(deploymentID string, f Flow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deployments[deploymentID]
	switch {
	case d == nil:
		return fmt.Errorf("deployment %s: %w", deploymentID, ErrNotFound)
	case f.QueueID == "" && f.QueueNameAttribute == "":
		return fmt.Errorf("flow %q needs QueueID or QueueNameAttribute: %w", f.Name, ErrInvalid)
	case f.QueueID != "" && s.queueInLocked(f.QueueID, d.org) == nil:
		return fmt.Errorf("flow %q: queue %s: %w", f.Name, f.QueueID, ErrNotFound)
	case f.PreferredAgentScore < 0 || f.PreferredAgentScore > 100:
		return fmt.Errorf("flow %q: score %d is outside 0..100: %w", f.Name, f.PreferredAgentScore, ErrInvalid)
	}
	if f.ID == "" {
		f.ID = d.flowID
	}
	s.flows[f.ID] = &f
	d.flowID = f.ID
	s.notifyLocked()
	return nil
}

// SetQueueRouting changes a queue's routing method (MethodStandard or
// MethodPreferredAgent), its preferred agent rings (at most 6) and its alert timeout.
func (s *Sandbox) SetQueueRouting(queueID, method string, rules []RoutingRule, alertingTimeoutSeconds int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[queueID]
	switch {
	case q == nil:
		return fmt.Errorf("queue %s: %w", queueID, ErrNotFound)
	case method != MethodStandard && method != MethodPreferredAgent:
		return fmt.Errorf("routing method %q: %w", method, ErrInvalid)
	case len(rules) > 6:
		return fmt.Errorf("%d routing rules, at most 6: %w", len(rules), ErrInvalid)
	case alertingTimeoutSeconds < 1:
		return fmt.Errorf("alerting timeout %d s: %w", alertingTimeoutSeconds, ErrInvalid)
	}
	for _, r := range rules {
		if (r.Operator != OperatorMeetsThreshold && r.Operator != OperatorAny) || r.WaitSeconds < 1 || r.Threshold < 0 || r.Threshold > 100 {
			return fmt.Errorf("routing rule %+v: %w", r, ErrInvalid)
		}
	}
	q.method, q.rules, q.alertingTimeoutSeconds = method, slices.Clone(rules), alertingTimeoutSeconds
	s.notifyLocked()
	return nil
}

// queueInLocked returns the queue with id when it belongs to the organization org: to a
// request, another organization's queue does not exist.
func (s *Sandbox) queueInLocked(id, org string) *queue {
	if q := s.queues[id]; q != nil && q.org == org {
		return q
	}
	return nil
}

// userInLocked returns the user with id when they belong to the organization org.
func (s *Sandbox) userInLocked(id, org string) *user {
	if u := s.users[id]; u != nil && u.org == org {
		return u
	}
	return nil
}

// convInLocked returns the conversation with id when it belongs to the organization org.
func (s *Sandbox) convInLocked(id, org string) *conversation {
	if c := s.convs[id]; c != nil && s.convOrgLocked(c) == org {
		return c
	}
	return nil
}

// convOrgLocked is the organization a conversation belongs to: its Messenger
// deployment's, or its queue's.
func (s *Sandbox) convOrgLocked(c *conversation) string {
	if d := s.deployments[c.deploymentID]; d != nil {
		return d.org
	}
	if q := s.queues[c.queueID]; q != nil {
		return q.org
	}
	return ""
}
