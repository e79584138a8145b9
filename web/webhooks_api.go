package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"rendezvous"
	"rendezvous/store"
	"rendezvous/webhook"
)

// webhookJSON is a subscription as the API shows it: secrets only as hints, except the
// signing secret in the answer that created or rotated it (Secret).
type webhookJSON struct {
	ID                       string           `json:"id"`
	URL                      string           `json:"url"`
	Description              string           `json:"description"`
	Events                   []string         `json:"events"`
	Enabled                  bool             `json:"enabled"`
	State                    string           `json:"state"`
	PausedReason             string           `json:"pausedReason,omitempty"`
	Auth                     webhookAuthJSON  `json:"auth"`
	SecretHint               string           `json:"secretHint"`
	Secret                   string           `json:"secret,omitempty"`
	PreviousSecretValidUntil string           `json:"previousSecretValidUntil,omitempty"`
	FailingSince             string           `json:"failingSince,omitempty"`
	CreatedAt                string           `json:"createdAt"`
	UpdatedAt                string           `json:"updatedAt"`
	Links                    webhookLinksJSON `json:"links"`
}

type webhookAuthJSON struct {
	Type       string `json:"type"`
	Username   string `json:"username,omitempty"`
	TokenURL   string `json:"tokenUrl,omitempty"`
	ClientID   string `json:"clientId,omitempty"`
	Scope      string `json:"scope,omitempty"`
	SecretHint string `json:"secretHint,omitempty"`
}

type webhookLinksJSON struct {
	Deliveries string `json:"deliveries"`
}

func toWebhookJSON(w *store.WebhookSubscription) webhookJSON {
	out := webhookJSON{ID: w.ID, URL: w.URL, Description: w.Description, Events: w.Events, Enabled: w.State != store.WebhookDisabled,
		State: w.State, PausedReason: w.PausedReason, SecretHint: w.SecretHint, FailingSince: formatTime(w.FailingSince),
		CreatedAt: formatTime(w.CreatedAt), UpdatedAt: formatTime(w.UpdatedAt),
		Links: webhookLinksJSON{Deliveries: "/api/v1/settings/webhooks/" + w.ID + "/deliveries"}}
	if out.Events == nil {
		out.Events = []string{}
	}
	if w.PreviousSecret != "" {
		out.PreviousSecretValidUntil = formatTime(w.PreviousValidUntil)
	}
	out.Auth = webhookAuthJSON{Type: w.AuthKind, SecretHint: w.AuthSecretHint}
	switch w.AuthKind {
	case webhook.AuthBasic:
		out.Auth.Username = w.AuthUsername
	case webhook.AuthOAuth2:
		out.Auth.ClientID, out.Auth.TokenURL, out.Auth.Scope = w.AuthUsername, w.AuthTokenURL, w.AuthScope
	}
	return out
}

// webhookInputJSON is the body of a create or update.
type webhookInputJSON struct {
	URL         string   `json:"url"`
	Description *string  `json:"description"`
	Events      []string `json:"events"`
	Enabled     *bool    `json:"enabled"`
	Auth        *struct {
		Type         string `json:"type"`
		Username     string `json:"username"`
		Password     string `json:"password"`
		TokenURL     string `json:"tokenUrl"`
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
		Scope        string `json:"scope"`
	} `json:"auth"`
}

func (in webhookInputJSON) input() webhook.Input {
	out := webhook.Input{URL: in.URL, Description: in.Description, Events: in.Events, Enabled: in.Enabled}
	if a := in.Auth; a != nil {
		out.Auth = &webhook.AuthInput{Type: a.Type, Username: a.Username, Password: a.Password, TokenURL: a.TokenURL,
			ClientID: a.ClientID, ClientSecret: a.ClientSecret, Scope: a.Scope}
	}
	return out
}

// deliveryJSON is one line of a subscription's delivery log.
type deliveryJSON struct {
	ID             int64           `json:"id"`
	EventID        string          `json:"eventId"`
	Event          string          `json:"event"`
	AppointmentID  string          `json:"appointmentId,omitempty"`
	State          string          `json:"state"`
	Attempts       int             `json:"attempts"`
	LastStatus     int             `json:"lastStatus,omitempty"`
	LastError      string          `json:"lastError,omitempty"`
	LastAttemptAt  string          `json:"lastAttemptAt,omitempty"`
	LastDurationMs int64           `json:"lastDurationMs,omitempty"`
	CreatedAt      string          `json:"createdAt"`
	FinishedAt     string          `json:"finishedAt,omitempty"`
	Request        json.RawMessage `json:"request"` // the body sent; null once erased by retention
}

func toDeliveryJSON(d *store.WebhookDelivery) deliveryJSON {
	out := deliveryJSON{ID: d.ID, EventID: d.EventID, Event: d.Event, AppointmentID: d.AppointmentID, State: d.State,
		Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: d.LastError, LastAttemptAt: formatTime(d.LastAttemptAt),
		LastDurationMs: d.LastDuration.Milliseconds(), CreatedAt: formatTime(d.CreatedAt), FinishedAt: formatTime(d.FinishedAt),
		Request: json.RawMessage("null")}
	if d.Payload != "" {
		out.Request = json.RawMessage(d.Payload)
	}
	return out
}

func (s *server) webhooksMissing(w http.ResponseWriter, r *http.Request) {
	s.error(w, r, errors.New("webhooks are not wired into this server"))
}

func (s *server) withWebhooks(h func(svc *webhook.Service) http.HandlerFunc) http.Handler {
	if s.Webhooks == nil {
		return http.HandlerFunc(s.webhooksMissing)
	}
	return h(s.Webhooks)
}

