package auditcsv_test

import (
	"context"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/auditcsv"
)

// TestWrite pages through the log after the first page, keeps formulas from running in a
// spreadsheet, never shows a redacted value, and marks an export cut short.
func TestWrite(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.FixedZone("x", 3600))
	first := []rendezvous.AuditEntry{{ID: 3, At: at, Actor: rendezvous.Actor{Kind: "person", ID: "u1", Name: "=HYPERLINK(1)"},
		Action: "webhook.updated", TargetType: "webhook", TargetID: "w1",
		Changes: []rendezvous.FieldChange{{Field: "url", From: "https://a", To: "https://b"}, {Field: "secret", Redacted: true}}}}
	pages := map[string][]rendezvous.AuditEntry{"c2": {{ID: 2, Action: "api_key.created"}}, "c1": {{ID: 1, Action: "api_key.revoked"}}}
	next := map[string]string{"c2": "c1", "c1": ""}
	var b strings.Builder
	err := auditcsv.Write(context.Background(), &b, first, "c2", func(_ context.Context, cursor string) ([]rendezvous.AuditEntry, string, error) {
		return pages[cursor], next[cursor], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || strings.Join(rows[0], ",") != strings.Join(auditcsv.Header, ",") {
		t.Fatalf("rows %q", rows)
	}
	if got := rows[1]; got[1] != "2026-03-01T08:30:00Z" || got[4] != "'=HYPERLINK(1)" ||
		got[9] != "url: https://a → https://b; secret (changed, not shown)" {
		t.Errorf("first row %q", got)
	}
	if rows[2][5] != "api_key.created" || rows[3][5] != "api_key.revoked" {
		t.Errorf("later pages %q %q", rows[2], rows[3])
	}

	b.Reset()
	boom := errors.New("database gone")
	err = auditcsv.Write(context.Background(), &b, first, "c2", func(context.Context, string) ([]rendezvous.AuditEntry, string, error) {
		return nil, "", boom
	})
	if !errors.Is(err, boom) || !strings.Contains(b.String(), "export.failed") {
		t.Errorf("a failed page: %v\n%s", err, b.String())
	}
}
