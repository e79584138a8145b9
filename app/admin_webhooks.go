package app

// Administration / Webhooks: subscriptions (list, add, edit, delete, switch on and off,
// rotate the signing secret), each one's delivery log with "send again", and a test
// event. Everything goes through webhook.Service and the store calls that
// /api/v1/settings/webhooks uses (web/webhooks_api.go), so rules and audit are the same.

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"rendezvous"
	"rendezvous/auth"
	"rendezvous/store"
	"rendezvous/webhook"
)

// webhookForm is the add/edit form as typed. Secrets typed are never shown back.
type webhookForm struct {
	URL, Description                       string
	Events                                 []string
	AuthType, Username, TokenURL, ClientID string
	Scope                                  string
	// SecretHint is the hint of the stored password or client secret (edit).
	SecretHint string
	Errors     map[string]string
}

// Err is the message beside field.
func (f *webhookForm) Err(field string) string { return f.Errors[field] }

// Has reports whether event is ticked.
func (f *webhookForm) Has(event string) bool { return slices.Contains(f.Events, event) }

// webhookFormData is the add/edit page's data.
type webhookFormData struct {
	F   *webhookForm
	Sub *store.WebhookSubscription // nil when adding
}

// webhooksData is the list page's data.
type webhooksData struct {
	Subs []*store.WebhookSubscription
}

// webhookData is one subscription's page: its settings, state and delivery log.
type webhookData struct {
	Sub        *store.WebhookSubscription
	Deliveries []*store.WebhookDelivery
	Next       string
	// Secret is the signing secret just created or rotated: shown this once.
	Secret  string
	Rotated bool
}

// EventNames lists every event a subscription may choose.
func (v *view) EventNames() []string { return rendezvous.WebhookEvents() }

// EventWords names an event in the page's language.
func (t *tr) EventWords(event string) string {
	switch event {
	case rendezvous.EventAppointmentCreated:
		return t.T("Appointment booked")
	case rendezvous.EventAppointmentRescheduled:
		return t.T("Appointment rescheduled")
	case rendezvous.EventAppointmentReassigned:
		return t.T("Appointment reassigned")
	case rendezvous.EventAppointmentCancelled:
		return t.T("Appointment cancelled")
	case rendezvous.EventAppointmentCustomerWaiting:
		return t.T("Customer waiting")
	case rendezvous.EventAppointmentStarted:
		return t.T("Call started")
	case rendezvous.EventAppointmentCompleted:
		return t.T("Completed")
	case rendezvous.EventAppointmentNoShow:
		return t.T("Customer did not come")
	case rendezvous.EventNotificationFailed:
		return t.T("Notification failed")
	case "webhook.test":
		return t.T("Test event")
	}
	return event
}

// HookState names a subscription's state.
func (t *tr) HookState(state string) string {
	switch state {
	case store.WebhookActive:
		return t.T("On")
	case store.WebhookPaused:
		return t.T("Paused")
	case store.WebhookDisabled:
		return t.T("Switched off")
	}
	return state
}

// DeliveryState names a delivery's state.
func (t *tr) DeliveryState(state string) string {
	switch state {
	case store.DeliveryWaiting:
		return t.T("Waiting")
	case store.DeliveryPending:
		return t.T("Sending")
	case store.DeliveryDelivered:
		return t.T("Delivered")
	case store.DeliveryFailed:
		return t.T("Failed")
	}
	return state
}

// AuthWords names an authentication kind.
func (t *tr) AuthWords(kind string) string {
	switch kind {
	case webhook.AuthBasic:
		return t.T("Basic authentication")
	case webhook.AuthOAuth2:
		return t.T("OAuth 2.0 client credentials")
	}
	return t.T("None (the signature only)")
}

func (a *App) webhooksOff(w http.ResponseWriter, r *http.Request, s *auth.Session) bool {
	if a.o.Admin.Webhooks == nil {
		a.notFound(w, r, s)
		return true
	}
	return false
}

