package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"rendezvous"
)

// APIKeyPrefix starts every API key secret, so that secret scanners and people can tell
// what a leaked string is.
const APIKeyPrefix = "rdv_"

// CreateAPIKey creates a key with the given scopes and returns it with its secret. The
// secret is shown once: only its SHA-256 is stored (a plain hash suffices for 256 random
// bits; there is no password to brute-force).
func (s *Store) CreateAPIKey(ctx context.Context, orgID, name string, scopes []string) (rendezvous.APIKey, string, error) {
	var p rendezvous.Problems
	name = strings.TrimSpace(name)
	if name == "" {
		p.Add("name", "is required")
	} else if err := rendezvous.CheckLine(name); err != nil {
		p.Add("name", "%s", err)
	} else if len([]rune(name)) > 100 {
		p.Add("name", "is longer than 100 characters")
	}
	if len(scopes) == 0 {
		p.Add("scopes", "needs at least one of %s", strings.Join(rendezvous.AllScopes(), ", "))
	}
	seen := map[string]bool{}
	var clean []string
	for i, sc := range scopes {
		if !rendezvous.ValidScope(sc) {
			p.Add(fmt.Sprintf("scopes[%d]", i), "%q is not a scope; use %s", sc, strings.Join(rendezvous.AllScopes(), ", "))
			continue
		}
		if !seen[sc] {
			seen[sc] = true
			clean = append(clean, sc)
		}
	}
	if err := p.Err(); err != nil {
		return rendezvous.APIKey{}, "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return rendezvous.APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	secret := APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	k := rendezvous.APIKey{ID: uuid.NewString(), OrgID: orgID, Name: name, Scopes: clean, CreatedAt: s.clock.Now().UTC().Truncate(time.Microsecond)}
	scJSON, _ := json.Marshal(clean)
	err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO api_keys (id, org_id, name, scopes, secret_hash, created_at, revoked_at)
			VALUES (?, ?, ?, ?, ?, ?, 0)`, k.ID, orgID, name, string(scJSON), hashSecret(secret), TimeToDB(k.CreatedAt))
		if err != nil {
			return err
		}
		_, err = tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: "api_key.created", TargetType: "api_key", TargetID: k.ID,
			Changes: []rendezvous.FieldChange{{Field: "name", To: name}, {Field: "scopes", To: strings.Join(clean, ",")}}})
		return err
	})
	if err != nil {
		return rendezvous.APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	return k, secret, nil
}

// APIKeyBySecret returns the live key whose secret this is, or ErrUnauthenticated. It
// records the use (LastUsedAt) when the last one recorded is a minute old or more: at
// most one write a minute per key, however busy the key.
func (s *Store) APIKeyBySecret(ctx context.Context, secret string) (rendezvous.APIKey, error) {
	if !strings.HasPrefix(secret, APIKeyPrefix) {
		return rendezvous.APIKey{}, fmt.Errorf("api key: %w", rendezvous.ErrUnauthenticated)
	}
	st, err := s.prepared(ctx, `SELECT `+apiKeyColumns+` FROM api_keys
		WHERE secret_hash = ? AND revoked_at = 0`)
	if err != nil {
		return rendezvous.APIKey{}, fmt.Errorf("api key: %w", err)
	}
	k, err := scanAPIKey(st.QueryRowContext(ctx, hashSecret(secret)))
	if errors.Is(err, sql.ErrNoRows) {
		return k, fmt.Errorf("api key: %w", rendezvous.ErrUnauthenticated)
	}
	if err != nil {
		return k, fmt.Errorf("api key: %w", err)
	}
	if now := s.clock.Now().UTC().Truncate(time.Minute); now.Sub(k.LastUsedAt) >= time.Minute {
		// The condition keeps two instances from both writing the same minute. A failed
		// write loses only this hint (the next use tries again): the request goes on.
		if _, err := s.execCount(ctx, "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND last_used_at < ?",
			TimeToDB(now), k.ID, TimeToDB(now)); err == nil {
			k.LastUsedAt = now
		}
	}
	return k, nil
}

// APIKeys lists the organization's live keys, oldest first.
func (s *Store) APIKeys(ctx context.Context, orgID string) ([]rendezvous.APIKey, error) {
	rows, err := s.read.QueryContext(ctx, s.rebind(`SELECT `+apiKeyColumns+` FROM api_keys
		WHERE org_id = ? AND revoked_at = 0 ORDER BY created_at, id`), orgID)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	defer rows.Close()
	var out []rendezvous.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list api keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey disables a key at once; ErrNotFound if the organization has no such live key.
func (s *Store) RevokeAPIKey(ctx context.Context, orgID, id string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, "UPDATE api_keys SET revoked_at = ? WHERE org_id = ? AND id = ? AND revoked_at = 0",
			TimeToDB(s.clock.Now()), orgID, id)
		if err != nil {
			return fmt.Errorf("revoke api key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("revoke api key %s: %w", id, rendezvous.ErrNotFound)
		}
		_, err = tx.Audit(ctx, rendezvous.AuditEntry{OrgID: orgID, Action: "api_key.revoked", TargetType: "api_key", TargetID: id})
		return err
	})
}

type rowScanner interface{ Scan(dest ...any) error }

const apiKeyColumns = "id, org_id, name, scopes, created_at, last_used_at"

func scanAPIKey(r rowScanner) (rendezvous.APIKey, error) {
	var k rendezvous.APIKey
	var scopes string
	var created, used int64
	if err := r.Scan(&k.ID, &k.OrgID, &k.Name, &scopes, &created, &used); err != nil {
		return k, err
	}
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return k, fmt.Errorf("scopes: %w", err)
	}
	k.CreatedAt, k.LastUsedAt = TimeFromDB(created), TimeFromDB(used)
	return k, nil
}

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
