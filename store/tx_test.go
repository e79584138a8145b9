package store_test

import (
	"fmt"
	"sync"
	"testing"

	"rendezvous/store"
)

func TestConcurrentTransactionsCommitOrRollBackAlone(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		const n = 40
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = e.st.InTx(e.ctx, func(tx *store.Tx) error {
					if err := tx.Enqueue(e.ctx, store.Job{OrgID: "org-a", Kind: "k", UniqueKey: fmt.Sprint(i)}); err != nil {
						return err
					}
					if i%3 == 0 {
						return fmt.Errorf("refuse %d", i)
					}
					return nil
				})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if (i%3 == 0) != (err != nil) {
				t.Fatalf("transaction %d: %v", i, err)
			}
		}
		jobs, err := e.st.Jobs(e.ctx, "org-a", "k")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, j := range jobs {
			got[j.UniqueKey] = true
		}
		for i := range n {
			if got[fmt.Sprint(i)] == (i%3 == 0) {
				t.Fatalf("job %d committed = %v", i, got[fmt.Sprint(i)])
			}
		}
	})
}

func TestPanicInTransactionRollsBackAndPropagates(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		func() {
			defer func() {
				if p := recover(); p != "boom" {
					t.Fatalf("recovered %v, want boom", p)
				}
			}()
			e.st.InTx(e.ctx, func(tx *store.Tx) error {
				tx.Enqueue(e.ctx, store.Job{OrgID: "org-a", Kind: "k"})
				panic("boom")
			})
		}()
		// The store still works and nothing of the panicking transaction remains.
		if err := e.st.InTx(e.ctx, func(tx *store.Tx) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if jobs, _ := e.st.Jobs(e.ctx, "org-a", "k"); len(jobs) != 0 {
			t.Fatalf("%d jobs left by a panicking transaction", len(jobs))
		}
		// A bad statement fails its own transaction only.
		err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(e.ctx, "INSERT INTO no_such_table VALUES (1)")
			return err
		})
		if err == nil {
			t.Fatal("insert into a missing table succeeded")
		}
		if err := e.st.InTx(e.ctx, func(tx *store.Tx) error { return tx.Enqueue(e.ctx, store.Job{OrgID: "org-a", Kind: "k"}) }); err != nil {
			t.Fatal(err)
		}
		if err := e.st.Close(); err != nil {
			t.Fatal(err)
		}
		if err := e.st.InTx(e.ctx, func(tx *store.Tx) error { return nil }); err == nil {
			t.Fatal("InTx after Close succeeded")
		}
	})
}

func TestAsyncCommitTransactionsCommit(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := store.AsyncCommit(e.ctx)
		if err := e.st.InTx(ctx, func(tx *store.Tx) error {
			return tx.Enqueue(ctx, store.Job{OrgID: "org-a", Kind: "async"})
		}); err != nil {
			t.Fatal(err)
		}
		if jobs, err := e.st.Jobs(e.ctx, "org-a", "async"); err != nil || len(jobs) != 1 {
			t.Fatalf("jobs = %v, %v", jobs, err)
		}
	})
}
