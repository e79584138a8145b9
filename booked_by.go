package rendezvous

// Custom fields of an appointment the customer booked through the scheduling widget. They
// reach Genesys Cloud as participant data like any custom field, and let the customer's
// page offer the same widget again after a cancellation.
const (
	FieldSource         = "source"
	SourceWidget        = "widget"
	FieldWidgetQueue    = "widgetQueue"
	FieldWidgetChatMode = "widgetChatMode"
)
