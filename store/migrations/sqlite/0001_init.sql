-- Rendezvous core schema (SQLite). Times are Unix microseconds UTC (0 = none).

CREATE TABLE orgs (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at INTEGER NOT NULL
);

CREATE TABLE appointments (
	id                    TEXT PRIMARY KEY,
	org_id                TEXT NOT NULL REFERENCES orgs (id),
	status                TEXT NOT NULL,
	version               INTEGER NOT NULL,
	start_at              INTEGER NOT NULL,
	end_at                INTEGER NOT NULL,
	time_zone             TEXT NOT NULL,
	title                 TEXT NOT NULL,
	notes                 TEXT NOT NULL,
	agent_user_id         TEXT NOT NULL,
	customers             TEXT NOT NULL, -- JSON array: read with the row, no N+1 queries
	interaction           TEXT NOT NULL, -- JSON object
	link_hash             TEXT NOT NULL UNIQUE, -- hex SHA-256 of the link token
	link_sealed           BLOB, -- the token sealed by the secrets box, or NULL without one
	notifications_enabled INTEGER NOT NULL,
	created_at            INTEGER NOT NULL,
	updated_at            INTEGER NOT NULL,
	cancelled_at          INTEGER NOT NULL,
	cancel_reason         TEXT NOT NULL,
	started_at            INTEGER NOT NULL,
	ended_at              INTEGER NOT NULL
);

-- One agent's day, and the overlap check when booking.
CREATE INDEX appointments_agent_start ON appointments (org_id, agent_user_id, start_at);
-- The organization's calendar, in cursor order.
CREATE INDEX appointments_org_start ON appointments (org_id, start_at, id);

CREATE TABLE idempotency_keys (
	org_id         TEXT NOT NULL,
	key            TEXT NOT NULL,
	request_hash   TEXT NOT NULL,
	appointment_id TEXT NOT NULL,
	created_at     INTEGER NOT NULL,
	PRIMARY KEY (org_id, key)
);

CREATE TABLE api_keys (
	id          TEXT PRIMARY KEY,
	org_id      TEXT NOT NULL REFERENCES orgs (id),
	name        TEXT NOT NULL,
	scopes      TEXT NOT NULL, -- JSON array
	secret_hash TEXT NOT NULL UNIQUE, -- hex SHA-256 of the secret
	created_at  INTEGER NOT NULL,
	revoked_at  INTEGER NOT NULL
);
CREATE INDEX api_keys_org ON api_keys (org_id, created_at);

CREATE TABLE jobs (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id       TEXT NOT NULL,
	kind         TEXT NOT NULL,
	args         TEXT NOT NULL, -- JSON
	state        TEXT NOT NULL, -- pending, running, done, failed, cancelled
	run_at       INTEGER NOT NULL,
	attempts     INTEGER NOT NULL,
	max_attempts INTEGER NOT NULL,
	last_error   TEXT NOT NULL,
	unique_key   TEXT, -- NULL when the job has none
	lease_token  TEXT,
	lease_until  INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	finished_at  INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);
CREATE INDEX jobs_unique_key ON jobs (org_id, unique_key) WHERE unique_key IS NOT NULL;
-- At most one pending job per unique key: enqueueing a duplicate does nothing.
CREATE UNIQUE INDEX jobs_unique_pending ON jobs (org_id, unique_key) WHERE unique_key IS NOT NULL AND state = 'pending';
