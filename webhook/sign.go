package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries the signature of every request: "t=<Unix seconds>,v1=<hex>",
// with one v1 per valid signing secret (two for a while after a rotation). Each v1 is the
// hex HMAC-SHA256, keyed with the secret, of the timestamp, a full stop and the body.
const SignatureHeader = "Rendezvous-Signature"

// Headers that identify each request.
const (
	EventIDHeader   = "Rendezvous-Event-Id"   // the id to deduplicate on: the same for every try
	EventTypeHeader = "Rendezvous-Event-Type" // such as appointment.created
)

// Sign returns the SignatureHeader value of body sent at t, signed with each secret.
func Sign(t time.Time, body []byte, secrets ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=" + ts)
	for _, s := range secrets {
		if s == "" {
			continue
		}
		b.WriteString(",v1=" + hex.EncodeToString(mac(s, ts, body)))
	}
	return b.String()
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors of Verify.
var (
	ErrBadSignature = errors.New("webhook signature does not match")
	ErrStale        = errors.New("webhook timestamp outside the tolerance")
)

// Verify checks a SignatureHeader value against body with secret, as a receiver does: the
// timestamp must be within tolerance of now (against replays) and one v1 must match.
// Receivers written in Go may use it; the README shows the same in a few lines.
func Verify(header string, body []byte, secret string, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrBadSignature
}
