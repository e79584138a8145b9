// Package sandbox is an in-memory Genesys Cloud: the OAuth login host, the platform API calls
// Rendezvous makes, and the web messaging guest WebSocket, all served by one http.Handler,
// with a small seeded organization (agents, queues, Messenger deployments, flows), routing
// that follows Genesys' preferred agent rules, and an inspection API and console page.
//
// It is used three ways: mounted in tests with httptest, started by `rendezvous sandbox` on
// its own address, and started in-process by `rendezvous serve` when no Genesys Cloud
// organization is configured.
//
// The sandbox is strict on purpose. It speaks the wire format written down in
// testdata/genesys-cloud.md (fidelity_test.go pins it there) with its own structs (it
// never imports the client), it applies the real validations, permissions and rate limits,
// and any request it does not model answers 501 with a Genesys-shaped error body and a log
// line, so that the client and the sandbox cannot drift apart silently.
//
// Time comes from an injected clock.Clock: routing rings, alert timeouts, scheduled
// callbacks, token expiry and rate-limit windows all move with it, so tests move a
// clock.Fake instead of sleeping, and wait for state changes with Changed or WaitFor.
package sandbox
