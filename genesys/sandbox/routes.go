package sandbox

import "net/http"

// routes lists the sandbox's whole surface. Anything else answers 501.
func (s *Sandbox) routes() http.Handler {
	mux := http.NewServeMux()

	// Login host.
	mux.Handle("POST /oauth/token", s.handleToken())
	mux.Handle("GET /oauth/authorize", s.handleAuthorize())
	mux.Handle("POST /oauth/authorize", s.handleAuthorizeSubmit())

	// Platform API.
	mux.Handle("GET /api/v2/users/me", s.api(s.usersMe))
	mux.Handle("GET /api/v2/users/{id}", s.api(s.getUser))
	mux.Handle("POST /api/v2/users/search", s.api(s.searchUsers, PermUserView))
	mux.Handle("GET /api/v2/routing/queues", s.api(s.listQueues, PermQueueView))
	mux.Handle("GET /api/v2/routing/queues/{queueId}", s.api(s.getQueue, PermQueueView))
	mux.Handle("GET /api/v2/routing/sms/phonenumbers", s.api(s.listSMSNumbers, PermSMSNumberView))
	mux.Handle("GET /api/v2/routing/email/outbound/domains", s.api(s.listEmailDomains, PermEmailManage))
	mux.Handle("GET /api/v2/routing/email/outbound/domains/{domainId}", s.api(s.getEmailDomain, PermEmailManage, PermEmailView))
	mux.Handle("POST /api/v2/conversations/messages/agentless", s.api(s.sendSMS, PermMessageCreate))
	mux.Handle("POST /api/v2/conversations/emails/agentless", s.api(s.sendEmail, PermEmailCreate, PermAgentlessEmailSend))
	mux.Handle("POST /api/v2/conversations/callbacks", s.api(s.createCallback, PermCallbackCreate))
	mux.Handle("PATCH /api/v2/conversations/callbacks", s.api(s.patchCallback, PermCallbackEdit))
	mux.Handle("POST /api/v2/conversations/callbacks/bulk/disconnect", s.api(s.bulkDisconnectCallbacks, PermDisconnect))
	mux.Handle("PATCH /api/v2/conversations/callbacks/{conversationId}", s.api(s.patchCallbackConversation, PermDisconnect))
	mux.Handle("PATCH /api/v2/conversations/{conversationId}/participants/{participantId}/attributes", s.api(s.patchParticipantAttributes, PermParticipantUpdate))

	// Web messaging guest API.
	mux.Handle("GET /v1", s.handleWebMessaging())

	// Sandbox inspection and control (no authentication: it is a sandbox).
	mux.Handle("GET /sandbox/{$}", s.handleConsole())
	mux.Handle("GET /sandbox", http.RedirectHandler("/sandbox/", http.StatusFound))
	mux.Handle("GET /sandbox/changes", s.handleChanges())
	mux.Handle("GET /sandbox/outbox", s.inspect(func() any { return s.Outbox() }))
	mux.Handle("GET /sandbox/conversations", s.inspect(func() any { return s.Conversations() }))
	mux.Handle("GET /sandbox/users", s.inspect(func() any { return s.Users() }))
	mux.Handle("GET /sandbox/queues", s.inspect(func() any { return s.Queues() }))
	mux.Handle("GET /sandbox/oauth-clients", s.inspect(func() any { return s.OAuthClients() }))
	mux.Handle("GET /sandbox/deployments", s.inspect(func() any { return s.Deployments() }))
	mux.Handle("GET /sandbox/demo", s.inspect(func() any { return s.Demo() }))
	mux.Handle("GET /sandbox/orgs", s.inspect(func() any { return s.Orgs() }))
	mux.Handle("GET /sandbox/api-calls", s.inspect(func() any { return s.APICalls() }))
	mux.Handle("GET /sandbox/faults", s.inspect(func() any { return wireFaults(s.Faults()) }))
	mux.Handle("POST /sandbox/agents/{userId}/answer", s.handleAnswer())
	mux.Handle("POST /sandbox/agents/{userId}/decline", s.handleDecline())
	mux.Handle("POST /sandbox/agents/{userId}/presence", s.handlePresence())
	mux.Handle("POST /sandbox/agents/{userId}/messages", s.handleAgentMessage())
	mux.Handle("POST /sandbox/conversations/{conversationId}/disconnect", s.handleDisconnect())
	mux.Handle("POST /sandbox/faults", s.handleInjectFault())
	mux.Handle("DELETE /sandbox/faults", s.handleClearFaults())
	mux.Handle("POST /sandbox/faults/clear", s.handleClearFaults())
	mux.Handle("POST /sandbox/sockets/drop", s.handleDropSockets())

	mux.Handle("/", s.unmodelled())
	return withCorrelation(s.withFaults(mux))
}
