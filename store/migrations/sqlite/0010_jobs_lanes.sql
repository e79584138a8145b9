-- lease_owner names the instance that holds a running job's lease, so that an instance
-- restarted after a crash gives its own jobs back at once instead of waiting for their
-- leases to run out. jobs_kind_due lets the reserved lane of time-critical kinds find
-- its due jobs without reading a backlog of other kinds.
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
CREATE INDEX jobs_kind_due ON jobs (kind, run_at, id) WHERE state = 'pending';

-- One row that the readiness check writes, to learn whether the database takes writes.
CREATE TABLE readiness (
	id         INTEGER PRIMARY KEY,
	checked_at BIGINT NOT NULL
);
