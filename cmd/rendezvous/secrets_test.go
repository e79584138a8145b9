package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/secret"
	"rendezvous/store"
)

// The rotation as an operator runs it: a database sealed under the old key, the reseal
// command with the new key and the old as previous, then the new key alone reads it.
func TestSecretsGenerateAndReseal(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"secrets", "generate"}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatal(err)
	}
	newKey, err := secret.ParseKey(out.String())
	if err != nil {
		t.Fatalf("generate printed %q: %v", out.String(), err)
	}
	oldKey, _ := secret.NewKey()
	u := "sqlite://" + filepath.ToSlash(filepath.Join(t.TempDir(), "r.db"))
	oldBox, _ := secret.NewBox(oldKey)
	st, err := store.Open(ctx, u, store.Options{Secrets: oldBox})
	if err != nil {
		t.Fatal(err)
	}
	st.EnsureOrg(ctx, rendezvous.Org{ID: "demo", Name: "Demo"})
	now := time.Now()
	a, err := rendezvous.NewAppointment("demo", rendezvous.AppointmentInput{Start: now.Add(time.Hour), DurationMinutes: 30,
		TimeZone: "Europe/Athens", AgentUserID: "agent", Customers: []rendezvous.Customer{{Name: "C", Email: "c@example.com"}}}, now)
	if err != nil {
		t.Fatal(err)
	}
	saved, _, err := st.CreateAppointment(ctx, a, store.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	env := map[string]string{"RENDEZVOUS_SECRET_KEY": secret.KeyText(newKey), "RENDEZVOUS_PREVIOUS_SECRET_KEYS": secret.KeyText(oldKey)}
	out.Reset()
	err = run(ctx, []string{"secrets", "reseal", "-database-url", u}, func(k string) string { return env[k] }, &out, &out)
	if err != nil || !strings.Contains(out.String(), "appointments.link_sealed") || !strings.Contains(out.String(), "1 re-sealed") {
		t.Fatalf("reseal: %v\n%s", err, out.String())
	}
	newBox, _ := secret.NewBox(newKey)
	st, err = store.Open(ctx, u, store.Options{Secrets: newBox})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Appointment(ctx, "demo", saved.ID)
	if err != nil || got.LinkToken != saved.LinkToken {
		t.Fatalf("the new key alone cannot read the link after the reseal: %v", err)
	}
}
