// Package auditcsv writes the audit log as CSV, the same for the REST API's export
// (web) and the administration page's (app), so both give a spreadsheet the same columns.
package auditcsv

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"rendezvous"
)

// MaxRows bounds one export; narrow the filter (a date range) for more.
const MaxRows = 100_000

// Header is the first line of every export.
var Header = []string{"id", "at", "actor_type", "actor_id", "actor_name", "action", "target_type", "target_id", "version", "changes"}

// Page reads the page of the audit log after cursor and returns the cursor of the next
// one ("" on the last).
type Page func(ctx context.Context, cursor string) ([]rendezvous.AuditEntry, string, error)

// Write writes the header, first (the page the caller read before answering, so that a
// failure to read still gets a proper error status) and the pages after it up to
// MaxRows. A page that fails once the answer has begun shows as a last line saying the
// export stopped early, and its error is returned for the log.
func Write(ctx context.Context, w io.Writer, first []rendezvous.AuditEntry, next string, page Page) error {
	cw := csv.NewWriter(w)
	cw.Write(Header)
	rows := 0
	es := first
	var failed error
	for {
		for _, e := range es {
			cw.Write(Row(e))
			rows++
		}
		if next == "" || rows >= MaxRows || ctx.Err() != nil {
			break
		}
		var err error
		if es, next, err = page(ctx, next); err != nil {
			cw.Write([]string{"", "", "", "", "", "export.failed", "", "", "", "the export stopped early; try again"})
			failed = err
			break
		}
	}
	cw.Flush()
	if failed != nil {
		return failed
	}
	return cw.Error()
}

// Row is one entry as a CSV line, in Header's order.
func Row(e rendezvous.AuditEntry) []string {
	at := ""
	if !e.At.IsZero() {
		at = e.At.UTC().Format(time.RFC3339)
	}
	return []string{strconv.FormatInt(e.ID, 10), at, e.Actor.Kind, Cell(e.Actor.ID), Cell(e.Actor.Name),
		e.Action, e.TargetType, Cell(e.TargetID), strconv.Itoa(e.Version), Cell(ChangesText(e.Changes))}
}

// ChangesText writes changes on one line: "field: from → to; other (changed)". Redacted
// fields (secrets, personal data) are named, never shown.
func ChangesText(cs []rendezvous.FieldChange) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		switch {
		case c.Redacted:
			parts[i] = c.Field + " (changed, not shown)"
		case c.From == "" && c.To == "":
			parts[i] = c.Field + " (changed)"
		default:
			parts[i] = fmt.Sprintf("%s: %s → %s", c.Field, c.From, c.To)
		}
	}
	return strings.Join(parts, "; ")
}

// Cell defuses a value a spreadsheet would run as a formula (=, +, -, @ first).
func Cell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
