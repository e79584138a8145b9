package genesys

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// GuestSockets keeps one connected, unused web messaging socket ready for each endpoint
// (URL, deployment and Origin) a guest session has been opened on, so that the next
// session there skips the connection handshake (TCP, TLS and the WebSocket upgrade,
// several round trips to Genesys Cloud) and starts with configureSession. Rendezvous
// opens a session the moment a customer arrives at an appointment's start, and the
// agent is alerted only after it, so those round trips are the customer's wait.
//
// A socket carries nothing until a session configures it; a spare that Genesys closed
// in the meantime, or one older than MaxIdle, is dropped and the session dials its own.
// Share one GuestSockets between sessions (GuestConfig.Sockets) and Close it at
// shutdown. The zero value is ready to use.
type GuestSockets struct {
	// MaxIdle is how long a spare socket is trusted; 0 means 30 s. An older one is closed
	// instead of used.
	MaxIdle time.Duration

	mu      sync.Mutex
	spares  map[string]spareSocket
	filling map[string]bool
	closed  bool
	wg      sync.WaitGroup
}

type spareSocket struct {
	conn *websocket.Conn
	at   time.Time // real time: how long a socket stays open is the network's affair
}

// take hands out the spare socket of key, if there is a fresh one; nil means the session
// must dial for itself.
func (p *GuestSockets) take(key string) *websocket.Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	sp, ok := p.spares[key]
	delete(p.spares, key)
	maxIdle := p.MaxIdle
	if maxIdle <= 0 {
		maxIdle = 30 * time.Second
	}
	if !ok {
		return nil
	}
	if time.Since(sp.at) > maxIdle {
		sp.conn.CloseNow()
		return nil
	}
	return sp.conn
}

// refill starts opening the next spare socket of key, unless one is ready or on its way.
// A session calls it once configured, so that the spare's handshake does not compete
// with its own.
func (p *GuestSockets) refill(key string, dial func(context.Context) (*websocket.Conn, error), timeout time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.spares[key]; ok || p.closed || p.filling[key] {
		return
	}
	if p.filling == nil {
		p.filling = map[string]bool{}
	}
	p.filling[key] = true
	p.wg.Add(1)
	go p.fill(key, dial, timeout)
}

// fill opens the spare socket of key.
func (p *GuestSockets) fill(key string, dial func(context.Context) (*websocket.Conn, error), timeout time.Duration) {
	defer p.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	conn, err := dial(ctx)
	cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.filling, key)
	if err != nil {
		return // the next session dials for itself and tries again
	}
	if _, taken := p.spares[key]; taken || p.closed {
		conn.CloseNow()
		return
	}
	if p.spares == nil {
		p.spares = map[string]spareSocket{}
	}
	p.spares[key] = spareSocket{conn: conn, at: time.Now()}
}

// Spares reports how many sockets are open and waiting for a session.
func (p *GuestSockets) Spares() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.spares)
}

// Close closes the spare sockets and waits for those being opened.
func (p *GuestSockets) Close() {
	p.mu.Lock()
	p.closed = true
	spares := p.spares
	p.spares = nil
	p.mu.Unlock()
	for _, sp := range spares {
		sp.conn.Close(websocket.StatusNormalClosure, "")
	}
	p.wg.Wait()
}

// dialSocket opens a web messaging socket to u with header h.
func dialSocket(ctx context.Context, client *http.Client, u string, h http.Header) (*websocket.Conn, *http.Response, error) {
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: client, HTTPHeader: h})
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(1 << 20)
	return conn, resp, nil
}
