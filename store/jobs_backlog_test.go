package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"rendezvous/store"
)

// A claimer of a few kinds (the runner's reserved lane) finds its due jobs behind a
// backlog of thousands of other due jobs by reading its own kinds only: each kind from
// jobs_kind_due, never the whole backlog through jobs_due. Looking for a due reminder
// used to read every due message, and the runner looked after every job (issue 14).
func TestClaimOfKindsReadsOnlyThoseKinds(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		const backlog = 3000
		if err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
			for i := range backlog {
				if err := tx.Enqueue(e.ctx, store.Job{OrgID: "org-a", Kind: "notify.send", RunAt: t0.Add(-time.Duration(i) * time.Second)}); err != nil {
					return err
				}
			}
			if err := tx.Enqueue(e.ctx, store.Job{OrgID: "org-a", Kind: "room.deadline", RunAt: t0.Add(-time.Minute)}); err != nil {
				return err
			}
			if err := tx.Enqueue(e.ctx, store.Job{OrgID: "org-a", Kind: "notify.reminder", RunAt: t0.Add(-2 * time.Minute)}); err != nil {
				return err
			}
			return tx.Enqueue(e.ctx, store.Job{OrgID: "org-a", Kind: "notify.reminder", RunAt: t0.Add(time.Hour)})
		}); err != nil {
			t.Fatal(err)
		}
		if err := e.st.InTx(e.ctx, func(tx *store.Tx) error { _, err := tx.Exec(e.ctx, "ANALYZE"); return err }); err != nil {
			t.Fatal(err)
		}
		kinds := []string{"room.deadline", "room.empty", "journey.callback", "notify.reminder"}

		for what, q := range map[string]func() (string, []any){
			"due look": func() (string, []any) { return e.st.DueQueryForTest(kinds) },
			"claim":    func() (string, []any) { return e.st.ClaimQueryForTest(2, kinds) },
		} {
			query, args := q()
			plan := explain(t, e, query, args)
			if !strings.Contains(plan, "jobs_kind_due") || strings.Contains(plan, "jobs_due") {
				t.Errorf("the %s of the reserved kinds does not read them from jobs_kind_due alone:\n%s", what, plan)
			}
		}

		due, err := e.st.HasDue(e.ctx, kinds)
		if err != nil || !due {
			t.Fatalf("HasDue = %v, %v; want true", due, err)
		}
		got, err := e.st.ClaimDue(e.ctx, store.Claim{N: 5, Lease: time.Minute, Kinds: kinds})
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, func(a, b *store.Job) int { return a.RunAt.Compare(b.RunAt) })
		if len(got) != 2 || got[0].Kind != "notify.reminder" || got[1].Kind != "room.deadline" {
			t.Fatalf("claimed %s, want the due reminder then the due deadline", kindsOf(got))
		}
		if due, err := e.st.HasDue(e.ctx, kinds); err != nil || due {
			t.Fatalf("HasDue after the claim = %v, %v; want false", due, err)
		}
		if at, ok, err := e.st.NextDueAt(e.ctx, kinds); err != nil || !ok || !at.Equal(t0.Add(time.Hour)) {
			t.Fatalf("NextDueAt = %v %v %v, want the later reminder's %v", at, ok, err, t0.Add(time.Hour))
		}
		// The backlog is still there for a claim of any kind, oldest first.
		all, err := e.st.ClaimDue(e.ctx, store.Claim{N: 3, Lease: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(all, func(a, b *store.Job) int { return a.RunAt.Compare(b.RunAt) })
		if len(all) != 3 || !all[0].RunAt.Equal(t0.Add(-(backlog-1)*time.Second)) {
			t.Fatalf("claim of any kind got %s", kindsOf(all))
		}
	})
}

func kindsOf(js []*store.Job) string {
	var b strings.Builder
	for _, j := range js {
		fmt.Fprintf(&b, "%s@%s ", j.Kind, j.RunAt.Format(time.RFC3339))
	}
	return b.String()
}

// explain returns the query's plan as text.
func explain(t *testing.T, e *env, query string, args []any) string {
	t.Helper()
	prefix := "EXPLAIN "
	if e.st.Dialect() == store.SQLite {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := e.st.Read(e.ctx, prefix+query, args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, vals[len(vals)-1])
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
