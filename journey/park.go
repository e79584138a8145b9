package journey

import (
	"encoding/json"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"rendezvous/clock"
)

// A waiting page does nothing until its instant comes, so it does not need a goroutine,
// nor net/http's per-connection buffers: its event stream connection is taken over
// (hijacked) and parked here, costing a socket and a small struct. One clock timer per
// distinct instant wakes a group; the group's pages are told the new state by a few
// workers, and their streams are closed with a short retry, so the browser's EventSource
// reconnects at once into the live stream (which reads fresh state from the database).
//
// Closing instead of carrying on also makes every other wake-up simple: a reschedule or a
// cancellation on this instance closes the appointment's parked streams, which reconnect
// and read the new state; streams parked for longer than parkMaxAge are closed the same
// way, which is how pages learn of changes made on other instances.

const (
	// parkMaxAge bounds how stale a parked page's view of its appointment may get.
	parkMaxAge = 5 * time.Minute
	// writeTimeout bounds a write to one parked connection, so a stalled client cannot
	// hold a worker.
	writeTimeout = 5 * time.Second
	// sseRetry is the reconnection delay the browser is told to use, in milliseconds.
	sseRetry = "retry: 300\n\n"
)

type parked struct {
	// mu orders writes: the handler's first event before anything the lot writes.
	mu      sync.Mutex
	conn    net.Conn
	apptID  string
	start   time.Time
	opensAt time.Time
	at      int64 // UnixNano of the instant it waits for
	since   time.Time
}

type parkGroup struct {
	timer   clock.Timer
	waiters map[*parked]struct{}
}

type parking struct {
	clock  clock.Clock
	mu     sync.Mutex
	groups map[int64]*parkGroup
	byAppt map[string]map[*parked]struct{}
	closed bool
	// lastFire is how long the last fire took to write to every page (for benchmarks).
	lastFire atomic.Int64
	stop     chan struct{}
	done     chan struct{}
}

func newParking(c clock.Clock) *parking {
	p := &parking{clock: c, groups: map[int64]*parkGroup{}, byAppt: map[string]map[*parked]struct{}{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go p.sweep()
	return p
}

// add parks w until instant at. It reports false (and leaves w to the caller) when the
// instant has already come or the lot is closed.
func (p *parking) add(w *parked, at time.Time) bool {
	d := at.Sub(p.clock.Now())
	if d <= 0 {
		return false
	}
	w.at = at.UnixNano()
	w.since = time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	g := p.groups[w.at]
	if g == nil {
		g = &parkGroup{waiters: map[*parked]struct{}{}}
		p.groups[w.at] = g
		key := w.at
		g.timer = p.clock.AfterFunc(d, func() { p.fire(key) })
	}
	g.waiters[w] = struct{}{}
	m := p.byAppt[w.apptID]
	if m == nil {
		m = map[*parked]struct{}{}
		p.byAppt[w.apptID] = m
	}
	m[w] = struct{}{}
	return true
}

// removeLocked takes w out of the lot; it reports whether w was still parked.
func (p *parking) removeLocked(w *parked) bool {
	g := p.groups[w.at]
	if g == nil {
		return false
	}
	if _, ok := g.waiters[w]; !ok {
		return false
	}
	delete(g.waiters, w)
	if len(g.waiters) == 0 {
		g.timer.Stop()
		delete(p.groups, w.at)
	}
	if m := p.byAppt[w.apptID]; m != nil {
		delete(m, w)
		if len(m) == 0 {
			delete(p.byAppt, w.apptID)
		}
	}
	return true
}

// fire tells every page parked for instant key what it shows now, then closes it.
func (p *parking) fire(key int64) {
	p.mu.Lock()
	g := p.groups[key]
	if g == nil {
		p.mu.Unlock()
		return
	}
	delete(p.groups, key)
	ws := make([]*parked, 0, len(g.waiters))
	for w := range g.waiters {
		ws = append(ws, w)
		if m := p.byAppt[w.apptID]; m != nil {
			delete(m, w)
			if len(m) == 0 {
				delete(p.byAppt, w.apptID)
			}
		}
	}
	p.mu.Unlock()
	began := time.Now()
	now := p.clock.Now()
	// Pages of one instant mostly share their start and opening time: encode each
	// distinct event once.
	events := map[[2]int64][]byte{}
	for _, w := range ws {
		k := [2]int64{w.start.UnixNano(), w.opensAt.UnixNano()}
		if events[k] == nil {
			v := View{Phase: PhaseWaiting, Start: w.start, OpensAt: w.opensAt, ServerTime: now.UnixMilli()}
			if !now.Before(w.start) {
				v.Phase = PhaseLive
			}
			events[k] = encodeEvent(v)
		}
	}
	// Tell everyone first and hang up a little later: closing is a system call of its own
	// and would compete with the browsers reading the news; the page acts on the event,
	// not on the close, which only sends its EventSource to the live stream.
	fanOut(ws, func(w *parked) {
		w.mu.Lock()
		w.write(events[[2]int64{w.start.UnixNano(), w.opensAt.UnixNano()}])
		w.mu.Unlock()
	})
	p.lastFire.Store(int64(time.Since(began)))
	time.AfterFunc(hangUpAfter, func() { fanOut(ws, func(w *parked) { w.conn.Close() }) })
}

// hangUpAfter is how long after a fire the told pages' streams are closed.
const hangUpAfter = 500 * time.Millisecond

// fanOut runs f on every waiter with a few workers: writes to sockets are short system
// calls, so more workers than processors would only add scheduling.
func fanOut(ws []*parked, f func(*parked)) {
	workers := min(len(ws), runtime.GOMAXPROCS(0)*2)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := i; j < len(ws); j += workers {
				f(ws[j])
			}
		}()
	}
	wg.Wait()
}

