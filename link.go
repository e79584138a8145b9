package rendezvous

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// LinkTokenBytes is how many random bytes a customer link token carries: 256 bits, twice
// the 128 the product requires, so that guessing is hopeless even at scale.
const LinkTokenBytes = 32

// NewLinkToken returns a fresh customer link token: LinkTokenBytes from crypto/rand,
// base64url without padding (43 characters, safe in a URL path).
func NewLinkToken() (string, error) {
	b := make([]byte, LinkTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("link token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashLinkToken returns the hex SHA-256 of a link token: what the store keeps for lookup.
// A plain hash is enough (no salt, no slow KDF) because the token is 256 random bits, not
// something a person chose: there is no dictionary to run against it.
func HashLinkToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
