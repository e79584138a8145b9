package genesys

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Agentless message limits documented by Genesys Cloud, checked before sending so that a
// message that cannot succeed never uses a request.
const (
	MaxSMSLength          = 765     // characters of textBody
	MaxEmailSubjectLength = 400     // characters
	MaxEmailBodyBytes     = 3 << 20 // bytes of text plus HTML body
)

// SMSRequest is the body of POST /api/v2/conversations/messages/agentless.
type SMSRequest struct {
	FromAddress            string `json:"fromAddress"`
	ToAddress              string `json:"toAddress"`
	ToAddressMessengerType string `json:"toAddressMessengerType"`
	TextBody               string `json:"textBody"`
	// UseExistingActiveConversation lets the SMS join a connected conversation with the
	// same number instead of failing.
	UseExistingActiveConversation bool `json:"useExistingActiveConversation,omitempty"`
}

// AddressableEntityRef is an {id, selfUri} reference.
type AddressableEntityRef struct {
	ID      string `json:"id,omitempty"`
	SelfURI string `json:"selfUri,omitempty"`
}

// SMSResponse is Genesys' answer to an agentless SMS.
type SMSResponse struct {
	ID             string                `json:"id"`
	ConversationID string                `json:"conversationId"`
	FromAddress    string                `json:"fromAddress"`
	ToAddress      string                `json:"toAddress"`
	MessengerType  string                `json:"messengerType"`
	TextBody       string                `json:"textBody"`
	Timestamp      string                `json:"timestamp"`
	User           *AddressableEntityRef `json:"user,omitempty"`
	SelfURI        string                `json:"selfUri"`
}

// SendSMS sends one agentless SMS. ToAddressMessengerType defaults to "sms". It is a
// non-idempotent send: see the package comment for when it is retried.
func (c *Client) SendSMS(ctx context.Context, req SMSRequest) (SMSResponse, error) {
	const op = "send sms"
	if req.ToAddressMessengerType == "" {
		req.ToAddressMessengerType = "sms"
	}
	switch {
	case req.FromAddress == "":
		return SMSResponse{}, invalid(op, "fromAddress is required")
	case req.ToAddress == "":
		return SMSResponse{}, invalid(op, "toAddress is required")
	case !strings.HasPrefix(req.ToAddress, "+") && req.ToAddressMessengerType == "sms":
		return SMSResponse{}, invalid(op, "toAddress must be E.164 (+ and digits)")
	case strings.TrimSpace(req.TextBody) == "":
		return SMSResponse{}, invalid(op, "textBody is required")
	case utf8.RuneCountInString(req.TextBody) > MaxSMSLength:
		return SMSResponse{}, invalid(op, "textBody has %d characters, at most %d allowed", utf8.RuneCountInString(req.TextBody), MaxSMSLength)
	}
	var out SMSResponse
	err := c.do(ctx, call{op: op, method: http.MethodPost, path: "/conversations/messages/agentless", body: req, out: &out, send: true})
	return out, err
}

// EmailAddress is an address with an optional display name.
type EmailAddress struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

// EmailRequest is the body of POST /api/v2/conversations/emails/agentless.
type EmailRequest struct {
	SenderType     string         `json:"senderType"`
	FromAddress    EmailAddress   `json:"fromAddress"`
	ToAddresses    []EmailAddress `json:"toAddresses"`
	ReplyToAddress *EmailAddress  `json:"replyToAddress,omitempty"`
	Subject        string         `json:"subject"`
	TextBody       string         `json:"textBody,omitempty"`
	HTMLBody       string         `json:"htmlBody,omitempty"`
}

// EmailResponse is Genesys' answer to an agentless email.
type EmailResponse struct {
	ID             string         `json:"id"`
	ConversationID string         `json:"conversationId"`
	SenderType     string         `json:"senderType"`
	FromAddress    EmailAddress   `json:"fromAddress"`
	ToAddresses    []EmailAddress `json:"toAddresses"`
	Subject        string         `json:"subject"`
	DateCreated    string         `json:"dateCreated"`
	SelfURI        string         `json:"selfUri"`
}

