-- Video room (SQLite): which instance hosts each room's signaling while someone is in it,
-- so that with several instances both sides meet in one process (the others forward).
CREATE TABLE room_owners (
	appointment_id TEXT PRIMARY KEY,
	instance_url   TEXT NOT NULL, -- the owner's internal base URL
	lease_until    INTEGER NOT NULL
);