// handleWebhookList serves GET /api/v1/settings/webhooks.
func (s *server) handleWebhookList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		subs, err := s.Store.Webhooks(r.Context(), apiKey(r.Context()).OrgID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := struct {
			Items  []webhookJSON `json:"items"`
			Events []string      `json:"events"`
		}{Items: []webhookJSON{}, Events: rendezvous.WebhookEvents()}
		for _, sub := range subs {
			out.Items = append(out.Items, toWebhookJSON(sub))
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// handleWebhookCreate serves POST /api/v1/settings/webhooks; the answer is the only one
// that shows the signing secret.
func (s *server) handleWebhookCreate() http.Handler {
	return s.withWebhooks(func(svc *webhook.Service) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var in webhookInputJSON
			if err := s.decodeJSON(w, r, &in, false); err != nil {
				s.error(w, r, err)
				return
			}
			sub, err := svc.Create(r.Context(), apiKey(r.Context()).OrgID, in.input())
			if err != nil {
				s.error(w, r, fmt.Errorf("create webhook: %w", err))
				return
			}
			out := toWebhookJSON(sub)
			out.Secret = sub.Secret
			w.Header().Set("Location", "/api/v1/settings/webhooks/"+sub.ID)
			writeJSON(w, http.StatusCreated, out)
		}
	})
}

// handleWebhookGet serves GET /api/v1/settings/webhooks/{id}.
func (s *server) handleWebhookGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, err := s.Store.Webhook(r.Context(), apiKey(r.Context()).OrgID, r.PathValue("id"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, toWebhookJSON(sub))
	})
}

// handleWebhookUpdate serves PATCH /api/v1/settings/webhooks/{id}: absent fields stay;
// "enabled": true resumes a paused subscription where it stopped.
func (s *server) handleWebhookUpdate() http.Handler {
	return s.withWebhooks(func(svc *webhook.Service) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var in webhookInputJSON
			if err := s.decodeJSON(w, r, &in, false); err != nil {
				s.error(w, r, err)
				return
			}
			sub, err := svc.Update(r.Context(), apiKey(r.Context()).OrgID, r.PathValue("id"), in.input())
			if err != nil {
				s.error(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, toWebhookJSON(sub))
		}
	})
}

// handleWebhookDelete serves DELETE /api/v1/settings/webhooks/{id}.
func (s *server) handleWebhookDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.Store.DeleteWebhook(r.Context(), apiKey(r.Context()).OrgID, r.PathValue("id")); err != nil {
			s.error(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleWebhookRotate serves POST /api/v1/settings/webhooks/{id}/rotate-secret.
func (s *server) handleWebhookRotate() http.Handler {
	return s.withWebhooks(func(svc *webhook.Service) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			sub, err := svc.Rotate(r.Context(), apiKey(r.Context()).OrgID, r.PathValue("id"))
			if err != nil {
				s.error(w, r, err)
				return
			}
			out := toWebhookJSON(sub)
			out.Secret = sub.Secret
			writeJSON(w, http.StatusOK, out)
		}
	})
}

// handleWebhookTest serves POST /api/v1/settings/webhooks/{id}/test: a test event, sent
// at once; the answer is its delivery, to follow in the log.
func (s *server) handleWebhookTest() http.Handler {
	return s.withWebhooks(func(svc *webhook.Service) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			d, err := svc.SendTest(r.Context(), apiKey(r.Context()).OrgID, r.PathValue("id"))
			if err != nil {
				s.error(w, r, err)
				return
			}
			writeJSON(w, http.StatusAccepted, toDeliveryJSON(d))
		}
	})
}

// handleWebhookDeliveries serves GET /api/v1/settings/webhooks/{id}/deliveries: the
// delivery log, newest first.
func (s *server) handleWebhookDeliveries() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org, id := apiKey(r.Context()).OrgID, r.PathValue("id")
		if _, err := s.Store.Webhook(r.Context(), org, id); err != nil {
			s.error(w, r, err)
			return
		}
		q := r.URL.Query()
		limit := 0
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > store.MaxListLimit {
				s.error(w, r, &rendezvous.ValidationError{Problems: []rendezvous.FieldProblem{{Field: "limit", Message: "must be a whole number from 1 to 200"}}})
				return
			}
			limit = n
		}
		ds, next, err := s.Store.WebhookDeliveries(r.Context(), org, id, limit, q.Get("cursor"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := struct {
			Items []deliveryJSON `json:"items"`
			Next  string         `json:"next,omitempty"`
		}{Items: []deliveryJSON{}, Next: next}
		for _, d := range ds {
			out.Items = append(out.Items, toDeliveryJSON(d))
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// handleWebhookRedeliver serves POST /api/v1/settings/webhooks/{id}/deliveries/{deliveryId}/redeliver.
func (s *server) handleWebhookRedeliver() http.Handler {
	return s.withWebhooks(func(svc *webhook.Service) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			did, err := strconv.ParseInt(r.PathValue("deliveryId"), 10, 64)
			if err != nil {
				s.error(w, r, fmt.Errorf("delivery %q: %w", r.PathValue("deliveryId"), rendezvous.ErrNotFound))
				return
			}
			d, err := svc.Redeliver(r.Context(), apiKey(r.Context()).OrgID, r.PathValue("id"), did)
			if err != nil {
				s.error(w, r, err)
				return
			}
			writeJSON(w, http.StatusAccepted, toDeliveryJSON(d))
		}
	})
}
