package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"rendezvous"
)

func TestSettingsFormLine(t *testing.T) {
	tr := newTr("en")
	for _, c := range []struct {
		in, want, err string
	}{
		{"  ctx.a ", "ctx.a", ""},
		{"a\x00b", "", "cannot be stored"},
		{"a\xffb", "", "cannot be stored"},
		{"a\nb", "", "cannot be stored"},
		{strings.Repeat("é", 11), "", "too long"},
		{strings.Repeat("é", 10), strings.Repeat("é", 10), ""},
	} {
		f := newSettingsForm()
		f.V["x"] = c.in
		got := f.line(tr, "x", 10)
		if got != c.want || !strings.Contains(f.Err("x"), c.err) || (c.err == "") != (f.Err("x") == "") {
			t.Errorf("line(%q) = %q, error %q; want %q, error containing %q", c.in, got, f.Err("x"), c.want, c.err)
		}
		if f.Get("x") != c.in {
			t.Errorf("line(%q) lost what was typed: %q", c.in, f.Get("x"))
		}
	}
}

func TestParseOffsets(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
		ok   bool
	}{
		{"1440, 15", []int{1440, 15}, true},
		{"60 30;5", []int{60, 30, 5}, true},
		{"", []int{}, true},
		{"15, soon", nil, false},
		{"1.5", nil, false},
	} {
		got, ok := parseOffsets(c.in)
		if ok != c.ok || !slices.Equal(got, c.want) {
			t.Errorf("parseOffsets(%q) = %v %v, want %v %v", c.in, got, ok, c.want, c.ok)
		}
		if ok && offsetsText(got) != strings.Join(strings.FieldsFunc(c.in, func(r rune) bool { return r == ' ' || r == ';' || r == ',' }), ", ") {
			t.Errorf("offsetsText(%v) = %q", got, offsetsText(got))
		}
	}
}

func TestSchedulingFieldCoversEveryProblem(t *testing.T) {
	tr := newTr("de")
	for _, f := range []string{"schedulingChannel", "flowDeploymentKey", "queueDeploymentKey", "defaultRouting", "defaultQueue",
		"agentAttribute", "queueAttribute", "waitingRoomMedia.url"} {
		k := schedulingField(f)
		if !slices.Contains(schedulingFields, k) {
			t.Errorf("%s shows beside %q, which is not a form field", f, k)
		}
		if schedulingWords(tr, k) == "" {
			t.Errorf("%s (%s) has no plain words", f, k)
		}
	}
}

// TestClashMessageForAFullQueue: a booking refused because the queue's schedule is full
// is explained as such, in the person's language, not as the agent's clash.
func TestClashMessageForAFullQueue(t *testing.T) {
	ap := &rendezvous.Appointment{Interaction: rendezvous.Interaction{Routing: rendezvous.Routing{Type: rendezvous.RoutingQueue, QueueName: "Mortgages"}}}
	err := fmt.Errorf("create appointment: %w", rendezvous.WithDetail(fmt.Errorf("queue full: %w", rendezvous.ErrQueueFull), "full"))
	got := (&App{}).clashMessage(context.Background(), newTr("de"), time.UTC, ap, nil, err)
	if !strings.Contains(got, "Warteschlange Mortgages") || !strings.Contains(got, "ausgebucht") {
		t.Errorf("full queue explained as %q", got)
	}
}
