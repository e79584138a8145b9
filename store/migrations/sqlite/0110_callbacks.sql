-- Callbacks channel (SQLite): the Genesys Cloud scheduled callback that stands for an
-- appointment when the organization schedules through callbacks. Times are Unix
-- microseconds UTC (0 = none).
--
-- state: "creating" (a create was sent and its answer not yet recorded: never sent twice
-- automatically), "scheduled", "cancelled", "failed" (Genesys refused; see last_error) or
-- "unknown" (a create may or may not have reached Genesys).
CREATE TABLE journey_callbacks (
	appointment_id  TEXT PRIMARY KEY REFERENCES appointments (id),
	org_id          TEXT NOT NULL,
	state           TEXT NOT NULL,
	conversation_id TEXT NOT NULL,
	callback_id     TEXT NOT NULL,
	queue_id        TEXT NOT NULL,
	agent_user_id   TEXT NOT NULL,
	scheduled_at    INTEGER NOT NULL, -- the callbackScheduledTime Genesys holds
	attempts        INTEGER NOT NULL,
	last_error      TEXT NOT NULL,
	updated_at      INTEGER NOT NULL
);
