package notify

import (
	"context"
	"encoding/json"
	"fmt"

	"rendezvous/genesys/sandbox"
	"rendezvous/secret"
	"rendezvous/store"
)

// SeedDemo configures and marks verified the SMS and email channels of orgID with the
// built-in sandbox's seeded OAuth clients, SMS number and outbound domain, so that a
// booking in the embedded default sends its notifications at once. It makes no Genesys
// call (the sandbox may not be listening yet) and leaves a channel an administrator has
// already configured alone, so it is safe to call at every start.
func (s *Service) SeedDemo(ctx context.Context, orgID string, demo sandbox.DemoOrg) error {
	seed := func(ch Channel, client sandbox.DemoClient, cfg channelConfig) error {
		sealed, err := s.secrets.Seal([]byte(client.Secret))
		if err != nil {
			return fmt.Errorf("seed %s: %w", ch, err)
		}
		cfgJSON, err := json.Marshal(cfg)
		if err != nil {
			return fmt.Errorf("seed %s: %w", ch, err)
		}
		now := s.clock.Now()
		_, err = s.st.UpdateNotifyChannel(ctx, orgID, string(ch), func(c *store.NotifyChannel) error {
			if c.ClientID != "" {
				return nil // configured before (by an earlier start or an administrator)
			}
			c.ClientID, c.SecretSealed, c.SecretHint, c.Config = client.ID, sealed, secret.Hint(client.Secret), cfgJSON
			c.CheckedAt, c.VerifiedAt, c.VerifiedTo = now, now, "sandbox"
			return nil
		})
		if err != nil {
			return fmt.Errorf("seed %s: %w", ch, err)
		}
		return nil
	}
	if err := seed(ChannelSMS, demo.SMSClient, channelConfig{FromNumber: demo.SMSNumber}); err != nil {
		return err
	}
	name := demo.OrgName
	if name == "" {
		name = "Rendezvous"
	}
	return seed(ChannelEmail, demo.EmailClient, channelConfig{Domain: demo.EmailDomain, SenderLocalPart: "no-reply", SenderName: name})
}
