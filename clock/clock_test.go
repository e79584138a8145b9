package clock

import (
	"testing"
	"time"
)

func TestFakeFiresTimersInOrderWhenMoved(t *testing.T) {
	start := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)
	c := NewFake(start)
	fired := make(chan string, 3)
	c.AfterFunc(2*time.Hour, func() { fired <- "late" })
	c.AfterFunc(time.Hour, func() { fired <- "early" })
	stopped := c.AfterFunc(90*time.Minute, func() { fired <- "stopped" })
	if !stopped.Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
	if got := c.Pending(); got != 2 {
		t.Fatalf("Pending = %d, want 2", got)
	}

	c.Advance(time.Hour)
	if got := <-fired; got != "early" {
		t.Fatalf("first timer fired = %q, want early", got)
	}
	if got := c.Pending(); got != 1 {
		t.Fatalf("Pending after first = %d, want 1", got)
	}
	c.Set(start.Add(3 * time.Hour))
	if got := <-fired; got != "late" {
		t.Fatalf("second timer fired = %q, want late", got)
	}
	if got, want := c.Now(), start.Add(3*time.Hour); !got.Equal(want) {
		t.Fatalf("Now = %v, want %v", got, want)
	}
	select {
	case got := <-fired:
		t.Fatalf("stopped timer fired: %q", got)
	default:
	}
}

func TestFakeNeverMovesBackwards(t *testing.T) {
	start := time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC)
	c := NewFake(start)
	c.Set(start.Add(-time.Hour))
	if !c.Now().Equal(start) {
		t.Fatalf("Set into the past moved the clock to %v", c.Now())
	}
}

func TestFakeZeroDelayFiresAtOnce(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	done := make(chan struct{})
	c.AfterFunc(0, func() { close(done) })
	<-done
}

func TestRealClock(t *testing.T) {
	c := Real()
	if d := time.Since(c.Now()); d < 0 || d > time.Minute {
		t.Fatalf("Real().Now() is %v away from time.Now()", d)
	}
	done := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(done) })
	<-done
}
