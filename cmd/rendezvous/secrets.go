package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"rendezvous/clock"
	"rendezvous/secret"
)

// secretsCmd runs "secrets generate" (print a new key) and "secrets reseal" (seal every
// stored secret again under the current key: the second step of a key rotation).
func secretsCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const usage = "usage: rendezvous secrets generate | reseal [-secret-key KEY | -secret-key-file FILE] -previous-secret-keys OLD[,OLDER]"
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "generate":
		k, err := secret.NewKey()
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, base64.StdEncoding.EncodeToString(k))
		return nil
	case "reseal":
	default:
		return errors.New(usage)
	}
	var c config
	fs := newFlags("secrets reseal", getenv, &c)
	if err := fs.parse(args[1:], stdout, stderr); err != nil {
		return err
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	st, key, err := c.openStore(ctx, log, clock.Real(), false)
	if err != nil {
		return err
	}
	defer st.Close()
	counts, err := st.Reseal(ctx)
	for _, n := range counts {
		fmt.Fprintf(stdout, "%-40s %d re-sealed, %d already under the current key\n", n.Column, n.Resealed, n.Current)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "every stored secret is sealed under key %s; the previous keys can be dropped once every instance runs with this key\n", secret.KeyID(key))
	return nil
}
