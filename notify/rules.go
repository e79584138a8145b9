package notify

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"rendezvous"
)

// Settings are an organization's notification settings.
type Settings struct {
	// Enabled is the organization-wide switch. Each appointment keeps the value it had
	// when booked (rendezvous.Appointment.NotificationsEnabled).
	Enabled bool `json:"enabled"`
	// ReminderOffsetsMinutes are how long before the start reminders go out.
	ReminderOffsetsMinutes []int `json:"reminderOffsetsMinutes"`
	// FollowUpOffsetsMinutes are how long after the planned end follow-ups go out (only
	// to customers who joined).
	FollowUpOffsetsMinutes []int `json:"followUpOffsetsMinutes"`
	// ReminderMaxLatenessMinutes is how late a reminder may still go out after its due
	// time (for example after the service was down); a later one is skipped and logged.
	// 0 means no limit (a reminder still never goes out once the appointment started).
	ReminderMaxLatenessMinutes int `json:"reminderMaxLatenessMinutes"`
	// DefaultLanguage is the template language used when none matches the customer's.
	DefaultLanguage string `json:"defaultLanguage"`
	// CoalesceSeconds is how long a booking or change message waits before it goes, so
	// that the changes made within that time reach the customer as one message saying
	// what changed (or none, when nothing they were told changed). 0 sends at once.
	CoalesceSeconds int `json:"coalesceSeconds"`
	// BrandColor is the organization's colour (#rrggbb) for the built-in emails: the
	// band above the message and the links. "" uses a neutral blue.
	BrandColor string `json:"brandColor,omitempty"`
	// LogoURL is an https address of the organization's logo, shown at the top of the
	// built-in emails beside its name. "" shows the name alone.
	LogoURL string `json:"logoUrl,omitempty"`
	// DisabledEvents are the events switched off on one channel, each written
	// "event/channel" (for example "reminder/sms"). Every other event goes on every
	// verified channel, so absent or empty means everything is sent. Nothing is planned
	// for a pair switched off, and one planned before is skipped when due.
	DisabledEvents []string `json:"disabledEvents,omitempty"`
}

// EventChannel is the key of an event on a channel in Settings.DisabledEvents.
func EventChannel(e Event, ch Channel) string { return string(e) + "/" + string(ch) }

// Sends reports whether the settings let event e go out on channel ch.
func (s Settings) Sends(e Event, ch Channel) bool {
	return !slices.Contains(s.DisabledEvents, EventChannel(e, ch))
}

// brandColorRE is the form of Settings.BrandColor.
var brandColorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// DefaultCoalesceSeconds is the default window in which changes become one message.
const DefaultCoalesceSeconds = 120

// MaxCoalesceSeconds bounds the window: a confirmation later than that is no confirmation.
const MaxCoalesceSeconds = 3600

// coalesce is the settings' window as a duration.
func (s Settings) coalesce() time.Duration { return time.Duration(s.CoalesceSeconds) * time.Second }

// DefaultSettings are the settings of an organization that saved none: on, reminders 24 h
// and 15 min before, a follow-up an hour after the end, reminders at most an hour late.
func DefaultSettings() Settings {
	return Settings{
		Enabled:                    true,
		ReminderOffsetsMinutes:     []int{24 * 60, 15},
		FollowUpOffsetsMinutes:     []int{60},
		ReminderMaxLatenessMinutes: 60,
		DefaultLanguage:            DefaultLanguage,
		CoalesceSeconds:            DefaultCoalesceSeconds,
	}
}

// Limits of the settings.
const (
	MaxOffsets       = 5
	MaxOffsetMinutes = 30 * 24 * 60
)

