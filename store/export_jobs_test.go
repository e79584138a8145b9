package store

// DueQueryForTest is the query and arguments HasDue runs for kinds, for tests that look
// at its plan.
func (s *Store) DueQueryForTest(kinds []string) (string, []any) {
	return s.rebind(dueIDs("", 1, len(kinds))), dueArgs(s.clock.Now(), kinds)
}

// ClaimQueryForTest is the SELECT of a claim of n jobs of kinds and its arguments.
func (s *Store) ClaimQueryForTest(n int, kinds []string) (string, []any) {
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	return s.rebind(dueIDs(lock, n, len(kinds))), dueArgs(s.clock.Now(), kinds)
}
