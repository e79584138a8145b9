package notify

import (
	"context"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"rendezvous"
)

// maxInlineWait is the longest a send waits in its job worker for its OAuth client's next
// slot. A send that would wait longer is deferred to its slot (jobs.Defer): the job then
// waits in the table, and the worker goes on with other work, such as a room's deadline.
const maxInlineWait = time.Second

// pacer spaces one OAuth client's sends at its rate. limiter is the cap every send takes
// a token from. Sends that cannot go within maxInlineWait queue virtually: next is when
// the last one queued goes, and slots remembers, per delivery, the instant it was given,
// so that a deferred job coming back at its slot goes at once instead of queueing again
// behind the jobs deferred after it. Urgent sends (reminders due now) do not queue
// behind that backlog: they take the limiter's next token and push the queue back by one
// interval.
type pacer struct {
	limiter  *rate.Limiter
	interval time.Duration

	mu    sync.Mutex
	next  time.Time
	slots map[string]time.Time
	calls int
}

func newPacer(perSecond float64, burst int) *pacer {
	return &pacer{limiter: rate.NewLimiter(rate.Limit(perSecond), burst),
		interval: time.Duration(float64(time.Second) / perSecond), slots: map[string]time.Time{}}
}

// take asks for a send slot for delivery id at now. Either it returns a reservation to
// wait for (at most maxInlineWait) and then send, or, when the slot is further away, the
// instant to come back at (later not zero, no reservation).
func (p *pacer) take(now time.Time, id string, urgent bool) (r *rate.Reservation, wait time.Duration, later time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.calls++; p.calls%1000 == 0 {
		// Deliveries withdrawn while deferred never come back for their slots.
		for k, at := range p.slots {
			if now.Sub(at) > time.Hour {
				delete(p.slots, k)
			}
		}
	}
	queue := func(from time.Time) time.Time {
		at := from
		if p.next.After(at) {
			at = p.next
		}
		p.slots[id] = at
		p.next = at.Add(p.interval)
		return at
	}
	if urgent {
		p.next = maxTime(now, p.next).Add(p.interval)
	} else if at, ok := p.slots[id]; ok {
		if at.Sub(now) > maxInlineWait {
			return nil, 0, at // early (a poll, or another instance): keep the slot
		}
		delete(p.slots, id)
	} else {
		at := maxTime(now, p.next)
		if at.Sub(now) > maxInlineWait {
			return nil, 0, queue(now)
		}
		p.next = at.Add(p.interval)
	}
	res := p.limiter.ReserveN(now, 1)
	d := res.DelayFrom(now)
	if !res.OK() || d > maxInlineWait {
		res.CancelAt(now)
		if urgent {
			return nil, 0, now.Add(d)
		}
		return nil, 0, queue(now.Add(d))
	}
	return res, d, time.Time{}
}

// early is take's answer for a send that is not urgent, given before the send is
// prepared: the instant to come back at when the send could not go within
// maxInlineWait (its slot is queued as take would queue it), or zero when it may go on
// to prepare and take its slot. queued reports that this call gave the send its slot:
// it was due with none, so others due with it are likely in the same case (see
// Service.deferBacklog). Under a backlog of thousands of messages every new one is
// deferred once; answering before reading and rendering it made that deferral cost one
// read and one write instead of a whole preparation, so the workers reach the messages
// whose slots have come well before those slots pass.
func (p *pacer) early(now time.Time, id string) (later time.Time, queued bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if at, ok := p.slots[id]; ok {
		if at.Sub(now) > maxInlineWait {
			return at, false
		}
		return time.Time{}, false
	}
	at := maxTime(now, p.next)
	if at.Sub(now) <= maxInlineWait {
		return time.Time{}, false
	}
	p.slots[id] = at
	p.next = at.Add(p.interval)
	return at, true
}

// slotFor reserves, for a send planned for due, the slot it will have behind this
// pacer's backlog, and returns it; zero when the send may simply go at due (the pacer
// has room for it within maxInlineWait then). A message planned behind a backlog of
// thousands is enqueued for its slot at once, instead of being claimed when due only to
// be deferred to it, which, with the messages of a whole burst due together, held up the
// messages whose slots had come.
func (p *pacer) slotFor(due time.Time, id string) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	at := maxTime(due, p.next)
	if at.Sub(due) <= maxInlineWait {
		return time.Time{}
	}
	p.slots[id] = at
	p.next = at.Add(p.interval)
	return at
}

// release gives back a slot that was not used (the send was skipped or failed before it
// reached Genesys).
func (p *pacer) release(r *rate.Reservation, now time.Time) {
	if r != nil {
		r.CancelAt(now)
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// agentNameTTL is how long an agent's display name is trusted once looked up. Names
// rarely change; a lookup per message would cost one Genesys request each and halve the
// messages the rate limit allows. A failed lookup is remembered for agentNameRetry, so
// that a Genesys outage costs one attempt per agent, not one per message.
const (
	agentNameTTL   = 5 * time.Minute
	agentNameRetry = 30 * time.Second
)

type cachedName struct {
	name    string
	ok      bool
	at      time.Time
	pending chan struct{} // closed when a lookup in progress ends
}

// agentName returns an agent's display name for a message, from the cache or from
// Genesys, or "" when it cannot be had (the template then says "your agent"). Concurrent
// lookups of one agent share one request. It never runs inside a transaction.
func (s *Service) agentName(ctx context.Context, a *rendezvous.Appointment) string {
	if s.o.AgentName == nil || a.AgentUserID == "" {
		return ""
	}
	key := a.OrgID + "\x00" + a.AgentUserID
	for {
		now := time.Now() // a cache's freshness is wall-clock time
		s.namesMu.Lock()
		if s.names == nil {
			s.names = map[string]*cachedName{}
		}
		c := s.names[key]
		if c != nil && c.pending != nil {
			wait := c.pending
			s.namesMu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return ""
			}
		}
		if c != nil && ((c.ok && now.Sub(c.at) < agentNameTTL) || (!c.ok && now.Sub(c.at) < agentNameRetry)) {
			s.namesMu.Unlock()
			return c.name
		}
		mine := &cachedName{pending: make(chan struct{})}
		s.names[key] = mine
		s.namesMu.Unlock()

		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		name, err := s.o.AgentName(lctx, a.OrgID, a.AgentUserID)
		cancel()
		if err != nil {
			s.log.Warn("agent name for a notification", "appointment_id", a.ID, "error", err)
		}
		s.namesMu.Lock()
		s.names[key] = &cachedName{name: name, ok: err == nil, at: time.Now()}
		s.namesMu.Unlock()
		close(mine.pending)
		return name
	}
}

// usesAgentName reports whether a template shows the agent's name, the one variable
// that costs a Genesys request to fill.
func usesAgentName(t Template) bool {
	const p = "{agentName}"
	return strings.Contains(t.Subject, p) || strings.Contains(t.Text, p) || strings.Contains(t.HTML, p)
}
