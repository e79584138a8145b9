package widget

import (
	"errors"
	"testing"
	"time"
)

func TestChallenges(t *testing.T) {
	now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	c := NewChallenges([]byte("0123456789abcdef0123456789abcdef"), 8, 15*time.Minute)
	ch, expires, err := c.Issue("org-a", now)
	if err != nil {
		t.Fatal(err)
	}
	if !expires.Equal(now.Add(15 * time.Minute)) {
		t.Errorf("expires %s", expires)
	}
	nonce := Solve(ch, 8)
	if err := c.Verify("org-a", ch, nonce, now.Add(time.Minute)); err != nil {
		t.Fatalf("a solved challenge is refused: %v", err)
	}
	wrong := "0"
	for LeadingZeroBits(ch, wrong) >= 8 {
		wrong += "0"
	}
	tampered := []byte(ch)
	tampered[0] ^= 1 // another character of the base64 alphabet
	other := NewChallenges([]byte("another key, another deployment!"), 8, 15*time.Minute)
	cases := []struct {
		name           string
		org, ch, nonce string
		at             time.Time
		with           *Challenges
	}{
		{"another organization", "org-b", ch, nonce, now, c},
		{"expired", "org-a", ch, nonce, now.Add(16 * time.Minute), c},
		{"unsolved", "org-a", ch, wrong, now, c},
		{"no answer", "org-a", ch, "", now, c},
		{"tampered", "org-a", string(tampered), nonce, now, c},
		{"not a challenge", "org-a", "hello", nonce, now, c},
		{"another key", "org-a", ch, nonce, now, other},
	}
	for _, tc := range cases {
		if err := tc.with.Verify(tc.org, tc.ch, tc.nonce, tc.at); !errors.Is(err, ErrChallenge) {
			t.Errorf("%s: Verify = %v, want ErrChallenge", tc.name, err)
		}
	}
}

func TestCheckOrigins(t *testing.T) {
	got, err := CheckOrigins([]string{"https://Bank.Example", "https://bank.example/", "http://localhost:8081"})
	if err != nil || len(got) != 2 || got[0] != "https://bank.example" || got[1] != "http://localhost:8081" {
		t.Fatalf("CheckOrigins = %v, %v", got, err)
	}
	for _, bad := range []string{"bank.example", "https://bank.example/path", "ftp://bank.example", "https://*.bank.example", "https://user@bank.example", "https://bank.example?x=1"} {
		if _, err := CheckOrigins([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestWidgetScriptIsSmall(t *testing.T) {
	b, err := files.ReadFile("static/widget.js")
	if err != nil {
		t.Fatal(err)
	}
	// The issue's limit is 30 KB compressed; the loader is far below it uncompressed.
	if len(b) > 30<<10 {
		t.Errorf("widget.js is %d bytes", len(b))
	}
}
