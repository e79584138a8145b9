package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"rendezvous"
	"rendezvous/secret"
)

// EnsureOrg creates the organization, or renames it if it exists. Every other record
// refers to an organization, so this comes first. Tests and the demo use it; operators
// create organizations with CreateOrg.
func (s *Store) EnsureOrg(ctx context.Context, o rendezvous.Org) error {
	if strings.TrimSpace(o.ID) == "" {
		return &rendezvous.ValidationError{Problems: []rendezvous.FieldProblem{{Field: "id", Message: "is required"}}}
	}
	now := TimeToDB(s.clock.Now())
	err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO orgs (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name`, o.ID, o.Name, now, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("ensure org: %w", err)
	}
	return nil
}

// OrgSecrets are the sealed parts of an organization's Genesys connection, opened.
type OrgSecrets struct {
	APIClientSecret    string
	SignInClientSecret string
}

// orgColumns are the columns scanOrg reads, in its order.
const orgColumns = `id, name, created_at, updated_at, genesys_region, genesys_api_url, genesys_login_url,
	genesys_webmessaging_url, genesys_org_id, api_client_id, api_client_secret_hint, signin_client_id,
	signin_client_secret_hint, genesys_version`

func scanOrg(r rowScanner) (rendezvous.Org, error) {
	var o rendezvous.Org
	var created, updated int64
	var gid sql.NullString
	g := &o.Genesys
	err := r.Scan(&o.ID, &o.Name, &created, &updated, &g.Region, &g.APIURL, &g.LoginURL, &g.WebMessagingURL,
		&gid, &g.APIClientID, &g.APIClientSecretHint, &g.SignInClientID, &g.SignInClientSecretHint, &g.Version)
	o.CreatedAt, o.UpdatedAt, g.OrgID = TimeFromDB(created), TimeFromDB(updated), gid.String
	if updated == 0 {
		o.UpdatedAt = o.CreatedAt
	}
	return o, err
}

// CreateOrg creates an organization with its Genesys connection (without client secrets:
// UpdateOrg sets those). An id or a Genesys organization id already taken is ErrConflict.
func (s *Store) CreateOrg(ctx context.Context, o rendezvous.Org) (rendezvous.Org, error) {
	if err := rendezvous.ValidateOrg(&o); err != nil {
		return o, err
	}
	if o.Genesys.APIClientSecretHint != "" || o.Genesys.SignInClientSecretHint != "" {
		return o, errors.New("create org: secrets are set with UpdateOrg")
	}
	now := s.clock.Now()
	g := o.Genesys
	g.Version = 1
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := checkOrgFree(ctx, tx, o.ID); err != nil {
			return err
		}
		if err := checkGenesysOrgFree(ctx, tx, o.ID, g.OrgID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO orgs (id, name, created_at, updated_at, genesys_region, genesys_api_url,
			genesys_login_url, genesys_webmessaging_url, genesys_org_id, api_client_id, signin_client_id, genesys_version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.ID, o.Name, TimeToDB(now), TimeToDB(now), g.Region, g.APIURL, g.LoginURL, g.WebMessagingURL,
			nullable(g.OrgID), g.APIClientID, g.SignInClientID, g.Version)
		return err
	})
	if err != nil {
		return o, fmt.Errorf("create organization %s: %w", o.ID, err)
	}
	return s.Org(ctx, o.ID)
}

// checkOrgFree refuses an organization id already in use. The primary key still guards
// against a race; this gives the person a clear message.
func checkOrgFree(ctx context.Context, tx *Tx, id string) error {
	var n int
	if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM orgs WHERE id = ?", id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return rendezvous.WithDetail(fmt.Errorf("an organization with id %q already exists: %w", id, rendezvous.ErrConflict),
			"An organization with id %q already exists.", id)
	}
	return nil
}

// checkGenesysOrgFree refuses a Genesys organization id that another organization has
// (the unique index guards against a race).
func checkGenesysOrgFree(ctx context.Context, tx *Tx, orgID, genesysOrgID string) error {
	if genesysOrgID == "" {
		return nil
	}
	var other string
	err := tx.QueryRow(ctx, "SELECT id FROM orgs WHERE genesys_org_id = ? AND id <> ?", genesysOrgID, orgID).Scan(&other)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return rendezvous.WithDetail(fmt.Errorf("Genesys Cloud organization %s is already connected to organization %q: %w", genesysOrgID, other, rendezvous.ErrConflict),
		"Genesys Cloud organization %s is already connected to organization %q.", genesysOrgID, other)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Org returns one organization, or ErrNotFound.
func (s *Store) Org(ctx context.Context, id string) (rendezvous.Org, error) {
	o, err := scanOrg(s.read.QueryRowContext(ctx, s.rebind("SELECT "+orgColumns+" FROM orgs WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("organization %s: %w", id, rendezvous.ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("organization %s: %w", id, err)
	}
	return o, nil
}

// OrgByGenesysOrgID returns the organization connected to a Genesys Cloud organization
// (the id GET /api/v2/users/me?expand=organization gives at staff sign-in), or
// ErrNotFound.
func (s *Store) OrgByGenesysOrgID(ctx context.Context, genesysOrgID string) (rendezvous.Org, error) {
	gid := strings.ToLower(strings.TrimSpace(genesysOrgID))
	if gid == "" {
		return rendezvous.Org{}, fmt.Errorf("organization of Genesys Cloud organization %q: %w", genesysOrgID, rendezvous.ErrNotFound)
	}
	o, err := scanOrg(s.read.QueryRowContext(ctx, s.rebind("SELECT "+orgColumns+" FROM orgs WHERE genesys_org_id = ?"), gid))
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("organization of Genesys Cloud organization %s: %w", gid, rendezvous.ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("organization of Genesys Cloud organization %s: %w", gid, err)
	}
	return o, nil
}

// Orgs lists every organization, by id. Only the operator's command line lists them all.
func (s *Store) Orgs(ctx context.Context) ([]rendezvous.Org, error) {
	var out []rendezvous.Org
	err := s.readRows(ctx, "SELECT "+orgColumns+" FROM orgs ORDER BY id", nil, func(r rowScanner) error {
		o, err := scanOrg(r)
		if err != nil {
			return err
		}
		out = append(out, o)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	return out, nil
}

// OrgUpdate is a change to an organization: nil fields stay as they are, an empty string
// clears. Secrets are given in the clear and sealed here; they are never read back
// except by OrgSecrets.
type OrgUpdate struct {
	Name               *string
	Region             *string
	APIURL             *string
	LoginURL           *string
	WebMessagingURL    *string
	GenesysOrgID       *string
	APIClientID        *string
	APIClientSecret    *string
	SignInClientID     *string
	SignInClientSecret *string
}

// UpdateOrg applies u to the organization and returns it. A change of anything Genesys
// moves the connection's Version on, so every instance rebuilds its client. A Genesys
// organization id another organization has is ErrConflict.
func (s *Store) UpdateOrg(ctx context.Context, id string, u OrgUpdate) (rendezvous.Org, error) {
	if s.secrets == nil && (u.APIClientSecret != nil || u.SignInClientSecret != nil) {
		return rendezvous.Org{}, errors.New("update organization: no secrets box to seal client secrets with")
	}
	var p rendezvous.Problems
	for _, sec := range []struct {
		field string
		v     *string
	}{{"genesys.apiClientSecret", u.APIClientSecret}, {"genesys.signInClientSecret", u.SignInClientSecret}} {
		if sec.v != nil {
			if err := rendezvous.ValidateClientSecret(sec.field, *sec.v); err != nil {
				p.Add(sec.field, "%s", err.(*rendezvous.ValidationError).Problems[0].Message)
			}
		}
	}
	if err := p.Err(); err != nil {
		return rendezvous.Org{}, err
	}
	err := s.InTx(ctx, func(tx *Tx) error {
		o, err := scanOrg(tx.QueryRow(ctx, "SELECT "+orgColumns+" FROM orgs WHERE id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("organization %s: %w", id, rendezvous.ErrNotFound)
		}
		if err != nil {
			return err
		}
		before := o.Genesys
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		g := &o.Genesys
		set(&o.Name, u.Name)
		set(&g.Region, u.Region)
		set(&g.APIURL, u.APIURL)
		set(&g.LoginURL, u.LoginURL)
		set(&g.WebMessagingURL, u.WebMessagingURL)
		set(&g.OrgID, u.GenesysOrgID)
		set(&g.APIClientID, u.APIClientID)
		set(&g.SignInClientID, u.SignInClientID)
		if err := rendezvous.ValidateOrg(&o); err != nil {
			return err
		}
		if err := checkGenesysOrgFree(ctx, tx, o.ID, g.OrgID); err != nil {
			return err
		}
		changed := before != *g || u.APIClientSecret != nil || u.SignInClientSecret != nil
		if changed {
			g.Version++
		}
		_, err = tx.Exec(ctx, `UPDATE orgs SET name = ?, updated_at = ?, genesys_region = ?, genesys_api_url = ?,
			genesys_login_url = ?, genesys_webmessaging_url = ?, genesys_org_id = ?, api_client_id = ?,
			signin_client_id = ?, genesys_version = ? WHERE id = ?`,
			o.Name, TimeToDB(s.clock.Now()), g.Region, g.APIURL, g.LoginURL, g.WebMessagingURL, nullable(g.OrgID),
			g.APIClientID, g.SignInClientID, g.Version, o.ID)
		if err != nil {
			return err
		}
		for _, sec := range []struct {
			column string
			v      *string
		}{{"api_client_secret", u.APIClientSecret}, {"signin_client_secret", u.SignInClientSecret}} {
			if sec.v == nil {
				continue
			}
			var sealed []byte
			hint := ""
			if *sec.v != "" {
				if sealed, err = s.secrets.Seal([]byte(*sec.v)); err != nil {
					return fmt.Errorf("seal %s: %w", sec.column, err)
				}
				hint = secret.Hint(*sec.v)
			}
			if _, err := tx.Exec(ctx, "UPDATE orgs SET "+sec.column+" = ?, "+sec.column+"_hint = ? WHERE id = ?",
				sealed, hint, o.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return rendezvous.Org{}, fmt.Errorf("update organization %s: %w", id, err)
	}
	return s.Org(ctx, id)
}

// OrgSecrets opens the organization's sealed OAuth client secrets, for what calls Genesys
// on its behalf. Never show them.
func (s *Store) OrgSecrets(ctx context.Context, id string) (OrgSecrets, error) {
	var api, signIn []byte
	err := s.read.QueryRowContext(ctx, s.rebind("SELECT api_client_secret, signin_client_secret FROM orgs WHERE id = ?"), id).Scan(&api, &signIn)
	if errors.Is(err, sql.ErrNoRows) {
		return OrgSecrets{}, fmt.Errorf("organization %s: %w", id, rendezvous.ErrNotFound)
	}
	if err != nil {
		return OrgSecrets{}, fmt.Errorf("secrets of organization %s: %w", id, err)
	}
	var out OrgSecrets
	for _, sec := range []struct {
		sealed []byte
		dst    *string
	}{{api, &out.APIClientSecret}, {signIn, &out.SignInClientSecret}} {
		if len(sec.sealed) == 0 {
			continue
		}
		if s.secrets == nil {
			return OrgSecrets{}, fmt.Errorf("secrets of organization %s: no secrets box to open them", id)
		}
		b, err := s.secrets.Open(sec.sealed)
		if err != nil {
			return OrgSecrets{}, fmt.Errorf("secrets of organization %s: %w", id, err)
		}
		*sec.dst = string(b)
	}
	return out, nil
}
