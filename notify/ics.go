package notify

import (
	"fmt"
	"strings"
	"time"

	"rendezvous"
)

// CalendarInput is what an .ics file says about an appointment.
type CalendarInput struct {
	Appointment *rendezvous.Appointment
	// Summary is the event's title as the customer sees it.
	Summary string
	// Link is the customer's appointment link, put in URL, LOCATION and DESCRIPTION.
	Link string
	// Host names the service in the UID ("<appointment id>@<host>").
	Host string
	// Now is the DTSTAMP.
	Now time.Time
}

// ICS returns an RFC 5545 calendar with one event for the appointment. Its start and end
// are written in UTC ("20261101T053000Z"): an instant, which every calendar reads the same
// way and shows in its user's own zone, where a local time with a zone name is ambiguous
// in the hour that happens twice when the clocks go back, and depends on each calendar's
// zone data. The UID stays the same for the appointment's whole life and SEQUENCE follows
// the appointment's version, so a calendar that imported an earlier file replaces it when
// the appointment is rescheduled. A cancelled appointment gives METHOD:CANCEL with
// STATUS:CANCELLED, which removes the event.
func ICS(in CalendarInput) []byte {
	a := in.Appointment
	host := in.Host
	if host == "" {
		host = "rendezvous"
	}
	method, status := "PUBLISH", "CONFIRMED"
	if a.Status == rendezvous.StatusCancelled {
		method, status = "CANCEL", "CANCELLED"
	}
	var w icsWriter
	w.line("BEGIN:VCALENDAR")
	w.line("VERSION:2.0")
	w.line("PRODID:-//Rendezvous//Appointments//EN")
	w.line("CALSCALE:GREGORIAN")
	w.line("METHOD:" + method)
	w.line("BEGIN:VEVENT")
	w.line("UID:" + a.ID + "@" + host)
	w.line("SEQUENCE:" + fmt.Sprint(max(a.Version-1, 0)))
	w.line("DTSTAMP:" + in.Now.UTC().Format(icsUTC))
	w.line("DTSTART:" + a.Start.UTC().Format(icsUTC))
	w.line("DTEND:" + a.End().UTC().Format(icsUTC))
	w.line("SUMMARY:" + icsText(in.Summary))
	if in.Link != "" {
		w.line("DESCRIPTION:" + icsText("Join your video appointment: "+in.Link))
		w.line("LOCATION:" + icsText(in.Link))
		w.line("URL:" + in.Link)
	}
	w.line("STATUS:" + status)
	w.line("TRANSP:OPAQUE")
	w.line("END:VEVENT")
	w.line("END:VCALENDAR")
	return []byte(w.b.String())
}

// icsUTC is RFC 5545's form of a UTC date-time.
const icsUTC = "20060102T150405Z"

// icsText escapes a TEXT value (RFC 5545 3.3.11).
func icsText(s string) string {
	r := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)
	return r.Replace(s)
}

// icsWriter writes content lines with CRLF endings, folded at 75 octets without splitting
// a UTF-8 character (RFC 5545 3.1).
type icsWriter struct{ b strings.Builder }

func (w *icsWriter) line(s string) {
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split inside a character
			cut--
		}
		w.b.WriteString(s[:cut])
		w.b.WriteString("\r\n ")
		s = s[cut:]
		limit = 74 // a continuation line starts with a space, which counts
	}
	w.b.WriteString(s)
	w.b.WriteString("\r\n")
}
