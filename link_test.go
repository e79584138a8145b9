package rendezvous

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestLinkToken(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok, err := NewLinkToken()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw)*8 < 128 || len(raw) != LinkTokenBytes {
			t.Fatalf("token %q decodes to %d bytes (%v)", tok, len(raw), err)
		}
		if strings.ContainsAny(tok, "+/=") {
			t.Fatalf("token %q is not URL-safe", tok)
		}
		if seen[tok] {
			t.Fatal("token repeated")
		}
		seen[tok] = true
		h := HashLinkToken(tok)
		if len(h) != 64 || strings.Contains(h, tok) || h != HashLinkToken(tok) {
			t.Fatalf("hash %q", h)
		}
	}
}

func TestScopes(t *testing.T) {
	for _, s := range AllScopes() {
		if !ValidScope(s) {
			t.Fatalf("%s invalid", s)
		}
	}
	if ValidScope("admin") {
		t.Fatal("unknown scope valid")
	}
	k := APIKey{Scopes: []string{ScopeAppointmentsRead}}
	if !k.HasScope(ScopeAppointmentsRead) || k.HasScope(ScopeAppointmentsWrite) {
		t.Fatal("HasScope wrong")
	}
}
