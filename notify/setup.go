package notify

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/genesys"
	"rendezvous/secret"
	"rendezvous/store"
)

// One-time-password rules.
const (
	OTPDigits      = 6
	OTPLifetime    = 10 * time.Minute
	OTPMaxAttempts = 5
	// OTPLockout is how long a channel refuses new codes after OTPMaxAttempts wrong ones.
	OTPLockout = 15 * time.Minute
)

// ChannelInput is what an administrator saves for a channel. An empty ClientSecret keeps
// the stored one (so the number or sender can change without re-entering it).
type ChannelInput struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret,omitempty"`
	// SMS: the sender number, E.164, from the SMS number inventory.
	FromNumber string `json:"fromNumber,omitempty"`
	// Email: the outbound domain, the sender's local part and display name.
	Domain          string `json:"domain,omitempty"`
	SenderLocalPart string `json:"senderLocalPart,omitempty"`
	SenderName      string `json:"senderName,omitempty"`
}

// channelConfig is the JSON kept in the channel row's config column.
type channelConfig struct {
	FromNumber      string `json:"fromNumber,omitempty"`
	Domain          string `json:"domain,omitempty"`
	SenderLocalPart string `json:"senderLocalPart,omitempty"`
	SenderName      string `json:"senderName,omitempty"`
}

func (c channelConfig) fromEmail() string { return c.SenderLocalPart + "@" + c.Domain }

// ChannelView is a channel's setup as the API shows it: never the secret, only its hint.
type ChannelView struct {
	Channel          Channel           `json:"channel"`
	Configured       bool              `json:"configured"`
	ClientID         string            `json:"clientId,omitempty"`
	ClientSecretHint string            `json:"clientSecretHint,omitempty"`
	FromNumber       string            `json:"fromNumber,omitempty"`
	Domain           string            `json:"domain,omitempty"`
	SenderLocalPart  string            `json:"senderLocalPart,omitempty"`
	SenderName       string            `json:"senderName,omitempty"`
	FromAddress      string            `json:"fromAddress,omitempty"`
	CheckedAt        *time.Time        `json:"checkedAt,omitempty"`
	Verified         bool              `json:"verified"`
	VerifiedAt       *time.Time        `json:"verifiedAt,omitempty"`
	VerifiedTo       string            `json:"verifiedTo,omitempty"`
	Verification     *VerificationView `json:"verification,omitempty"`
	// RequiredPermissions lists what the OAuth client needs in Genesys Cloud.
	RequiredPermissions []string `json:"requiredPermissions"`
}

// VerificationView is the state of a pending one-time-password verification.
type VerificationView struct {
	To           string     `json:"to,omitempty"` // masked
	ExpiresAt    *time.Time `json:"expiresAt,omitempty"`
	AttemptsLeft int        `json:"attemptsLeft"`
	LockedUntil  *time.Time `json:"lockedUntil,omitempty"`
}

// The Genesys Cloud permissions of the channels' OAuth clients: one to send, one to read
// what SaveChannel checks the sender against.
const (
	permSMSSend      = "conversation:message:create"
	permSMSNumbers   = "sms:phoneNumber:view"
	permEmailSend    = "conversation:email:create (or conversation:agentlessEmail:send)"
	permEmailDomains = "routing:email:manage" // listing outbound domains; Genesys has no routing:email:outbound:view
)

// RequiredPermissions lists the Genesys Cloud permissions a channel's OAuth client needs.
func RequiredPermissions(ch Channel) []string {
	if ch == ChannelSMS {
		return []string{permSMSSend, permSMSNumbers}
	}
	return []string{permEmailSend, permEmailDomains}
}

