// Package clock gives every part of Rendezvous the same injectable notion of time: the
// real wall clock in production, and a fake clock that tests move by hand, so that no test
// sleeps to wait for the future.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells the time and schedules work at a future instant.
type Clock interface {
	// Now returns the current instant.
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has elapsed on this clock.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not happened yet and reports whether it did so.
	Stop() bool
}

// Real returns the wall clock.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Fake is a clock that only moves when told to. Create one with NewFake, which sets the starting instant.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	seq    int
}

// NewFake returns a fake clock that reads t until moved.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

// Now returns the fake clock's current instant.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f for when the fake clock has been moved past d from now.
func (c *Fake) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f, seq: c.seq}
	c.timers = append(c.timers, t)
	if d <= 0 {
		c.fireLocked()
	}
	return t
}

// Advance moves the clock forward by d and fires every timer that falls due, in order.
func (c *Fake) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// Set moves the clock to t (never backwards) and fires every timer that falls due.
func (c *Fake) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	c.fireLocked()
}

// Pending reports how many timers are waiting; tests use it to know that a goroutine has
// armed its timer before they move the clock.
func (c *Fake) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

func (c *Fake) fireLocked() {
	sort.SliceStable(c.timers, func(i, j int) bool {
		if c.timers[i].at.Equal(c.timers[j].at) {
			return c.timers[i].seq < c.timers[j].seq
		}
		return c.timers[i].at.Before(c.timers[j].at)
	})
	n := 0
	for n < len(c.timers) && !c.timers[n].at.After(c.now) {
		go c.timers[n].f()
		n++
	}
	c.timers = append(c.timers[:0:0], c.timers[n:]...)
}

type fakeTimer struct {
	c   *Fake
	at  time.Time
	f   func()
	seq int
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	for i, o := range t.c.timers {
		if o == t {
			t.c.timers = append(t.c.timers[:i], t.c.timers[i+1:]...)
			return true
		}
	}
	return false
}
