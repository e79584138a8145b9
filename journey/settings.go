package journey

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"rendezvous"
)

// Scheduling channels an organization may pick (SPEC section 2).
const (
	ChannelAppointments = "appointments"
	ChannelCallbacks    = "callbacks"
)

// Communication channels. Only web messaging is accepted; the retired web chat is named
// so that it can be refused with a message that says what to use instead.
const (
	CommWebMessaging = "genesys-web-messaging"
	CommWebChat      = "genesys-web-chat"
)

// Default routing of the appointments channel.
const (
	RoutingFlow  = "flow"
	RoutingQueue = "queue"
)

// Waiting-room media kinds.
const (
	MediaNone  = "none"
	MediaVideo = "video"
	MediaImage = "image"
)

// Participant attribute names, as the administrator guide and the sandbox's demo flows
// use them. The agent and queue attributes are defaults an administrator may change; the
// appointment id and the agent's room link are always sent under these names.
const (
	DefaultAgentAttribute  = "context.auvious.agentUserId"
	DefaultQueueAttribute  = "context.auvious.queueName"
	AppointmentIDAttribute = "context.auvious.appointmentId"
	AgentRoomLinkAttribute = "context.auvious.agentRoomUrl"
)

// Default timing of the customer's link.
const (
	// DefaultOpensEarlyMinutes: the waiting room opens a day ahead.
	DefaultOpensEarlyMinutes = 24 * 60
	// DefaultGraceMinutes: the link still connects 15 minutes after the planned end.
	DefaultGraceMinutes = 15
)

// Limits of the settings' values.
const (
	maxOpensEarlyMinutes   = 30 * 24 * 60
	maxGraceMinutes        = 24 * 60
	maxAttributeNameLength = 200
	maxDeploymentKeyLength = 100
	maxQueueNameLength     = 200
	maxMediaURLLength      = 2000
)

// Media is the waiting room's picture or looping video: a URL, or a file uploaded to
// Rendezvous (UploadID) that Rendezvous serves itself.
type Media struct {
	Kind     string `json:"kind"`
	URL      string `json:"url,omitempty"`
	UploadID string `json:"uploadId,omitempty"`
}

// Settings is an organization's Settings / Call Scheduling / Appointments page.
type Settings struct {
	SchedulingChannel    string `json:"schedulingChannel"`
	CommunicationChannel string `json:"communicationChannel"`
	// FlowDeploymentKey is the Messenger deployment wired to the Inbound Message flow that
	// routes to the assigned agent.
	FlowDeploymentKey string `json:"flowDeploymentKey"`
	// QueueDeploymentKey is the Messenger deployment whose flow transfers to the queue named
	// by QueueAttribute. Empty means FlowDeploymentKey serves both.
	QueueDeploymentKey string `json:"queueDeploymentKey"`
	DefaultRouting     string `json:"defaultRouting"`
	DefaultQueue       string `json:"defaultQueue"`
	// ForceQueueRouting sends every appointment to a queue (its own, else DefaultQueue),
	// whatever routing it was booked with.
	ForceQueueRouting  bool      `json:"forceQueueRouting"`
	AgentAttribute     string    `json:"agentAttribute"`
	QueueAttribute     string    `json:"queueAttribute"`
	WaitingRoomMedia   Media     `json:"waitingRoomMedia"`
	OpensEarlyMinutes  int       `json:"opensEarlyMinutes"`
	GracePeriodMinutes int       `json:"gracePeriodMinutes"`
	UpdatedAt          time.Time `json:"updatedAt,omitzero"`
}

// DefaultSettings returns settings that work out of the box: with the sandbox's seeded
// deployment keys on the demo organization, or with empty keys that the administrator
// must fill elsewhere.
func DefaultSettings(flowKey, queueKey, defaultQueue string) Settings {
	return Settings{
		SchedulingChannel:    ChannelAppointments,
		CommunicationChannel: CommWebMessaging,
		FlowDeploymentKey:    flowKey,
		QueueDeploymentKey:   queueKey,
		DefaultRouting:       RoutingFlow,
		DefaultQueue:         defaultQueue,
		AgentAttribute:       DefaultAgentAttribute,
		QueueAttribute:       DefaultQueueAttribute,
		WaitingRoomMedia:     Media{Kind: MediaNone},
		OpensEarlyMinutes:    DefaultOpensEarlyMinutes,
		GracePeriodMinutes:   DefaultGraceMinutes,
	}
}

