-- Administration: the audit log, webhooks and data retention (package webhook, retention).

CREATE TABLE audit_log (
	id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id       TEXT NOT NULL,
	at           BIGINT NOT NULL,
	actor_kind   TEXT NOT NULL, -- person, api_key, customer or system
	actor_id     TEXT NOT NULL,
	actor_name   TEXT NOT NULL,
	action       TEXT NOT NULL,
	target_type  TEXT NOT NULL,
	target_id    TEXT NOT NULL,
	version      BIGINT NOT NULL, -- the appointment's version after the change; 0 for other targets
	changes      TEXT NOT NULL, -- JSON array of rendezvous.FieldChange: never secrets nor personal values
	-- hook_pending is 1 while the change still has to be handed to the organization's
	-- webhooks; it is set only when the organization had an active subscription.
	hook_pending BIGINT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (org_id, id);
CREATE INDEX audit_log_target ON audit_log (org_id, target_type, target_id, id);
CREATE INDEX audit_log_hook ON audit_log (org_id, target_id, id) WHERE hook_pending = 1;

CREATE TABLE webhook_subscriptions (
	id                   TEXT PRIMARY KEY,
	org_id               TEXT NOT NULL REFERENCES orgs (id),
	url                  TEXT NOT NULL,
	description          TEXT NOT NULL,
	events               TEXT NOT NULL, -- JSON array of event types
	state                TEXT NOT NULL, -- active, paused (failing for long) or disabled (by an administrator)
	paused_reason        TEXT NOT NULL,
	auth_kind            TEXT NOT NULL, -- none, basic or oauth2
	auth_username        TEXT NOT NULL, -- basic: user name; oauth2: client id
	auth_token_url       TEXT NOT NULL,
	auth_scope           TEXT NOT NULL,
	auth_secret_sealed   BYTEA, -- basic password or OAuth client secret, sealed by the secrets box
	auth_secret_hint     TEXT NOT NULL,
	secret_sealed        BYTEA NOT NULL, -- the signing secret, sealed
	secret_hint          TEXT NOT NULL,
	previous_sealed      BYTEA, -- the signing secret before the last rotation, sealed
	previous_valid_until BIGINT NOT NULL,
	failing_since        BIGINT NOT NULL, -- 0 while deliveries succeed
	created_at           BIGINT NOT NULL,
	updated_at           BIGINT NOT NULL
);
CREATE INDEX webhook_subscriptions_org ON webhook_subscriptions (org_id, created_at);

CREATE TABLE webhook_deliveries (
	id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id           TEXT NOT NULL,
	subscription_id  TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
	-- chain orders deliveries: one at a time per subscription and chain (the appointment),
	-- oldest first.
	chain            TEXT NOT NULL,
	event_id         TEXT NOT NULL, -- the id receivers deduplicate on
	event            TEXT NOT NULL,
	appointment_id   TEXT NOT NULL,
	payload          TEXT NOT NULL, -- the request body; erased by retention
	state            TEXT NOT NULL, -- waiting, pending, delivered, failed
	attempts         BIGINT NOT NULL,
	last_status      BIGINT NOT NULL,
	last_error       TEXT NOT NULL,
	last_attempt_at  BIGINT NOT NULL,
	last_duration_us BIGINT NOT NULL,
	created_at       BIGINT NOT NULL,
	finished_at      BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (subscription_id, id);
CREATE INDEX webhook_deliveries_chain ON webhook_deliveries (subscription_id, chain, state, id);
CREATE INDEX webhook_deliveries_appointment ON webhook_deliveries (org_id, appointment_id);

CREATE TABLE privacy_settings (
	org_id         TEXT PRIMARY KEY REFERENCES orgs (id),
	retention_days BIGINT NOT NULL, -- 0 keeps personal data
	updated_at     BIGINT NOT NULL
);

ALTER TABLE appointments ADD COLUMN erased_at BIGINT NOT NULL DEFAULT 0;

-- An erasure asked for one customer: what to match, sealed by the secrets box and dropped
-- once the job has done it.
CREATE TABLE erasure_requests (
	id            TEXT PRIMARY KEY,
	org_id        TEXT NOT NULL REFERENCES orgs (id),
	match_sealed  BYTEA, -- JSON {phone, email}, sealed; NULL once done
	state         TEXT NOT NULL, -- pending or done
	appointments  BIGINT NOT NULL, -- how many appointments it erased data of
	requested_at  BIGINT NOT NULL,
	done_at       BIGINT NOT NULL
);
