package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"rendezvous"
	"rendezvous/secret"
	"rendezvous/store"
)

// Auth kinds of a subscription.
const (
	AuthNone   = "none"
	AuthBasic  = "basic"
	AuthOAuth2 = "oauth2"
)

// Input is what an administrator sets on a subscription. On update, nil and empty
// fields keep what is stored: Events nil keeps the events, an empty Password or
// ClientSecret keeps the stored one when the auth kind stays.
type Input struct {
	URL         string
	Description *string
	Events      []string
	// Enabled switches the subscription on (resuming a paused one) or off.
	Enabled *bool
	Auth    *AuthInput
}

// AuthInput is how Rendezvous authenticates to the receiver, besides the signature.
type AuthInput struct {
	Type         string // none, basic or oauth2
	Username     string // basic
	Password     string // basic
	TokenURL     string // oauth2
	ClientID     string // oauth2
	ClientSecret string // oauth2
	Scope        string // oauth2, optional
}

// apply validates in and writes it onto w, collecting every problem.
func (s *Service) apply(w *store.WebhookSubscription, in Input, creating bool) error {
	var p rendezvous.Problems
	if creating || in.URL != "" {
		if err := checkURL(in.URL, s.o.AllowPrivate); err != nil {
			p.Add("url", "%s", err.Error())
		} else {
			w.URL = in.URL
		}
	}
	if in.Description != nil {
		d := strings.TrimSpace(*in.Description)
		if utf8.RuneCountInString(d) > 200 {
			p.Add("description", "is longer than 200 characters")
		} else if strings.ContainsFunc(d, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			p.Add("description", "contains control characters")
		} else {
			w.Description = d
		}
	}
	if creating || in.Events != nil {
		if len(in.Events) == 0 {
			p.Add("events", "choose at least one of %s", strings.Join(rendezvous.WebhookEvents(), ", "))
		}
		var evs []string
		for i, e := range in.Events {
			if !rendezvous.IsWebhookEvent(e) {
				p.Add(fmt.Sprintf("events[%d]", i), "%q is not an event; use %s", e, strings.Join(rendezvous.WebhookEvents(), ", "))
				continue
			}
			if !slices.Contains(evs, e) {
				evs = append(evs, e)
			}
		}
		w.Events = evs
	}
	if in.Enabled != nil {
		if *in.Enabled {
			if w.State != store.WebhookActive {
				w.State, w.PausedReason, w.FailingSince = store.WebhookActive, "", time.Time{}
			}
		} else {
			w.State, w.PausedReason = store.WebhookDisabled, ""
		}
	}
	if a := in.Auth; a != nil || creating {
		if a == nil {
			a = &AuthInput{Type: AuthNone}
		}
		same := a.Type == w.AuthKind
		switch a.Type {
		case AuthNone, "":
			w.AuthKind, w.AuthUsername, w.AuthSecret, w.AuthSecretHint, w.AuthTokenURL, w.AuthScope = AuthNone, "", "", "", "", ""
		case AuthBasic:
			if a.Username == "" || strings.Contains(a.Username, ":") || len(a.Username) > 200 {
				p.Add("auth.username", "is required, at most 200 characters and without a colon")
			}
			if a.Password == "" && !same {
				p.Add("auth.password", "is required")
			}
			w.AuthKind, w.AuthUsername, w.AuthTokenURL, w.AuthScope = AuthBasic, a.Username, "", ""
			if a.Password != "" {
				w.AuthSecret, w.AuthSecretHint = a.Password, secret.Hint(a.Password)
			}
		case AuthOAuth2:
			if err := checkURL(a.TokenURL, s.o.AllowPrivate); err != nil {
				p.Add("auth.tokenUrl", "%s", err.Error())
			}
			if a.ClientID == "" || len(a.ClientID) > 200 {
				p.Add("auth.clientId", "is required, at most 200 characters")
			}
			if a.ClientSecret == "" && !same {
				p.Add("auth.clientSecret", "is required")
			}
			if len(a.Scope) > 500 {
				p.Add("auth.scope", "is longer than 500 characters")
			}
			w.AuthKind, w.AuthUsername, w.AuthTokenURL, w.AuthScope = AuthOAuth2, a.ClientID, a.TokenURL, a.Scope
			if a.ClientSecret != "" {
				w.AuthSecret, w.AuthSecretHint = a.ClientSecret, secret.Hint(a.ClientSecret)
			}
		default:
			p.Add("auth.type", "%q is not one of none, basic, oauth2", a.Type)
		}
		for _, v := range []string{a.Username, a.Password, a.ClientID, a.ClientSecret, a.Scope} {
			if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) || !utf8.ValidString(v) {
				p.Add("auth", "contains control characters")
				break
			}
		}
	}
	return p.Err()
}

