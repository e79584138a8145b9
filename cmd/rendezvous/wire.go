package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"rendezvous/clock"
	"rendezvous/genesys"
	"rendezvous/genesys/sandbox"
	"rendezvous/jobs"
	"rendezvous/journey"
	"rendezvous/notify"
	"rendezvous/room"
	"rendezvous/store"
)

// journeyEventJobKind is the customer journey's share of the appointment event fan-out
// (journey.Service.HandleAppointmentEvent).
const journeyEventJobKind = "journey.appointment_event"

// areas are the services wired around the store: the customer journey, the video room
// and notifications, with the Genesys Cloud organization (or the sandbox) they talk to.
type areas struct {
	journey *journey.Service
	rooms   *room.Rooms
	notify  *notify.Service
	sandbox *sandbox.Sandbox // nil with a real Genesys Cloud organization
}

func (a *areas) close() {
	if a.journey != nil {
		a.journey.Close()
	}
	if a.rooms != nil {
		a.rooms.Close()
	}
	if a.sandbox != nil {
		a.sandbox.Close()
	}
}

// wireAreas builds the areas. With no Genesys Cloud organization configured it starts the
// built-in sandbox on c.sandboxAddr (served until ctx ends, tracked by wg) and points
// everything at it.
func wireAreas(ctx context.Context, wg *sync.WaitGroup, c *config, st *store.Store, key []byte, publicURL string, clk clock.Clock, log *slog.Logger) (*areas, error) {
	a := &areas{}
	var endpoints genesys.Endpoints
	clientID, clientSecret := c.genesysClientID, c.genesysClientSecret
	var defaults journey.Settings
	if c.useSandbox() {
		a.sandbox = sandbox.New(sandbox.Options{Clock: clk, Logger: log})
		url, err := serveSandbox(ctx, wg, a.sandbox, c.sandboxAddr, log)
		if err != nil {
			a.close()
			return nil, err
		}
		log.Info("no Genesys Cloud organization configured: using the built-in sandbox", "url", url)
		demo := sandbox.Demo
		endpoints = genesys.Endpoints{API: url, Login: url, WebMessaging: "ws" + strings.TrimPrefix(url, "http") + "/v1"}
		clientID, clientSecret = demo.APIClient.ID, demo.APIClient.Secret
		defaults = journey.DefaultSettings(demo.AgentDeploymentID, demo.QueueDeploymentID, demo.PlainQueue.Name)
	} else {
		var err error
		endpoints, err = c.genesysEndpoints()
		if err != nil {
			return nil, err
		}
	}

	var queues journey.QueueFinder
	if clientID != "" {
		gc := genesys.New(genesys.Config{Endpoints: endpoints, ClientID: clientID, ClientSecret: clientSecret, Clock: clk, Logger: log})
		queues = journey.GenesysQueues{Client: gc}
	}

	// The room and the journey refer to each other (the journey hands out room links; the
	// room asks the journey's grace period and wakes its pages), so the room reads the
	// journey through closures set once both exist.
	var j *journey.Service
	rooms, err := room.New(room.Options{
		Store: st, Clock: clk, Logger: log.With("component", "room"), Key: key, PublicURL: publicURL,
		Grace:    func(ctx context.Context, orgID string) (time.Duration, error) { return j.GraceFor(ctx, orgID) },
		OnChange: func(id string) { j.Notify(id) },
	})
	if err != nil {
		a.close()
		return nil, fmt.Errorf("video room: %w", err)
	}
	a.rooms = rooms
	j, err = journey.New(journey.Options{
		Store: st, Clock: clk, Logger: log.With("component", "journey"), PublicURL: publicURL,
		Guest:     journey.WebMessaging{URL: endpoints.WebMessaging, Origin: publicURL},
		Queues:    queues,
		RoomLinks: rooms,
		Defaults:  defaults,
	})
	if err != nil {
		a.close()
		return nil, fmt.Errorf("customer journey: %w", err)
	}
	a.journey = j

	a.notify, err = notify.New(notify.Options{Store: st, Clock: clk, Logger: log, Endpoints: endpoints, PublicURL: publicURL})
	if err != nil {
		a.close()
		return nil, fmt.Errorf("notifications: %w", err)
	}
	if a.sandbox != nil {
		// The demo organization sends its notifications through the sandbox from the
		// first booking. A database without it (created for production) is left alone.
		if _, err := st.Org(ctx, "demo"); err == nil {
			if err := a.notify.SeedDemo(ctx, "demo", sandbox.Demo); err != nil {
				a.close()
				return nil, err
			}
		}
	}
	return a, nil
}

// registerJobs gives the job runner a handler for every job kind.
func (a *areas) registerJobs(r *jobs.Runner, st *store.Store) {
	// The store records one appointment.event job per change; it fans out into one job per
	// area that reacts, in one transaction, so each area retries on its own and a failure
	// in one (a Genesys outage delaying an SMS) never holds back another.
	fanOut := []string{journeyEventJobKind, room.EventJobKind, notify.EventJobKind}
	r.Handle(store.EventJobKind, func(ctx context.Context, j *store.Job) error {
		return st.InTx(ctx, func(tx *store.Tx) error {
			for _, kind := range fanOut {
				err := tx.Enqueue(ctx, store.Job{OrgID: j.OrgID, Kind: kind, Args: j.Args,
					// Dedupes a second fan-out of the same event (a retry after a crash
					// between this commit and the job's completion).
					UniqueKey: fmt.Sprintf("fanout/%d/%s", j.ID, kind)})
				if err != nil {
					return fmt.Errorf("fan out %s: %w", kind, err)
				}
			}
			return nil
		})
	})
	r.Handle(journeyEventJobKind, a.journey.HandleAppointmentEvent)
	r.Handle(room.EventJobKind, a.rooms.HandleAppointmentEvent)
	r.Handle(room.DeadlineJobKind, a.rooms.HandleDeadline)
	r.Handle(room.EmptyJobKind, a.rooms.HandleEmpty)
	a.notify.Register(r)
}

// serveSandbox serves sb on addr until ctx ends and returns its base URL.
func serveSandbox(ctx context.Context, wg *sync.WaitGroup, sb *sandbox.Sandbox, addr string, log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("Genesys Cloud sandbox: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: sb.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("Genesys Cloud sandbox stopped", "error", err)
		}
	})
	wg.Go(func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	})
	return "http://" + ln.Addr().String(), nil
}

// genesysEndpoints returns the real organization's endpoints: the region's, with any
// explicit overrides.
func (c *config) genesysEndpoints() (genesys.Endpoints, error) {
	var e genesys.Endpoints
	if c.genesysRegion != "" {
		var err error
		e, err = genesys.RegionEndpoints(c.genesysRegion)
		if err != nil {
			return e, fmt.Errorf("-genesys-region: %w", err)
		}
	}
	if c.genesysAPIURL != "" {
		e.API = c.genesysAPIURL
	}
	if c.genesysLoginURL != "" {
		e.Login = c.genesysLoginURL
	}
	if c.genesysWebMsgURL != "" {
		e.WebMessaging = c.genesysWebMsgURL
	}
	if e.API == "" || e.Login == "" || e.WebMessaging == "" {
		return e, errors.New("set -genesys-region, or all of -genesys-api-url, -genesys-login-url and -genesys-webmessaging-url")
	}
	return e, nil
}
