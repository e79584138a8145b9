// Package genesys is Rendezvous' client for Genesys Cloud: only the calls the product
// makes, with the exact wire format, so that what Genesys receives is visible in one place.
//
// # Connecting
//
// Endpoints come from a region name or domain (RegionEndpoints("eu-west-1") or
// RegionEndpoints("mypurecloud.ie")) or are given explicitly, which is how tests and the
// demo mode reach the in-memory emulation in package genesys/sandbox.
//
// One Client is one OAuth client (grant type Client Credentials): it holds one cached
// access token and one rate limiter. The product creates one Client for SMS and one for
// email, because its settings carry a separate OAuth client for each. Tokens are fetched
// with golang.org/x/oauth2/clientcredentials and cached here against the injected clock;
// a token is replaced a tenth of its lifetime (at most five minutes) before it lapses, and
// an API answer of 401 drops it, fetches a new one and retries the call once.
//
// Users sign in with the authorization code grant and PKCE (UserAuth, NewPKCEVerifier);
// Client.Me then reads the signed-in user with that user's token.
//
// # Rate limit
//
// Each Client shapes its calls so that no minute holds more than RequestsPerMinute
// (default 300, Genesys' default per-token limit): a tenth of the budget may leave at once,
// the rest refills steadily. Bulk work therefore queues in the client instead of running
// into a storm of 429 answers.
//
// # Failures and retries
//
// A non-2xx answer is an *APIError with the status, the Inin-Correlation-Id and the
// decoded Genesys error body; a refused token request is an *OAuthError (InvalidClient
// reports a wrong id or secret); no answer at all is a *TransportError that says whether
// the request had left. Classify turns any of them into what a durable job queue does
// next: KindPermanent, KindRetryAfter (with the wait), KindTransient or KindAmbiguous.
//
// Inside one call the client retries:
//   - 429, waiting Retry-After (or a backoff when absent), as long as the wait is at most
//     MaxRetryAfter; a longer wait is returned as KindRetryAfter for the job queue to
//     reschedule;
//   - 5xx other than 501, with jittered exponential backoff, for reads and idempotent
//     writes (reschedule, cancel, participant attributes, searches);
//   - transport failures with the same backoff;
//   - never any other 4xx.
//
// The rule for sends. Agentless SMS, agentless email and callback creation reach a person
// or ring an agent, and Genesys offers no idempotency key for them. They are retried
// automatically only when Genesys certainly did not act: a 429, a 401 answered before the
// token renewal, or a connection that failed before the request headers were written (for
// example connection refused). A 5xx, a timeout or a dropped connection after the request
// left is returned at once as KindAmbiguous: the product records the attempt as
// "outcome unknown" and does not re-send it on its own, because a duplicate reminder is
// worse than a missing one that an agent can see and re-send.
//
// # Web messaging
//
// DialGuest opens a web messaging guest session (the Messenger deployment's WebSocket)
// with a guest token; Join starts the conversation with a presence event carrying the
// custom attributes that the inbound message flow reads as participant data (for example
// context.auvious.agentUserId for preferred agent routing), SendText sends text, and
// Events delivers agent messages, typing and presence; Clear ends the customer's side. It
// speaks the wire as Genesys does: every frame carries a tracingId, answers are matched by
// it (or, when Genesys leaves it out, by what the request expects) and told apart by their
// class, never their type; an onMessage is acknowledged by its inbound echo (a "message"),
// errors come as class "string" with the error code as code, and a SessionExpiredEvent
// ends the session, never counting as a success. The session keeps itself alive with
// WebSocket pings every 15 s as Genesys' transport SDK does, paces messages to Genesys' 2
// per second, waits out 4029 answers for their retryAfter, refuses custom attributes
// larger than the session's maxCustomDataBytes before sending (ErrAttributesTooLarge), and
// resumes the same session on a new socket when the connection drops. Store
// GuestSession.Token: DialGuest with the same token re-attaches to the conversation after
// a restart of Rendezvous.
//
// # Pointing Rendezvous at a real organization
//
//  1. Region: pick the organization's region (Admin > Organization settings shows it, or
//     take the domain from the browser's address: apps.mypurecloud.ie → eu-west-1).
//  2. OAuth clients (Admin > Integrations > OAuth), grant type Client Credentials, one per
//     channel: for SMS a role with conversation:message:create and sms:phoneNumber:view;
//     for email a role with conversation:email:create (or
//     conversation:agentlessEmail:send) and routing:email:manage (listing outbound
//     domains; one domain by name needs only routing:email:view); for the callbacks
//     channel conversation:callback:create, conversation:callback:edit,
//     conversation:communication:disconnect (cancelling) and routing:queue:view; for agent
//     pickers directory:user:view. Give the roles the divisions of the queues and users
//     involved.
//  3. User sign-in: an OAuth client of grant type Code Authorization (or PKCE) with the
//     product's /auth/callback URL as authorized redirect URI.
//  4. Web messaging: a Messenger deployment whose allowed domains include the product's
//     origin, wired to an inbound message flow (see the administrator guide).
//
// Client.CheckCredentials verifies an id and secret and reports which read permissions
// are missing, for the settings pages.
package genesys
