package sandbox

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Queue is a queue of the sandbox org as the inspection API shows it.
type Queue struct {
	ID                     string        `json:"id"`
	Name                   string        `json:"name"`
	RoutingMethod          string        `json:"routingMethod"`
	RoutingRules           []RoutingRule `json:"routingRules"`
	AlertingTimeoutSeconds int           `json:"alertingTimeoutSeconds"`
	MemberIDs              []string      `json:"memberIds"`
	OrgID                  string        `json:"orgId"`
	// AgentOwnedCallbacks and MaxOwnedCallbackDelayHours are the queue's agent-owned
	// callback settings.
	AgentOwnedCallbacks        bool `json:"agentOwnedCallbacks"`
	MaxOwnedCallbackDelayHours int  `json:"maxOwnedCallbackDelayHours"`
	// Waiting counts interactions queued or alerting in this queue.
	Waiting int `json:"waiting"`
}

// Queues lists the org's queues.
func (s *Sandbox) Queues() []Queue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Queue, 0, len(s.queueOrder))
	for _, id := range s.queueOrder {
		q := s.queues[id]
		v := Queue{ID: q.id, Name: q.name, RoutingMethod: q.method, RoutingRules: slices.Clone(q.rules),
			AlertingTimeoutSeconds: q.alertingTimeoutSeconds, MemberIDs: slices.Clone(q.members), OrgID: q.org,
			AgentOwnedCallbacks: q.owned.Enabled, MaxOwnedCallbackDelayHours: q.owned.MaxDelayHours}
		if v.RoutingRules == nil {
			v.RoutingRules = []RoutingRule{}
		}
		for _, c := range s.convs {
			if c.queueID == q.id && (c.state == StateQueued || c.state == StateAlerting) {
				v.Waiting++
			}
		}
		out = append(out, v)
	}
	return out
}

// listing is Genesys' paged entity listing.
type listing[T any] struct {
	Entities    []T    `json:"entities"`
	PageSize    int    `json:"pageSize"`
	PageNumber  int    `json:"pageNumber"`
	Total       int    `json:"total"`
	PageCount   int    `json:"pageCount"`
	FirstURI    string `json:"firstUri"`
	SelfURI     string `json:"selfUri"`
	LastURI     string `json:"lastUri"`
	NextURI     string `json:"nextUri,omitempty"`
	PreviousURI string `json:"previousUri,omitempty"`
}

// paging validates pageSize/pageNumber, 0 meaning the defaults (25, 1).
func paging(size, number, maxSize int) (int, int, *apiError) {
	if size == 0 {
		size = 25
	}
	if number == 0 {
		number = 1
	}
	if size < 1 || size > maxSize {
		return 0, 0, badRequest("pageSize", "pageSize must be between 1 and %d.", maxSize)
	}
	if number < 1 {
		return 0, 0, badRequest("pageNumber", "pageNumber must be at least 1.")
	}
	return size, number, nil
}

// queryPaging reads pageSize and pageNumber from a query string.
func queryPaging(r *http.Request, maxSize int) (int, int, *apiError) {
	atoi := func(k string) (int, *apiError) {
		v := r.URL.Query().Get(k)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n == 0 {
			return 0, badRequest(k, "%s must be a positive integer.", k)
		}
		return n, nil
	}
	size, err := atoi("pageSize")
	if err != nil {
		return 0, 0, err
	}
	number, err := atoi("pageNumber")
	if err != nil {
		return 0, 0, err
	}
	return paging(size, number, maxSize)
}

// pageOf cuts one page out of all; it never returns a nil slice.
func pageOf[T any](all []T, size, number int) (page []T, total, pageCount int) {
	total = len(all)
	pageCount = (total + size - 1) / size
	lo := min((number-1)*size, total)
	hi := min(lo+size, total)
	page = append([]T{}, all[lo:hi]...)
	return page, total, pageCount
}

// newListing builds a listing page with Genesys' navigation URIs.
func newListing[T any](all []T, size, number int, base string, q map[string]string) listing[T] {
	page, total, count := pageOf(all, size, number)
	uri := func(n int) string {
		v := make([]string, 0, len(q)+2)
		for k, val := range q {
			if val != "" {
				v = append(v, k+"="+val)
			}
		}
		slices.Sort(v)
		v = append(v, "pageSize="+strconv.Itoa(size), "pageNumber="+strconv.Itoa(n))
		return base + "?" + strings.Join(v, "&")
	}
	l := listing[T]{Entities: page, PageSize: size, PageNumber: number, Total: total, PageCount: count,
		FirstURI: uri(1), SelfURI: uri(number), LastURI: uri(max(count, 1))}
	if number < count {
		l.NextURI = uri(number + 1)
	}
	if number > 1 {
		l.PreviousURI = uri(number - 1)
	}
	return l
}

// agentOwnedRouting is a queue's agent-owned callback settings (Genesys'
// agentOwnedRouting). Genesys accepts an owned callback only when Enabled and the queue
// has a preferred-agent routing rule, and schedules it at most MaxDelayHours ahead.
type agentOwnedRouting struct {
	Enabled       bool `json:"enableAgentOwnedCallbacks"`
	MaxDelayHours int  `json:"maxOwnedCallbackDelayHours"`
}

// maxOwnedDelayHours is the largest maxOwnedCallbackDelayHours Genesys allows (30 days),
// the demo queue's setting.
const maxOwnedDelayHours = 720

