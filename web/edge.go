package web

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"rendezvous"
)

// Protections every request passes before its route: the Host it names, the characters
// of its path and query, and the security headers every response carries. They are here,
// once, rather than in each handler, so that a route added later has them too.

// baselineCSP is the Content-Security-Policy of every HTML page that sets none of its own:
// only this origin's scripts (no inline script, no eval), nothing framed, no plug-ins, no
// base-URI tricks, forms posted only here, and the page itself framed by nobody. Pages that
// need more (the customer's page shows waiting-room media from anywhere; the agent's room
// is framed by Genesys Cloud) set their own policy, as strict as they can.
const baselineCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// edge answers what no route should see: a Host this service is not configured under
// (421, against DNS rebinding), a path with control characters (404: no record has such an
// id), a query with them (422 naming the parameter). It reports whether the request may go
// on to its route.
func (s *server) edge(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	// No response is ever to be sniffed into another type: JSON, .ics and media are what
	// they say they are.
	h.Set("X-Content-Type-Options", "nosniff")
	if !s.Hosts.Allows(r.Host) {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusMisdirectedRequest)
		w.Write([]byte("This server does not answer for that host name.\n"))
		return false
	}
	if hasControl(r.URL.Path) {
		s.error(w, r, fmt.Errorf("no such path: %w", rendezvous.ErrNotFound))
		return false
	}
	if err := checkQuery(r.URL.RawQuery); err != nil {
		s.error(w, r, err)
		return false
	}
	return true
}

// checkQuery refuses a query string that cannot be read or holds control characters in a
// name or a value, naming the parameter: such a value is never meaningful, and PostgreSQL
// would refuse a NUL in it with an error the caller should not be the cause of.
func checkQuery(raw string) error {
	if raw == "" {
		return nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return badRequest("", "the query string cannot be read: %v", err)
	}
	var p rendezvous.Problems
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := rendezvous.CheckLine(k); err != nil {
			p.Add(sanitizeField(k), "is a query parameter name that %s", err)
			continue
		}
		for _, v := range q[k] {
			if err := rendezvous.CheckLine(v); err != nil {
				p.Add(k, "%s", err)
				break
			}
		}
	}
	return p.Err()
}

// hasControl reports whether s holds a control character or is not UTF-8.
func hasControl(s string) bool {
	return rendezvous.CheckLine(s) != nil
}

// sanitizeField makes a name fit to echo back as a field: control characters become
// U+FFFD, so a problem document never carries them.
func sanitizeField(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// pathID returns the record id in the path parameter name, or a not-found error when it
// cannot be an id this service issued; then the database is not asked at all.
func pathID(r *http.Request, name string) (string, error) {
	id := r.PathValue(name)
	if !rendezvous.IsID(id) {
		return "", fmt.Errorf("no record with that %s: %w", name, rendezvous.ErrNotFound)
	}
	return id, nil
}

// withBaselineCSP gives an HTML response that set no Content-Security-Policy the baseline
// one, at the moment its header is written.
func withBaselineCSP(h http.Header) {
	if h.Get("Content-Security-Policy") != "" {
		return
	}
	if strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		h.Set("Content-Security-Policy", baselineCSP)
	}
}
