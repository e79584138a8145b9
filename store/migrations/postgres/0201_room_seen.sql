-- Video room (PostgreSQL): when each open connection was last seen alive, so that a
-- session left open by a crashed instance stops counting as someone in the room.
ALTER TABLE room_sessions ADD COLUMN seen_at BIGINT NOT NULL DEFAULT 0;