func (s *Service) view(c store.NotifyChannel) ChannelView {
	ch := Channel(c.Channel)
	v := ChannelView{Channel: ch, RequiredPermissions: RequiredPermissions(ch)}
	if c.ClientID == "" {
		return v
	}
	var cfg channelConfig
	_ = json.Unmarshal(c.Config, &cfg) // written by us; an empty config shows as such
	v.Configured = true
	v.ClientID, v.ClientSecretHint = c.ClientID, c.SecretHint
	v.FromNumber, v.Domain, v.SenderLocalPart, v.SenderName = cfg.FromNumber, cfg.Domain, cfg.SenderLocalPart, cfg.SenderName
	if ch == ChannelEmail {
		v.FromAddress = cfg.fromEmail()
	}
	v.CheckedAt = timePtr(c.CheckedAt)
	v.Verified, v.VerifiedAt, v.VerifiedTo = !c.VerifiedAt.IsZero(), timePtr(c.VerifiedAt), c.VerifiedTo
	now := s.clock.Now()
	if c.OTPHash != "" || c.OTPLockedUntil.After(now) {
		vv := &VerificationView{AttemptsLeft: max(OTPMaxAttempts-c.OTPAttempts, 0)}
		if c.OTPHash != "" {
			vv.To, vv.ExpiresAt = c.OTPTo, timePtr(c.OTPExpiresAt)
		}
		if c.OTPLockedUntil.After(now) {
			vv.LockedUntil, vv.AttemptsLeft = timePtr(c.OTPLockedUntil), 0
		}
		v.Verification = vv
	}
	return v
}

// Channel returns a channel's setup.
func (s *Service) Channel(ctx context.Context, orgID string, ch Channel) (ChannelView, error) {
	c, err := s.st.NotifyChannel(ctx, orgID, string(ch))
	if errors.Is(err, rendezvous.ErrNotFound) {
		return s.view(store.NotifyChannel{Channel: string(ch)}), nil
	}
	if err != nil {
		return ChannelView{}, err
	}
	return s.view(c), nil
}

