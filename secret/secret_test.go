package secret

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpenRoundTripAndTamper(t *testing.T) {
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBox(k)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("client-secret-value")
	s1, err := b.Seal(msg)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := b.Seal(msg)
	if bytes.Equal(s1, s2) {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
	if bytes.Contains(s1, msg) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := b.Open(s1)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	bad := append([]byte(nil), s1...)
	bad[len(bad)-1] ^= 1
	if _, err := b.Open(bad); err == nil {
		t.Fatal("tampered value opened")
	}
	if _, err := b.Open(s1[:5]); err == nil {
		t.Fatal("truncated value opened")
	}
	k2, _ := NewKey()
	other, _ := NewBox(k2)
	if _, err := other.Open(s1); err == nil {
		t.Fatal("value opened with another key")
	}
	if _, err := NewBox(k[:16]); err == nil {
		t.Fatal("16-byte key accepted for AES-256")
	}
}

func TestParseKey(t *testing.T) {
	k := bytes.Repeat([]byte{0xfb}, 32)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		got, err := ParseKey(" " + enc.EncodeToString(k) + "\n")
		if err != nil || !bytes.Equal(got, k) {
			t.Fatalf("ParseKey = %x, %v", got, err)
		}
	}
	for _, bad := range []string{"", "!!!", base64.StdEncoding.EncodeToString(k[:31])} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "secret.key")
	k1, err := LoadOrCreateKeyFile(path)
	if err != nil || len(k1) != KeySize {
		t.Fatalf("create: %x, %v", k1, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v", fi.Mode(), err)
	}
	k2, err := LoadOrCreateKeyFile(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatal("second load returned another key")
	}
	os.WriteFile(path, []byte("garbage"), 0o600)
	if _, err := LoadOrCreateKeyFile(path); err == nil {
		t.Fatal("garbage key file accepted")
	}
}

func TestHint(t *testing.T) {
	cases := map[string]string{"": "", "abc": "••••", "abcd": "••••", "sk_live_12345678": "••••5678", "pässwörd": "••••wörd"}
	for in, want := range cases {
		if got := Hint(in); got != want {
			t.Errorf("Hint(%q) = %q, want %q", in, got, want)
		}
	}
}
