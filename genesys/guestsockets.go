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
// A socket carries nothing until a session configures it. A spare is replaced by a fresh
// one once it is MaxIdle old, for KeepFor after the endpoint's last session, and then let
// go; one that Genesys closed in the meantime is dropped and the session dials its own.
// Share one GuestSockets between sessions (GuestConfig.Sockets) and Close it at
// shutdown. The zero value is ready to use.
//
// Times here are real time, not an injected clock: how long a socket stays usable is the
// network's affair.
type GuestSockets struct {
	// MaxIdle is how long a spare socket is trusted; 0 means 30 s.
	MaxIdle time.Duration
	// KeepFor is how long after an endpoint's last session its spare is kept fresh; 0
	// means an hour. A contact center books appointments minutes apart: the spare should
	// outlast the gaps of a working day, not a quiet night.
	KeepFor time.Duration

	mu       sync.Mutex
	spares   map[string]spareSocket
	filling  map[string]bool
	lastUsed map[string]time.Time
	closed   bool
	wg       sync.WaitGroup
}

type spareSocket struct {
	conn *websocket.Conn
	at   time.Time
}

// dialFunc opens a socket to one endpoint.
type dialFunc func(context.Context) (*websocket.Conn, error)

func (p *GuestSockets) maxIdle() time.Duration {
	if p.MaxIdle > 0 {
		return p.MaxIdle
	}
	return 30 * time.Second
}

func (p *GuestSockets) keepFor() time.Duration {
	if p.KeepFor > 0 {
		return p.KeepFor
	}
	return time.Hour
}

// take hands out the spare socket of key, if there is a fresh one; nil means the session
// must dial for itself.
func (p *GuestSockets) take(key string) *websocket.Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastUsed == nil {
		p.lastUsed = map[string]time.Time{}
	}
	p.lastUsed[key] = time.Now()
	sp, ok := p.spares[key]
	if !ok {
		return nil
	}
	delete(p.spares, key)
	if time.Since(sp.at) > p.maxIdle() {
		sp.conn.CloseNow() // its renewal is late (a busy machine): not worth the risk
		return nil
	}
	return sp.conn
}

// refill starts opening the next spare socket of key, unless one is ready or on its way.
// A session calls it once configured, so that the spare's handshake does not compete
// with its own.
func (p *GuestSockets) refill(key string, dial dialFunc, timeout time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.spares[key]; ok {
		return
	}
	p.fillLocked(key, dial, timeout)
}

// fillLocked starts opening the spare of key unless one is on its way; p.mu is held.
func (p *GuestSockets) fillLocked(key string, dial dialFunc, timeout time.Duration) {
	if p.closed || p.filling[key] {
		return
	}
	if p.filling == nil {
		p.filling = map[string]bool{}
	}
	p.filling[key] = true
	p.wg.Add(1)
	go p.fill(key, dial, timeout)
}

// fill opens the spare socket of key and has it renewed when it is MaxIdle old.
func (p *GuestSockets) fill(key string, dial dialFunc, timeout time.Duration) {
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
	time.AfterFunc(p.maxIdle(), func() { p.renew(key, conn, dial, timeout) })
}

// renew replaces the spare conn of key, now MaxIdle old, with a fresh one while the
// endpoint was used within KeepFor; after that it lets the spare go.
func (p *GuestSockets) renew(key string, conn *websocket.Conn, dial dialFunc, timeout time.Duration) {
	p.mu.Lock()
	if sp, ok := p.spares[key]; !ok || sp.conn != conn {
		p.mu.Unlock()
		return // taken by a session, or closed with the rest
	}
	delete(p.spares, key)
	if time.Since(p.lastUsed[key]) < p.keepFor() {
		p.fillLocked(key, dial, timeout)
	}
	p.mu.Unlock()
	conn.Close(websocket.StatusNormalClosure, "") // the closing handshake may take a moment
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
		p.wg.Go(func() { sp.conn.Close(websocket.StatusNormalClosure, "") })
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
