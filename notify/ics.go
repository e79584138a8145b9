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

// ICS returns an RFC 5545 calendar with one event for the appointment, in the customer's
// time zone (with its VTIMEZONE). The UID stays the same for the appointment's whole life
// and SEQUENCE follows the appointment's version, so a calendar that imported an earlier
// file replaces it when the appointment is rescheduled. A cancelled appointment gives
// METHOD:CANCEL with STATUS:CANCELLED, which removes the event.
func ICS(in CalendarInput) []byte {
	a := in.Appointment
	loc := a.Location()
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
	if loc != time.UTC {
		writeVTimezone(&w, loc, a.Start)
	}
	w.line("BEGIN:VEVENT")
	w.line("UID:" + a.ID + "@" + host)
	w.line("SEQUENCE:" + fmt.Sprint(max(a.Version-1, 0)))
	w.line("DTSTAMP:" + in.Now.UTC().Format("20060102T150405Z"))
	if loc == time.UTC {
		w.line("DTSTART:" + a.Start.UTC().Format("20060102T150405Z"))
		w.line("DTEND:" + a.End().UTC().Format("20060102T150405Z"))
	} else {
		w.line("DTSTART;TZID=" + loc.String() + ":" + a.Start.In(loc).Format("20060102T150405"))
		w.line("DTEND;TZID=" + loc.String() + ":" + a.End().In(loc).Format("20060102T150405"))
	}
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

// writeVTimezone describes loc's offsets around at: one STANDARD or DAYLIGHT component
// per transition from a year before to a year after, or a single component for a zone
// without transitions. Explicit transitions (instead of RRULEs) are what Go's zone data
// gives us exactly, and calendars accept them.
func writeVTimezone(w *icsWriter, loc *time.Location, at time.Time) {
	w.line("BEGIN:VTIMEZONE")
	w.line("TZID:" + loc.String())
	from, to := at.AddDate(-1, 0, 0), at.AddDate(1, 0, 0)
	t := from.In(loc)
	wrote := false
	for i := 0; i < 8; i++ {
		_, end := t.ZoneBounds()
		if end.IsZero() || end.After(to) {
			break
		}
		before := end.Add(-time.Second).In(loc)
		after := end.In(loc)
		_, offFrom := before.Zone()
		name, offTo := after.Zone()
		kind := "STANDARD"
		if after.IsDST() {
			kind = "DAYLIGHT"
		}
		w.line("BEGIN:" + kind)
		// DTSTART is the local time of the transition on the clock in effect before it.
		w.line("DTSTART:" + end.In(time.FixedZone("", offFrom)).Format("20060102T150405"))
		w.line("TZOFFSETFROM:" + icsOffset(offFrom))
		w.line("TZOFFSETTO:" + icsOffset(offTo))
		w.line("TZNAME:" + name)
		w.line("END:" + kind)
		wrote = true
		t = after
	}
	if !wrote {
		name, off := at.In(loc).Zone()
		w.line("BEGIN:STANDARD")
		w.line("DTSTART:19700101T000000")
		w.line("TZOFFSETFROM:" + icsOffset(off))
		w.line("TZOFFSETTO:" + icsOffset(off))
		w.line("TZNAME:" + name)
		w.line("END:STANDARD")
	}
	w.line("END:VTIMEZONE")
}

func icsOffset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	return fmt.Sprintf("%s%02d%02d", sign, sec/3600, sec%3600/60)
}

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
