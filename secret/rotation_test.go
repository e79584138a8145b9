package secret

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustKey(t *testing.T) []byte {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A rotation: values sealed under the old key open with a box that has the new key and the
// old one as previous; Reseal moves them to the new key; then the new key alone opens them.
func TestRotation(t *testing.T) {
	oldKey, newKey, other := mustKey(t), mustKey(t), mustKey(t)
	oldBox, _ := NewBox(oldKey)
	sealedOld, err := oldBox.Seal([]byte("client secret"))
	if err != nil {
		t.Fatal(err)
	}
	// A version 1 value, as the first releases wrote them.
	v1 := sealV1(t, oldKey, []byte("link token"))
	if pt, err := oldBox.Open(v1); err != nil || string(pt) != "link token" {
		t.Fatalf("version 1 value: %q %v", pt, err)
	}

	both, err := NewBox(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range [][]byte{sealedOld, v1} {
		if _, err := both.Open(v); err != nil {
			t.Fatalf("the rotating box cannot open an old value: %v", err)
		}
	}
	newOnly, _ := NewBox(newKey)
	if _, err := newOnly.Open(sealedOld); err == nil || !strings.Contains(err.Error(), KeyID(oldKey)) {
		t.Fatalf("the new key alone opened an old value, or did not name its key: %v", err)
	}
	for _, v := range [][]byte{sealedOld, v1} {
		re, changed, err := both.Reseal(v)
		if err != nil || !changed {
			t.Fatalf("reseal: %v %v", changed, err)
		}
		if _, err := newOnly.Open(re); err != nil {
			t.Fatalf("after reseal the new key cannot open: %v", err)
		}
		again, changed, err := both.Reseal(re)
		if err != nil || changed || !bytes.Equal(again, re) {
			t.Fatalf("a value already under the current key was sealed again: %v %v", changed, err)
		}
	}
	stranger, _ := NewBox(other)
	if _, err := stranger.Open(sealedOld); err == nil {
		t.Fatal("another key opened the value")
	}
	// Tampering with the key id or the version is refused.
	bad := bytes.Clone(sealedOld)
	bad[2] ^= 1
	if _, err := both.Open(bad); err == nil {
		t.Fatal("a changed key id was accepted")
	}
	if !IsSealed(sealedOld) || !IsSealed(v1) || IsSealed([]byte(`{"iceServers":[]}`)) {
		t.Fatal("IsSealed")
	}
}

// sealV1 writes a value in the first releases' form: version 1, nonce, ciphertext.
func sealV1(t *testing.T, key, pt []byte) []byte {
	t.Helper()
	b, _ := NewBox(key)
	a := b.keys[0].aead
	out := make([]byte, 1+a.NonceSize())
	out[0] = version1
	return a.Seal(out, out[1:], pt, out[:1])
}

func TestLoadKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	if _, err := LoadKeyFile(path); err == nil {
		t.Fatal("a missing key file was created or accepted")
	}
	k := mustKey(t)
	os.WriteFile(path, []byte(KeyText(k)+"\n"), 0o644)
	if _, err := LoadKeyFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable key file: %v", err)
	}
	os.Chmod(path, 0o600)
	got, err := LoadKeyFile(path)
	if err != nil || !bytes.Equal(got, k) {
		t.Fatalf("%v", err)
	}
	keys, err := ParseKeys(" " + KeyText(k) + ",," + KeyText(mustKey(t)))
	if err != nil || len(keys) != 2 {
		t.Fatalf("ParseKeys: %d %v", len(keys), err)
	}
	if _, err := ParseKeys("nope"); err == nil {
		t.Fatal("ParseKeys took a bad key")
	}
}
