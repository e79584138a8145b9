-- Customer journey (SQLite): scheduling settings, waiting-room uploads, and the one
-- Genesys interaction of each appointment. Times are Unix microseconds UTC (0 = none).

CREATE TABLE journey_settings (
	org_id     TEXT PRIMARY KEY REFERENCES orgs (id),
	body       TEXT NOT NULL, -- JSON of journey.Settings
	updated_at INTEGER NOT NULL
);

CREATE TABLE journey_media (
	id           TEXT PRIMARY KEY,
	org_id       TEXT NOT NULL REFERENCES orgs (id),
	content_type TEXT NOT NULL,
	body         BLOB NOT NULL,
	created_at   INTEGER NOT NULL
);

-- The primary key is what makes the interaction happen once: whichever instance inserts
-- the row first is the one that opens the Genesys session; everyone else resumes it.
CREATE TABLE journey_interactions (
	appointment_id     TEXT PRIMARY KEY REFERENCES appointments (id),
	org_id             TEXT NOT NULL,
	progress           TEXT NOT NULL,
	deployment_id      TEXT NOT NULL,
	guest_token_sealed BLOB NOT NULL, -- the web messaging session token, sealed by the secrets box
	lease_owner        TEXT NOT NULL,
	lease_until        INTEGER NOT NULL,
	attempts           INTEGER NOT NULL,
	last_error         TEXT NOT NULL,
	created_at         INTEGER NOT NULL,
	joined_at          INTEGER NOT NULL,
	agent_joined_at    INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL
);