// SaveChannel checks a channel's credentials and sender against Genesys Cloud and saves
// them. Checks: the OAuth client gets a token; it may read the SMS number inventory or the
// outbound email domains; the number is in the inventory, or the domain among the
// outbound domains. Every failure is reported per field, in words an administrator can act
// on, and nothing is saved. Any change of credentials, number, domain or sender clears the
// verification.
func (s *Service) SaveChannel(ctx context.Context, orgID string, ch Channel, in ChannelInput) (ChannelView, error) {
	var p rendezvous.Problems
	in.ClientID = strings.TrimSpace(in.ClientID)
	in.ClientSecret = strings.TrimSpace(in.ClientSecret)
	if in.ClientID == "" {
		p.Add("clientId", "is required: the client id of a Genesys Cloud OAuth client with the Client Credentials grant")
	} else if err := rendezvous.CheckLine(in.ClientID + in.ClientSecret); err != nil {
		p.Add("clientId", "and clientSecret must be one line each: %s", err)
	}
	cfg := channelConfig{}
	switch ch {
	case ChannelSMS:
		if in.Domain != "" || in.SenderLocalPart != "" || in.SenderName != "" {
			p.Add("domain", "belongs to the email setup; SMS takes clientId, clientSecret and fromNumber")
		}
		// Only the E.164 shape is checked: the inventory check below is the real one, and
		// Genesys may hold numbers (short codes, test ranges) a phone library refuses.
		cfg.FromNumber = strings.ReplaceAll(strings.TrimSpace(in.FromNumber), " ", "")
		if ok, _ := regexp.MatchString(`^\+[1-9][0-9]{6,14}$`, cfg.FromNumber); !ok {
			p.Add("fromNumber", "must be an E.164 number from the SMS number inventory, such as +14155550123")
		}
	case ChannelEmail:
		if in.FromNumber != "" {
			p.Add("fromNumber", "belongs to the SMS setup; email takes clientId, clientSecret, domain, senderLocalPart and senderName")
		}
		cfg.Domain = strings.ToLower(strings.TrimSpace(in.Domain))
		cfg.SenderLocalPart = strings.TrimSpace(in.SenderLocalPart)
		cfg.SenderName = strings.TrimSpace(in.SenderName)
		if cfg.Domain == "" {
			p.Add("domain", "is required: an outbound (campaign/agentless) email domain of your Genesys Cloud organization")
		}
		if cfg.SenderLocalPart == "" {
			p.Add("senderLocalPart", "is required, for example no-reply")
		} else if _, err := rendezvous.NormalizeEmail(cfg.fromEmail()); err != nil || strings.ContainsAny(cfg.SenderLocalPart, "@ ") {
			p.Add("senderLocalPart", "%q does not make an email address with the domain", cfg.SenderLocalPart)
		}
		if len(cfg.SenderName) > 100 {
			p.Add("senderName", "is longer than 100 characters")
		} else if err := rendezvous.CheckLine(cfg.SenderName); err != nil {
			p.Add("senderName", "%s", err) // it becomes the From display name: one line
		}
	}
	old, err := s.st.NotifyChannel(ctx, orgID, string(ch))
	if err != nil && !errors.Is(err, rendezvous.ErrNotFound) {
		return ChannelView{}, err
	}
	secretText := in.ClientSecret
	if secretText == "" {
		if old.ClientID == "" || old.ClientID != in.ClientID {
			p.Add("clientSecret", "is required when the client id is new")
		} else {
			b, err := s.secrets.Open(old.SecretSealed)
			if err != nil {
				p.Add("clientSecret", "the stored secret cannot be opened (was the secret key changed?); enter it again")
			}
			secretText = string(b)
		}
	}
	if err := p.Err(); err != nil {
		return ChannelView{}, err
	}
	if err := s.check(ctx, orgID, ch, in.ClientID, secretText, cfg); err != nil {
		return ChannelView{}, err
	}
	sealed, err := s.secrets.Seal([]byte(secretText))
	if err != nil {
		return ChannelView{}, fmt.Errorf("seal client secret: %w", err)
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return ChannelView{}, fmt.Errorf("encode channel: %w", err)
	}
	now := s.clock.Now()
	c, err := s.st.UpdateNotifyChannel(ctx, orgID, string(ch), func(c *store.NotifyChannel) error {
		oldSecret := ""
		if len(c.SecretSealed) > 0 {
			if b, err := s.secrets.Open(c.SecretSealed); err == nil {
				oldSecret = string(b)
			}
		}
		if c.ClientID != in.ClientID || oldSecret != secretText || string(c.Config) != string(cfgJSON) {
			c.VerifiedAt, c.VerifiedTo = time.Time{}, ""
			c.OTPHash, c.OTPSalt, c.OTPTo, c.OTPExpiresAt, c.OTPAttempts = "", "", "", time.Time{}, 0
		}
		c.ClientID, c.SecretSealed, c.SecretHint, c.Config, c.CheckedAt = in.ClientID, sealed, secret.Hint(secretText), cfgJSON, now
		return nil
	})
	if err != nil {
		return ChannelView{}, err
	}
	s.log.Info("notification channel saved", "org_id", orgID, "channel", ch, "verified", !c.VerifiedAt.IsZero())
	return s.view(c), nil
}

// check runs the credential checks of SaveChannel.
func (s *Service) check(ctx context.Context, orgID string, ch Channel, clientID, clientSecret string, cfg channelConfig) error {
	have, err := s.inventory(ctx, orgID, ch, clientID, clientSecret)
	if err != nil {
		return err
	}
	var p rendezvous.Problems
	if ch == ChannelSMS {
		if slices.Contains(have, cfg.FromNumber) {
			return nil
		}
		if len(have) == 0 {
			p.Add("fromNumber", "%s is not in the organization's SMS number inventory, which is empty: provision an SMS number in Genesys Cloud (Admin > Message > SMS Number Inventory) first", cfg.FromNumber)
		} else {
			p.Add("fromNumber", "%s is not in the organization's SMS number inventory; use one of %s", cfg.FromNumber, strings.Join(have, ", "))
		}
		return p.Err()
	}
	if slices.Contains(have, cfg.Domain) {
		return nil
	}
	if len(have) == 0 {
		p.Add("domain", "%s is not an outbound email domain of the organization, which has none: add a campaign/agentless domain in Genesys Cloud (Admin > Email > Outbound domains) first", cfg.Domain)
	} else {
		p.Add("domain", "%s is not an outbound email domain of the organization; use one of %s", cfg.Domain, strings.Join(have, ", "))
	}
	return p.Err()
}

