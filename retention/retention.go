// Package retention erases customers' personal data when an organization no longer may
// keep it: automatically, a set number of days after each appointment ended, and on
// request for one customer. Both are durable jobs; what stays (statuses, times, agents,
// the number of customers) keeps reports counting, and the audit log records each run.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/clock"
	"rendezvous/jobs"
	"rendezvous/store"
)

// SweepJobKind is the job that erases an organization's expired personal data; its Args
// are SweepArgs. Schedule enqueues one per organization with a retention period.
const SweepJobKind = "retention.sweep"

// SweepArgs are the arguments of a SweepJobKind job.
type SweepArgs struct {
	OrgID string `json:"orgId"`
}

// SweepEvery is how often an organization's expired personal data is erased.
const SweepEvery = 6 * time.Hour

// MaxDays bounds the retention period an administrator may set (ten years).
const MaxDays = 3660

// batch is how many appointments one transaction erases, so a first sweep over years of
// data does not hold the database's write lock for long.
const batch = 200

// Service runs retention.
type Service struct {
	st    *store.Store
	clock clock.Clock
	log   *slog.Logger
}

// New returns a Service; a nil clock means the store's, a nil logger discards.
func New(st *store.Store, clk clock.Clock, log *slog.Logger) *Service {
	if clk == nil {
		clk = st.Clock()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, clock: clk, log: log}
}

// Register gives the job runner the handlers of the retention job kinds.
func (s *Service) Register(r *jobs.Runner) {
	r.Handle(SweepJobKind, s.HandleSweep)
	r.Handle(store.ErasureJobKind, s.HandleErasure)
}

// Schedule enqueues a sweep for every organization with a retention period (one pending
// per organization at most). Each sweep enqueues the next, SweepEvery later; the service
// calls Schedule at start to begin any chain that is missing.
func (s *Service) Schedule(ctx context.Context) error {
	orgs, err := s.st.RetentionOrgs(ctx)
	if err != nil {
		return err
	}
	for _, o := range orgs {
		if err := s.st.Enqueue(ctx, store.Job{OrgID: o.OrgID, Kind: SweepJobKind, Args: SweepArgs{OrgID: o.OrgID},
			UniqueKey: SweepJobKind}); err != nil {
			return err
		}
	}
	return nil
}

// SetDays validates and saves an organization's retention period (0: keep).
func (s *Service) SetDays(ctx context.Context, orgID string, days int) error {
	if days < 0 || days > MaxDays {
		return &rendezvous.ValidationError{Problems: []rendezvous.FieldProblem{{Field: "retentionDays",
			Message: fmt.Sprintf("must be between 0 (keep personal data) and %d days", MaxDays)}}}
	}
	if err := s.st.PutRetentionDays(ctx, orgID, days); err != nil {
		return err
	}
	if days == 0 {
		return nil // the running chain of sweeps ends at its next run
	}
	return s.st.Enqueue(ctx, store.Job{OrgID: orgID, Kind: SweepJobKind, Args: SweepArgs{OrgID: orgID}, UniqueKey: SweepJobKind})
}

// HandleSweep erases the personal data of the organization's appointments that ended
// more than its retention period ago.
func (s *Service) HandleSweep(ctx context.Context, j *store.Job) error {
	var a SweepArgs
	if err := j.Decode(&a); err != nil {
		return jobs.Permanent(err)
	}
	days, err := s.st.RetentionDays(ctx, a.OrgID)
	if err != nil || days <= 0 {
		return err // no period (any more): the chain of sweeps ends here
	}
	cutoff := s.clock.Now().AddDate(0, 0, -days)
	ctx = rendezvous.WithActor(ctx, rendezvous.Actor{Kind: rendezvous.ActorSystem, Name: "retention"})
	total := 0
	for {
		ids, err := s.st.ExpiredAppointments(ctx, a.OrgID, cutoff, batch)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			break
		}
		n, err := s.st.EraseAppointments(ctx, a.OrgID, ids, store.CustomerMatch{}, "retention.erased")
		if err != nil {
			return err
		}
		total += n
		if len(ids) < batch || n == 0 {
			break
		}
	}
	if total > 0 {
		s.log.Info("erased expired personal data", "org_id", a.OrgID, "appointments", total, "retention_days", days)
	}
	// The next sweep: personal data outlives its period by at most SweepEvery.
	return s.st.Enqueue(ctx, store.Job{OrgID: a.OrgID, Kind: SweepJobKind, Args: SweepArgs{OrgID: a.OrgID},
		UniqueKey: SweepJobKind, RunAt: s.clock.Now().Add(SweepEvery)})
}

// RequestErasure validates a request to erase one customer's data and queues it; the
// returned id follows it (Erasure).
func (s *Service) RequestErasure(ctx context.Context, orgID string, m store.CustomerMatch) (string, error) {
	var p rendezvous.Problems
	m.Phone, m.Email = strings.TrimSpace(m.Phone), strings.TrimSpace(m.Email)
	if m.Phone == "" && m.Email == "" {
		p.Add("phone", "give the customer's phone number or email address (or both)")
	}
	if m.Phone != "" {
		if n, err := rendezvous.NormalizePhone(m.Phone); err != nil {
			p.Add("phone", "%s", err.Error())
		} else {
			m.Phone = n
		}
	}
	if m.Email != "" {
		if _, err := rendezvous.NormalizeEmail(m.Email); err != nil {
			p.Add("email", "%s", err.Error())
		}
	}
	if err := p.Err(); err != nil {
		return "", err
	}
	return s.st.RequestErasure(ctx, orgID, m)
}

// HandleErasure carries out one erasure request.
func (s *Service) HandleErasure(ctx context.Context, j *store.Job) error {
	var a store.ErasureArgs
	if err := j.Decode(&a); err != nil {
		return jobs.Permanent(err)
	}
	r, err := s.st.Erasure(ctx, j.OrgID, a.RequestID)
	if err != nil {
		return err
	}
	if r.State == "done" {
		return nil
	}
	ids, err := s.st.AppointmentsOfCustomer(ctx, j.OrgID, r.Match)
	if err != nil {
		return err
	}
	ctx = rendezvous.WithActor(ctx, rendezvous.Actor{Kind: rendezvous.ActorSystem, Name: "erasure request"})
	total := 0
	for len(ids) > 0 {
		part := ids[:min(len(ids), batch)]
		ids = ids[len(part):]
		n, err := s.st.EraseAppointments(ctx, j.OrgID, part, r.Match, "customer.erased")
		if err != nil {
			return err
		}
		total += n
	}
	return s.st.FinishErasure(ctx, j.OrgID, r.ID, total)
}
