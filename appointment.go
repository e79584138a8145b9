package rendezvous

import (
	"fmt"
	"strings"
	"time"
)

// Status is where an appointment is in its life.
type Status string

// The statuses an appointment moves through.
const (
	StatusScheduled  Status = "scheduled"
	StatusInProgress Status = "in_progress"
	StatusCompleted  Status = "completed"
	StatusNoShow     Status = "no_show"
	StatusCancelled  Status = "cancelled"
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusScheduled, StatusInProgress, StatusCompleted, StatusNoShow, StatusCancelled:
		return true
	}
	return false
}

// Words is the status as a sentence says it ("in progress", "a no-show").
func (s Status) Words() string {
	switch s {
	case StatusInProgress:
		return "in progress"
	case StatusNoShow:
		return "a no-show"
	}
	return string(s)
}

// Final reports whether nothing may happen to an appointment in this status any more.
func (s Status) Final() bool {
	return s == StatusCompleted || s == StatusNoShow || s == StatusCancelled
}

// transitions lists, for each status, the statuses it may move to.
var transitions = map[Status][]Status{
	StatusScheduled:  {StatusInProgress, StatusCancelled, StatusNoShow},
	StatusInProgress: {StatusCompleted},
}

// CanTransition reports whether an appointment may move from s to to.
func (s Status) CanTransition(to Status) bool {
	for _, t := range transitions[s] {
		if t == to {
			return true
		}
	}
	return false
}

// Limits on what an appointment may hold.
const (
	MinDurationMinutes = 5
	MaxDurationMinutes = 8 * 60
	MaxTitleLength     = 200
	MaxNotesLength     = 4000
	MaxNameLength      = 200
	MaxCustomers       = 10
	MaxCustomFields    = 50
	MaxCustomKeyLength = 100
	MaxCustomValLength = 1000
	// MaxBookingHorizon is how far ahead an appointment may start.
	MaxBookingHorizon = 366 * 24 * time.Hour
)

// RoutingType says how the customer's Genesys Cloud interaction is routed.
type RoutingType string

// The routing types of the appointments channel.
const (
	// RoutingFlow routes to the assigned agent through an Architect flow with preferred
	// agent routing.
	RoutingFlow RoutingType = "GENESYS_CLOUD_FLOW"
	// RoutingQueue routes to a named queue.
	RoutingQueue RoutingType = "GENESYS_CLOUD_QUEUE"
)

// Routing is where the interaction goes when the customer arrives.
type Routing struct {
	Type      RoutingType
	QueueName string // required for RoutingQueue
}

// Interaction is what Rendezvous asks of Genesys Cloud when the customer arrives.
type Interaction struct {
	Routing Routing
	// CustomFields are passed on as participant data.
	CustomFields map[string]string
}

// Customer is a person who attends an appointment.
type Customer struct {
	Name     string
	Phone    string // E.164, or empty
	Email    string // or empty
	Language string // BCP 47, defaults to "en"
}

// Appointment is one scheduled video meeting between an agent and one or more customers.
// Instants are UTC; TimeZone is the customer's IANA zone, used to show local times.
type Appointment struct {
	ID          string
	OrgID       string
	Status      Status
	Version     int
	Start       time.Time
	Duration    time.Duration
	TimeZone    string
	Title       string
	Notes       string
	AgentUserID string
	Customers   []Customer
	Interaction Interaction
	// LinkToken is the secret in the customer's personal link (at least 128 random bits).
	// The store keeps only its hash, for lookup, and an encrypted copy, so that authorised
	// agents can copy the link again; never log it.
	LinkToken string
	// NotificationsEnabled is the organization's notification switch as it was when the
	// appointment was booked; later changes to the switch do not affect it.
	NotificationsEnabled bool

	CreatedAt    time.Time
	UpdatedAt    time.Time
	CancelledAt  time.Time // zero unless cancelled
	CancelReason string
	StartedAt    time.Time // when the first party joined the room
	EndedAt      time.Time // when the appointment completed or was marked a no-show
}

