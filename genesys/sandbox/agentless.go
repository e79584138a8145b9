package sandbox

import (
	"fmt"
	"net/http"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// OutboxMessage is one SMS or email the sandbox accepted for delivery.
type OutboxMessage struct {
	ID             string `json:"id"`
	ConversationID string `json:"conversationId"`
	Channel        string `json:"channel"` // "sms" or "email"
	From           string `json:"from"`
	FromName       string `json:"fromName,omitempty"`
	To             string `json:"to"`
	ToName         string `json:"toName,omitempty"`
	ReplyTo        string `json:"replyTo,omitempty"`
	Text           string `json:"text,omitempty"` // SMS text
	Subject        string `json:"subject,omitempty"`
	Body           string `json:"body,omitempty"` // email text body
	HTML           string `json:"html,omitempty"` // email HTML body
	ClientID       string `json:"clientId"`
	// OrgID is the Genesys organization whose client sent it.
	OrgID string    `json:"orgId"`
	Time  time.Time `json:"time"`
}

// Outbox lists every accepted SMS and email, oldest first.
func (s *Sandbox) Outbox() []OutboxMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.outbox)
}

// Limits of the agentless APIs.
const (
	maxSMSText      = 765
	maxEmailSubject = 400
	maxEmailBody    = 3 << 20
)

// e164 is the E.164 shape: a plus, a non-zero country code digit, at most 15 digits.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// formatTime is Genesys' timestamp format: ISO-8601 UTC with milliseconds.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Wire format of agentless SMS.

type smsRequest struct {
	FromAddress                   string `json:"fromAddress"`
	ToAddress                     string `json:"toAddress"`
	ToAddressMessengerType        string `json:"toAddressMessengerType"`
	TextBody                      string `json:"textBody"`
	UseExistingActiveConversation *bool  `json:"useExistingActiveConversation,omitempty"`
}

type smsResponse struct {
	ID             string   `json:"id"`
	ConversationID string   `json:"conversationId"`
	FromAddress    string   `json:"fromAddress"`
	ToAddress      string   `json:"toAddress"`
	MessengerType  string   `json:"messengerType"`
	TextBody       string   `json:"textBody"`
	Timestamp      string   `json:"timestamp"`
	User           *wireRef `json:"user,omitempty"`
	SelfURI        string   `json:"selfUri"`
}

// POST /api/v2/conversations/messages/agentless.
func (s *Sandbox) sendSMS(w http.ResponseWriter, r *http.Request, c caller) error {
	var req smsRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	switch {
	case req.FromAddress == "":
		return badRequest("fromAddress", "fromAddress is required.")
	case req.ToAddress == "":
		return badRequest("toAddress", "toAddress is required.")
	case req.ToAddressMessengerType == "":
		return badRequest("toAddressMessengerType", "toAddressMessengerType is required.")
	case req.ToAddressMessengerType != "sms":
		return &apiError{status: http.StatusNotImplemented, code: codeNotImplemented,
			message: fmt.Sprintf("The sandbox models only toAddressMessengerType sms, not %q.", req.ToAddressMessengerType)}
	case !e164.MatchString(req.ToAddress):
		return badRequest("toAddress", "toAddress must be an E.164 phone number.")
	case req.TextBody == "":
		return badRequest("textBody", "textBody is required for SMS.")
	case utf8.RuneCountInString(req.TextBody) > maxSMSText:
		return badRequest("textBody", "textBody exceeds the maximum length of %d characters.", maxSMSText)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.tenantLocked(c.org()).smsNumbers, req.FromAddress) {
		return badRequest("fromAddress", "fromAddress is not an SMS number provisioned in this organization.")
	}
	now := s.clock.Now()
	msg := OutboxMessage{ID: uuid.NewString(), ConversationID: uuid.NewString(), Channel: "sms",
		From: req.FromAddress, To: req.ToAddress, Text: req.TextBody, ClientID: c.client.ID, OrgID: c.org(), Time: now}
	s.outbox = append(s.outbox, msg)
	s.log.Info("sandbox sms accepted", "conversation_id", msg.ConversationID, "chars", utf8.RuneCountInString(msg.Text))
	s.notifyLocked()
	resp := smsResponse{ID: msg.ID, ConversationID: msg.ConversationID, FromAddress: msg.From, ToAddress: msg.To,
		MessengerType: "sms", TextBody: msg.Text, Timestamp: formatTime(now),
		SelfURI: "/api/v2/conversations/messages/" + msg.ConversationID + "/messages/" + msg.ID}
	if c.user != nil {
		resp.User = &wireRef{ID: c.user.id, SelfURI: "/api/v2/users/" + c.user.id}
	}
	writeJSON(w, http.StatusAccepted, resp)
	return nil
}

