package app

// The availability page's text editors for working hours, as an administrator types them:
// a day's ranges ("09:00-12:00, 13:00-17:00"), date exceptions and holidays one per line,
// an agent's own week ("Monday 09:00-13:00; Friday 09:00-12:00"). They read text into the
// schedule's types (package availability) and write those back as the same text, so a page
// shown again after an error shows what was typed, and a stored schedule reads as typed.
// They refuse what the engine would accept but is surely a mistake (overlapping ranges, an
// end before its start without "+1"), with the reason in plain words.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"rendezvous/availability"
	"rendezvous/i18n"
)

// nextDay marks an end on the following day ("22:00-06:00+1"), the engine's night shift.
const nextDay = "+1"

// parseClockText reads "9:00", "09:00" or "24:00" (only as an end) as minutes after midnight
// and its "HH:MM" form.
func parseClockText(s string, end bool) (int, string, bool) {
	hh, mm, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(hh) < 1 || len(hh) > 2 || len(mm) != 2 {
		return 0, "", false
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && (m != 0 || !end)) {
		return 0, "", false
	}
	return h*60 + m, fmt.Sprintf("%02d:%02d", h, m), true
}

// parseRanges reads a day's ranges: "09:00-12:00, 13:00-17:00"; empty means closed. The
// problem is in the page's language.
func parseRanges(t *tr, text string) ([]availability.Range, string) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, ""
	}
	type span struct {
		text       string
		start, end int
	}
	var out []availability.Range
	var spans []span
	for part := range strings.SplitSeq(text, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		a, b, ok := strings.Cut(strings.NewReplacer("–", "-", "—", "-").Replace(part), "-")
		night := strings.HasSuffix(strings.TrimSpace(b), nextDay)
		b = strings.TrimSuffix(strings.TrimSpace(b), nextDay)
		start, st, ok1 := parseClockText(a, false)
		end, en, ok2 := parseClockText(b, true)
		switch {
		case !ok || !ok1 || !ok2:
			return nil, t.T("“%s” is not a range of hours. Write the start and the end with a hyphen, such as 09:00-12:00; separate ranges with commas.", part)
		case night && end > start:
			return nil, t.T("“%s”: +1 means the hours end the next day, so the end must be earlier than the start, such as 22:00-06:00+1.", part)
		case !night && end <= start:
			return nil, t.T("“%s”: the end is not after the start. If these hours run past midnight, write +1 after the end, such as 22:00-06:00+1.", part)
		}
		if night {
			en += nextDay
			end += 24 * 60
		}
		out = append(out, availability.Range{Start: st, End: strings.TrimSuffix(en, nextDay)})
		spans = append(spans, span{st + "-" + en, start, end})
	}
	if len(out) > availability.MaxRangesPerDay {
		return nil, t.T("At most %d ranges per day.", availability.MaxRangesPerDay)
	}
	sorted := slices.Clone(spans)
	slices.SortFunc(sorted, func(a, b span) int { return a.start - b.start })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].start < sorted[i-1].end {
			return nil, t.T("“%s” and “%s” overlap. Join them into one range or correct one of them.", sorted[i-1].text, sorted[i].text)
		}
	}
	return out, ""
}

// formatRanges writes ranges as parseRanges reads them.
func formatRanges(rs []availability.Range) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		s, _, _ := parseClockText(r.Start, false)
		e, _, ok := parseClockText(r.End, true)
		parts[i] = r.Start + "-" + r.End
		if ok && e <= s {
			parts[i] += nextDay
		}
	}
	return strings.Join(parts, ", ")
}

// weekdays are the week's days in the order the page lists them, with the JSON names the
// form fields use.
var weekdays = []struct {
	Key string
	Day time.Weekday
}{{"monday", time.Monday}, {"tuesday", time.Tuesday}, {"wednesday", time.Wednesday}, {"thursday", time.Thursday},
	{"friday", time.Friday}, {"saturday", time.Saturday}, {"sunday", time.Sunday}}

// dayOf returns the ranges of day in w, for reading and writing.
func dayOf(w *availability.Week, day time.Weekday) *[]availability.Range {
	switch day {
	case time.Monday:
		return &w.Monday
	case time.Tuesday:
		return &w.Tuesday
	case time.Wednesday:
		return &w.Wednesday
	case time.Thursday:
		return &w.Thursday
	case time.Friday:
		return &w.Friday
	case time.Saturday:
		return &w.Saturday
	}
	return &w.Sunday
}

// lineProblem prefixes a problem with its line number.
func lineProblem(t *tr, n int, msg string) string { return t.T("Line %d: %s", n, msg) }

// dateOf reads a date at the start of a line: "2026-12-24".
func dateOf(t *tr, line string) (date, rest, problem string) {
	date, rest, _ = strings.Cut(strings.TrimSpace(line), " ")
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return "", "", t.T("“%s” is not a date. Write it as year-month-day, such as 2026-12-24.", date)
	}
	return date, strings.TrimSpace(rest), ""
}

