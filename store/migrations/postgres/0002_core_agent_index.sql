-- The agent-day index carries end_at and status, so the overlap check and an agent's day
-- are answered from the index alone. Without statistics (a young table) the planner
-- otherwise picked appointments_org_start for agent queries and filtered every row of the
-- organization in the time range.
DROP INDEX IF EXISTS appointments_agent_start;
CREATE INDEX appointments_agent_cover ON appointments (org_id, agent_user_id, start_at) INCLUDE (end_at, status);
