package journey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"rendezvous/clock"
	"rendezvous/genesys"
)

// WebMessaging is the Guest of a real Genesys Cloud (or of the sandbox), through the
// genesys package's web messaging guest client.
type WebMessaging struct {
	// URL is the web messaging endpoint (genesys.Endpoints.WebMessaging).
	URL string
	// Origin is sent on the handshake; Genesys checks it against the deployment's allowed
	// domains, so use the public URL of Rendezvous.
	Origin     string
	HTTPClient *http.Client
	// Clock paces messages and keep-alives; nil means the real clock, which is right even
	// in tests: pacing is about Genesys' real per-second rate limit.
	Clock  clock.Clock
	Logger *slog.Logger
	// MinSendInterval spaces messages of one session (0: the client's default, 500 ms).
	MinSendInterval time.Duration
	// Sockets, when set, keeps a socket open ahead of the next interaction, so that a
	// customer arriving at the start waits for no connection handshake (see
	// genesys.GuestSockets). Its owner closes it.
	Sockets *genesys.GuestSockets
}

// Open dials the guest session for token, resuming it when Genesys still knows it.
func (m WebMessaging) Open(ctx context.Context, deploymentID, token string) (GuestSession, error) {
	s, err := genesys.DialGuest(ctx, genesys.GuestConfig{
		URL: m.URL, DeploymentID: deploymentID, Token: token, Origin: m.Origin,
		HTTPClient: m.HTTPClient, Clock: m.Clock, Logger: m.Logger, MinSendInterval: m.MinSendInterval,
		Sockets: m.Sockets,
	})
	if err != nil {
		return nil, err
	}
	return guestSession{s}, nil
}

type guestSession struct{ s *genesys.GuestSession }

func (g guestSession) Join(ctx context.Context, attrs map[string]string) error {
	return g.s.Join(ctx, attrs)
}

func (g guestSession) Say(ctx context.Context, text string) error {
	return g.s.SendText(ctx, text, nil)
}

// WaitAgent treats the agent's first text as "the agent joined", and an Outbound presence
// Join too, should Genesys send one (it documents none; Service.waitAgent also watches the
// agent opening the room).
func (g guestSession) WaitAgent(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-g.s.Events():
			if !ok {
				return errors.New("web messaging session closed before the agent joined")
			}
			outbound := ev.Message != nil && ev.Message.Direction == "Outbound"
			switch ev.Type {
			case genesys.GuestPresenceJoin, genesys.GuestAgentText:
				if outbound {
					return nil
				}
			case genesys.GuestSessionEnded:
				return fmt.Errorf("web messaging session ended before the agent joined: %w", ev.Err)
			}
		}
	}
}

// End clears the conversation (a Presence Clear, how Genesys' SDK lets the customer
// leave). A resume that found the session gone opened a new, empty one: nothing to end.
func (g guestSession) End(ctx context.Context) error {
	if g.s.Info().NewSession {
		return g.s.Close()
	}
	return g.s.Clear(ctx)
}

func (g guestSession) Close() error { return g.s.Close() }

// GenesysQueues checks queue names through the Genesys Cloud client.
type GenesysQueues struct{ Client *genesys.Client }

// QueueExists reports whether a queue has exactly this name.
func (q GenesysQueues) QueueExists(ctx context.Context, name string) (bool, error) {
	_, err := q.Client.QueueByName(ctx, name)
	if errors.Is(err, genesys.ErrQueueNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}