// End is when the appointment is planned to finish.
func (a *Appointment) End() time.Time { return a.Start.Add(a.Duration) }

// Location returns the appointment's time zone, falling back to UTC for a zone that was
// valid when stored but is unknown to this binary.
func (a *Appointment) Location() *time.Location {
	if loc, err := LoadZone(a.TimeZone); err == nil {
		return loc
	}
	return time.UTC
}

// AppointmentInput is what a caller supplies to book an appointment.
type AppointmentInput struct {
	Start           time.Time
	DurationMinutes int
	TimeZone        string
	Title           string
	Notes           string
	AgentUserID     string
	Customers       []Customer
	Interaction     Interaction
}

// NewAppointment validates in against the rules at instant now and returns a scheduled
// appointment in orgID, with canonical phone numbers, emails and languages. ID, version
// and link are left for the store. All problems are reported together.
func NewAppointment(orgID string, in AppointmentInput, now time.Time) (*Appointment, error) {
	var p Problems
	a := &Appointment{
		OrgID:       orgID,
		Status:      StatusScheduled,
		Title:       in.Title,
		Notes:       in.Notes,
		AgentUserID: strings.TrimSpace(in.AgentUserID),
		CreatedAt:   now.UTC(),
		UpdatedAt:   now.UTC(),
	}
	a.Start, a.Duration, a.TimeZone = checkWhen(&p, in.Start, in.DurationMinutes, in.TimeZone, now)
	checkText(&p, "title", in.Title, MaxTitleLength, false)
	checkLongText(&p, "notes", in.Notes, MaxNotesLength, false)
	checkText(&p, "agentUserId", in.AgentUserID, 100, false)
	a.Customers = checkCustomers(&p, in.Customers)
	a.Interaction = checkInteraction(&p, in.Interaction)
	if a.Interaction.Routing.Type == RoutingFlow && a.AgentUserID == "" {
		p.Add("agentUserId", "is required when routing is %s, which sends the customer to the assigned agent", RoutingFlow)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return a, nil
}

// checkWhen validates a start, a duration in minutes and a zone, returning the start in UTC.
func checkWhen(p *Problems, start time.Time, minutes int, zone string, now time.Time) (time.Time, time.Duration, string) {
	if start.IsZero() {
		p.Add("start", "is required: give an RFC 3339 time with an offset, such as 2026-05-04T14:30:00+02:00")
	} else if !start.After(now) {
		p.Add("start", "is in the past (%s); choose a time after now (%s)", start.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	} else if start.Sub(now) > MaxBookingHorizon {
		p.Add("start", "is more than %d days ahead", int(MaxBookingHorizon.Hours()/24))
	}
	if minutes < MinDurationMinutes || minutes > MaxDurationMinutes {
		p.Add("durationMinutes", "must be between %d and %d minutes", MinDurationMinutes, MaxDurationMinutes)
	}
	if loc, err := LoadZone(zone); err != nil {
		p.Add("timeZone", "%s", err)
	} else if !start.IsZero() {
		checkOffset(p, start, zone, loc)
	}
	return start.UTC(), time.Duration(minutes) * time.Minute, zone
}

// checkOffset refuses a start whose UTC offset is not the zone's offset at that instant:
// "10:00+05:00" with Europe/Athens, or a wall time in the spring-forward gap sent with the
// offset of before the change, names an instant the caller probably did not mean. A time
// in UTC ("Z", or an offset of zero) is an instant without a claim about the zone and is
// fine.
func checkOffset(p *Problems, start time.Time, zone string, loc *time.Location) {
	_, given := start.Zone()
	if given == 0 {
		return
	}
	local := start.In(loc)
	if _, want := local.Zone(); given != want {
		p.Add("start", "has the UTC offset %s, but %s is at %s at that instant (%s there); send the zone's offset or the time in UTC (ending in Z)",
			formatOffset(given), zone, formatOffset(want), local.Format("2006-01-02 15:04"))
	}
}

// formatOffset writes a UTC offset in seconds as RFC 3339 does: "+05:30", "-04:00".
func formatOffset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	return fmt.Sprintf("%s%02d:%02d", sign, sec/3600, sec%3600/60)
}

func checkCustomers(p *Problems, in []Customer) []Customer {
	if len(in) == 0 {
		p.Add("customers", "needs at least one customer with a phone number or an email address")
		return nil
	}
	if len(in) > MaxCustomers {
		p.Add("customers", "has %d customers; the limit is %d", len(in), MaxCustomers)
		return nil
	}
	out := make([]Customer, len(in))
	for i, c := range in {
		f := fmt.Sprintf("customers[%d]", i)
		checkText(p, f+".name", c.Name, MaxNameLength, true)
		out[i].Name = strings.TrimSpace(c.Name)
		if c.Phone == "" && c.Email == "" {
			p.Add(f, "needs a phone number or an email address so the customer can receive the link")
		}
		if c.Phone != "" {
			n, err := NormalizePhone(c.Phone)
			if err != nil {
				p.Add(f+".phone", "%s", err)
			}
			out[i].Phone = n
		}
		if c.Email != "" {
			e, err := NormalizeEmail(c.Email)
			if err != nil {
				p.Add(f+".email", "%s", err)
			}
			out[i].Email = e
		}
		l, err := NormalizeLanguage(c.Language)
		if err != nil {
			p.Add(f+".language", "%s", err)
		}
		out[i].Language = l
	}
	return out
}

func checkInteraction(p *Problems, in Interaction) Interaction {
	out := Interaction{Routing: in.Routing}
	switch in.Routing.Type {
	case "":
		out.Routing.Type = RoutingFlow
	case RoutingFlow:
	case RoutingQueue:
		if strings.TrimSpace(in.Routing.QueueName) == "" {
			p.Add("interaction.routing.properties.queueName", "is required when routing type is %s", RoutingQueue)
		}
		checkText(p, "interaction.routing.properties.queueName", in.Routing.QueueName, 200, false)
	default:
		p.Add("interaction.routing.type", "must be %s or %s", RoutingFlow, RoutingQueue)
	}
	if len(in.CustomFields) > MaxCustomFields {
		p.Add("interaction.customFields", "has %d fields; the limit is %d", len(in.CustomFields), MaxCustomFields)
	}
	if len(in.CustomFields) > 0 {
		out.CustomFields = make(map[string]string, len(in.CustomFields))
		for k, v := range in.CustomFields {
			f := "interaction.customFields." + k
			if strings.TrimSpace(k) == "" {
				p.Add("interaction.customFields", "has an empty field name")
			}
			checkText(p, f, k, MaxCustomKeyLength, false)
			checkText(p, f, v, MaxCustomValLength, false)
			out.CustomFields[k] = v
		}
	}
	return out
}

// AppointmentPatch is a partial change to an appointment; nil fields stay as they are.
type AppointmentPatch struct {
	Start           *time.Time
	DurationMinutes *int
	TimeZone        *string
	Title           *string
	Notes           *string
	AgentUserID     *string
	Customers       *[]Customer
}

// Reschedules reports whether the patch moves the appointment in time.
func (p AppointmentPatch) Reschedules() bool {
	return p.Start != nil || p.DurationMinutes != nil
}

// Apply validates the patch against a's current state at instant now and applies it.
// Only a scheduled appointment may be changed; a changed time must still lie ahead.
// On error a is left untouched.
func (a *Appointment) Apply(patch AppointmentPatch, now time.Time) error {
	if a.Status != StatusScheduled {
		return WithDetail(fmt.Errorf("appointment is %s and can no longer be changed: %w", a.Status, ErrConflict),
			"The appointment is %s; only a scheduled appointment can be changed.", a.Status.Words())
	}
	var p Problems
	next := *a
	if patch.Start != nil || patch.DurationMinutes != nil || patch.TimeZone != nil {
		start, minutes, zone := a.Start, int(a.Duration/time.Minute), a.TimeZone
		if patch.Start != nil {
			start = *patch.Start
		}
		if patch.DurationMinutes != nil {
			minutes = *patch.DurationMinutes
		}
		if patch.TimeZone != nil {
			zone = *patch.TimeZone
		}
		// A start the patch does not touch is not re-checked against now: changing only
		// the zone or length does not count as moving the appointment into the past.
		var q Problems
		next.Start, next.Duration, next.TimeZone = checkWhen(&q, start, minutes, zone, now)
		for _, fp := range q.list {
			if fp.Field == "start" && patch.Start == nil {
				continue
			}
			p.list = append(p.list, fp)
		}
	}
	if patch.Title != nil {
		checkText(&p, "title", *patch.Title, MaxTitleLength, false)
		next.Title = *patch.Title
	}
	if patch.Notes != nil {
		checkLongText(&p, "notes", *patch.Notes, MaxNotesLength, false)
		next.Notes = *patch.Notes
	}
	if patch.AgentUserID != nil {
		id := strings.TrimSpace(*patch.AgentUserID)
		checkText(&p, "agentUserId", id, 100, false)
		if id == "" && next.Interaction.Routing.Type == RoutingFlow {
			p.Add("agentUserId", "cannot be removed while routing is %s", RoutingFlow)
		}
		next.AgentUserID = id
	}
	if patch.Customers != nil {
		next.Customers = checkCustomers(&p, *patch.Customers)
	}
	if err := p.Err(); err != nil {
		return err
	}
	next.UpdatedAt = now.UTC()
	*a = next
	return nil
}

// Cancel moves a scheduled appointment to cancelled at instant now.
func (a *Appointment) Cancel(reason string, now time.Time) error {
	var p Problems
	checkLongText(&p, "reason", reason, 500, false)
	if err := p.Err(); err != nil {
		return err
	}
	if err := a.moveTo(StatusCancelled, now); err != nil {
		return err
	}
	a.CancelledAt = now.UTC()
	a.CancelReason = strings.TrimSpace(reason)
	return nil
}

// MarkStarted records that the first party joined the room.
func (a *Appointment) MarkStarted(now time.Time) error {
	if err := a.moveTo(StatusInProgress, now); err != nil {
		return err
	}
	a.StartedAt = now.UTC()
	return nil
}

// MarkCompleted records that the meeting ended.
func (a *Appointment) MarkCompleted(now time.Time) error {
	if err := a.moveTo(StatusCompleted, now); err != nil {
		return err
	}
	a.EndedAt = now.UTC()
	return nil
}

// MarkNoShow records that the customer never came.
func (a *Appointment) MarkNoShow(now time.Time) error {
	if err := a.moveTo(StatusNoShow, now); err != nil {
		return err
	}
	a.EndedAt = now.UTC()
	return nil
}

func (a *Appointment) moveTo(to Status, now time.Time) error {
	if !a.Status.CanTransition(to) {
		return WithDetail(fmt.Errorf("appointment is %s and cannot become %s: %w", a.Status, to, ErrConflict),
			"The appointment is %s and cannot become %s.", a.Status.Words(), to.Words())
	}
	a.Status = to
	a.UpdatedAt = now.UTC()
	return nil
}

// LocalStart is the start as a wall-clock time in the appointment's zone, for messages
// and pages shown to the customer. Instants are kept in UTC; only display is local, so
// a daylight-saving change between booking and meeting cannot move the meeting.
func (a *Appointment) LocalStart() time.Time { return a.Start.In(a.Location()) }

// LocalEnd is the planned end as a wall-clock time in the appointment's zone.
func (a *Appointment) LocalEnd() time.Time { return a.End().In(a.Location()) }