// Inventory checks a channel's OAuth client with Genesys Cloud and lists what it may send
// from: the SMS numbers of the organization's inventory, or its outbound email domains
// (lower case), for an administrator to pick from. An empty clientSecret uses the stored
// one when clientID is the stored client's. Failures are field problems that say what to
// fix in Genesys Cloud.
func (s *Service) Inventory(ctx context.Context, orgID string, ch Channel, clientID, clientSecret string) ([]string, error) {
	clientID, clientSecret = strings.TrimSpace(clientID), strings.TrimSpace(clientSecret)
	var p rendezvous.Problems
	if clientID == "" {
		p.Add("clientId", "is required: the client id of a Genesys Cloud OAuth client with the Client Credentials grant")
		return nil, p.Err()
	}
	if clientSecret == "" {
		old, err := s.st.NotifyChannel(ctx, orgID, string(ch))
		if err != nil && !errors.Is(err, rendezvous.ErrNotFound) {
			return nil, err
		}
		if old.ClientID == "" || old.ClientID != clientID {
			p.Add("clientSecret", "is required when the client id is new")
			return nil, p.Err()
		}
		b, err := s.secrets.Open(old.SecretSealed)
		if err != nil {
			p.Add("clientSecret", "the stored secret cannot be opened (was the secret key changed?); enter it again")
			return nil, p.Err()
		}
		clientSecret = string(b)
	}
	return s.inventory(ctx, orgID, ch, clientID, clientSecret)
}

// inventory is Inventory with the secret known.
func (s *Service) inventory(ctx context.Context, orgID string, ch Channel, clientID, clientSecret string) ([]string, error) {
	var p rendezvous.Problems
	gc, err := s.client(ctx, orgID, clientID, clientSecret)
	if err != nil {
		return nil, err
	}
	need := genesys.CapabilitySMSNumbers
	perm := permSMSNumbers
	if ch == ChannelEmail {
		need, perm = genesys.CapabilityEmailDomains, permEmailDomains
	}
	res, err := gc.CheckCredentials(ctx, need)
	var oe *genesys.OAuthError
	switch {
	case errors.As(err, &oe) && (oe.InvalidClient() || oe.Status == 400 || oe.Status == 401):
		p.Add("clientSecret", "Genesys Cloud refused this client id and secret (%s): check that the OAuth client exists, uses the Client Credentials grant, and that the secret was copied completely", strings.TrimSpace(oe.Code+" "+oe.Description))
		return nil, p.Err()
	case err != nil:
		p.Add("clientId", "could not check the credentials with Genesys Cloud: %v; try again in a moment", err)
		return nil, p.Err()
	case slices.Contains(res.Missing, need):
		p.Add("clientId", "the OAuth client lacks the permission %s: in Genesys Cloud, give the client's role that permission (Admin > Roles / Permissions), then save again", perm)
		return nil, p.Err()
	}
	var have []string
	if ch == ChannelSMS {
		nums, err := gc.SMSPhoneNumbers(ctx)
		if err != nil {
			p.Add("clientId", "could not read the SMS number inventory: %v", err)
			return nil, p.Err()
		}
		for _, n := range nums {
			have = append(have, n.PhoneNumber)
		}
		return have, nil
	}
	domains, err := gc.OutboundEmailDomains(ctx)
	if err != nil {
		p.Add("clientId", "could not read the outbound email domains: %v", err)
		return nil, p.Err()
	}
	for _, d := range domains {
		// A domain is known by its id (the domain name) and may carry a name too; either
		// may be what the administrator typed.
		id, name := strings.ToLower(d.ID), strings.ToLower(d.Name)
		if id != "" {
			have = append(have, id)
		}
		if name != "" && name != id {
			have = append(have, name)
		}
	}
	return have, nil
}

