-- When each API key last authenticated a request (0: never), to the minute, so that an
-- administrator can tell a key in use from a forgotten one before revoking it.
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT NOT NULL DEFAULT 0;
