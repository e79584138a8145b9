package app

import (
	"context"
	"strings"
	"testing"

	"rendezvous/clock"
	"rendezvous/webhook"
)

// TestWebhookProblemsInPlainWords feeds the webhook service's own refusals (outside the
// demo) to the form and checks each lands beside its field in words an administrator
// understands: server-side request forgery targets are explained, not just refused.
func TestWebhookProblemsInPlainWords(t *testing.T) {
	svc := webhook.New(webhook.Options{Clock: clock.Real()}) // validation happens before any storage
	tr := newTr("en")
	for _, c := range []struct {
		in          webhook.Input
		field, want string
	}{
		{webhook.Input{URL: "https://10.0.0.7/hook", Events: []string{"appointment.created"}}, "url", "private network"},
		{webhook.Input{URL: "https://169.254.169.254/latest", Events: []string{"appointment.created"}}, "url", "private network"},
		{webhook.Input{URL: "https://localhost:8443/", Events: []string{"appointment.created"}}, "url", "private network"},
		{webhook.Input{URL: "http://crm.example.com/hook", Events: []string{"appointment.created"}}, "url", "https://"},
		{webhook.Input{URL: "https://user:pw@crm.example.com/", Events: []string{"appointment.created"}}, "url", "Basic authentication"},
		{webhook.Input{URL: "crm.example.com", Events: []string{"appointment.created"}}, "url", "full address"},
		{webhook.Input{URL: "https://crm.example.com/", Events: []string{}}, "events", "at least one event"},
		{webhook.Input{URL: "https://crm.example.com/", Events: []string{"appointment.created"},
			Auth: &webhook.AuthInput{Type: "oauth2", TokenURL: "https://127.0.0.1/token", ClientID: "c", ClientSecret: "s"}}, "token_url", "private network"},
		{webhook.Input{URL: "https://crm.example.com/", Events: []string{"appointment.created"},
			Auth: &webhook.AuthInput{Type: "basic", Username: "a:b", Password: "p"}}, "username", "without a colon"},
	} {
		_, err := svc.Create(context.Background(), "org", c.in)
		f := &webhookForm{Errors: map[string]string{}}
		if !webhookProblems(tr, f, err) {
			t.Errorf("%+v: %v is not a validation error", c.in, err)
			continue
		}
		if !strings.Contains(f.Errors[c.field], c.want) {
			t.Errorf("%+v: %s says %q, want %q (all: %v)", c.in, c.field, f.Errors[c.field], c.want, f.Errors)
		}
	}
}
