package notify_test

import (
	"testing"

	"rendezvous/secret"
)

func secretKey() ([]byte, error) { return secret.NewKey() }

func mustBox(t *testing.T, key []byte) *secret.Box {
	t.Helper()
	b, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
