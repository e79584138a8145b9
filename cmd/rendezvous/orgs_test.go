package main

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rendezvous/genesys/sandbox"
)

// TestOrgCommands drives "rendezvous org" as an operator would: create an organization
// on a Genesys Cloud (a sandbox organization of its own, reached by explicit URLs), list
// it, connect its API client (the secret from a file, checked with Genesys before it is
// saved, never printed) and its sign-in client, and see the refusals people meet.
func TestOrgCommands(t *testing.T) {
	sb := sandbox.New(sandbox.Options{})
	defer sb.Close()
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()
	acme := sb.AddOrg("Acme Bank")

	dir := t.TempDir()
	env := map[string]string{"RENDEZVOUS_DATA": dir, "RENDEZVOUS_LOG_LEVEL": "warn"}
	getenv := func(k string) string { return env[k] }
	org := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"org"}, args...), getenv, &out, io.Discard)
		return out.String(), err
	}
	ws := "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1"
	out, err := org("create", "-name", "Acme Bank", "-genesys-api-url", srv.URL, "-genesys-login-url", srv.URL,
		"-genesys-webmessaging-url", ws, "-genesys-org-id", strings.ToUpper(acme.OrgID))
	if err != nil || !strings.Contains(out, "Created organization acme-bank") {
		t.Fatalf("create: %q %v", out, err)
	}
	// The same Genesys organization cannot be connected twice, a region must exist, and
	// half a set of URLs is refused, each naming the flag.
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "-name", "Other", "-genesys-region", "eu-west-1", "-genesys-org-id", acme.OrgID}, `already connected to organization "acme-bank"`},
		{[]string{"create", "-name", "Mars", "-genesys-region", "mars-1"}, "-genesys-region"},
		{[]string{"create", "-name", "Half", "-genesys-api-url", srv.URL}, "-genesys-region: is required unless"},
		{[]string{"create", "-name", "Bad", "-genesys-region", "eu-west-1", "-genesys-org-id", "nope"}, "-genesys-org-id"},
		{[]string{"update", "-id", "missing", "-name", "x"}, "not found"},
		{[]string{"connect", "-id", "acme-bank", "-api-client-id", acme.APIClient.ID}, "needs its secret"},
	} {
		if _, err := org(bad.args...); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("org %v: %v, want %q", bad.args, err, bad.want)
		}
	}

	// A wrong secret is refused by Genesys and nothing is saved.
	env["RENDEZVOUS_ORG_API_CLIENT_SECRET"] = "wrong"
	if _, err := org("connect", "-id", "acme-bank", "-api-client-id", acme.APIClient.ID); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("wrong secret: %v", err)
	}
	delete(env, "RENDEZVOUS_ORG_API_CLIENT_SECRET")
	secretFile := filepath.Join(dir, "api-secret")
	if err := os.WriteFile(secretFile, []byte(acme.APIClient.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env["RENDEZVOUS_ORG_SIGNIN_CLIENT_SECRET"] = acme.LoginClient.Secret
	out, err = org("connect", "-id", "acme-bank", "-api-client-id", acme.APIClient.ID, "-api-client-secret-file", secretFile,
		"-signin-client-id", acme.LoginClient.ID)
	if err != nil || !strings.Contains(out, "Genesys Cloud accepted the API client") {
		t.Fatalf("connect: %q %v", out, err)
	}
	for _, secret := range []string{acme.APIClient.Secret, acme.LoginClient.Secret} {
		if strings.Contains(out, secret) {
			t.Fatalf("connect printed a secret: %q", out)
		}
	}
	out, err = org("update", "-id", "acme-bank", "-name", "Acme Bank plc")
	if err != nil || !strings.Contains(out, "Acme Bank plc") {
		t.Fatalf("update: %q %v", out, err)
	}
	out, err = org("list")
	if err != nil {
		t.Fatal(err)
	}
	line := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "acme-bank ") {
			line = l
		}
	}
	if !strings.Contains(line, acme.OrgID) || !strings.Contains(line, acme.APIClient.ID) || !strings.Contains(line, "••••") ||
		!strings.Contains(line, acme.LoginClient.ID) || strings.Contains(out, acme.APIClient.Secret) {
		t.Fatalf("list: %q", out)
	}
	if !strings.Contains(out, "demo ") {
		t.Errorf("list lacks the demo organization: %q", out)
	}
}