// parseExceptions reads one exception per line: "2026-12-24 09:00-12:00 # Christmas Eve";
// a date without hours is a closed day. The note after # is for administrators.
func parseExceptions(t *tr, text string) ([]availability.Exception, string) {
	var out []availability.Exception
	seen := map[string]bool{}
	for i, line := range strings.Split(text, "\n") {
		line, note, _ := strings.Cut(line, "#")
		if strings.TrimSpace(line) == "" && strings.TrimSpace(note) == "" {
			continue
		}
		date, rest, p := dateOf(t, line)
		if p != "" {
			return nil, lineProblem(t, i+1, p)
		}
		if seen[date] {
			return nil, lineProblem(t, i+1, t.T("%s is listed twice.", date))
		}
		seen[date] = true
		hours, p := parseRanges(t, rest)
		if p != "" {
			return nil, lineProblem(t, i+1, p)
		}
		if hours == nil {
			hours = []availability.Range{}
		}
		out = append(out, availability.Exception{Date: date, Hours: hours, Note: strings.TrimSpace(note)})
	}
	if len(out) > availability.MaxExceptions {
		return nil, t.T("At most %d dates.", availability.MaxExceptions)
	}
	return out, ""
}

// formatExceptions writes exceptions as parseExceptions reads them.
func formatExceptions(es []availability.Exception) string {
	var b strings.Builder
	for _, e := range es {
		line := strings.TrimSpace(e.Date + " " + formatRanges(e.Hours))
		if e.Note != "" {
			line += " # " + e.Note
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// parseHolidays reads one holiday per line: "2026-12-25 Christmas Day" (the name is
// optional).
func parseHolidays(t *tr, text string) ([]availability.Holiday, string) {
	var out []availability.Holiday
	seen := map[string]bool{}
	for i, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		date, name, p := dateOf(t, line)
		if p != "" {
			return nil, lineProblem(t, i+1, p)
		}
		if seen[date] {
			return nil, lineProblem(t, i+1, t.T("%s is listed twice.", date))
		}
		seen[date] = true
		out = append(out, availability.Holiday{Date: date, Name: name})
	}
	if len(out) > availability.MaxHolidays {
		return nil, t.T("At most %d dates.", availability.MaxHolidays)
	}
	return out, ""
}

// formatHolidays writes holidays as parseHolidays reads them.
func formatHolidays(hs []availability.Holiday) string {
	var b strings.Builder
	for _, h := range hs {
		b.WriteString(strings.TrimSpace(h.Date+" "+h.Name) + "\n")
	}
	return b.String()
}

// dayNames lists the names a day may be written with in an agent's own week: English,
// German and Greek, whole or the first three letters, in any case.
func dayNames() map[string]time.Weekday {
	m := map[string]time.Weekday{}
	for _, c := range []i18n.Calendar{i18n.English, i18n.German, i18n.Greek} {
		for d, name := range c.Days {
			n := strings.ToLower(name)
			m[n] = time.Weekday(d)
			if r := []rune(n); len(r) > 3 {
				m[string(r[:3])] = time.Weekday(d)
			}
		}
	}
	return m
}

var dayByName = dayNames()

// parseWeek reads an agent's own week: "Monday 09:00-13:00; Tuesday 09:00-12:00, 14:00-16:00".
// Empty means the agent works the queue's hours (nil).
func parseWeek(t *tr, text string) (*availability.Week, string) {
	if strings.TrimSpace(text) == "" {
		return nil, ""
	}
	w := &availability.Week{}
	seen := map[time.Weekday]bool{}
	for part := range strings.SplitSeq(text, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, rest, _ := strings.Cut(part, " ")
		day, ok := dayByName[strings.ToLower(strings.TrimSpace(name))]
		if !ok {
			return nil, t.T("“%s” does not start with a day of the week. Write a day and its hours, such as Monday 09:00-13:00; separate days with semicolons.", part)
		}
		if seen[day] {
			return nil, t.T("%s is listed twice.", t.cal.Days[day])
		}
		seen[day] = true
		rs, p := parseRanges(t, rest)
		if p != "" {
			return nil, p
		}
		*dayOf(w, day) = rs
	}
	return w, ""
}

// formatWeek writes an agent's week as parseWeek reads it, with the page's day names.
func formatWeek(t *tr, w *availability.Week) string {
	if w == nil {
		return ""
	}
	var parts []string
	for _, d := range weekdays {
		if rs := *dayOf(w, d.Day); len(rs) > 0 {
			parts = append(parts, t.cal.Days[d.Day]+" "+formatRanges(rs))
		}
	}
	return strings.Join(parts, "; ")
}
