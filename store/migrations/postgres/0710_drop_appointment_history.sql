-- An appointment's history is read from the audit log (written in the change's own
-- transaction, for every actor); the staff pages' separate history table is gone.
DROP INDEX IF EXISTS appointment_history_appt;
DROP TABLE IF EXISTS appointment_history;
