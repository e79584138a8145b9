-- The agent-day index also carries id after start_at, so it yields an agent's appointments
-- in list order (start, then id); otherwise the planner lists an agent's day through
-- appointments_org_start and filters out every other agent's appointments.
DROP INDEX IF EXISTS appointments_agent_cover;
CREATE INDEX appointments_agent_day ON appointments (org_id, agent_user_id, start_at, id, end_at, status);
