-- The due-jobs index also carries id, the claim's tie-break, so a claim reads the first
-- due jobs in order and stops: with (state, run_at) alone it read every due job and
-- sorted them, which under a backlog of thousands cost more than the job it claimed.
DROP INDEX IF EXISTS jobs_due;
CREATE INDEX jobs_due ON jobs (state, run_at, id);
