package app

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"rendezvous"
)

// TestReadAuditFilter reads the audit log's filter in the administrator's zone and
// refuses, beside the field, what cannot be searched for (NUL, invalid UTF-8, too long,
// a date range that ends before it starts).
func TestReadAuditFilter(t *testing.T) {
	athens, _ := time.LoadLocation("Europe/Athens")
	tr := newTr("en")
	f, sf := readAuditFilter(url.Values{"actor": {"person:u1"}, "kind": {"webhook"}, "action": {"webhook."},
		"target": {" w1 "}, "from": {"2026-03-01"}, "to": {"2026-03-31"}}, tr, athens)
	if len(f.Errors) != 0 || sf.ActorKind != rendezvous.ActorPerson || sf.ActorID != "u1" || sf.TargetType != "webhook" ||
		sf.Action != "webhook." || sf.TargetID != "w1" {
		t.Fatalf("filter %+v, errors %v", sf, f.Errors)
	}
	if want := time.Date(2026, 3, 1, 0, 0, 0, 0, athens); !sf.From.Equal(want) {
		t.Errorf("from %v, want midnight in Athens %v", sf.From, want)
	}
	if want := time.Date(2026, 4, 1, 0, 0, 0, 0, athens); !sf.To.Equal(want) {
		t.Errorf("to %v, want the end of the 31st in Athens %v", sf.To, want)
	}
	if _, sf := readAuditFilter(url.Values{"actor": {"api_key"}}, tr, athens); sf.ActorKind != rendezvous.ActorAPIKey || sf.ActorID != "" {
		t.Errorf("API keys: %+v", sf)
	}
	for _, q := range []url.Values{
		{"target": {"a\x00b"}},
		{"action": {"\xff"}},
		{"target": {strings.Repeat("x", 201)}},
		{"from": {"yesterday"}},
		{"from": {"2026-03-31"}, "to": {"2026-03-01"}},
	} {
		if f, _ := readAuditFilter(q, tr, athens); len(f.Errors) == 0 {
			t.Errorf("%v accepted", q)
		}
	}
}
