package journey

import (
	"sync"
	"time"

	"rendezvous/clock"
)

// starts tells waiting pages that an instant has come: one clock timer per distinct
// instant, however many pages wait for it, and a channel that is closed when it passes so
// that every waiter wakes at once without a job queue's polling interval in between.
type starts struct {
	clock  clock.Clock
	mu     sync.Mutex
	groups map[int64]*startGroup
}

type startGroup struct {
	ch    chan struct{}
	refs  int
	timer clock.Timer
	fired bool
}

func newStarts(c clock.Clock) *starts {
	return &starts{clock: c, groups: make(map[int64]*startGroup)}
}

// closedCh is returned for instants already past.
var closedCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// wait returns a channel closed when the clock reaches at, and a release func the waiter
// must call when it stops waiting (so the timer of an instant nobody waits for any more is
// stopped).
func (s *starts) wait(at time.Time) (<-chan struct{}, func()) {
	d := at.Sub(s.clock.Now())
	if d <= 0 {
		return closedCh, func() {}
	}
	key := at.UnixNano()
	s.mu.Lock()
	g := s.groups[key]
	if g == nil {
		g = &startGroup{ch: make(chan struct{})}
		s.groups[key] = g
		g.timer = s.clock.AfterFunc(d, func() { s.fire(key, g) })
	}
	g.refs++
	s.mu.Unlock()
	return g.ch, func() { s.release(key, g) }
}

func (s *starts) fire(key int64, g *startGroup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.fired {
		return
	}
	g.fired = true
	close(g.ch)
	if s.groups[key] == g {
		delete(s.groups, key)
	}
}

func (s *starts) release(key int64, g *startGroup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g.refs--
	if g.refs > 0 || g.fired {
		return
	}
	g.timer.Stop()
	if s.groups[key] == g {
		delete(s.groups, key)
	}
}

// pending reports how many distinct instants are being waited for.
func (s *starts) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.groups)
}

// notifier wakes the local pages of one appointment when something about it changed
// (rescheduled, cancelled, interaction progress). A wake-up carries no data: the page
// re-reads what it shows, so a missed or merged wake-up loses nothing.
type notifier struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

func newNotifier() *notifier { return &notifier{subs: make(map[string]map[chan struct{}]struct{})} }

func (n *notifier) subscribe(id string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	n.mu.Lock()
	m := n.subs[id]
	if m == nil {
		m = make(map[chan struct{}]struct{}, 1)
		n.subs[id] = m
	}
	m[ch] = struct{}{}
	n.mu.Unlock()
	return ch, func() {
		n.mu.Lock()
		delete(m, ch)
		if len(m) == 0 && n.subs[id] != nil && len(n.subs[id]) == 0 {
			delete(n.subs, id)
		}
		n.mu.Unlock()
	}
}

func (n *notifier) notify(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.subs[id] {
		select {
		case ch <- struct{}{}:
		default: // a wake-up is already pending; one is enough
		}
	}
}
