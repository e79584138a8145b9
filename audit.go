package rendezvous

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"time"
)

// Actor kinds: who made a change recorded in the audit log.
const (
	// ActorPerson is a signed-in member of staff.
	ActorPerson = "person"
	// ActorAPIKey is an integrator's API key.
	ActorAPIKey = "api_key"
	// ActorCustomer is the customer, through the self-service pages behind their link.
	ActorCustomer = "customer"
	// ActorSystem is Rendezvous itself: a background job, a deadline, retention.
	ActorSystem = "system"
)

// Actor is who made a change. The zero value is the system.
type Actor struct {
	Kind string // one of the Actor* kinds; "" means ActorSystem
	// ID identifies the person (Genesys Cloud user id) or the API key; empty for the
	// customer and the system.
	ID string
	// Name is the person's or the key's display name at the time of the change.
	Name string
}

// Normal returns the actor with an empty Kind read as ActorSystem.
func (a Actor) Normal() Actor {
	if a.Kind == "" {
		a.Kind = ActorSystem
	}
	return a
}

type actorKey struct{}

// WithActor returns a context that attributes the changes made under it to a. The web
// layer sets it per request (the API key, the signed-in person, the customer's link);
// the store reads it when it writes the audit log in the change's own transaction.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor set by WithActor, or the system when none was.
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a.Normal()
}

// FieldChange is one changed field of an audited record. From and To hold the old and
// new values of fields that are neither secret nor personal; for the others they are
// empty and only the field's name is kept (Redacted), so the audit log never holds what
// retention must erase or what must stay secret.
type FieldChange struct {
	Field    string `json:"field"`
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	Redacted bool   `json:"redacted,omitempty"`
}

// AuditEntry is one line of the audit log: who did what to which record, and when.
type AuditEntry struct {
	ID         int64
	OrgID      string
	At         time.Time
	Actor      Actor
	Action     string // such as "appointment.rescheduled", "webhook.created", "template.reset"
	TargetType string // such as "appointment", "webhook", "api_key", "settings"
	TargetID   string
	// Version is the appointment's version after the change; 0 for other targets.
	Version int
	Changes []FieldChange
}

// AppointmentChanges lists the fields that differ between two versions of an
// appointment. Times are RFC 3339 in UTC; the customers, title, notes, cancellation
// reason and custom fields are personal, so only their names are listed.
func AppointmentChanges(before, after *Appointment) []FieldChange {
	var out []FieldChange
	plain := func(field, from, to string) {
		if from != to {
			out = append(out, FieldChange{Field: field, From: from, To: to})
		}
	}
	redacted := func(field string, changed bool) {
		if changed {
			out = append(out, FieldChange{Field: field, Redacted: true})
		}
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	plain("status", string(before.Status), string(after.Status))
	plain("start", ts(before.Start), ts(after.Start))
	plain("durationMinutes", strconv.Itoa(int(before.Duration/time.Minute)), strconv.Itoa(int(after.Duration/time.Minute)))
	plain("timeZone", before.TimeZone, after.TimeZone)
	plain("agentUserId", before.AgentUserID, after.AgentUserID)
	redacted("title", before.Title != after.Title)
	redacted("notes", before.Notes != after.Notes)
	redacted("customers", !slices.Equal(before.Customers, after.Customers))
	plain("routing", string(before.Interaction.Routing.Type)+" "+before.Interaction.Routing.QueueName,
		string(after.Interaction.Routing.Type)+" "+after.Interaction.Routing.QueueName)
	redacted("customFields", !maps.Equal(before.Interaction.CustomFields, after.Interaction.CustomFields))
	plain("notificationsEnabled", strconv.FormatBool(before.NotificationsEnabled), strconv.FormatBool(after.NotificationsEnabled))
	redacted("cancelReason", before.CancelReason != after.CancelReason)
	plain("startedAt", ts(before.StartedAt), ts(after.StartedAt))
	plain("endedAt", ts(before.EndedAt), ts(after.EndedAt))
	return out
}

// Webhook event types: what a webhook subscription can ask to receive. Each is also the
// audit log's action for the change it reports.
const (
	EventAppointmentCreated         = "appointment.created"
	EventAppointmentRescheduled     = "appointment.rescheduled"
	EventAppointmentReassigned      = "appointment.reassigned"
	EventAppointmentCancelled       = "appointment.cancelled"
	EventAppointmentCustomerWaiting = "appointment.customer_waiting"
	EventAppointmentStarted         = "appointment.started"
	EventAppointmentCompleted       = "appointment.completed"
	EventAppointmentNoShow          = "appointment.no_show"
	EventNotificationFailed         = "notification.failed"
)

// WebhookEvents lists every event type a subscription may choose, in the order shown to
// administrators.
func WebhookEvents() []string {
	return []string{EventAppointmentCreated, EventAppointmentRescheduled, EventAppointmentReassigned,
		EventAppointmentCancelled, EventAppointmentCustomerWaiting, EventAppointmentStarted,
		EventAppointmentCompleted, EventAppointmentNoShow, EventNotificationFailed}
}

// IsWebhookEvent reports whether action is an event type webhooks can send.
func IsWebhookEvent(action string) bool { return slices.Contains(WebhookEvents(), action) }
