package room

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/coder/websocket"

	"rendezvous"
)

// Close codes the room uses (4000–4999 are the application's). The browser script
// reconnects after any close except these.
const (
	closeReplaced websocket.StatusCode = 4001 // another connection of the same side took over
	closeEnded    websocket.StatusCode = 4002 // the call ended (hang-up, completed, cancelled)
	closeSlow     websocket.StatusCode = 4003 // could not keep up with signaling
	closeShutdown websocket.StatusCode = 4004 // this instance is stopping; reconnect
)

// sendQueue is how many messages may wait for one browser. A negotiation is a dozen
// messages at most (an offer, an answer, some candidates), so 64 is generous.
const sendQueue = 64

// pingEvery is how often an idle connection is pinged; real time, not the clock's,
// since it is about the network.
const pingEvery = 25 * time.Second

// maxMessage caps what a browser may send: an SDP offer with a few tracks is ~10 KB.
const maxMessage = 64 << 10

// wsPeer is a browser connected over a WebSocket.
type wsPeer struct {
	send   chan []byte
	done   chan struct{}
	once   sync.Once
	reason string // set before done is closed
}

func newWSPeer() *wsPeer {
	return &wsPeer{send: make(chan []byte, sendQueue), done: make(chan struct{})}
}

// Send implements Peer.
func (p *wsPeer) Send(msg []byte) bool {
	select {
	case <-p.done:
		return true // closing anyway; nothing to drop
	default:
	}
	select {
	case p.send <- msg:
		return true
	default:
		return false
	}
}

// Close implements Peer.
func (p *wsPeer) Close(reason string) {
	p.once.Do(func() {
		p.reason = reason
		close(p.done)
	})
}

func closeCode(reason string) websocket.StatusCode {
	switch reason {
	case "replaced":
		return closeReplaced
	case "ended":
		return closeEnded
	case "slow":
		return closeSlow
	case "shutdown":
		return closeShutdown
	}
	return websocket.StatusNormalClosure
}

// clientMsg is what browsers send.
type clientMsg struct {
	Type  string          `json:"type"` // "signal" or "hangup"
	Epoch uint64          `json:"epoch"`
	Data  json.RawMessage `json:"data"`
}

// Serve runs side's signaling connection to a's room: it checks that side may enter
// now (Admit; its error is returned before anything is written, for the caller to turn
// into a response), upgrades the request to a WebSocket, records the join, moves the
// appointment on, and relays messages until the connection ends. a must come from
// Authorize for the same side.
func (r *Rooms) Serve(w http.ResponseWriter, req *http.Request, a *rendezvous.Appointment, side Side) error {
	ctx := req.Context()
	if err := r.Check(ctx, a, side); err != nil {
		return err
	}
	if r.o.InstanceURL != "" {
		owner, err := r.st.ClaimRoomOwner(ctx, a.ID, r.o.InstanceURL, r.clock.Now(), ownerLease)
		if err != nil {
			return err
		}
		// A forwarded request is served here whatever the claim says, so two instances
		// that disagree for a moment never bounce a request between them.
		if owner != r.o.InstanceURL && req.Header.Get(forwardedHeader) == "" {
			r.forward(w, req, a, owner)
			return nil
		}
	}
	ice, err := r.ICEServersFor(ctx, a, side)
	if err != nil {
		return err
	}
	conn, err := websocket.Accept(w, req, nil)
	if err != nil {
		// Accept has written the response (a bad handshake or a foreign origin).
		r.log.DebugContext(ctx, "room: websocket handshake refused", "error", err)
		return nil
	}
	conn.SetReadLimit(maxMessage)
	// The request context ends when the handler returns; the connection's own context
	// ends when it is closed for any reason.
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()

	sessionID, err := r.st.RoomJoin(cctx, a.OrgID, a.ID, string(side), r.clock.Now())
	if err != nil {
		r.log.ErrorContext(ctx, "room: record join", "appointment_id", a.ID, "side", side, "error", err)
		conn.Close(websocket.StatusInternalError, "try again")
		return nil
	}
	if side == Customer {
		if err := r.markStarted(cctx, a); err != nil {
			r.log.ErrorContext(ctx, "room: mark started", "appointment_id", a.ID, "error", err)
		}
	}

	p := newWSPeer()
	r.track(p, true)
	defer r.track(p, false)
	m, err := r.hub.Join(a.ID, side, p, map[string]any{"iceServers": ice})
	if err != nil { // only for an unknown side, which Authorize never returns
		conn.Close(websocket.StatusPolicyViolation, "forbidden")
		return nil
	}
	r.log.InfoContext(ctx, "room: joined", "appointment_id", a.ID, "side", side)
	r.metrics.joins.WithLabelValues(string(side)).Inc()
	conns := r.metrics.connections.WithLabelValues(string(side))
	conns.Inc()
	defer conns.Dec()
	r.changed(a.ID)

	// Writer: the only goroutine that writes, so hub sends never block on the network.
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		defer cancel()
		for {
			select {
			case msg := <-p.send:
				wctx, wcancel := context.WithTimeout(cctx, 10*time.Second)
				err := conn.Write(wctx, websocket.MessageText, msg)
				wcancel()
				if err != nil {
					p.Close("gone")
					conn.CloseNow()
					return
				}
			case <-p.done:
				// Flush what was queued before the close (the "ended" message). Only this
				// goroutine receives from p.send, so what len counts is there to take.
				for len(p.send) > 0 {
					wctx, wcancel := context.WithTimeout(cctx, 2*time.Second)
					conn.Write(wctx, websocket.MessageText, <-p.send)
					wcancel()
				}
				conn.Close(closeCode(p.reason), p.reason)
				return
			case <-cctx.Done():
				conn.CloseNow()
				return
			}
		}
	}()

	// Pings keep the connection alive through proxies that drop idle ones (a minute is a
	// common default): once media flows, signaling is silent, and a dropped socket would
	// make both browsers renegotiate.
	go func() {
		t := time.NewTicker(pingEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				pctx, pcancel := context.WithTimeout(cctx, pingEvery)
				err := conn.Ping(pctx)
				pcancel()
				if err != nil && cctx.Err() == nil {
					p.Close("gone")
					conn.CloseNow()
					return
				}
				if err == nil && m.Current() {
					// The heartbeat other instances judge this session by.
					if err := r.st.RoomSeen(cctx, sessionID, r.clock.Now()); err != nil && cctx.Err() == nil {
						r.log.WarnContext(cctx, "room: record heartbeat", "appointment_id", a.ID, "error", err)
					}
					if r.o.InstanceURL != "" {
						if _, err := r.st.ClaimRoomOwner(cctx, a.ID, r.o.InstanceURL, r.clock.Now(), ownerLease); err != nil && cctx.Err() == nil {
							r.log.WarnContext(cctx, "room: renew room lease", "appointment_id", a.ID, "error", err)
						}
					}
				}
			case <-cctx.Done():
				return
			}
		}
	}()

	reason := "left"
	for reason != "hangup" {
		_, data, err := conn.Read(cctx)
		if err != nil {
			break
		}
		var msg clientMsg
		if err := json.Unmarshal(data, &msg); err != nil {
			continue // a malformed message is the browser's problem, not the call's
		}
		switch msg.Type {
		case "signal":
			if m.Relay(msg.Epoch, msg.Data) {
				r.metrics.relayed.Inc()
			} else {
				r.metrics.dropped.Inc()
			}
		case "hangup":
			reason = "hangup"
			r.hangup(cctx, a)
		}
	}
	p.Close("left")
	<-writerDone
	// The connection's context is done by now; the bookkeeping gets its own.
	done, cancelDone := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelDone()

	wasCurrent, empty := m.Leave()
	switch {
	case reason == "hangup":
	case p.reason == "ended":
		reason = "ended"
	case !wasCurrent:
		// Replaced. The newer join normally closed this row already; this closes it
		// when two connections of one side raced and the hub saw them in the other order.
		reason = "replaced"
	}
	if err := r.st.RoomLeave(done, sessionID, r.clock.Now(), reason); err != nil {
		r.log.ErrorContext(ctx, "room: record leave", "appointment_id", a.ID, "error", err)
	}
	r.log.InfoContext(ctx, "room: left", "appointment_id", a.ID, "side", side, "reason", reason)
	if wasCurrent && empty {
		if err := r.scheduleEmptyCheck(done, a); err != nil {
			r.log.ErrorContext(ctx, "room: schedule empty check", "appointment_id", a.ID, "error", err)
		}
	}
	if empty && r.o.InstanceURL != "" && len(r.hub.Present(a.ID)) == 0 {
		// Nobody left here: the next join may host the room wherever it lands.
		if err := r.st.ReleaseRoomOwner(done, a.ID, r.o.InstanceURL); err != nil {
			r.log.WarnContext(ctx, "room: release room", "appointment_id", a.ID, "error", err)
		}
	}
	r.changed(a.ID)
	return nil
}