// loadChannel returns a channel's setup with its opened secret.
func (s *Service) loadChannel(ctx context.Context, orgID string, ch Channel) (store.NotifyChannel, channelConfig, string, error) {
	c, err := s.st.NotifyChannel(ctx, orgID, string(ch))
	if err != nil {
		return c, channelConfig{}, "", err
	}
	var cfg channelConfig
	if err := json.Unmarshal(c.Config, &cfg); err != nil {
		return c, cfg, "", fmt.Errorf("%s setup: %w", ch, err)
	}
	sec, err := s.secrets.Open(c.SecretSealed)
	if err != nil {
		return c, cfg, "", fmt.Errorf("%s client secret: %w", ch, err)
	}
	return c, cfg, string(sec), nil
}

// StartVerification sends a one-time password through the channel to an address the
// administrator controls (a mobile number for SMS, an email address for email). The send
// itself proves the permission to create messages, which cannot be probed otherwise.
// Only a salted hash of the code is kept. The message is written in lang, the language the
// administrator gave (English, German and Greek are known; anything else gets English).
func (s *Service) StartVerification(ctx context.Context, orgID string, ch Channel, to, lang string) (ChannelView, error) {
	var p rendezvous.Problems
	var err error
	if ch == ChannelSMS {
		if to, err = rendezvous.NormalizePhone(to); err != nil {
			p.Add("to", "%s", err)
		}
	} else if to, err = rendezvous.NormalizeEmail(to); err != nil {
		p.Add("to", "%s", err)
	}
	if err := p.Err(); err != nil {
		return ChannelView{}, err
	}
	c, cfg, sec, err := s.loadChannel(ctx, orgID, ch)
	if errors.Is(err, rendezvous.ErrNotFound) {
		return ChannelView{}, rendezvous.WithDetail(fmt.Errorf("save the %s credentials before verifying: %w", ch, rendezvous.ErrConflict),
			"Save the %s credentials before verifying.", ch)
	}
	if err != nil {
		return ChannelView{}, err
	}
	now := s.clock.Now()
	if c.OTPLockedUntil.After(now) {
		return ChannelView{}, rendezvous.WithDetail(fmt.Errorf("too many wrong codes: %w", rendezvous.ErrRateLimited),
			"Too many wrong codes; request a new code after %s.", c.OTPLockedUntil.UTC().Format(time.RFC3339))
	}
	code, err := newOTP()
	if err != nil {
		return ChannelView{}, err
	}
	gc, err := s.client(ctx, orgID, c.ClientID, sec)
	if err != nil {
		return ChannelView{}, err
	}
	_, _, err = s.send(ctx, &prepared{client: gc, ch: ch, cfg: cfg, to: to, msg: otpText(code, ch, lang)})
	if err != nil {
		return ChannelView{}, sendProblem(ch, err)
	}
	salt, err := newSalt()
	if err != nil {
		return ChannelView{}, err
	}
	c, err = s.st.UpdateNotifyChannel(ctx, orgID, string(ch), func(c *store.NotifyChannel) error {
		c.OTPHash, c.OTPSalt, c.OTPTo = otpHash(salt, code), salt, mask(ch, to)
		c.OTPExpiresAt, c.OTPAttempts = now.Add(OTPLifetime), 0
		return nil
	})
	if err != nil {
		return ChannelView{}, err
	}
	s.log.Info("verification code sent", "org_id", orgID, "channel", ch)
	return s.view(c), nil
}