// encodeEvent is the SSE frame of a state event.
func encodeEvent(v View) []byte {
	b, _ := json.Marshal(v)
	buf := make([]byte, 0, len(b)+32)
	buf = append(buf, "event: state\ndata: "...)
	buf = append(buf, b...)
	return append(buf, "\n\n"...)
}

// send writes one state event to a parked connection.
func (w *parked) send(v View) error { return w.write(encodeEvent(v)) }

func (w *parked) write(b []byte) error {
	w.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := w.conn.Write(b)
	return err
}

// release closes the parked streams of an appointment so their pages reconnect and read
// what changed.
func (p *parking) release(apptID string) {
	p.mu.Lock()
	var ws []*parked
	for w := range p.byAppt[apptID] {
		ws = append(ws, w)
	}
	for _, w := range ws {
		p.removeLocked(w)
	}
	p.mu.Unlock()
	for _, w := range ws {
		w.conn.Close()
	}
}

// remove takes w out of the lot if it is still there.
func (p *parking) remove(w *parked) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removeLocked(w)
}

// count reports how many pages are parked.
func (p *parking) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, g := range p.groups {
		n += len(g.waiters)
	}
	return n
}

// sweep keeps parked connections alive through proxies with a comment line, drops the
// ones whose client went away (the write fails), and recycles the ones parked longer
// than parkMaxAge. It runs on wall-clock time on purpose: it is about network liveness.
func (p *parking) sweep() {
	defer close(p.done)
	t := time.NewTicker(keepAliveEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		var all []*parked
		for _, g := range p.groups {
			for w := range g.waiters {
				all = append(all, w)
			}
		}
		p.mu.Unlock()
		fanOut(all, func(w *parked) {
			w.mu.Lock()
			err := w.write([]byte(": keep-alive\n\n"))
			w.mu.Unlock()
			if err == nil && time.Since(w.since) < parkMaxAge {
				return
			}
			p.mu.Lock()
			ok := p.removeLocked(w)
			p.mu.Unlock()
			if ok {
				w.conn.Close()
			}
		})
	}
}

// close closes every parked connection and stops the sweep.
func (p *parking) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	var all []*parked
	for key, g := range p.groups {
		g.timer.Stop()
		for w := range g.waiters {
			all = append(all, w)
		}
		delete(p.groups, key)
	}
	p.byAppt = map[string]map[*parked]struct{}{}
	p.mu.Unlock()
	close(p.stop)
	<-p.done
	for _, w := range all {
		w.conn.Close()
	}
}