// acceptsOwnedCallbacks reports whether an agent-owned callback may be created on q.
func (q *queue) acceptsOwnedCallbacks() bool { return q.owned.Enabled && len(q.rules) > 0 }

// SetAgentOwnedRouting sets a queue's agent-owned callback settings: enabled or not, and
// how many hours ahead an owned callback may be scheduled (1 to 720).
func (s *Sandbox) SetAgentOwnedRouting(queueID string, enabled bool, maxDelayHours int) error {
	if maxDelayHours < 1 || maxDelayHours > maxOwnedDelayHours {
		return fmt.Errorf("maxOwnedCallbackDelayHours %d: must be 1 to %d", maxDelayHours, maxOwnedDelayHours)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[queueID]
	if q == nil {
		return fmt.Errorf("queue %s: %w", queueID, ErrNotFound)
	}
	q.owned = agentOwnedRouting{Enabled: enabled, MaxDelayHours: maxDelayHours}
	s.notifyLocked()
	return nil
}

// Wire format of queues.

type wireServiceLevel struct {
	Percentage float64 `json:"percentage"`
	DurationMs int     `json:"durationMs"`
}

type wireMediaSetting struct {
	AlertingTimeoutSeconds int              `json:"alertingTimeoutSeconds"`
	ServiceLevel           wireServiceLevel `json:"serviceLevel"`
}

type wireQueue struct {
	ID                    string                      `json:"id"`
	Name                  string                      `json:"name"`
	Division              wireRef                     `json:"division"`
	Description           string                      `json:"description"`
	MemberCount           int                         `json:"memberCount"`
	UserMemberCount       int                         `json:"userMemberCount"`
	JoinedMemberCount     int                         `json:"joinedMemberCount"`
	MediaSettings         map[string]wireMediaSetting `json:"mediaSettings"`
	RoutingRules          []RoutingRule               `json:"routingRules"`
	SkillEvaluationMethod string                      `json:"skillEvaluationMethod"`
	AcwSettings           map[string]string           `json:"acwSettings"`
	AgentOwnedRouting     agentOwnedRouting           `json:"agentOwnedRouting"`
	SelfURI               string                      `json:"selfUri"`
}

func (s *Sandbox) wireQueueLocked(q *queue) wireQueue {
	ms := wireMediaSetting{AlertingTimeoutSeconds: q.alertingTimeoutSeconds, ServiceLevel: wireServiceLevel{Percentage: 0.8, DurationMs: 20000}}
	rules := slices.Clone(q.rules)
	if rules == nil {
		rules = []RoutingRule{}
	}
	desc := "Standard routing."
	if q.method == MethodPreferredAgent {
		desc = "Preferred agent routing."
	}
	return wireQueue{
		ID: q.id, Name: q.name, Division: s.divisionLocked(q.org), Description: desc,
		MemberCount: len(q.members), UserMemberCount: len(q.members), JoinedMemberCount: len(q.members),
		MediaSettings: map[string]wireMediaSetting{"call": ms, "callback": ms, "chat": ms, "email": ms, "message": ms},
		RoutingRules:  rules, SkillEvaluationMethod: "BEST", AcwSettings: map[string]string{"wrapupPrompt": "OPTIONAL"},
		AgentOwnedRouting: q.owned, SelfURI: "/api/v2/routing/queues/" + q.id,
	}
}

// GET /api/v2/routing/queues?name=&pageSize=&pageNumber=. The name is a pattern, not an
// exact match, as in Genesys: * is a wildcard and a name without * matches as a prefix, case
// insensitively, so "Appointments" also finds "Appointments Video" and the client has to
// pick the exact name itself.
func (s *Sandbox) listQueues(w http.ResponseWriter, r *http.Request, c caller) error {
	size, number, aerr := queryPaging(r, 500)
	if aerr != nil {
		return aerr
	}
	q := r.URL.Query()
	for k := range q {
		if !slices.Contains([]string{"name", "pageSize", "pageNumber"}, k) {
			return &apiError{status: http.StatusNotImplemented, code: codeNotImplemented,
				message: "The sandbox does not model the queue filter " + k + "."}
		}
	}
	name := q.Get("name")
	s.mu.Lock()
	var all []wireQueue
	for _, id := range s.queueOrder {
		if qu := s.queues[id]; qu.org == c.org() && (name == "" || matchName(name, qu.name)) {
			all = append(all, s.wireQueueLocked(qu))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, newListing(all, size, number, "/api/v2/routing/queues", map[string]string{"name": name}))
	return nil
}

func matchName(pattern, name string) bool {
	p, n := strings.ToLower(pattern), strings.ToLower(name)
	if !strings.Contains(p, "*") {
		return strings.HasPrefix(n, p)
	}
	parts := strings.Split(p, "*")
	if !strings.HasPrefix(n, parts[0]) {
		return false
	}
	n = n[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(n, part)
		if i < 0 {
			return false
		}
		n = n[i+len(part):]
	}
	return strings.HasSuffix(n, last)
}

// GET /api/v2/routing/queues/{queueId}. Another organization's queue is not found.
func (s *Sandbox) getQueue(w http.ResponseWriter, r *http.Request, c caller) error {
	id := r.PathValue("queueId")
	s.mu.Lock()
	q := s.queues[id]
	if q != nil && q.org != c.org() {
		q = nil
	}
	var body wireQueue
	if q != nil {
		body = s.wireQueueLocked(q)
	}
	s.mu.Unlock()
	if q == nil {
		return notFound("The requested queue %s was not found.", id)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}