// Validate checks the settings and reports every problem per field.
func (s Settings) Validate() error {
	var p rendezvous.Problems
	offsets := func(field string, list []int) {
		if len(list) > MaxOffsets {
			p.Add(field, "has %d offsets; at most %d are allowed", len(list), MaxOffsets)
		}
		seen := map[int]bool{}
		for i, m := range list {
			if m < 1 || m > MaxOffsetMinutes {
				p.Add(fmt.Sprintf("%s[%d]", field, i), "must be between 1 and %d minutes", MaxOffsetMinutes)
			}
			if seen[m] {
				p.Add(fmt.Sprintf("%s[%d]", field, i), "repeats %d minutes", m)
			}
			seen[m] = true
		}
	}
	offsets("reminderOffsetsMinutes", s.ReminderOffsetsMinutes)
	offsets("followUpOffsetsMinutes", s.FollowUpOffsetsMinutes)
	if s.ReminderMaxLatenessMinutes < 0 || s.ReminderMaxLatenessMinutes > 24*60 {
		p.Add("reminderMaxLatenessMinutes", "must be between 0 and %d minutes", 24*60)
	}
	if s.BrandColor != "" && !brandColorRE.MatchString(s.BrandColor) {
		p.Add("brandColor", "must be a colour written #rrggbb, such as #2457c5")
	}
	if s.LogoURL != "" {
		if u, err := url.Parse(s.LogoURL); err != nil || u.Scheme != "https" || u.Host == "" || len(s.LogoURL) > 500 || strings.ContainsAny(s.LogoURL, "\"<> ") {
			p.Add("logoUrl", "must be an https address of an image, at most 500 characters")
		}
	}
	if s.CoalesceSeconds < 0 || s.CoalesceSeconds > MaxCoalesceSeconds {
		p.Add("coalesceSeconds", "must be between 0 and %d seconds", MaxCoalesceSeconds)
	}
	seenOff := map[string]bool{}
	for i, k := range s.DisabledEvents {
		e, ch, _ := strings.Cut(k, "/")
		if _, err := ParseEvent(e); err != nil {
			p.Add(fmt.Sprintf("disabledEvents[%d]", i), "names no event: write event/channel with one of created, rescheduled, cancelled, reminder, followup, such as reminder/sms")
		} else if _, err := ParseChannel(ch); err != nil {
			p.Add(fmt.Sprintf("disabledEvents[%d]", i), "names no channel: write event/channel with sms or email, such as reminder/sms")
		} else if seenOff[k] {
			p.Add(fmt.Sprintf("disabledEvents[%d]", i), "repeats %s", k)
		}
		seenOff[k] = true
	}
	if !slices.Contains(Languages(), s.DefaultLanguage) {
		p.Add("defaultLanguage", "must be one of the languages with built-in templates: %v", Languages())
	}
	return p.Err()
}

// Delivery kinds: a message follows a change at once; reminders and follow-ups are due
// at an offset from the start or end and are withdrawn when the appointment changes.
const (
	KindMessage  = "message"
	KindReminder = "reminder"
	KindFollowUp = "followup"
)

// Planned is one delivery a plan asks for.
type Planned struct {
	Kind          string
	Event         Event
	Channel       Channel
	Customer      int // index in Appointment.Customers
	OffsetMinutes int
	Version       int
	Due           time.Time
	// Revision tells apart plans made for the same version (after a change of the
	// appointment's channel choices, which does not change its version).
	Revision string
}

// Key identifies the delivery for deduplication and as its job's unique key. Its
// prefix "notify/<appointment>/<kind>/" is what a change withdraws.
func (p Planned) Key(appointmentID string) string {
	k := fmt.Sprintf("%s%s/%d/%s/%d/v%d", kindPrefix(appointmentID, p.Kind), p.Event, p.OffsetMinutes, p.Channel, p.Customer, p.Version)
	if p.Revision != "" {
		k += "/" + p.Revision
	}
	return k
}

func kindPrefix(appointmentID, kind string) string {
	return "notify/" + appointmentID + "/" + kind + "/"
}

// Plan is what one appointment event changes in the notifications.
type Plan struct {
	// Withdraw lists the kinds whose pending deliveries no longer apply.
	Withdraw []string
	// Deliveries are the new deliveries.
	Deliveries []Planned
}