// SendEmail sends one agentless email to exactly one recipient. SenderType defaults to
// "Outbound", the only value Genesys accepts. It is a non-idempotent send.
func (c *Client) SendEmail(ctx context.Context, req EmailRequest) (EmailResponse, error) {
	const op = "send email"
	if req.SenderType == "" {
		req.SenderType = "Outbound"
	}
	switch {
	case req.SenderType != "Outbound":
		return EmailResponse{}, invalid(op, "senderType must be Outbound")
	case !strings.Contains(req.FromAddress.Email, "@"):
		return EmailResponse{}, invalid(op, "fromAddress.email is required")
	case len(req.ToAddresses) != 1:
		return EmailResponse{}, invalid(op, "exactly one toAddresses entry is required, got %d", len(req.ToAddresses))
	case !strings.Contains(req.ToAddresses[0].Email, "@"):
		return EmailResponse{}, invalid(op, "toAddresses[0].email is not an email address")
	case strings.TrimSpace(req.Subject) == "":
		return EmailResponse{}, invalid(op, "subject is required")
	case utf8.RuneCountInString(req.Subject) > MaxEmailSubjectLength:
		return EmailResponse{}, invalid(op, "subject has %d characters, at most %d allowed", utf8.RuneCountInString(req.Subject), MaxEmailSubjectLength)
	case req.TextBody == "" && req.HTMLBody == "":
		return EmailResponse{}, invalid(op, "textBody or htmlBody is required")
	case len(req.TextBody)+len(req.HTMLBody) > MaxEmailBodyBytes:
		return EmailResponse{}, invalid(op, "body is %d bytes, at most %d allowed", len(req.TextBody)+len(req.HTMLBody), MaxEmailBodyBytes)
	}
	var out EmailResponse
	err := c.do(ctx, call{op: op, method: http.MethodPost, path: "/conversations/emails/agentless", body: req, out: &out, send: true})
	return out, err
}

// SMSPhoneNumber is one number of the organization's SMS inventory.
type SMSPhoneNumber struct {
	ID                string `json:"id,omitempty"`
	Name              string `json:"name,omitempty"`
	PhoneNumber       string `json:"phoneNumber"`
	PhoneNumberType   string `json:"phoneNumberType,omitempty"`
	PhoneNumberStatus string `json:"phoneNumberStatus,omitempty"`
	CountryCode       string `json:"countryCode,omitempty"`
	SelfURI           string `json:"selfUri,omitempty"`
}

// listing is Genesys' paged entity listing.
type listing[T any] struct {
	Entities   []T `json:"entities"`
	PageSize   int `json:"pageSize"`
	PageNumber int `json:"pageNumber"`
	Total      int `json:"total"`
	PageCount  int `json:"pageCount"`
}

// maxPages stops paging through a listing that never ends (a misbehaving server).
const maxPages = 100

// listAll pages through a listing endpoint, calling keep on each entity; keep returns
// false to stop early.
func listAll[T any](ctx context.Context, c *Client, op, path string, q url.Values, keep func(T) bool) error {
	if q == nil {
		q = url.Values{}
	}
	q.Set("pageSize", "100")
	for page := 1; page <= maxPages; page++ {
		q.Set("pageNumber", strconv.Itoa(page))
		var l listing[T]
		if err := c.do(ctx, call{op: op, method: http.MethodGet, path: path, query: q, out: &l}); err != nil {
			return err
		}
		for _, e := range l.Entities {
			if !keep(e) {
				return nil
			}
		}
		if len(l.Entities) == 0 || (l.PageCount > 0 && page >= l.PageCount) || (l.PageCount == 0 && len(l.Entities) < 100) {
			return nil
		}
	}
	return nil
}

// SMSPhoneNumbers lists the organization's SMS number inventory (all pages), for the SMS
// setup page to offer as sender.
func (c *Client) SMSPhoneNumbers(ctx context.Context) ([]SMSPhoneNumber, error) {
	var out []SMSPhoneNumber
	err := listAll(ctx, c, "list sms phone numbers", "/routing/sms/phonenumbers", nil, func(n SMSPhoneNumber) bool {
		out = append(out, n)
		return true
	})
	return out, err
}

// EmailDomain is one outbound (campaign/agentless) email domain of the organization.
type EmailDomain struct {
	ID         string `json:"id"`
	Name       string `json:"name,omitempty"`
	SenderType string `json:"senderType,omitempty"`
	SelfURI    string `json:"selfUri,omitempty"`
}

// OutboundEmailDomain returns one outbound email domain by name, which Genesys allows
// with routing:email:view (listing them all needs routing:email:manage). A domain the
// organization does not have is an *APIError matching rendezvous.ErrNotFound.
func (c *Client) OutboundEmailDomain(ctx context.Context, name string) (EmailDomain, error) {
	if strings.TrimSpace(name) == "" {
		return EmailDomain{}, invalid("get outbound email domain", "name is required")
	}
	var d EmailDomain
	err := c.do(ctx, call{op: "get outbound email domain", method: http.MethodGet,
		path: "/routing/email/outbound/domains/" + url.PathEscape(name), out: &d})
	return d, err
}

// OutboundEmailDomains lists the domains agentless email may be sent from; an entity's id
// is the domain name (for example "mail.example.com"). Genesys requires
// routing:email:manage for the listing. A domain's SenderType is one of Unknown,
// EmailDomain, MockEmailDomain and EmailSmtpDomain.
func (c *Client) OutboundEmailDomains(ctx context.Context) ([]EmailDomain, error) {
	var out []EmailDomain
	err := listAll(ctx, c, "list outbound email domains", "/routing/email/outbound/domains", nil, func(d EmailDomain) bool {
		out = append(out, d)
		return true
	})
	return out, err
}