type wireNumber struct {
	ID                          string   `json:"id"`
	Name                        string   `json:"name"`
	PhoneNumber                 string   `json:"phoneNumber"`
	PhoneNumberType             string   `json:"phoneNumberType"`
	ProvisionedThroughPureCloud bool     `json:"provisionedThroughPureCloud"`
	PhoneNumberStatus           string   `json:"phoneNumberStatus"`
	CountryCode                 string   `json:"countryCode"`
	Capabilities                []string `json:"capabilities"`
	SelfURI                     string   `json:"selfUri"`
}

// GET /api/v2/routing/sms/phonenumbers.
func (s *Sandbox) listSMSNumbers(w http.ResponseWriter, r *http.Request, c caller) error {
	size, number, err := queryPaging(r, 500)
	if err != nil {
		return err
	}
	s.mu.Lock()
	var all []wireNumber
	for _, n := range s.tenantLocked(c.org()).smsNumbers {
		id := uuid.NewSHA1(uuid.NameSpaceOID, []byte(n)).String()
		all = append(all, wireNumber{ID: id, Name: n, PhoneNumber: n, PhoneNumberType: "local",
			ProvisionedThroughPureCloud: true, PhoneNumberStatus: "active", CountryCode: "US",
			Capabilities: []string{"sms"}, SelfURI: "/api/v2/routing/sms/phonenumbers/" + id})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, newListing(all, size, number, "/api/v2/routing/sms/phonenumbers", nil))
	return nil
}

// Wire format of agentless email.

type emailAddress struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

type emailRequest struct {
	SenderType     string         `json:"senderType"`
	FromAddress    *emailAddress  `json:"fromAddress"`
	ToAddresses    []emailAddress `json:"toAddresses"`
	ReplyToAddress *emailAddress  `json:"replyToAddress,omitempty"`
	Subject        string         `json:"subject"`
	TextBody       string         `json:"textBody,omitempty"`
	HTMLBody       string         `json:"htmlBody,omitempty"`
}

type emailResponse struct {
	ID             string         `json:"id"`
	ConversationID string         `json:"conversationId"`
	SenderType     string         `json:"senderType"`
	FromAddress    emailAddress   `json:"fromAddress"`
	ToAddresses    []emailAddress `json:"toAddresses"`
	ReplyToAddress *emailAddress  `json:"replyToAddress,omitempty"`
	Subject        string         `json:"subject"`
	DateCreated    string         `json:"dateCreated"`
	SelfURI        string         `json:"selfUri"`
}

func validEmail(a string) bool {
	p, err := mail.ParseAddress(a)
	return err == nil && p.Address == a && p.Name == ""
}

func emailDomain(a string) string {
	_, d, _ := strings.Cut(a, "@")
	return strings.ToLower(d)
}

