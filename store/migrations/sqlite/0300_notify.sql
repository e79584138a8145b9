-- Notifications (SQLite): per-organization switch and offsets, SMS/email channel setup
-- with its one-time-password verification, template overrides, and the delivery log.
-- Times are Unix microseconds UTC (0 = none).

CREATE TABLE notify_settings (
	org_id     TEXT PRIMARY KEY REFERENCES orgs (id),
	body       TEXT NOT NULL, -- JSON of notify.Settings
	updated_at INTEGER NOT NULL
);

CREATE TABLE notify_channels (
	org_id           TEXT NOT NULL REFERENCES orgs (id),
	channel          TEXT NOT NULL, -- sms or email
	client_id        TEXT NOT NULL,
	secret_sealed    BLOB NOT NULL, -- OAuth client secret sealed by the secrets box
	secret_hint      TEXT NOT NULL, -- last 4 characters, for display
	config           TEXT NOT NULL, -- JSON: SMS number, or email domain and sender
	checked_at       INTEGER NOT NULL,
	verified_at      INTEGER NOT NULL, -- 0 = not verified: the channel sends nothing
	verified_to      TEXT NOT NULL, -- masked address the verification code went to
	otp_hash         TEXT NOT NULL, -- hex SHA-256 of salt and code; '' = no code pending
	otp_salt         TEXT NOT NULL,
	otp_to           TEXT NOT NULL, -- masked
	otp_expires_at   INTEGER NOT NULL,
	otp_attempts     INTEGER NOT NULL,
	otp_locked_until INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	PRIMARY KEY (org_id, channel)
);

CREATE TABLE notify_templates (
	org_id     TEXT NOT NULL REFERENCES orgs (id),
	event      TEXT NOT NULL,
	channel    TEXT NOT NULL,
	language   TEXT NOT NULL,
	subject    TEXT NOT NULL,
	text       TEXT NOT NULL,
	html       TEXT NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (org_id, event, channel, language)
);

-- One row per planned message; its attempts are in notify_attempts.
CREATE TABLE notify_deliveries (
	id              TEXT PRIMARY KEY,
	org_id          TEXT NOT NULL,
	appointment_id  TEXT NOT NULL,
	-- dedupe_key makes planning idempotent: an event handled twice plans nothing twice.
	dedupe_key      TEXT NOT NULL UNIQUE,
	kind            TEXT NOT NULL, -- message, reminder or followup
	event           TEXT NOT NULL,
	channel         TEXT NOT NULL,
	customer_index  INTEGER NOT NULL,
	offset_minutes  INTEGER NOT NULL,
	version         INTEGER NOT NULL,
	recipient       TEXT NOT NULL, -- masked
	language        TEXT NOT NULL,
	template        TEXT NOT NULL, -- default or custom
	due_at          INTEGER NOT NULL,
	sent_at         INTEGER NOT NULL,
	outcome         TEXT NOT NULL, -- scheduled, sending, retrying, sent, failed, skipped, unknown, withdrawn
	error           TEXT NOT NULL,
	message_id      TEXT NOT NULL,
	conversation_id TEXT NOT NULL,
	attempts        INTEGER NOT NULL,
	manual          INTEGER NOT NULL, -- 1 when an agent asked for this try
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL
);
CREATE INDEX notify_deliveries_appointment ON notify_deliveries (org_id, appointment_id, created_at);

CREATE TABLE notify_attempts (
	delivery_id     TEXT NOT NULL REFERENCES notify_deliveries (id),
	n               INTEGER NOT NULL,
	started_at      INTEGER NOT NULL,
	finished_at     INTEGER NOT NULL,
	outcome         TEXT NOT NULL,
	status          INTEGER NOT NULL, -- Genesys HTTP status, 0 when none
	error           TEXT NOT NULL,
	message_id      TEXT NOT NULL,
	PRIMARY KEY (delivery_id, n)
);
