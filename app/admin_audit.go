package app

// Administration / Audit log: who changed what and when, filtered and paged, with an
// export of the same selection as CSV (auditcsv, the writer the REST API's export uses).

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/auditcsv"
	"rendezvous/auth"
	"rendezvous/store"
)

// auditPage is how many entries one page of the audit log shows.
const auditPage = 50

// auditForm is the audit log's filter as typed (dates in the administrator's zone).
type auditForm struct {
	Actor, Kind, Action, Target, From, To string
	Errors                                map[string]string
}

// auditData is the audit log page's data.
type auditData struct {
	F       auditForm
	Entries []rendezvous.AuditEntry
	Next    string
	Paged   bool
	People  []rendezvous.StaffUser
	// CSVURL, NewestURL and NextURL keep the filter: the export, the first and the next page.
	CSVURL, NewestURL, NextURL string
}

// auditKinds are the kinds of record the filter offers, with their labels.
var auditKinds = []struct{ Key, Label string }{
	{"appointment", "Appointments"},
	{"settings", "Settings"},
	{"schedule", "Availability schedules"},
	{"media", "Waiting-room media"},
	{"template", "Message templates"},
	{"notify_channel", "SMS and email setup"},
	{"api_key", "API keys"},
	{"webhook", "Webhooks"},
	{"staff_user", "People and roles"},
	{"erasure", "Data erasure"},
	{"appointments", "Data retention (erased after the period)"},
}

// Kinds lists the kinds of record for the filter.
func (d *auditData) Kinds() []struct{ Key, Label string } { return auditKinds }

// readAuditFilter reads the query into the store's filter, in zone; what cannot be used
// is explained beside its field and left out.
func readAuditFilter(q url.Values, t *tr, zone *time.Location) (auditForm, store.AuditFilter) {
	f := auditForm{Actor: q.Get("actor"), Kind: q.Get("kind"), Action: strings.TrimSpace(q.Get("action")),
		Target: strings.TrimSpace(q.Get("target")), From: q.Get("from"), To: q.Get("to"), Errors: map[string]string{}}
	var sf store.AuditFilter
	for k, v := range map[string]string{"actor": f.Actor, "kind": f.Kind, "action": f.Action, "target": f.Target} {
		if !storable(v) || len(v) > 200 {
			f.Errors[k] = t.T("This is too long or contains characters that cannot be searched for.")
		}
	}
	if len(f.Errors) == 0 {
		switch kind, id, _ := strings.Cut(f.Actor, ":"); kind {
		case "person":
			sf.ActorKind, sf.ActorID = rendezvous.ActorPerson, id
		case rendezvous.ActorAPIKey, rendezvous.ActorCustomer, rendezvous.ActorSystem:
			sf.ActorKind = kind
		}
		sf.TargetType, sf.Action, sf.TargetID = f.Kind, f.Action, f.Target
	}
	if f.From != "" {
		if d, ok := parseDate(f.From, zone); ok {
			sf.From = d
		} else {
			f.Errors["from"] = t.T("Enter a date, for example 2026-03-31.")
		}
	}
	if f.To != "" {
		if d, ok := parseDate(f.To, zone); ok {
			sf.To = d.AddDate(0, 0, 1) // the whole day
		} else {
			f.Errors["to"] = t.T("Enter a date, for example 2026-03-31.")
		}
	}
	if !sf.From.IsZero() && !sf.To.IsZero() && !sf.To.After(sf.From) {
		f.Errors["to"] = t.T("The end date is before the start date.")
		sf.To = time.Time{}
	}
	return f, sf
}

// query writes the filter back as a query string.
func (f auditForm) query() string {
	q := url.Values{}
	for k, v := range map[string]string{"actor": f.Actor, "kind": f.Kind, "action": f.Action, "target": f.Target, "from": f.From, "to": f.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

func withQuery(path, q string) string {
	if q == "" {
		return path
	}
	return path + "?" + q
}

// handleAudit serves GET /app/admin/audit.
func (a *App) handleAudit(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.adminView(r, s, "audit", "Audit log")
	q := r.URL.Query()
	f, sf := readAuditFilter(q, v.tr, v.Zone)
	sf.Limit, sf.Cursor = auditPage, q.Get("after")
	var es []rendezvous.AuditEntry
	var next string
	if len(f.Errors) == 0 { // a filter that cannot be used shows nothing rather than everything
		var err error
		es, next, err = a.o.Store.AuditLog(r.Context(), s.User.OrgID, sf)
		var ve *rendezvous.ValidationError
		if errors.As(err, &ve) { // a cursor made up by hand: start from the newest
			sf.Cursor = ""
			es, next, err = a.o.Store.AuditLog(r.Context(), s.User.OrgID, sf)
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
	}
	_, people, err := a.people(r.Context(), s.User.OrgID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := &auditData{F: f, Entries: es, Next: next, Paged: sf.Cursor != "", People: people,
		CSVURL: withQuery("/app/admin/audit.csv", f.query()), NewestURL: withQuery("/app/admin/audit", f.query())}
	if next != "" {
		nq := f.query()
		if nq != "" {
			nq += "&"
		}
		d.NextURL = "/app/admin/audit?" + nq + "after=" + url.QueryEscape(next)
	}
	v.Data = d
	status := http.StatusOK
	if len(f.Errors) > 0 {
		status = http.StatusUnprocessableEntity
	}
	a.render(w, r, status, "admin_audit", v)
}

// handleAuditCSV serves GET /app/admin/audit.csv: the same selection as the page, as CSV.
func (a *App) handleAuditCSV(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	t := newTr(langOf(r, &s.User))
	f, sf := readAuditFilter(r.URL.Query(), t, zoneOf(r, &s.User))
	if len(f.Errors) > 0 {
		http.Redirect(w, r, withQuery("/app/admin/audit", f.query()), http.StatusSeeOther)
		return
	}
	sf.Limit = store.MaxAuditLimit
	org := s.User.OrgID
	es, next, err := a.o.Store.AuditLog(r.Context(), org, sf)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="audit-log.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	page := func(ctx context.Context, cursor string) ([]rendezvous.AuditEntry, string, error) {
		sf.Cursor = cursor
		return a.o.Store.AuditLog(ctx, org, sf)
	}
	if err := auditcsv.Write(r.Context(), w, es, next, page); err != nil {
		a.log.ErrorContext(r.Context(), "audit export failed", "request_id", w.Header().Get("X-Request-Id"), "error", err)
	}
}

// Stamp writes an instant of the audit log in zone, to the second, with the year.
func (t *tr) Stamp(at time.Time, zone *time.Location) string {
	return at.In(zone).Format("2006-01-02 15:04:05")
}

// ActorOf names who made a change.
func (t *tr) ActorOf(a rendezvous.Actor) string { return actorName(t, a) }

// TargetLink is the page of a change's record, where there is one.
func (d *auditData) TargetLink(e rendezvous.AuditEntry) string {
	switch e.TargetType {
	case "appointment":
		return "/app/appointments/" + url.PathEscape(e.TargetID)
	case "webhook":
		if !strings.HasSuffix(e.Action, ".deleted") {
			return "/app/admin/webhooks/" + url.PathEscape(e.TargetID)
		}
	}
	return ""
}

// ChangeText writes one changed field for the audit log: "from → to", or that it changed
// without showing it (a secret, or personal data).
func (t *tr) ChangeText(c rendezvous.FieldChange) string {
	switch {
	case c.Redacted:
		return t.T("changed (not shown)")
	case c.From == "" && c.To == "":
		return t.T("changed")
	case c.From == "":
		return c.To
	}
	return c.From + " → " + c.To
}
