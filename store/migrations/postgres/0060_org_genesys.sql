-- Organizations (postgres): each organization's own Genesys Cloud connection. Secrets are
-- sealed by the secrets box; a hint of each is kept for display.

ALTER TABLE orgs ADD COLUMN genesys_region TEXT NOT NULL DEFAULT '';
ALTER TABLE orgs ADD COLUMN genesys_api_url TEXT NOT NULL DEFAULT '';
ALTER TABLE orgs ADD COLUMN genesys_login_url TEXT NOT NULL DEFAULT '';
ALTER TABLE orgs ADD COLUMN genesys_webmessaging_url TEXT NOT NULL DEFAULT '';
-- NULL when unknown: several organizations may not know theirs yet, but no two share one.
ALTER TABLE orgs ADD COLUMN genesys_org_id TEXT;
ALTER TABLE orgs ADD COLUMN api_client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE orgs ADD COLUMN api_client_secret BYTEA;
ALTER TABLE orgs ADD COLUMN api_client_secret_hint TEXT NOT NULL DEFAULT '';
ALTER TABLE orgs ADD COLUMN signin_client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE orgs ADD COLUMN signin_client_secret BYTEA;
ALTER TABLE orgs ADD COLUMN signin_client_secret_hint TEXT NOT NULL DEFAULT '';
-- Counts changes of the connection, so that instances rebuild their cached clients.
ALTER TABLE orgs ADD COLUMN genesys_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orgs ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;

CREATE UNIQUE INDEX orgs_genesys_org_id ON orgs (genesys_org_id);

-- Pacing of Genesys Cloud API calls per OAuth client, shared by every instance on the
-- database (see Store.ReserveGenesysSlot): the client's theoretical arrival time in Unix
-- microseconds, moved forward by one interval per call.
CREATE TABLE genesys_pacing (
	client_key TEXT PRIMARY KEY, -- hash of the login URL and the client id
	tat        BIGINT NOT NULL
);