// handleWebhooks serves GET /app/admin/webhooks: the organization's subscriptions.
func (a *App) handleWebhooks(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	v := a.adminView(r, s, "webhooks", "Webhooks")
	subs, err := a.o.Store.Webhooks(r.Context(), s.User.OrgID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v.Data = &webhooksData{Subs: subs}
	a.render(w, r, http.StatusOK, "admin_webhooks", v)
}

// handleWebhookNew serves GET /app/admin/webhooks/new.
func (a *App) handleWebhookNew(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	f := &webhookForm{AuthType: webhook.AuthNone, Events: rendezvous.WebhookEvents(), Errors: map[string]string{}}
	a.renderWebhookForm(w, r, s, http.StatusOK, f, nil)
}

// handleWebhookEdit serves GET /app/admin/webhooks/{id}/edit.
func (a *App) handleWebhookEdit(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	sub := a.loadWebhook(w, r, s)
	if sub == nil {
		return
	}
	f := &webhookForm{URL: sub.URL, Description: sub.Description, Events: sub.Events, AuthType: sub.AuthKind,
		Scope: sub.AuthScope, TokenURL: sub.AuthTokenURL, SecretHint: sub.AuthSecretHint, Errors: map[string]string{}}
	switch sub.AuthKind {
	case webhook.AuthBasic:
		f.Username = sub.AuthUsername
	case webhook.AuthOAuth2:
		f.ClientID = sub.AuthUsername
	}
	a.renderWebhookForm(w, r, s, http.StatusOK, f, sub)
}

func (a *App) renderWebhookForm(w http.ResponseWriter, r *http.Request, s *auth.Session, status int, f *webhookForm, sub *store.WebhookSubscription) {
	title := "Add a webhook"
	if sub != nil {
		title = "Change the webhook"
	}
	v := a.adminView(r, s, "webhooks", title)
	v.Data = &webhookFormData{F: f, Sub: sub}
	a.render(w, r, status, "admin_webhook_form", v)
}

// readWebhookForm reads the posted form, refusing text that cannot be stored before the
// service sees it.
func readWebhookForm(r *http.Request, t *tr) (*webhookForm, webhook.Input) {
	p := r.PostForm
	f := &webhookForm{URL: strings.TrimSpace(p.Get("url")), Description: p.Get("description"), Events: p["event"],
		AuthType: p.Get("auth"), Username: strings.TrimSpace(p.Get("username")), TokenURL: strings.TrimSpace(p.Get("token_url")),
		ClientID: strings.TrimSpace(p.Get("client_id")), Scope: strings.TrimSpace(p.Get("scope")), Errors: map[string]string{}}
	password, clientSecret := p.Get("password"), p.Get("client_secret")
	for k, val := range map[string]string{"url": f.URL, "description": f.Description, "username": f.Username, "password": password,
		"token_url": f.TokenURL, "client_id": f.ClientID, "client_secret": clientSecret, "scope": f.Scope} {
		if !storable(val) {
			f.Errors[k] = t.T("This contains characters that cannot be stored. Please retype it.")
		}
	}
	if f.Events == nil {
		f.Events = []string{} // none ticked: the service says to choose one
	}
	in := webhook.Input{URL: f.URL, Description: &f.Description, Events: f.Events,
		Auth: &webhook.AuthInput{Type: f.AuthType, Username: f.Username, Password: password, TokenURL: f.TokenURL,
			ClientID: f.ClientID, ClientSecret: clientSecret, Scope: f.Scope}}
	if f.AuthType == webhook.AuthNone || f.AuthType == "" {
		in.Auth = &webhook.AuthInput{Type: webhook.AuthNone}
	}
	return f, in
}

// webhookProblems puts the service's problems beside the form's fields, in plain words.
func webhookProblems(t *tr, f *webhookForm, err error) bool {
	var ve *rendezvous.ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	for _, p := range ve.Problems {
		field, msg := p.Field, ""
		switch {
		case field == "url" || field == "auth.tokenUrl":
			if field == "auth.tokenUrl" {
				field = "token_url"
			}
			msg = urlWords(t, p.Message)
		case strings.HasPrefix(field, "events"):
			field, msg = "events", t.T("Choose at least one event.")
		case field == "description":
			msg = t.T("The description is too long (up to %d characters) or contains control characters.", 200)
		case field == "auth.username":
			field, msg = "username", t.T("Enter the user name (up to 200 characters, without a colon).")
		case field == "auth.password":
			field, msg = "password", t.T("Enter the password.")
		case field == "auth.clientId":
			field, msg = "client_id", t.T("Enter the client id (up to 200 characters).")
		case field == "auth.clientSecret":
			field, msg = "client_secret", t.T("Enter the client secret.")
		case field == "auth.scope":
			field, msg = "scope", t.T("The scope is too long (up to %d characters).", 500)
		default:
			field, msg = "auth", t.T("Choose how Rendezvous signs in to your receiver, and fill in its fields without control characters.")
		}
		if _, ok := f.Errors[field]; !ok {
			f.Errors[field] = msg
		}
	}
	return true
}

// urlWords explains why a receiver or token URL is refused.
func urlWords(t *tr, m string) string {
	switch {
	case strings.Contains(m, "not allowed"):
		return t.T("This address is in a private network, on this server itself, or otherwise not on the public internet. Webhooks go only to public addresses, so that nobody can use them to reach systems behind your firewall.")
	case strings.Contains(m, "https://"):
		return t.T("Use an address that starts with https:// so that events travel encrypted.")
	case strings.Contains(m, "user name"):
		return t.T("Remove the user name and password from the address; choose Basic authentication below instead.")
	case strings.Contains(m, "fragment"):
		return t.T("Remove the part after # from the address.")
	case strings.Contains(m, "longer"):
		return t.T("The address is too long (up to %d characters).", 2000)
	}
	return t.T("Enter the full address, for example https://example.com/rendezvous/events.")
}

// handleWebhookCreate serves POST /app/admin/webhooks: the answer shows the signing
// secret once.
func (a *App) handleWebhookCreate(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	if a.webhooksOff(w, r, s) {
		return
	}
	t := newTr(langOf(r, &s.User))
	f, in := readWebhookForm(r, t)
	if len(f.Errors) > 0 {
		a.renderWebhookForm(w, r, s, http.StatusUnprocessableEntity, f, nil)
		return
	}
	sub, err := a.o.Admin.Webhooks.Create(r.Context(), s.User.OrgID, in)
	if webhookProblems(t, f, err) {
		a.renderWebhookForm(w, r, s, http.StatusUnprocessableEntity, f, nil)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.renderWebhook(w, r, s, http.StatusCreated, sub, &webhookData{Secret: sub.Secret}, "")
}

// handleWebhookUpdate serves POST /app/admin/webhooks/{id}/edit.
func (a *App) handleWebhookUpdate(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	sub := a.loadWebhook(w, r, s)
	if sub == nil {
		return
	}
	t := newTr(langOf(r, &s.User))
	f, in := readWebhookForm(r, t)
	f.SecretHint = sub.AuthSecretHint
	if len(f.Errors) > 0 {
		a.renderWebhookForm(w, r, s, http.StatusUnprocessableEntity, f, sub)
		return
	}
	_, err := a.o.Admin.Webhooks.Update(r.Context(), s.User.OrgID, sub.ID, in)
	switch {
	case webhookProblems(t, f, err):
		a.renderWebhookForm(w, r, s, http.StatusUnprocessableEntity, f, sub)
		return
	case errors.Is(err, rendezvous.ErrNotFound):
		a.notFound(w, r, s)
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/app/admin/webhooks/"+sub.ID+"?done=hook-saved", http.StatusSeeOther)
}

// loadWebhook reads the subscription of the path, or answers 404 and returns nil.
func (a *App) loadWebhook(w http.ResponseWriter, r *http.Request, s *auth.Session) *store.WebhookSubscription {
	if a.webhooksOff(w, r, s) {
		return nil
	}
	sub, err := a.o.Store.Webhook(r.Context(), s.User.OrgID, r.PathValue("id"))
	if errors.Is(err, rendezvous.ErrNotFound) {
		a.notFound(w, r, s)
		return nil
	}
	if err != nil {
		a.fail(w, r, err)
		return nil
	}
	return sub
}

// handleWebhook serves GET /app/admin/webhooks/{id}: settings, state and delivery log.
func (a *App) handleWebhook(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	sub := a.loadWebhook(w, r, s)
	if sub == nil {
		return
	}
	a.renderWebhook(w, r, s, http.StatusOK, sub, &webhookData{}, "")
}

func (a *App) renderWebhook(w http.ResponseWriter, r *http.Request, s *auth.Session, status int, sub *store.WebhookSubscription, d *webhookData, notice string) {
	v := a.adminView(r, s, "webhooks", "Webhook")
	v.Notice = notice
	d.Sub = sub
	ds, next, err := a.o.Store.WebhookDeliveries(r.Context(), s.User.OrgID, sub.ID, 25, r.URL.Query().Get("before"))
	var ve *rendezvous.ValidationError
	if errors.As(err, &ve) { // a cursor made up by hand: start from the newest
		ds, next, err = a.o.Store.WebhookDeliveries(r.Context(), s.User.OrgID, sub.ID, 25, "")
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d.Deliveries, d.Next = ds, next
	v.Data = d
	a.render(w, r, status, "admin_webhook", v)
}

// handleWebhookRotate serves POST /app/admin/webhooks/{id}/rotate: a new signing secret,
// shown once; the old one keeps signing for the overlap.
func (a *App) handleWebhookRotate(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	sub := a.loadWebhook(w, r, s)
	if sub == nil {
		return
	}
	sub, err := a.o.Admin.Webhooks.Rotate(r.Context(), s.User.OrgID, sub.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.renderWebhook(w, r, s, http.StatusOK, sub, &webhookData{Secret: sub.Secret, Rotated: true}, "")
}

// handleWebhookSwitch serves POST /app/admin/webhooks/{id}/resume and .../disable.
func (a *App) handleWebhookSwitch(on bool) func(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	return func(w http.ResponseWriter, r *http.Request, s *auth.Session) {
		sub := a.loadWebhook(w, r, s)
		if sub == nil {
			return
		}
		if _, err := a.o.Admin.Webhooks.Update(r.Context(), s.User.OrgID, sub.ID, webhook.Input{Enabled: &on}); err != nil {
			a.fail(w, r, err)
			return
		}
		done := "hook-disabled"
		if on {
			done = "hook-resumed"
		}
		http.Redirect(w, r, "/app/admin/webhooks/"+sub.ID+"?done="+done, http.StatusSeeOther)
	}
}

// handleWebhookDelete serves POST /app/admin/webhooks/{id}/delete.
func (a *App) handleWebhookDelete(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	if a.webhooksOff(w, r, s) {
		return
	}
	err := a.o.Store.DeleteWebhook(r.Context(), s.User.OrgID, r.PathValue("id"))
	if err != nil && !errors.Is(err, rendezvous.ErrNotFound) {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/app/admin/webhooks?done=hook-deleted", http.StatusSeeOther)
}

// handleWebhookTest serves POST /app/admin/webhooks/{id}/test.
func (a *App) handleWebhookTest(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	sub := a.loadWebhook(w, r, s)
	if sub == nil {
		return
	}
	if _, err := a.o.Admin.Webhooks.SendTest(r.Context(), s.User.OrgID, sub.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/app/admin/webhooks/"+sub.ID+"?done=hook-test", http.StatusSeeOther)
}

// handleWebhookRedeliver serves POST /app/admin/webhooks/{id}/deliveries/{deliveryId}/redeliver.
func (a *App) handleWebhookRedeliver(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	sub := a.loadWebhook(w, r, s)
	if sub == nil {
		return
	}
	did, err := strconv.ParseInt(r.PathValue("deliveryId"), 10, 64)
	if err != nil {
		a.notFound(w, r, s)
		return
	}
	_, err = a.o.Admin.Webhooks.Redeliver(r.Context(), s.User.OrgID, sub.ID, did)
	switch {
	case errors.Is(err, rendezvous.ErrNotFound):
		a.notFound(w, r, s)
		return
	case errors.Is(err, rendezvous.ErrConflict):
		a.renderWebhook(w, r, s, http.StatusConflict, sub, &webhookData{},
			newTr(langOf(r, &s.User)).T("This delivery's body was erased by data retention, so it cannot be sent again."))
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/app/admin/webhooks/"+sub.ID+"?done=hook-resent", http.StatusSeeOther)
}

// Pretty indents a delivery's JSON body for reading.
func (d *webhookData) Pretty(body string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(body), "", "  ") != nil {
		return body
	}
	return b.String()
}
