// Package notify sends Rendezvous's SMS and email notifications through Genesys Cloud's
// agentless messaging APIs: per-organization channel setup (credential checks and a
// one-time-password verification), templates per event, channel and language, the plan
// of messages that follows every appointment change (created, rescheduled, cancelled,
// reminders before the start, follow-ups after the end), durable delivery with a delivery
// log, and the appointment's .ics calendar file.
//
// Everything that sends goes through the durable job queue. The store enqueues an event
// job in the transaction of every appointment change (store.EventJobKind), and the service
// hands this package its share of it: HandleAppointmentEvent records the
// planned deliveries and enqueues one SendJobKind job per delivery, due when the message
// is due, in one transaction. So a rolled-back booking sends nothing and a committed one
// is never lost.
//
// Delivery rule (see HandleSend): a delivery is marked "sending" in the database before
// the Genesys call and given its outcome after it. A job that finds its delivery still
// "sending" ran before and was interrupted (a crash) between those two points: Genesys may
// have accepted the message, and agentless messages carry no idempotency key, so the
// delivery is marked "unknown" and NOT re-sent automatically; an agent can retry it by hand.
// Answers in which Genesys itself reported a failure (429, 5xx with its error body) are
// retried with backoff honouring Retry-After; 400, 401, 403 and 404 are not retried; a
// transport failure after the request left (no answer) is ambiguous and treated like the
// crash case.
//
// Rate limits: each OAuth client's sends are paced smoothly at 99.5% of its limit
// (Options.RequestsPerMinute, default 300 as Genesys applies), so a burst of reminders due
// together is spread over the following minutes without 429s; every delivery records its
// due and sent times.
//
// Templates use {name} placeholders (for example {customerName}); see Variables.
package notify
