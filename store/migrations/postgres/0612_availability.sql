-- Availability schedules per queue and the self-scheduling widget (issue 12).

CREATE TABLE schedules (
	org_id     TEXT NOT NULL REFERENCES orgs (id),
	queue_name TEXT NOT NULL,
	definition TEXT NOT NULL, -- JSON availability.Schedule
	version    BIGINT NOT NULL,
	last_agent TEXT NOT NULL, -- the agent the widget assigned last: where round robin resumes
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (org_id, queue_name)
);

CREATE TABLE widget_settings (
	org_id          TEXT PRIMARY KEY REFERENCES orgs (id),
	allowed_origins TEXT NOT NULL, -- JSON array of "https://host[:port]"
	updated_at      BIGINT NOT NULL
);

-- One row per booking made through the widget: the per-contact limit counts them, and a
-- proof-of-work challenge is spent once.
CREATE TABLE widget_bookings (
	org_id         TEXT NOT NULL REFERENCES orgs (id),
	appointment_id TEXT NOT NULL,
	contact_hash   TEXT NOT NULL, -- hex SHA-256 of the customer's phone or email, never the contact itself
	origin         TEXT NOT NULL,
	challenge      TEXT NOT NULL,
	created_at     BIGINT NOT NULL,
	PRIMARY KEY (org_id, appointment_id)
);
CREATE UNIQUE INDEX widget_bookings_challenge ON widget_bookings (org_id, challenge);
CREATE INDEX widget_bookings_contact ON widget_bookings (org_id, contact_hash, created_at);