// sendProblem turns a failed verification send into a message an administrator can act
// on.
func sendProblem(ch Channel, err error) error {
	var p rendezvous.Problems
	var ae *genesys.APIError
	perm := permSMSSend
	if ch == ChannelEmail {
		perm = permEmailSend
	}
	switch {
	case errors.As(err, &ae) && ae.Status == 403:
		p.Add("to", "Genesys Cloud refused to send: the OAuth client lacks the permission %s; add it to the client's role and try again", perm)
	case errors.As(err, &ae) && ae.Status == 400:
		p.Add("to", "Genesys Cloud refused the message: %s", ae.Body.Message)
	case errors.As(err, &ae) && ae.Status == 429:
		return rendezvous.WithDetail(fmt.Errorf("genesys rate limits the OAuth client: %w", rendezvous.ErrRateLimited),
			"Genesys Cloud is rate limiting this OAuth client; try again in a minute.")
	default:
		p.Add("to", "could not send the code through Genesys Cloud: %v", err)
	}
	return p.Err()
}

// ConfirmVerification checks a one-time password and marks the channel verified. Wrong
// codes are counted; after OTPMaxAttempts the code is void and the channel refuses new
// codes for OTPLockout. Codes expire after OTPLifetime.
func (s *Service) ConfirmVerification(ctx context.Context, orgID string, ch Channel, code string) (ChannelView, error) {
	code = strings.TrimSpace(code)
	now := s.clock.Now()
	var outcome error
	c, err := s.st.UpdateNotifyChannel(ctx, orgID, string(ch), func(c *store.NotifyChannel) error {
		var p rendezvous.Problems
		switch {
		case c.ClientID == "":
			return rendezvous.WithDetail(fmt.Errorf("save the %s credentials before verifying: %w", ch, rendezvous.ErrConflict),
				"Save the %s credentials before verifying.", ch)
		case c.OTPLockedUntil.After(now):
			return rendezvous.WithDetail(fmt.Errorf("too many wrong codes: %w", rendezvous.ErrRateLimited),
				"Too many wrong codes; request a new code after %s.", c.OTPLockedUntil.UTC().Format(time.RFC3339))
		case c.OTPHash == "":
			return rendezvous.WithDetail(fmt.Errorf("no verification code pending: %w", rendezvous.ErrConflict),
				"No verification code is pending; request one first.")
		case !now.Before(c.OTPExpiresAt):
			c.OTPHash, c.OTPSalt = "", ""
			p.Add("code", "has expired (codes are valid for %d minutes); request a new code", int(OTPLifetime/time.Minute))
			outcome = p.Err()
			return nil
		}
		if subtle.ConstantTimeCompare([]byte(otpHash(c.OTPSalt, code)), []byte(c.OTPHash)) == 1 {
			c.VerifiedAt, c.VerifiedTo = now, c.OTPTo
			c.OTPHash, c.OTPSalt, c.OTPTo, c.OTPExpiresAt, c.OTPAttempts = "", "", "", time.Time{}, 0
			return nil
		}
		c.OTPAttempts++
		if c.OTPAttempts >= OTPMaxAttempts {
			c.OTPHash, c.OTPSalt, c.OTPLockedUntil = "", "", now.Add(OTPLockout)
			outcome = fmt.Errorf("wrong code %d times; the code is void and new codes are refused until %s: %w",
				c.OTPAttempts, c.OTPLockedUntil.UTC().Format(time.RFC3339), rendezvous.ErrRateLimited)
			return nil
		}
		p.Add("code", "is wrong; %d attempts left", OTPMaxAttempts-c.OTPAttempts)
		outcome = p.Err()
		return nil
	})
	if err != nil {
		return ChannelView{}, err
	}
	if outcome != nil {
		return ChannelView{}, outcome
	}
	s.log.Info("notification channel verified", "org_id", orgID, "channel", ch)
	return s.view(c), nil
}

func newOTP() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("one-time password: %w", err)
	}
	return fmt.Sprintf("%0*d", OTPDigits, n.Int64()), nil
}

func newSalt() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// otpHash is a salted SHA-256 of a code. A six-digit code could be found from its hash by
// trying them all, but only within its ten minutes and with database access; the salt
// stops precomputed tables.
func otpHash(salt, code string) string {
	sum := sha256.Sum256([]byte(salt + ":" + code))
	return hex.EncodeToString(sum[:])
}