// POST /api/v2/conversations/emails/agentless.
func (s *Sandbox) sendEmail(w http.ResponseWriter, r *http.Request, c caller) error {
	var req emailRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	switch {
	case req.SenderType == "":
		return badRequest("senderType", "senderType is required.")
	case req.SenderType != "Outbound":
		return badRequest("senderType", "senderType must be Outbound.")
	case req.FromAddress == nil || req.FromAddress.Email == "":
		return badRequest("fromAddress", "fromAddress.email is required.")
	case !validEmail(req.FromAddress.Email):
		return badRequest("fromAddress", "fromAddress.email is not a valid email address.")
	case len(req.ToAddresses) != 1:
		return badRequest("toAddresses", "toAddresses must hold exactly one recipient.")
	case !validEmail(req.ToAddresses[0].Email):
		return badRequest("toAddresses", "toAddresses[0].email is not a valid email address.")
	case req.ReplyToAddress != nil && !validEmail(req.ReplyToAddress.Email):
		return badRequest("replyToAddress", "replyToAddress.email is not a valid email address.")
	case req.Subject == "":
		return badRequest("subject", "subject is required.")
	case utf8.RuneCountInString(req.Subject) > maxEmailSubject:
		return badRequest("subject", "subject exceeds the maximum length of %d characters.", maxEmailSubject)
	case req.TextBody == "" && req.HTMLBody == "":
		return badRequest("textBody", "textBody or htmlBody is required.")
	case len(req.TextBody)+len(req.HTMLBody) > maxEmailBody:
		return badRequest("textBody", "The email body exceeds the maximum size of 3 MB.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.tenantLocked(c.org()).emailDomains, emailDomain(req.FromAddress.Email)) {
		return badRequest("fromAddress", "The domain of fromAddress is not an outbound email domain of this organization.")
	}
	now := s.clock.Now()
	if ok, wait := s.tenantLocked(c.org()).emailWindow.take(now, s.opts.EmailsPerMinute, time.Minute); !ok {
		return &apiError{status: http.StatusTooManyRequests, code: codeTooManyRequests, retryAfter: wait,
			message: fmt.Sprintf("Agentless email rate exceeded: [%d] messages for [60] seconds.", s.opts.EmailsPerMinute)}
	}
	to := req.ToAddresses[0]
	msg := OutboxMessage{ID: uuid.NewString(), ConversationID: uuid.NewString(), Channel: "email",
		From: req.FromAddress.Email, FromName: req.FromAddress.Name, To: to.Email, ToName: to.Name,
		Subject: req.Subject, Body: req.TextBody, HTML: req.HTMLBody, ClientID: c.client.ID, OrgID: c.org(), Time: now}
	if req.ReplyToAddress != nil {
		msg.ReplyTo = req.ReplyToAddress.Email
	}
	s.outbox = append(s.outbox, msg)
	s.log.Info("sandbox email accepted", "conversation_id", msg.ConversationID)
	s.notifyLocked()
	writeJSON(w, http.StatusAccepted, emailResponse{ID: msg.ID, ConversationID: msg.ConversationID, SenderType: "Outbound",
		FromAddress: *req.FromAddress, ToAddresses: []emailAddress{to}, ReplyToAddress: req.ReplyToAddress,
		Subject: req.Subject, DateCreated: formatTime(now),
		SelfURI: "/api/v2/conversations/emails/" + msg.ConversationID + "/messages/" + msg.ID})
	return nil
}

type wireVerification struct {
	Status string `json:"status"`
}

type wireOutboundDomain struct {
	ID                      string           `json:"id"`
	Name                    string           `json:"name"`
	CnameVerificationResult wireVerification `json:"cnameVerificationResult"`
	DkimVerificationResult  wireVerification `json:"dkimVerificationResult"`
	SenderType              string           `json:"senderType"`
	SelfURI                 string           `json:"selfUri"`
}

// GET /api/v2/routing/email/outbound/domains.
func (s *Sandbox) listEmailDomains(w http.ResponseWriter, r *http.Request, c caller) error {
	size, number, err := queryPaging(r, 500)
	if err != nil {
		return err
	}
	s.mu.Lock()
	var all []wireOutboundDomain
	for _, d := range s.tenantLocked(c.org()).emailDomains {
		all = append(all, wireDomain(d))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, newListing(all, size, number, "/api/v2/routing/email/outbound/domains", nil))
	return nil
}

// Domain sender types Genesys names: Unknown, EmailDomain, MockEmailDomain,
// EmailSmtpDomain. The sandbox's domains are Genesys-hosted ones.
const senderTypeEmailDomain = "EmailDomain"

func wireDomain(d string) wireOutboundDomain {
	return wireOutboundDomain{ID: d, Name: d, CnameVerificationResult: wireVerification{"VERIFIED"},
		DkimVerificationResult: wireVerification{"VERIFIED"}, SenderType: senderTypeEmailDomain,
		SelfURI: "/api/v2/routing/email/outbound/domains/" + d}
}

// GET /api/v2/routing/email/outbound/domains/{domainId}: one domain by name, which
// routing:email:view suffices for.
func (s *Sandbox) getEmailDomain(w http.ResponseWriter, r *http.Request, c caller) error {
	id := strings.ToLower(r.PathValue("domainId"))
	s.mu.Lock()
	found := slices.Contains(s.tenantLocked(c.org()).emailDomains, id)
	s.mu.Unlock()
	if !found {
		return notFound("The outbound domain %s was not found.", id)
	}
	writeJSON(w, http.StatusOK, wireDomain(id))
	return nil
}
