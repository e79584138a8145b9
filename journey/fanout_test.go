package journey

import (
	"testing"
	"time"

	"rendezvous/clock"
)

func TestStartsOneTimerPerInstant(t *testing.T) {
	c := clock.NewFake(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	s := newStarts(c)
	at := c.Now().Add(time.Minute)
	var chans []<-chan struct{}
	var releases []func()
	for range 1000 {
		ch, rel := s.wait(at)
		chans = append(chans, ch)
		releases = append(releases, rel)
	}
	later, relLater := s.wait(at.Add(time.Second))
	if c.Pending() != 2 || s.pending() != 2 {
		t.Fatalf("timers: clock %d, groups %d; want 2 and 2", c.Pending(), s.pending())
	}
	c.Advance(time.Minute)
	for i, ch := range chans {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("waiter %d not woken", i)
		}
	}
	select {
	case <-later:
		t.Fatal("later instant fired early")
	default:
	}
	for _, r := range releases {
		r()
	}
	relLater()
	if c.Pending() != 0 || s.pending() != 0 {
		t.Fatalf("after release: clock %d timers, %d groups", c.Pending(), s.pending())
	}
	past, _ := s.wait(c.Now().Add(-time.Second))
	select {
	case <-past:
	default:
		t.Fatal("an instant already past must be closed")
	}
}

func TestNotifierWakesSubscribers(t *testing.T) {
	n := newNotifier()
	a, unA := n.subscribe("x")
	b, unB := n.subscribe("x")
	other, unO := n.subscribe("y")
	n.notify("x")
	n.notify("x") // merged with the pending one, never blocks
	for _, ch := range []<-chan struct{}{a, b} {
		select {
		case <-ch:
		default:
			t.Fatal("subscriber not woken")
		}
	}
	select {
	case <-other:
		t.Fatal("other appointment woken")
	default:
	}
	unA()
	unB()
	unO()
	if len(n.subs) != 0 {
		t.Fatalf("subscriptions left: %d", len(n.subs))
	}
}