// PlanEvent decides what an appointment event causes, for the appointment as it is now
// (a), the version of the event, the organization's settings and the channels that are
// verified. Reminders and follow-ups are planned for a's current version, so an old event
// handled late plans the same keys as the latest one and nothing twice. A reminder whose
// time has already passed when it is planned is not planned.
//
// Messages coalesce: a booking's or a change's message is due only after the settings'
// window (CoalesceSeconds), and the caller plans none for a customer and channel that
// still has one waiting (see Coalesces), since the waiting one will describe the
// appointment as it is when it goes. A change of any kind ("rescheduled", "updated",
// "reassigned") plans a change message (EventRescheduled), which says what changed since
// the customer's last message, or is skipped when nothing they were told changed. A
// cancellation withdraws the messages still waiting and goes at once: a booking cancelled
// before its confirmation went sends only the cancellation. An event the settings switch
// off on a channel (Settings.DisabledEvents) plans nothing on that channel.
func PlanEvent(a *rendezvous.Appointment, event string, eventVersion int, s Settings, channels []Channel, now time.Time) Plan {
	var p Plan
	message, reminders, followUps := Event(""), false, false
	switch event {
	case "created":
		message, reminders, followUps = EventCreated, true, true
	case "rescheduled", "updated", "reassigned":
		// Time, customers or agent may have changed: plan again for who is on it now, and
		// tell the customer what changed (the message says nothing when nothing did).
		p.Withdraw = []string{KindReminder, KindFollowUp}
		message, reminders, followUps = EventRescheduled, true, true
	case "cancelled":
		p.Withdraw = []string{KindMessage, KindReminder, KindFollowUp}
		message = EventCancelled
	case "started":
		p.Withdraw = []string{KindReminder}
	case "no_show":
		p.Withdraw = []string{KindFollowUp}
	}
	if !a.NotificationsEnabled {
		return p
	}
	if a.Status != rendezvous.StatusScheduled {
		reminders, followUps = false, false
	}
	each := func(e Event, f func(i int, ch Channel)) {
		for i, c := range a.Customers {
			for _, ch := range channels {
				if address(c, ch) != "" && s.Sends(e, ch) {
					f(i, ch)
				}
			}
		}
	}
	if message != "" {
		due := now
		if Coalesces(message) {
			due = now.Add(s.coalesce())
		}
		each(message, func(i int, ch Channel) {
			p.Deliveries = append(p.Deliveries, Planned{Kind: KindMessage, Event: message, Channel: ch, Customer: i, Version: eventVersion, Due: due})
		})
	}
	if reminders {
		for _, off := range s.ReminderOffsetsMinutes {
			due := a.Start.Add(-time.Duration(off) * time.Minute)
			if !due.After(now) {
				continue
			}
			each(EventReminder, func(i int, ch Channel) {
				p.Deliveries = append(p.Deliveries, Planned{Kind: KindReminder, Event: EventReminder, Channel: ch, Customer: i, OffsetMinutes: off, Version: a.Version, Due: due})
			})
		}
	}
	if followUps {
		for _, off := range s.FollowUpOffsetsMinutes {
			due := a.End().Add(time.Duration(off) * time.Minute)
			each(EventFollowUp, func(i int, ch Channel) {
				p.Deliveries = append(p.Deliveries, Planned{Kind: KindFollowUp, Event: EventFollowUp, Channel: ch, Customer: i, OffsetMinutes: off, Version: a.Version, Due: due})
			})
		}
	}
	return p
}

// Coalesces reports whether messages of event e wait for the coalescing window and absorb
// the changes that follow them: bookings and changes do, cancellations do not.
func Coalesces(e Event) bool { return e == EventCreated || e == EventRescheduled }

// SkipReason says why a due delivery must not be sent now, or "" when it may go. It is
// checked when the delivery's job runs, so it sees the appointment as it is then: a
// reminder never goes out after its appointment started, nor later than the allowed
// lateness after its due time (unless an agent retries it by hand); a follow-up goes only
// to an appointment someone joined; a booking or reschedule message is dropped once the
// appointment is cancelled.
func SkipReason(a *rendezvous.Appointment, kind string, e Event, due time.Time, manual bool, s Settings, now time.Time) string {
	if !a.NotificationsEnabled {
		return "notifications were switched off when the appointment was booked"
	}
	switch kind {
	case KindReminder:
		if a.Status != rendezvous.StatusScheduled {
			return fmt.Sprintf("the appointment is %s", a.Status)
		}
		if !now.Before(a.Start) {
			return "the appointment has already started"
		}
		late := now.Sub(due)
		// 0 means no limit: a reminder goes out however late, as long as the
		// appointment has not started.
		if !manual && s.ReminderMaxLatenessMinutes > 0 && late > time.Duration(s.ReminderMaxLatenessMinutes)*time.Minute {
			return fmt.Sprintf("the reminder was due %s ago, later than the allowed %d minutes (was the service down?)",
				late.Round(time.Second), s.ReminderMaxLatenessMinutes)
		}
	case KindFollowUp:
		if a.StartedAt.IsZero() || (a.Status != rendezvous.StatusCompleted && a.Status != rendezvous.StatusInProgress) {
			return "nobody joined the appointment, so there is nothing to follow up"
		}
	case KindMessage:
		if (e == EventCreated || e == EventRescheduled) && a.Status == rendezvous.StatusCancelled {
			return "the appointment was cancelled before this message went out"
		}
	}
	return ""
}
