// Package secret encrypts the secrets Rendezvous keeps at rest (OAuth client secrets, the
// copy of each customer link token) with AES-256-GCM, so that a database dump alone
// reveals none of them. The key lives outside the database: in a key file or in the
// environment.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

// Versions of sealed values: the first byte of each. Version 1 (the first releases) is
// nonce and ciphertext under the one key. Version 2 names the key it was sealed under by a
// 4-byte key id after the version byte, so that during a key rotation every value opens
// with the right key at once, and a re-seal knows which values are still under an old one.
const (
	version1 byte = 1
	version2 byte = 2
)

// keyIDSize is the length of the key id in a version 2 value.
const keyIDSize = 4

// Box seals with its current key and opens with the current key or any previous one. It is
// safe for concurrent use.
type Box struct {
	keys []boxKey // the current key first, then previous ones
}

type boxKey struct {
	id   [keyIDSize]byte
	aead cipher.AEAD
}

// KeyID returns the id a key has in the values it seals: the first bytes of a SHA-256 of
// the key (with a label, so the id reveals nothing usable about the key), in hex, as the
// re-seal command reports it.
func KeyID(key []byte) string {
	id := keyID(key)
	return fmt.Sprintf("%x", id[:])
}

func keyID(key []byte) [keyIDSize]byte {
	h := sha256.New()
	h.Write([]byte("rendezvous secret key id\x00"))
	h.Write(key)
	var id [keyIDSize]byte
	copy(id[:], h.Sum(nil))
	return id
}

// NewBox returns a Box that seals with key and also opens what previous keys sealed
// (during a rotation; see Reseal). Every key is 32 bytes.
func NewBox(key []byte, previous ...[]byte) (*Box, error) {
	b := &Box{}
	for i, k := range append([][]byte{key}, previous...) {
		if len(k) != KeySize {
			if i == 0 {
				return nil, fmt.Errorf("secret key is %d bytes; it must be %d", len(k), KeySize)
			}
			return nil, fmt.Errorf("previous secret key %d is %d bytes; it must be %d", i, len(k), KeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
		b.keys = append(b.keys, boxKey{id: keyID(k), aead: aead})
	}
	return b, nil
}

// Seal encrypts plaintext under the current key and a fresh random nonce. The result is
// version byte 2, the key id, the nonce, then ciphertext with its tag; the version and key
// id are authenticated too.
func (b *Box) Seal(plaintext []byte) ([]byte, error) {
	k := b.keys[0]
	ns := k.aead.NonceSize()
	head := 1 + keyIDSize
	out := make([]byte, head+ns, head+ns+len(plaintext)+k.aead.Overhead())
	out[0] = version2
	copy(out[1:head], k.id[:])
	if _, err := rand.Read(out[head : head+ns]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return k.aead.Seal(out, out[head:head+ns], plaintext, out[:head]), nil
}

// Open decrypts what Seal produced under any of the box's keys, refusing anything
// tampered with or sealed under a key the box does not hold.
func (b *Box) Open(sealed []byte) ([]byte, error) {
	pt, _, err := b.open(sealed)
	return pt, err
}

// open also reports whether sealed is already in the current form (version 2, current key).
func (b *Box) open(sealed []byte) ([]byte, bool, error) {
	if len(sealed) == 0 {
		return nil, false, errors.New("open secret: empty value")
	}
	switch sealed[0] {
	case version1:
		// Version 1 does not say which key; try each, the current first.
		for _, k := range b.keys {
			ns := k.aead.NonceSize()
			if len(sealed) < 1+ns+k.aead.Overhead() {
				return nil, false, errors.New("open secret: value too short")
			}
			if pt, err := k.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], sealed[:1]); err == nil {
				return pt, false, nil
			}
		}
		return nil, false, errors.New("open secret: wrong key or corrupted value")
	case version2:
		head := 1 + keyIDSize
		for i, k := range b.keys {
			ns := k.aead.NonceSize()
			if len(sealed) < head+ns+k.aead.Overhead() {
				return nil, false, errors.New("open secret: value too short")
			}
			if string(sealed[1:head]) != string(k.id[:]) {
				continue
			}
			pt, err := k.aead.Open(nil, sealed[head:head+ns], sealed[head+ns:], sealed[:head])
			if err != nil {
				return nil, false, fmt.Errorf("open secret: corrupted value: %w", err)
			}
			return pt, i == 0, nil
		}
		return nil, false, fmt.Errorf("open secret: sealed under key %x, which is neither the secret key nor one of the previous keys given", sealed[1:head])
	}
	return nil, false, fmt.Errorf("open secret: unknown version %d", sealed[0])
}

// IsSealed reports whether v looks like a value Seal produced (by its version byte), so
// that a re-seal can pass over a column that holds plain values when no box was set.
func IsSealed(v []byte) bool {
	return len(v) > 0 && (v[0] == version1 || v[0] == version2)
}

// Reseal returns sealed under the current key, and whether it changed: a value already
// sealed by the current key in the current form is returned as it is.
func (b *Box) Reseal(sealed []byte) ([]byte, bool, error) {
	pt, current, err := b.open(sealed)
	if err != nil {
		return nil, false, err
	}
	if current {
		return sealed, false, nil
	}
	out, err := b.Seal(pt)
	return out, err == nil, err
}

// ParseKey decodes a base64 (standard or URL alphabet, padded or not) 32-byte key, as
// given in an environment variable.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("secret key decodes to %d bytes; it must be %d", len(k), KeySize)
			}
			return k, nil
		}
	}
	return nil, errors.New("secret key is not base64")
}

// KeyText writes a key as the environment variable and key files hold it (base64).
func KeyText(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// NewKey returns a fresh random key.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("new secret key: %w", err)
	}
	return k, nil
}

// LoadKeyFile reads the base64 key in path, which must exist: for a key kept outside the
// data folder (-secret-key-file), which is never generated. A key file that others may read
// is refused.
func LoadKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s can be read by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// ParseKeys decodes a comma-separated list of base64 keys (the previous keys of a
// rotation).
func ParseKeys(s string) ([][]byte, error) {
	var out [][]byte
	for i, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, err := ParseKey(part)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// LoadOrCreateKeyFile reads the base64 key in path, or, when the file does not exist,
// creates it (mode 0600, parent folders 0700) with a fresh random key. Creating is what
// lets the zero-configuration start work; production sets the key explicitly.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	k, err := NewKey()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create key folder: %w", err)
	}
	// O_EXCL: if another process created the file meanwhile, use its key instead of
	// overwriting it and orphaning what it sealed.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreateKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write key file: %w", err)
	}
	return k, nil
}

// Hint shows a secret as "••••" and its last four characters, so an administrator can
// tell which secret is set without the UI or API ever returning it.
func Hint(secret string) string {
	if secret == "" {
		return ""
	}
	n := utf8.RuneCountInString(secret)
	if n <= 4 {
		// Showing all of a very short secret would reveal it entirely.
		return "••••"
	}
	r := []rune(secret)
	return "••••" + string(r[n-4:])
}
