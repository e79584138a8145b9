-- The agent-day index carries end_at and status, so the overlap check is answered from the
-- index alone (SQLite has no INCLUDE; trailing columns do the same).
DROP INDEX IF EXISTS appointments_agent_start;
CREATE INDEX appointments_agent_cover ON appointments (org_id, agent_user_id, start_at, end_at, status);
