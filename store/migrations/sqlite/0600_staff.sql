-- Staff app (SQLite): the people who sign in with Genesys Cloud (agents, supervisors,
-- administrators) and their roles, their server-side sessions, and who changed which
-- appointment from the staff pages. Times are Unix microseconds UTC (0 = none).

CREATE TABLE staff_users (
	org_id          TEXT NOT NULL REFERENCES orgs (id),
	user_id         TEXT NOT NULL, -- the Genesys Cloud user id
	name            TEXT NOT NULL,
	email           TEXT NOT NULL,
	role            TEXT NOT NULL, -- agent, supervisor or administrator
	time_zone       TEXT NOT NULL DEFAULT '',
	language        TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	last_sign_in_at INTEGER NOT NULL,
	PRIMARY KEY (org_id, user_id)
);

CREATE TABLE staff_sessions (
	id_hash      TEXT PRIMARY KEY, -- hex SHA-256 of the cookie's secret; the secret is never stored
	org_id       TEXT NOT NULL,
	user_id      TEXT NOT NULL,
	csrf         TEXT NOT NULL, -- the form token of this session
	token_sealed BLOB NOT NULL, -- the Genesys Cloud access token, sealed by the secrets box
	token_expiry INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	seen_at      INTEGER NOT NULL, -- last request, for the idle expiry
	checked_at   INTEGER NOT NULL, -- last time Genesys Cloud confirmed the user
	expires_at   INTEGER NOT NULL  -- absolute expiry
);
CREATE INDEX staff_sessions_user ON staff_sessions (org_id, user_id);

CREATE TABLE appointment_history (
	org_id         TEXT NOT NULL,
	appointment_id TEXT NOT NULL,
	seq            INTEGER PRIMARY KEY AUTOINCREMENT,
	at             INTEGER NOT NULL,
	actor_id       TEXT NOT NULL, -- staff user id; '' for the API or the system
	actor_name     TEXT NOT NULL,
	action         TEXT NOT NULL, -- created, rescheduled, updated, reassigned, cancelled, ...
	detail         TEXT NOT NULL
);
CREATE INDEX appointment_history_appt ON appointment_history (org_id, appointment_id, seq);