// hangup ends the call for both sides. Once the customer has come the appointment is
// completed; before that (the agent leaving an empty room) only the caller leaves.
func (r *Rooms) hangup(ctx context.Context, a *rendezvous.Appointment) {
	done, err := r.complete(ctx, a.OrgID, a.ID)
	if err != nil {
		r.log.ErrorContext(ctx, "room: complete on hang-up", "appointment_id", a.ID, "error", err)
	}
	if done {
		r.hub.End(a.ID, "hangup")
	}
}

func (r *Rooms) track(p *wsPeer, add bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if add {
		r.conns[p] = struct{}{}
	} else {
		delete(r.conns, p)
	}
}

// Close ends every connection of this instance with "shutdown", so browsers reconnect
// (to another instance, or to this one after a restart). Call it before the HTTP
// server's Shutdown, which does not wait for hijacked connections.
func (r *Rooms) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p := range r.conns {
		p.Close("shutdown")
	}
}

func (r *Rooms) changed(appointmentID string) {
	if r.o.OnChange != nil {
		r.o.OnChange(appointmentID)
	}
}

// ownerLease is how long a room stays with its hosting instance without a renewal
// (every pingEvery while someone is connected there).
const ownerLease = 3 * pingEvery

// forwardedHeader marks a signaling request one instance forwarded to another.
const forwardedHeader = "X-Rendezvous-Room-Forwarded"

// forward hands the WebSocket request to the instance hosting the room. The proxy keeps
// the original Host, so the owner's same-origin check sees what the browser sent.
func (r *Rooms) forward(w http.ResponseWriter, req *http.Request, a *rendezvous.Appointment, owner string) {
	target, err := url.Parse(owner)
	if err != nil || target.Scheme == "" || target.Host == "" {
		r.log.ErrorContext(req.Context(), "room: bad owner URL", "appointment_id", a.ID, "owner", owner)
		http.Error(w, "room unavailable, retrying", http.StatusServiceUnavailable)
		return
	}
	r.log.DebugContext(req.Context(), "room: forwarding to the hosting instance", "appointment_id", a.ID, "owner", owner)
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set(forwardedHeader, "1")
		},
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			// The owner is gone; its lease runs out shortly and the browser's retry lands.
			r.log.WarnContext(req.Context(), "room: hosting instance unreachable", "appointment_id", a.ID, "owner", owner, "error", err)
			http.Error(w, "room unavailable, retrying", http.StatusServiceUnavailable)
		},
	}
	proxy.ServeHTTP(w, req)
}
