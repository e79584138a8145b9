-- Notifications: what each message told the customer (JSON: start, duration, agent, zone),
-- so that a change message can say what changed since, and say nothing when nothing the
-- customer was told has changed. '' = the message told no appointment details.
ALTER TABLE notify_deliveries ADD COLUMN told TEXT NOT NULL DEFAULT '';
