package wiring

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"rendezvous"
	"rendezvous/app"
	"rendezvous/auth"
	"rendezvous/connections"
	"rendezvous/genesys/sandbox"
)

// Staff configures the staff app (sign-in with Genesys Cloud and the agents' pages).
type Staff struct {
	// SupervisorRole and AdminRole name Genesys Cloud roles that grant supervisor or
	// administrator at sign-in; empty grants nothing.
	SupervisorRole string
	AdminRole      string
	// RecheckEvery is how often a session's Genesys Cloud token is checked again; 0 means
	// auth's default (5 minutes).
	RecheckEvery time.Duration
}

// newStaff builds the staff app and its sign-in on the organizations' connections. frame
// are the origins that may frame its pages and the Interaction Widget: Genesys Cloud's
// desktops (or the sandbox's agent desktop), as for the agent's room. admin are the
// services the administration pages manage.
func newStaff(o Options, reg *connections.Registry, s *Service, frame []string, admin app.Admin) (*app.App, error) {
	var demoUsers []app.DemoUser
	if s.SandboxURL != "" {
		demo := sandbox.Demo
		for _, u := range demo.Agents {
			demoUsers = append(demoUsers, app.DemoUser{Name: u.Name, Role: "agent"})
		}
		demoUsers = append(demoUsers, app.DemoUser{Name: demo.Supervisor.Name, Role: "supervisor"})
	}
	a := auth.New(auth.Options{Store: o.Store, Connections: signIns{reg: reg}, Key: staffKey(o.Key), Clock: o.Clock,
		Logger: o.Logger, PublicURL: o.PublicURL, SupervisorRole: o.Staff.SupervisorRole, AdminRole: o.Staff.AdminRole, RecheckEvery: o.Staff.RecheckEvery})
	staff, err := app.New(app.Options{Store: o.Store, Auth: a, Clock: o.Clock, Logger: o.Logger, PublicURL: o.PublicURL,
		Queues: queueNames{reg: reg}, Checks: s.journey, Notifications: s.notify, Rooms: s.rooms,
		DefaultOrg: DefaultOrgID, DemoUsers: demoUsers, SandboxURL: s.SandboxURL, FrameAncestors: frame, Admin: admin})
	if err != nil {
		return nil, fmt.Errorf("staff app: %w", err)
	}
	return staff, nil
}

// signIns gives staff sign-in each organization's sign-in client from the registry.
type signIns struct{ reg *connections.Registry }

func (c signIns) SignInConnection(ctx context.Context, orgID string) (auth.Connection, error) {
	conn, err := c.reg.Connection(ctx, orgID)
	if errors.Is(err, rendezvous.ErrNotConnected) {
		return auth.Connection{}, fmt.Errorf("%v: %w", err, rendezvous.ErrNotFound)
	}
	if err != nil {
		return auth.Connection{}, err
	}
	if conn.SignInClientID == "" {
		return auth.Connection{}, fmt.Errorf("organization %s has no staff sign-in client: %w", orgID, rendezvous.ErrNotFound)
	}
	return auth.Connection{OrgID: conn.OrgID, GenesysOrgID: conn.GenesysOrgID, Endpoints: conn.Endpoints,
		ClientID: conn.SignInClientID, ClientSecret: conn.SignInClientSecret}, nil
}

func (c signIns) OrgByGenesysOrgID(ctx context.Context, genesysOrgID string) (string, error) {
	o, err := c.reg.OrgByGenesysOrgID(ctx, genesysOrgID)
	return o.ID, err
}

// queueNames lists an organization's queue names with its API client.
type queueNames struct{ reg *connections.Registry }

func (q queueNames) QueueNames(ctx context.Context, orgID string) ([]string, error) {
	gc, err := q.reg.Client(ctx, orgID)
	if err != nil {
		return nil, err
	}
	qs, err := gc.Queues(ctx)
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
