package wiring

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"

	"rendezvous"
	"rendezvous/app"
	"rendezvous/auth"
	"rendezvous/genesys"
	"rendezvous/genesys/sandbox"
)

// Staff configures the staff app (sign-in with Genesys Cloud and the agents' pages).
type Staff struct {
	// SupervisorRole and AdminRole name Genesys Cloud roles that grant supervisor or
	// administrator at sign-in; empty grants nothing.
	SupervisorRole string
	AdminRole      string
	// FrameAncestors are origins allowed to frame the staff pages and the Interaction
	// Widget (Genesys Cloud's, such as https://apps.mypurecloud.ie).
	FrameAncestors []string
}

// singleConnection is the sign-in connection while the service knows one Genesys Cloud
// organization (the demo organization on the built-in sandbox): one Rendezvous
// organization, one Genesys Cloud organization id, one sign-in OAuth client.
type singleConnection struct {
	conn auth.Connection
}

func (c singleConnection) SignInConnection(_ context.Context, orgID string) (auth.Connection, error) {
	if c.conn.ClientID == "" || orgID != c.conn.OrgID {
		return auth.Connection{}, fmt.Errorf("organization %q: %w", orgID, rendezvous.ErrNotFound)
	}
	return c.conn, nil
}

func (c singleConnection) OrgByGenesysOrgID(_ context.Context, genesysOrgID string) (string, error) {
	if c.conn.GenesysOrgID == "" || genesysOrgID != c.conn.GenesysOrgID {
		return "", fmt.Errorf("Genesys Cloud organization %q: %w", genesysOrgID, rendezvous.ErrNotFound)
	}
	return c.conn.OrgID, nil
}

// genesysQueues lists queue names with the organization's API client.
type genesysQueues struct{ client *genesys.Client }

func (q genesysQueues) QueueNames(ctx context.Context, _ string) ([]string, error) {
	qs, err := q.client.Queues(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(qs))
	for _, x := range qs {
		names = append(names, x.Name)
	}
	return names, nil
}

// staffKey derives the key that signs the sign-in cookie from the secrets key, so that one
// key does not serve two purposes.
func staffKey(key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("rendezvous staff sign-in cookie"))
	return m.Sum(nil)
}

// demoUsers lists the sandbox's users for the sign-in page.
func demoUsers(d sandbox.DemoOrg) []app.DemoUser {
	var out []app.DemoUser
	for _, u := range d.Agents {
		out = append(out, app.DemoUser{Name: u.Name, Role: "agent"})
	}
	return append(out, app.DemoUser{Name: d.Supervisor.Name, Role: "supervisor"})
}
