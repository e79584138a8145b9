-- Video room (PostgreSQL): who was in the room when, and each organization's ICE servers.
-- Times are Unix microseconds UTC (0 = none).

-- One row per connection of one side: a reconnect closes the old row and opens a new one,
-- so the first joined_at of a side is when it came and the last left_at when it went.
CREATE TABLE room_sessions (
	id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id         TEXT NOT NULL,
	appointment_id TEXT NOT NULL REFERENCES appointments (id),
	side           TEXT NOT NULL, -- agent or customer
	joined_at      BIGINT NOT NULL,
	left_at        BIGINT NOT NULL, -- 0 while connected
	left_reason    TEXT NOT NULL
);
CREATE INDEX room_sessions_appointment ON room_sessions (appointment_id, joined_at);

CREATE TABLE room_settings (
	org_id     TEXT PRIMARY KEY REFERENCES orgs (id),
	body       BYTEA NOT NULL, -- JSON of room.Settings, sealed by the secrets box when there is one (TURN credentials)
	updated_at BIGINT NOT NULL
);
