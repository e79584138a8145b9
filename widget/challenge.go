package widget

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"
)

// Challenges issues and checks proof-of-work challenges: a booking must carry a nonce such
// that SHA-256(challenge ":" nonce) starts with Difficulty zero bits. A person's browser
// finds one in a fraction of a second while they fill in the form; a bot that books every
// slot pays that for each booking. No third-party service is involved and nothing is
// stored until a booking spends the challenge (each is accepted once, see
// store.WidgetBooking.Challenge).
//
// A challenge is self-verifying: "<payload>.<mac>", where the payload holds the expiry
// and random bytes and the MAC (HMAC-SHA-256 under a key derived from the secrets key)
// binds it to the organization.
type Challenges struct {
	key        []byte
	Difficulty int
	TTL        time.Duration
}

// NewChallenges derives the challenge key from the service's secrets key.
func NewChallenges(secretKey []byte, difficulty int, ttl time.Duration) *Challenges {
	m := hmac.New(sha256.New, secretKey)
	m.Write([]byte("rendezvous widget proof-of-work challenge v1"))
	return &Challenges{key: m.Sum(nil), Difficulty: difficulty, TTL: ttl}
}

// Issue returns a new challenge for orgID, valid until now + TTL.
func (c *Challenges) Issue(orgID string, now time.Time) (string, time.Time, error) {
	var payload [20]byte
	expires := now.Add(c.TTL).Truncate(time.Second)
	binary.BigEndian.PutUint64(payload[:8], uint64(expires.Unix()))
	if _, err := rand.Read(payload[8:]); err != nil {
		return "", time.Time{}, fmt.Errorf("issue challenge: %w", err)
	}
	p := base64.RawURLEncoding.EncodeToString(payload[:])
	return p + "." + base64.RawURLEncoding.EncodeToString(c.mac(orgID, p)), expires, nil
}

func (c *Challenges) mac(orgID, payload string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(orgID))
	m.Write([]byte{0})
	m.Write([]byte(payload))
	return m.Sum(nil)[:16]
}

// ErrChallenge is wrapped by every refusal of a challenge or its answer.
var ErrChallenge = errors.New("the anti-abuse check failed")

// Verify checks that challenge was issued for orgID, has not expired at now, and that
// nonce solves it.
func (c *Challenges) Verify(orgID, challenge, nonce string, now time.Time) error {
	p, mac, ok := strings.Cut(challenge, ".")
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if !ok || err != nil || !hmac.Equal(got, c.mac(orgID, p)) {
		return fmt.Errorf("%w: unknown challenge; load the form again", ErrChallenge)
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || len(payload) != 20 {
		return fmt.Errorf("%w: unknown challenge", ErrChallenge)
	}
	if now.Unix() > int64(binary.BigEndian.Uint64(payload[:8])) {
		return fmt.Errorf("%w: the challenge expired; load the form again", ErrChallenge)
	}
	if len(nonce) == 0 || len(nonce) > 20 {
		return fmt.Errorf("%w: no answer to the challenge", ErrChallenge)
	}
	if LeadingZeroBits(challenge, nonce) < c.Difficulty {
		return fmt.Errorf("%w: the answer to the challenge is wrong", ErrChallenge)
	}
	return nil
}

// LeadingZeroBits counts the zero bits that SHA-256(challenge ":" nonce) starts with.
func LeadingZeroBits(challenge, nonce string) int {
	sum := sha256.Sum256([]byte(challenge + ":" + nonce))
	n := 0
	for _, b := range sum {
		if b != 0 {
			return n + bits.LeadingZeros8(b)
		}
		n += 8
	}
	return n
}

// Solve finds a nonce for challenge at difficulty, as the widget's script does; for tests
// and the benchmark.
func Solve(challenge string, difficulty int) string {
	for i := 0; ; i++ {
		n := fmt.Sprint(i)
		if LeadingZeroBits(challenge, n) >= difficulty {
			return n
		}
	}
}