// OpensEarly is how long before the start the link shows the waiting room.
func (s Settings) OpensEarly() time.Duration {
	return time.Duration(s.OpensEarlyMinutes) * time.Minute
}

// Grace is how long after the planned end the link still starts or resumes the interaction.
func (s Settings) Grace() time.Duration { return time.Duration(s.GracePeriodMinutes) * time.Minute }

// Validate checks every field and returns a *rendezvous.ValidationError naming each
// problem and its fix; uploadExists reports whether an uploaded media id belongs to the
// organization (nil skips that check).
func (s Settings) Validate(uploadExists func(id string) bool) error {
	var p rendezvous.Problems
	switch s.SchedulingChannel {
	case ChannelAppointments, ChannelCallbacks:
	default:
		p.Add("schedulingChannel", "must be %q (Rendezvous schedules and creates a web messaging interaction at the time) or %q (a Genesys Cloud scheduled callback)", ChannelAppointments, ChannelCallbacks)
	}
	switch s.CommunicationChannel {
	case CommWebMessaging:
	case CommWebChat:
		p.Add("communicationChannel", "%q is the retired Genesys Cloud ACD web chat, which Genesys Cloud no longer serves; use %q and a Messenger deployment key instead", CommWebChat, CommWebMessaging)
	default:
		p.Add("communicationChannel", "must be %q", CommWebMessaging)
	}
	checkKey(&p, "flowDeploymentKey", s.FlowDeploymentKey, s.SchedulingChannel == ChannelAppointments)
	checkKey(&p, "queueDeploymentKey", s.QueueDeploymentKey, false)
	switch s.DefaultRouting {
	case RoutingFlow, RoutingQueue:
	default:
		p.Add("defaultRouting", "must be %q (to the assigned agent through the Inbound Message flow) or %q (to a queue)", RoutingFlow, RoutingQueue)
	}
	if len(s.DefaultQueue) > maxQueueNameLength || rendezvous.CheckLine(s.DefaultQueue) != nil {
		p.Add("defaultQueue", "must be a queue name of at most %d characters", maxQueueNameLength)
	}
	if (s.DefaultRouting == RoutingQueue || s.ForceQueueRouting) && strings.TrimSpace(s.DefaultQueue) == "" {
		p.Add("defaultQueue", "is required when routing to a queue by default: give the exact name of a Genesys Cloud queue")
	}
	checkAttr(&p, "agentAttribute", s.AgentAttribute)
	checkAttr(&p, "queueAttribute", s.QueueAttribute)
	if s.AgentAttribute != "" && s.AgentAttribute == s.QueueAttribute {
		p.Add("queueAttribute", "must differ from agentAttribute, or the flow cannot tell an agent id from a queue name")
	}
	checkMedia(&p, s.WaitingRoomMedia, uploadExists)
	if s.OpensEarlyMinutes < 0 || s.OpensEarlyMinutes > maxOpensEarlyMinutes {
		p.Add("opensEarlyMinutes", "must be between 0 and %d minutes (30 days)", maxOpensEarlyMinutes)
	}
	if s.GracePeriodMinutes < 0 || s.GracePeriodMinutes > maxGraceMinutes {
		p.Add("gracePeriodMinutes", "must be between 0 and %d minutes (one day)", maxGraceMinutes)
	}
	return p.Err()
}

func checkKey(p *rendezvous.Problems, field, v string, required bool) {
	switch {
	case required && strings.TrimSpace(v) == "":
		p.Add(field, "is required for the appointments channel: copy the deployment key from Genesys Cloud Admin > Message > Messenger Deployments")
	case len(v) > maxDeploymentKeyLength:
		p.Add(field, "is longer than %d characters; a deployment key is a UUID such as 2b0ab1f5-2a36-4b8c-9d6c-7a1a0f3e6c55", maxDeploymentKeyLength)
	case strings.ContainsAny(v, " \t\r\n/?#"):
		p.Add(field, "contains spaces or URL characters; paste only the deployment key (a UUID), not the snippet or URL")
	}
}