// Create stores a new active subscription and returns it with its signing secret, which
// is shown this once.
func (s *Service) Create(ctx context.Context, orgID string, in Input) (*store.WebhookSubscription, error) {
	w := &store.WebhookSubscription{ID: uuid.NewString(), OrgID: orgID, State: store.WebhookActive}
	if err := s.apply(w, in, true); err != nil {
		return nil, err
	}
	sec, err := newSecret()
	if err != nil {
		return nil, err
	}
	w.Secret, w.SecretHint = sec, secret.Hint(sec)
	if err := s.st.CreateWebhook(ctx, w); err != nil {
		return nil, err
	}
	return w, nil
}

// Update changes a subscription; switching it on resumes its waiting deliveries.
func (s *Service) Update(ctx context.Context, orgID, id string, in Input) (*store.WebhookSubscription, error) {
	action := "webhook.updated"
	if in.Enabled != nil && *in.Enabled {
		action = "webhook.enabled"
	} else if in.Enabled != nil {
		action = "webhook.disabled"
	}
	return s.st.UpdateWebhook(ctx, orgID, id, action, func(w *store.WebhookSubscription) error {
		if action == "webhook.enabled" && w.State == store.WebhookActive {
			action = "webhook.updated"
		}
		return s.apply(w, in, false)
	})
}

// Rotate gives a subscription a new signing secret, returned this once; the previous one
// still signs every request for RotationOverlap, so receivers can switch without losing
// an event.
func (s *Service) Rotate(ctx context.Context, orgID, id string) (*store.WebhookSubscription, error) {
	sec, err := newSecret()
	if err != nil {
		return nil, err
	}
	until := s.clock.Now().Add(s.o.RotationOverlap).UTC().Truncate(time.Second)
	return s.st.UpdateWebhook(ctx, orgID, id, "webhook.secret_rotated", func(w *store.WebhookSubscription) error {
		w.PreviousSecret, w.PreviousValidUntil = w.Secret, until
		w.Secret, w.SecretHint = sec, secret.Hint(sec)
		return nil
	})
}

// SendTest queues a test event to a subscription, sent at once even while it is paused,
// and returns its delivery.
func (s *Service) SendTest(ctx context.Context, orgID, id string) (*store.WebhookDelivery, error) {
	if _, err := s.st.Webhook(ctx, orgID, id); err != nil {
		return nil, err
	}
	actor := rendezvous.ActorFrom(ctx)
	p := Payload{ID: uuid.NewString(), Type: "webhook.test", OccurredAt: s.clock.Now().UTC().Truncate(time.Second), OrgID: orgID,
		Actor: ActorJSON{Type: actor.Kind, ID: actor.ID, Name: actor.Name}, Data: Data{Test: true}}
	body, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	d := &store.WebhookDelivery{OrgID: orgID, SubscriptionID: id, Chain: manualChain + p.ID, EventID: p.ID, Event: p.Type, Payload: string(body)}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.AddWebhookDelivery(ctx, d); err != nil {
			return err
		}
		_, err := tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: "webhook.test_sent", TargetType: "webhook", TargetID: id})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("send test event: %w", err)
	}
	return d, nil
}

// Redeliver sends a delivery again, as a new delivery with the same event id and body
// (receivers that saw it deduplicate), at once and beside the appointment's chain.
func (s *Service) Redeliver(ctx context.Context, orgID, subID string, deliveryID int64) (*store.WebhookDelivery, error) {
	old, err := s.st.WebhookDelivery(ctx, orgID, deliveryID)
	if err != nil {
		return nil, err
	}
	if old.SubscriptionID != subID {
		return nil, fmt.Errorf("webhook delivery %d: %w", deliveryID, rendezvous.ErrNotFound)
	}
	if old.Payload == "" {
		return nil, fmt.Errorf("delivery %d was erased by data retention: %w", deliveryID, rendezvous.ErrConflict)
	}
	d := &store.WebhookDelivery{OrgID: orgID, SubscriptionID: subID, Chain: manualChain + uuid.NewString(), EventID: old.EventID,
		Event: old.Event, AppointmentID: old.AppointmentID, Payload: old.Payload}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.AddWebhookDelivery(ctx, d); err != nil {
			return err
		}
		_, err := tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: "webhook.redelivered", TargetType: "webhook", TargetID: subID,
			Changes: []rendezvous.FieldChange{{Field: "eventId", To: old.EventID}}})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("send again: %w", err)
	}
	return d, nil
}
