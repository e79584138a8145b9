-- Notifications (SQLite): per-appointment channel choices. An appointment without a row
-- uses every verified channel.

CREATE TABLE notify_appointment_channels (
	appointment_id TEXT PRIMARY KEY REFERENCES appointments (id),
	org_id         TEXT NOT NULL,
	sms            INTEGER NOT NULL, -- 1 = send SMS for this appointment
	email          INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
);