func checkAttr(p *rendezvous.Problems, field, v string) {
	switch {
	case strings.TrimSpace(v) == "":
		p.Add(field, "is required: the participant attribute name the Architect flow reads with Get Participant Data (default %q)", map[string]string{"agentAttribute": DefaultAgentAttribute, "queueAttribute": DefaultQueueAttribute}[field])
	case len(v) > maxAttributeNameLength:
		p.Add(field, "is longer than %d characters", maxAttributeNameLength)
	case strings.ContainsAny(v, " \t\r\n\"'"):
		p.Add(field, "must not contain spaces or quotes; use a dotted name such as %s", DefaultAgentAttribute)
	}
}

func checkMedia(p *rendezvous.Problems, m Media, uploadExists func(string) bool) {
	switch m.Kind {
	case "", MediaNone:
		if m.URL != "" || m.UploadID != "" {
			p.Add("waitingRoomMedia.kind", "must be %q or %q when a url or uploadId is given", MediaVideo, MediaImage)
		}
		return
	case MediaVideo, MediaImage:
	default:
		p.Add("waitingRoomMedia.kind", "must be %q, %q or %q", MediaNone, MediaVideo, MediaImage)
		return
	}
	switch {
	case m.URL != "" && m.UploadID != "":
		p.Add("waitingRoomMedia", "give either url or uploadId, not both")
	case m.URL == "" && m.UploadID == "":
		p.Add("waitingRoomMedia.url", "is required for kind %q: give an https URL, or upload a file to /api/v1/settings/scheduling/media and give its uploadId", m.Kind)
	case m.URL != "":
		if msg := checkMediaURL(m.URL); msg != "" {
			p.Add("waitingRoomMedia.url", "%s", msg)
		}
	default:
		if uploadExists != nil && !uploadExists(m.UploadID) {
			p.Add("waitingRoomMedia.uploadId", "names no uploaded file of this organization; upload one to /api/v1/settings/scheduling/media first")
		}
	}
}

// checkMediaURL accepts https anywhere and http only on the local machine, because a
// customer's browser blocks plain-http media on an https page.
func checkMediaURL(s string) string {
	if len(s) > maxMediaURLLength {
		return fmt.Sprintf("is longer than %d characters", maxMediaURLLength)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil {
		return "is not an absolute URL such as https://cdn.example.com/loop.mp4"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		host := u.Hostname()
		if host == "localhost" {
			return ""
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return ""
		}
		return "must use https (plain http is allowed only for localhost while testing)"
	default:
		return "must be an https URL"
	}
}

// EffectiveRouting decides where an appointment's interaction goes under these settings:
// routing type (RoutingFlow or RoutingQueue), the deployment key to use and the queue name.
func (s Settings) EffectiveRouting(a *rendezvous.Appointment) (routing, deploymentKey, queue string) {
	queue = a.Interaction.Routing.QueueName
	routing = RoutingFlow
	if a.Interaction.Routing.Type == rendezvous.RoutingQueue || s.ForceQueueRouting || a.AgentUserID == "" {
		routing = RoutingQueue
	}
	if routing == RoutingQueue && queue == "" {
		queue = s.DefaultQueue
	}
	deploymentKey = s.FlowDeploymentKey
	if routing == RoutingQueue && s.QueueDeploymentKey != "" {
		deploymentKey = s.QueueDeploymentKey
	}
	return routing, deploymentKey, queue
}

// Attributes builds the custom attributes of the presence join: the routing attribute,
// the appointment id, the agent's room link and the appointment's custom fields. Routing
// attributes are written last so a custom field cannot override them.
func (s Settings) Attributes(a *rendezvous.Appointment, agentRoomLink string) map[string]string {
	routing, _, queue := s.EffectiveRouting(a)
	out := make(map[string]string, len(a.Interaction.CustomFields)+4)
	for k, v := range a.Interaction.CustomFields {
		out[k] = v
	}
	out[AppointmentIDAttribute] = a.ID
	out[AgentRoomLinkAttribute] = agentRoomLink
	if routing == RoutingFlow {
		out[s.AgentAttribute] = a.AgentUserID
	} else {
		out[s.QueueAttribute] = queue
	}
	return out
}
