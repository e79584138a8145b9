// Package secret encrypts the secrets Rendezvous keeps at rest (OAuth client secrets, the
// copy of each customer link token) with AES-256-GCM, so that a database dump alone
// reveals none of them. The key lives outside the database: in a key file or in the
// environment.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
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

// version prefixes every sealed value so that a later key rotation or algorithm change can
// tell old values from new ones.
const version byte = 1

// Box seals and opens secrets with one AES-256-GCM key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// NewBox returns a Box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key is %d bytes; it must be %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext under a fresh random nonce. The result is version byte, nonce,
// then ciphertext with its tag.
func (b *Box) Seal(plaintext []byte) ([]byte, error) {
	ns := b.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+b.aead.Overhead())
	out[0] = version
	if _, err := rand.Read(out[1 : 1+ns]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return b.aead.Seal(out, out[1:1+ns], plaintext, out[:1]), nil
}

// Open decrypts what Seal produced, refusing anything tampered with or sealed under
// another key.
func (b *Box) Open(sealed []byte) ([]byte, error) {
	ns := b.aead.NonceSize()
	if len(sealed) < 1+ns+b.aead.Overhead() {
		return nil, errors.New("open secret: value too short")
	}
	if sealed[0] != version {
		return nil, fmt.Errorf("open secret: unknown version %d", sealed[0])
	}
	pt, err := b.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], sealed[:1])
	if err != nil {
		return nil, fmt.Errorf("open secret: wrong key or corrupted value: %w", err)
	}
	return pt, nil
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

// NewKey returns a fresh random key.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("new secret key: %w", err)
	}
	return k, nil
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
