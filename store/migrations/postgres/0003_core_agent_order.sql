-- The agent-day index also carries id after start_at, so it yields an agent's appointments
-- in list order (start, then id). Without it the planner preferred appointments_org_start
-- for listing an agent's day, because that index has the order, and filtered out every
-- other agent's appointments in the range.
DROP INDEX IF EXISTS appointments_agent_cover;
CREATE INDEX appointments_agent_day ON appointments (org_id, agent_user_id, start_at, id) INCLUDE (end_at, status);
