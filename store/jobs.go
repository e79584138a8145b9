package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"rendezvous"
)

// DefaultMaxAttempts is how often a job is tried when Job.MaxAttempts is zero.
const DefaultMaxAttempts = 10

// Job states, as stored.
const (
	JobPending   = "pending"
	JobRunning   = "running"
	JobDone      = "done"
	JobFailed    = "failed"
	JobCancelled = "cancelled"
)

// Job is a unit of work to do later, durably: a notification, a Genesys Cloud call, a
// no-show deadline. Enqueue it with Tx.Enqueue in the transaction of the change it
// follows; the jobs package runs it.
type Job struct {
	// ID is assigned by the store.
	ID    int64
	OrgID string
	// Kind names the handler, such as "appointment.event" or "notify.sms".
	Kind string
	// Args is marshalled to JSON on enqueue; a claimed job carries json.RawMessage. Use
	// Decode to read it.
	Args any
	// RunAt is when the job is due; zero means now.
	RunAt time.Time
	// MaxAttempts bounds the tries; zero means DefaultMaxAttempts.
	MaxAttempts int
	// UniqueKey, when set, makes Enqueue a no-op while a pending job of the organization
	// has the same key, and lets CancelJobs withdraw jobs by key prefix
	// ("reminder/<appointment id>/").
	UniqueKey string

	// Filled in on claimed jobs.

	// Attempt is the number of this try, from 1.
	Attempt int
	// LastError is the error of the previous try, if any.
	LastError string
	// State is one of the Job* states.
	State     string
	CreatedAt time.Time

	leaseToken string
}

// Decode unmarshals the job's arguments into v.
func (j *Job) Decode(v any) error {
	var raw []byte
	switch a := j.Args.(type) {
	case json.RawMessage:
		raw = a
	case []byte:
		raw = a
	default:
		b, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("job %d args: %w", j.ID, err)
		}
		raw = b
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("job %d args: %w", j.ID, err)
	}
	return nil
}

// Enqueue adds a job in the transaction, so it exists exactly when the transaction
// commits. After the commit the store tells the runner (see OnJobsEnqueued).
func (tx *Tx) Enqueue(ctx context.Context, j Job) error {
	q, args, err := tx.s.jobInsert(j)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("enqueue %s: %w", j.Kind, err)
	}
	tx.enqueued = true
	return nil
}

// Enqueue adds a job on its own, for a caller with nothing else to write: on PostgreSQL
// one autocommit statement instead of a transaction's three round trips (on the
// asynchronous-commit pool under AsyncCommit, as a job handler's transaction would be).
func (s *Store) Enqueue(ctx context.Context, j Job) error {
	if s.dialect != Postgres {
		return s.InTx(ctx, func(tx *Tx) error { return tx.Enqueue(ctx, j) })
	}
	q, args, err := s.jobInsert(j)
	if err != nil {
		return err
	}
	db := s.write
	if s.queue != nil && ctx.Value(asyncCommitKey{}) != nil {
		db = s.queue
	}
	if _, err := db.ExecContext(ctx, s.rebind(q), args...); err != nil {
		return fmt.Errorf("enqueue %s: %w", j.Kind, err)
	}
	s.notifyJobs()
	return nil
}

// jobInsert is the statement that enqueues j, and its arguments.
func (s *Store) jobInsert(j Job) (string, []any, error) {
	if j.Kind == "" {
		return "", nil, errors.New("enqueue: job kind is empty")
	}
	var args []byte
	switch a := j.Args.(type) {
	case json.RawMessage:
		args = a
	case nil:
		args = []byte("{}")
	default:
		b, err := json.Marshal(a)
		if err != nil {
			return "", nil, fmt.Errorf("enqueue %s: args: %w", j.Kind, err)
		}
		args = b
	}
	now := s.clock.Now()
	runAt := j.RunAt
	if runAt.IsZero() {
		runAt = now
	}
	maxAttempts := j.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	var unique any
	if j.UniqueKey != "" {
		unique = j.UniqueKey
	}
	// ON CONFLICT DO NOTHING with no target: the only unique index a new job can hit is
	// jobs_unique_pending, and hitting it means "already queued".
	return `INSERT INTO jobs (org_id, kind, args, state, run_at, attempts, max_attempts,
		last_error, unique_key, lease_until, created_at, finished_at)
		VALUES (?, ?, ?, 'pending', ?, 0, ?, '', ?, 0, ?, 0) ON CONFLICT DO NOTHING`,
		[]any{j.OrgID, j.Kind, string(args), TimeToDB(runAt), maxAttempts, unique, TimeToDB(now)}, nil
}

// CancelJobs withdraws the organization's pending jobs whose unique key starts with
// uniqueKeyPrefix (for example every reminder of a cancelled appointment) and reports how
// many it withdrew. Running jobs finish.
func (tx *Tx) CancelJobs(ctx context.Context, orgID, uniqueKeyPrefix string) (int, error) {
	if uniqueKeyPrefix == "" {
		return 0, errors.New("cancel jobs: empty key prefix would cancel everything")
	}
	// Range on the prefix instead of LIKE, so that "%" and "_" in keys mean themselves and
	// the index serves the query in both dialects.
	res, err := tx.Exec(ctx, `UPDATE jobs SET state = 'cancelled', finished_at = ?
		WHERE org_id = ? AND state = 'pending' AND unique_key >= ? AND unique_key < ?`,
		TimeToDB(tx.s.clock.Now()), orgID, uniqueKeyPrefix, prefixEnd(uniqueKeyPrefix))
	if err != nil {
		return 0, fmt.Errorf("cancel jobs %q: %w", uniqueKeyPrefix, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("cancel jobs %q: %w", uniqueKeyPrefix, err)
	}
	return int(n), nil
}

// prefixEnd returns the smallest string greater than every string starting with p.
func prefixEnd(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return p + "\xff" // p is all 0xff bytes; cannot happen for text keys
}

// JobQueueDepth returns how many jobs are due and not finished: pending with a due time
// that has passed, or running. Jobs scheduled for later do not count.
func (s *Store) JobQueueDepth(ctx context.Context) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM jobs
		WHERE (state = 'pending' AND run_at <= ?) OR state = 'running'`), TimeToDB(s.clock.Now())).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("job queue depth: %w", err)
	}
	return n, nil
}

// JobQueueLag returns how long the job that has been due the longest has waited: zero
// when no pending job is due. It is the queue's health in one number: depth says how much
// is waiting, lag how late it is.
func (s *Store) JobQueueLag(ctx context.Context) (time.Duration, error) {
	now := s.clock.Now()
	var oldest sql.NullInt64
	err := s.read.QueryRowContext(ctx, s.rebind(`SELECT MIN(run_at) FROM jobs WHERE state = 'pending' AND run_at <= ?`),
		TimeToDB(now)).Scan(&oldest)
	if err != nil {
		return 0, fmt.Errorf("job queue lag: %w", err)
	}
	if !oldest.Valid {
		return 0, nil
	}
	return max(now.Sub(TimeFromDB(oldest.Int64)), 0), nil
}

// Claim asks ClaimDue and CompleteAndClaim for due jobs.
type Claim struct {
	// N is how many jobs at most.
	N int
	// Lease is how long they are reserved for the claimer; RenewLeases extends it.
	Lease time.Duration
	// Owner names the claiming instance, recorded on the jobs, so that the instance
	// restarted after a crash gives its own jobs back at once (ReclaimOwned) instead of
	// waiting for their leases to run out. Empty leaves them unnamed.
	Owner string
	// Kinds limits the claim to these kinds; empty claims any kind.
	Kinds []string
	// Token is the lease token the claimed jobs get (NewLeaseToken); empty means a fresh
	// one. A claimer that chooses it knows which jobs to give back (ReleaseClaim) when a
	// claim's answer is lost although its statement may have committed.
	Token string
}

// NewLeaseToken returns a fresh lease token for Claim.Token.
func NewLeaseToken() (string, error) { return newToken() }

// ClaimJobs leases up to n due jobs for lease and marks them running, attempt counted.
// It is ClaimDue with no owner, no kind filter and a fresh token.
func (s *Store) ClaimJobs(ctx context.Context, n int, lease time.Duration) ([]*Job, error) {
	return s.ClaimDue(ctx, Claim{N: n, Lease: lease})
}

// ClaimDue leases up to c.N due jobs for c.Lease and marks them running, attempt counted.
// A job is never handed to two claimers while its lease holds: on PostgreSQL the claim
// skips rows another claimer has locked (FOR UPDATE SKIP LOCKED); on SQLite the single
// writer serialises claims. A job whose lease expired (its runner died or lost the
// database for longer than the lease) is due again. The jobs package calls this; other
// code should not.
func (s *Store) ClaimDue(ctx context.Context, c Claim) ([]*Job, error) {
	now := s.clock.Now()
	if c.Token == "" {
		var err error
		if c.Token, err = newToken(); err != nil {
			return nil, err
		}
	}
	// Releasing expired leases is a scan: at most once a second.
	rescue := false
	if last := s.lastRescue.Load(); now.UnixMicro()-last >= time.Second.Microseconds() {
		rescue = s.lastRescue.CompareAndSwap(last, now.UnixMicro())
	}
	var jobs []*Job
	claim := func(exec func(ctx context.Context, q string, args ...any) (sql.Result, error),
		query func(ctx context.Context, q string, args ...any) (*sql.Rows, error)) error {
		if rescue {
			// Give up jobs whose runner vanished: due again, or failed if out of attempts.
			if _, err := exec(ctx, `UPDATE jobs SET
				state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
				finished_at = CASE WHEN attempts >= max_attempts THEN CAST(? AS BIGINT) ELSE 0 END,
				last_error = CASE WHEN last_error = '' THEN 'lease expired' ELSE last_error END,
				lease_token = NULL, lease_owner = NULL, run_at = ?
				WHERE state = 'running' AND lease_until <= ?`, TimeToDB(now), TimeToDB(now), TimeToDB(now)); err != nil {
				return fmt.Errorf("release expired leases: %w", err)
			}
		}
		var err error
		jobs, err = s.claimDue(ctx, query, now, c)
		return err
	}
	var err error
	if s.queue != nil {
		// Each statement commits on its own: the claim is one UPDATE ... RETURNING, and
		// SKIP LOCKED keeps two claimers apart without a surrounding transaction.
		err = claim(func(ctx context.Context, q string, args ...any) (sql.Result, error) {
			return s.queue.ExecContext(ctx, s.rebind(q), args...)
		}, func(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
			return s.queue.QueryContext(ctx, s.rebind(q), args...)
		})
	} else {
		err = s.InTx(ctx, func(tx *Tx) error { return claim(tx.Exec, tx.Query) })
	}
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

// claimSQL leases up to n due jobs of the given number of kinds (0: any); its arguments
// are the lease token, the lease's end, the owner, then dueArgs. lock is appended to the
// SELECTs that read the jobs table.
//
// n is written into the statement rather than passed: PostgreSQL plans a prepared
// statement with a parameter as its LIMIT for a tenth of the table, so it never settles
// on a cached plan and planned the claim afresh every time, which cost twice as much as
// running it. The runner asks for a handful of distinct n, so there are few statements.
func claimSQL(lock string, n, kinds int) string {
	return `UPDATE jobs SET state = 'running', attempts = attempts + 1,
			lease_token = ?, lease_until = ?, lease_owner = ?
			WHERE id IN (` + dueIDs(lock, n, kinds) + `)
			RETURNING id, org_id, kind, args, run_at, attempts, max_attempts, last_error,
				COALESCE(unique_key, '') AS unique_key, created_at`
}

// dueIDs selects the ids of up to n due pending jobs, earliest first, of the given number
// of kinds (0: any); its arguments are dueArgs. lock is appended to the SELECTs that read
// the jobs table.
//
// With kinds, each kind is read on its own from jobs_kind_due (kind, run_at, id) and the
// reads are merged. A single "kind IN (...)" let both SQLite and PostgreSQL take the
// due-jobs index (state, run_at, id) instead and filter the kinds out of every due job:
// under a backlog of thousands of messages due, the reserved lane's every look for a due
// reminder or deadline read the whole backlog (issue 14).
func dueIDs(lock string, n, kinds int) string {
	limit := " LIMIT " + strconv.Itoa(n)
	if kinds == 0 {
		return `SELECT id FROM jobs WHERE state = 'pending' AND run_at <= ? ORDER BY run_at, id` + limit + lock
	}
	leaves := make([]string, kinds)
	for i := range leaves {
		leaves[i] = `SELECT id, run_at FROM (SELECT id, run_at FROM jobs WHERE state = 'pending' AND kind = ? AND run_at <= ?
				ORDER BY run_at, id` + limit + lock + `) AS k` + strconv.Itoa(i)
	}
	return `SELECT id FROM (` + strings.Join(leaves, " UNION ALL ") + `) AS due ORDER BY run_at, id` + limit
}

// dueArgs are dueIDs' arguments.
func dueArgs(now time.Time, kinds []string) []any {
	if len(kinds) == 0 {
		return []any{TimeToDB(now)}
	}
	var args []any
	for _, k := range kinds {
		args = append(args, k, TimeToDB(now))
	}
	return args
}

// claimArgs are claimSQL's arguments.
func claimArgs(now time.Time, c Claim) []any {
	var owner any
	if c.Owner != "" {
		owner = c.Owner
	}
	return append([]any{c.Token, TimeToDB(now.Add(c.Lease)), owner}, dueArgs(now, c.Kinds)...)
}

// claimDue runs claimSQL through query and reads the claimed jobs.
func (s *Store) claimDue(ctx context.Context, query func(ctx context.Context, q string, args ...any) (*sql.Rows, error),
	now time.Time, c Claim) ([]*Job, error) {
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := query(ctx, claimSQL(lock, c.N, len(c.Kinds)), claimArgs(now, c)...)
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	defer rows.Close()
	var jobs []*Job
	for rows.Next() {
		j := &Job{State: JobRunning, leaseToken: c.Token}
		var args string
		var runAt, created int64
		if err := rows.Scan(&j.ID, &j.OrgID, &j.Kind, &args, &runAt, &j.Attempt, &j.MaxAttempts,
			&j.LastError, &j.UniqueKey, &created); err != nil {
			return nil, fmt.Errorf("claim jobs: %w", err)
		}
		j.Args = json.RawMessage(args)
		j.RunAt, j.CreatedAt = TimeFromDB(runAt), TimeFromDB(created)
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	return jobs, nil
}

// completeAndClaimPostgres completes one job and claims up to n due ones in one statement;
// the claim's snapshot predates the completion, and the completed job is running, not
// pending, so it cannot be claimed again. n is written in, as in claimSQL. Its arguments
// are now, the job's id and token, then claimArgs.
func completeAndClaimPostgres(n, kinds int) string {
	return `WITH done AS (
	UPDATE jobs SET state = 'done', finished_at = ?, lease_token = NULL, lease_owner = NULL
	WHERE id = ? AND lease_token = ? RETURNING id
), claimed AS (
	UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_token = ?, lease_until = ?, lease_owner = ?
	WHERE id IN (` + dueIDs(" FOR UPDATE SKIP LOCKED", n, kinds) + `)
	RETURNING id, org_id, kind, args, run_at, attempts, max_attempts, last_error,
		COALESCE(unique_key, '') AS unique_key, created_at
)
SELECT (SELECT COUNT(*) FROM done), c.id, c.org_id, c.kind, c.args, c.run_at, c.attempts,
	c.max_attempts, c.last_error, c.unique_key, c.created_at
FROM (SELECT 1) AS one LEFT JOIN claimed AS c ON true`
}

// CompleteJobAndClaim is CompleteAndClaim with no owner, no kind filter and a fresh token.
func (s *Store) CompleteJobAndClaim(ctx context.Context, j *Job, n int, lease time.Duration) ([]*Job, error) {
	return s.CompleteAndClaim(ctx, j, Claim{N: n, Lease: lease})
}

// CompleteAndClaim records that a claimed job succeeded, like CompleteJob, and in the
// same round trip (on SQLite, the same write transaction) claims due jobs as ClaimDue
// does. A runner's worker uses it to go straight on to the next job: separately, the
// completion, the claim and the look for the next due time each cost a round trip per
// job, which under a stream of bookings competed with the bookings.
// When the completion finds the lease lost it returns ErrLeaseLost (wrapped) and, on
// PostgreSQL, the jobs the claim took all the same.
func (s *Store) CompleteAndClaim(ctx context.Context, j *Job, c Claim) ([]*Job, error) {
	if c.N <= 0 {
		return nil, s.CompleteJob(ctx, j)
	}
	now := s.clock.Now()
	if c.Token == "" {
		var err error
		if c.Token, err = newToken(); err != nil {
			return nil, err
		}
	}
	var jobs []*Job
	var done int64
	if s.queue != nil {
		args := append([]any{TimeToDB(now), j.ID, j.leaseToken}, claimArgs(now, c)...)
		rows, err := s.queue.QueryContext(ctx, s.rebind(completeAndClaimPostgres(c.N, len(c.Kinds))), args...)
		if err != nil {
			return nil, fmt.Errorf("record job %d: %w", j.ID, err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, runAt, created sql.NullInt64
			var attempts, maxAttempts sql.NullInt32
			var org, kind, args, lastErr, unique sql.NullString
			if err := rows.Scan(&done, &id, &org, &kind, &args, &runAt, &attempts, &maxAttempts,
				&lastErr, &unique, &created); err != nil {
				return nil, fmt.Errorf("record job %d: %w", j.ID, err)
			}
			if !id.Valid {
				continue // nothing claimed: the LEFT JOIN's row carries only the count
			}
			jobs = append(jobs, &Job{ID: id.Int64, OrgID: org.String, Kind: kind.String,
				Args: json.RawMessage(args.String), RunAt: TimeFromDB(runAt.Int64), Attempt: int(attempts.Int32),
				MaxAttempts: int(maxAttempts.Int32), LastError: lastErr.String, UniqueKey: unique.String,
				CreatedAt: TimeFromDB(created.Int64), State: JobRunning, leaseToken: c.Token})
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("record job %d: %w", j.ID, err)
		}
	} else {
		err := s.InTx(ctx, func(tx *Tx) error {
			jobs = nil
			res, err := tx.Exec(ctx, `UPDATE jobs SET state = 'done', finished_at = ?, lease_token = NULL, lease_owner = NULL
				WHERE id = ? AND lease_token = ?`, TimeToDB(now), j.ID, j.leaseToken)
			if err != nil {
				return err
			}
			if done, err = res.RowsAffected(); err != nil || done == 0 {
				return err
			}
			jobs, err = s.claimDue(ctx, tx.Query, now, c)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("record job %d: %w", j.ID, err)
		}
	}
	if done == 0 {
		// The claim (PostgreSQL) still holds: hand its jobs out rather than strand them
		// until their lease expires.
		return jobs, fmt.Errorf("record job %d: %w", j.ID, ErrLeaseLost)
	}
	return jobs, nil
}

// RenewLeases extends to until the leases of the running jobs claimed under the given
// tokens, and returns the ids of the jobs it renewed: a job of those claims that is
// missing lost its lease (it expired and was given to another runner).
func (s *Store) RenewLeases(ctx context.Context, tokens []string, until time.Time) ([]int64, error) {
	if len(tokens) == 0 {
		return nil, nil
	}
	q := `UPDATE jobs SET lease_until = ? WHERE state = 'running' AND lease_token IN (` +
		strings.TrimSuffix(strings.Repeat("?, ", len(tokens)), ", ") + `) RETURNING id`
	args := []any{TimeToDB(until)}
	for _, t := range tokens {
		args = append(args, t)
	}
	var ids []int64
	read := func(rows *sql.Rows, err error) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	}
	var err error
	if s.queue != nil {
		err = read(s.queue.QueryContext(ctx, s.rebind(q), args...))
	} else {
		err = s.InTx(ctx, func(tx *Tx) error {
			ids = nil
			return read(tx.Query(ctx, q, args...))
		})
	}
	if err != nil {
		return nil, fmt.Errorf("renew job leases: %w", err)
	}
	return ids, nil
}

// ReleaseClaim gives back, without counting the attempt, every job still running under a
// lease token: for a claimer that lost the answer to its claim (the connection broke)
// and so cannot tell whether the claim committed. It reports how many it gave back.
func (s *Store) ReleaseClaim(ctx context.Context, token string) (int, error) {
	q := `UPDATE jobs SET state = 'pending', attempts = attempts - 1, lease_token = NULL, lease_owner = NULL
		WHERE state = 'running' AND lease_token = ?`
	n, err := s.queueExecCount(ctx, q, token)
	if err != nil {
		return 0, fmt.Errorf("release claim: %w", err)
	}
	if n > 0 {
		s.notifyJobs()
	}
	return int(n), nil
}

// ReclaimOwned makes due again, at once, the jobs still running under owner's leases:
// an instance calls it when it starts, since nothing it ran before the restart is
// running any more. The attempt counts (the job may be what brought the instance down);
// a job out of attempts fails. It reports how many jobs it took back.
func (s *Store) ReclaimOwned(ctx context.Context, owner string) (int, error) {
	if owner == "" {
		return 0, errors.New("reclaim jobs: no owner")
	}
	now := TimeToDB(s.clock.Now())
	n, err := s.queueExecCount(ctx, `UPDATE jobs SET
		state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
		finished_at = CASE WHEN attempts >= max_attempts THEN CAST(? AS BIGINT) ELSE 0 END,
		last_error = 'interrupted: the instance running it stopped',
		lease_token = NULL, lease_owner = NULL, run_at = ?
		WHERE state = 'running' AND lease_owner = ?`, now, now, owner)
	if err != nil {
		return 0, fmt.Errorf("reclaim jobs of %s: %w", owner, err)
	}
	if n > 0 {
		s.notifyJobs()
	}
	return int(n), nil
}

// queueExecCount runs one bookkeeping statement of the queue (on PostgreSQL on its
// asynchronous-commit pool) and reports the rows it changed.
func (s *Store) queueExecCount(ctx context.Context, query string, args ...any) (int64, error) {
	if s.queue == nil {
		return s.execCount(ctx, query, args...)
	}
	res, err := s.queue.ExecContext(ctx, s.rebind(query), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// HasDue reports whether a pending job of one of kinds is due, by a read that takes no
// write lock: a claimer of a few kinds asks before it claims, so that an idle lane costs
// no write transaction each time the runner looks. It reads only jobs of those kinds
// (see dueIDs), however many others are due.
func (s *Store) HasDue(ctx context.Context, kinds []string) (bool, error) {
	rows, err := s.read.QueryContext(ctx, s.rebind(dueIDs("", 1, len(kinds))), dueArgs(s.clock.Now(), kinds)...)
	if err != nil {
		return false, fmt.Errorf("due jobs: %w", err)
	}
	defer rows.Close()
	return rows.Next(), rows.Err()
}

// NextJobAt returns when the earliest pending job is due, or false when none is pending.
func (s *Store) NextJobAt(ctx context.Context) (time.Time, bool, error) {
	return s.NextDueAt(ctx, nil)
}

// NextDueAt returns when the earliest pending job of one of kinds (none: of any kind) is
// due, or false when none is pending. Like HasDue, it reads only jobs of those kinds.
func (s *Store) NextDueAt(ctx context.Context, kinds []string) (time.Time, bool, error) {
	q := "SELECT MIN(run_at) FROM jobs WHERE state = 'pending'"
	var args []any
	if len(kinds) > 0 {
		leaves := make([]string, len(kinds))
		for i, k := range kinds {
			leaves[i] = `SELECT run_at FROM (SELECT run_at FROM jobs WHERE state = 'pending' AND kind = ?
				ORDER BY run_at LIMIT 1) AS k` + strconv.Itoa(i)
			args = append(args, k)
		}
		q = "SELECT MIN(run_at) FROM (" + strings.Join(leaves, " UNION ALL ") + ") AS due"
	}
	var at sql.NullInt64
	if err := s.read.QueryRowContext(ctx, s.rebind(q), args...).Scan(&at); err != nil {
		return time.Time{}, false, fmt.Errorf("next job: %w", err)
	}
	if !at.Valid {
		return time.Time{}, false, nil
	}
	return TimeFromDB(at.Int64), true, nil
}

// ErrLeaseLost means a job's lease expired and another runner may have it; the outcome
// of this run is not recorded.
var ErrLeaseLost = errors.New("job lease lost")

// CompleteJob records that a claimed job succeeded.
func (s *Store) CompleteJob(ctx context.Context, j *Job) error {
	// A completion makes nothing due, so the runner is not woken.
	return s.finishJob(ctx, j, false, `UPDATE jobs SET state = 'done', finished_at = ?, lease_token = NULL, lease_owner = NULL
		WHERE id = ? AND lease_token = ?`, TimeToDB(s.clock.Now()), j.ID, j.leaseToken)
}

// RetryJob records that a claimed job failed with errMsg and is due again at runAt, or,
// when permanent or out of attempts, that it failed for good.
func (s *Store) RetryJob(ctx context.Context, j *Job, errMsg string, runAt time.Time, permanent bool) error {
	errMsg = truncate(errMsg, 2000)
	if permanent || j.Attempt >= j.MaxAttempts {
		return s.finishJob(ctx, j, true, `UPDATE jobs SET state = 'failed', last_error = ?, finished_at = ?, lease_token = NULL, lease_owner = NULL
			WHERE id = ? AND lease_token = ?`, errMsg, TimeToDB(s.clock.Now()), j.ID, j.leaseToken)
	}
	return s.finishJob(ctx, j, true, `UPDATE jobs SET state = 'pending', last_error = ?, run_at = ?, lease_token = NULL, lease_owner = NULL
		WHERE id = ? AND lease_token = ?`, errMsg, TimeToDB(runAt), j.ID, j.leaseToken)
}

// ReleaseJob gives a claimed job back without counting the attempt, for a runner that is
// shutting down.
func (s *Store) ReleaseJob(ctx context.Context, j *Job) error {
	return s.finishJob(ctx, j, true, `UPDATE jobs SET state = 'pending', attempts = attempts - 1, lease_token = NULL, lease_owner = NULL
		WHERE id = ? AND lease_token = ?`, j.ID, j.leaseToken)
}

// DeferJob gives a claimed job back to run at runAt without counting the attempt, for a
// handler that cannot go yet (a rate limit's next slot): the job waits in the table, not
// in a worker. note, when set, becomes its last error.
func (s *Store) DeferJob(ctx context.Context, j *Job, runAt time.Time, note string) error {
	return s.finishJob(ctx, j, true, `UPDATE jobs SET state = 'pending', attempts = attempts - 1, run_at = ?,
		last_error = CASE WHEN ? = '' THEN last_error ELSE ? END, lease_token = NULL, lease_owner = NULL
		WHERE id = ? AND lease_token = ?`, TimeToDB(runAt), note, note, j.ID, j.leaseToken)
}

// JobAt is a job and the instant it is to run (DeferPending).
type JobAt struct {
	ID    int64
	RunAt time.Time
}

// deferChunk is how many jobs one statement of DeferPending moves: two parameters each,
// well under either database's limit.
const deferChunk = 500

// DeferPending moves pending jobs, without claiming them, to run at their given instants,
// as DeferJob would after a claim: for a caller that knows that a whole backlog of due
// jobs cannot go yet (a rate limit's successive slots), so that the backlog costs a few
// statements rather than a claim and a deferral per job. Only jobs still pending and due
// by due are moved: one claimed or moved meanwhile is left as it is. note, when set,
// becomes their last error. It reports how many it moved.
func (s *Store) DeferPending(ctx context.Context, jobs []JobAt, due time.Time, note string) (int, error) {
	moved := 0
	for len(jobs) > 0 {
		chunk := jobs[:min(len(jobs), deferChunk)]
		jobs = jobs[len(chunk):]
		// UPDATE ... FROM (VALUES ...): both databases name the columns of VALUES
		// column1, column2.
		var b strings.Builder
		b.WriteString(`UPDATE jobs SET run_at = v.column2, last_error = CASE WHEN ? = '' THEN last_error ELSE ? END
			FROM (VALUES `)
		args := make([]any, 0, 2*len(chunk)+3)
		args = append(args, note, note)
		for i, j := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(CAST(? AS BIGINT), CAST(? AS BIGINT))")
			args = append(args, j.ID, TimeToDB(j.RunAt))
		}
		b.WriteString(`) AS v WHERE jobs.id = v.column1 AND jobs.state = 'pending' AND jobs.run_at <= ?`)
		args = append(args, TimeToDB(due))
		n, err := s.queueExecCount(ctx, b.String(), args...)
		if err != nil {
			return moved, fmt.Errorf("defer %d jobs: %w", len(chunk), err)
		}
		moved += int(n)
	}
	return moved, nil
}

func (s *Store) finishJob(ctx context.Context, j *Job, wake bool, query string, args ...any) error {
	var n int64
	var err error
	if s.queue != nil {
		// One statement: no transaction needed, one round trip.
		var res sql.Result
		if res, err = s.queue.ExecContext(ctx, s.rebind(query), args...); err == nil {
			n, err = res.RowsAffected()
		}
	} else {
		n, err = s.execCount(ctx, query, args...)
	}
	if err != nil {
		return fmt.Errorf("record job %d: %w", j.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("record job %d: %w", j.ID, ErrLeaseLost)
	}
	// A job due again may be due at once (Retry-After 0); tell the runner.
	if wake {
		s.notifyJobs()
	}
	return nil
}

// jobColumns is what JobByID and Jobs read, in scanJob's order.
const jobColumns = `id, org_id, kind, args, state, run_at, attempts, max_attempts, last_error,
	COALESCE(unique_key, ''), created_at`

func scanJob(r rowScanner) (*Job, error) {
	j := &Job{}
	var args string
	var runAt, created int64
	if err := r.Scan(&j.ID, &j.OrgID, &j.Kind, &args, &j.State, &runAt, &j.Attempt, &j.MaxAttempts,
		&j.LastError, &j.UniqueKey, &created); err != nil {
		return nil, err
	}
	j.Args = json.RawMessage(args)
	j.RunAt, j.CreatedAt = TimeFromDB(runAt), TimeFromDB(created)
	return j, nil
}

// JobByID returns one job with its state, attempts and last error, for tests and
// support tools.
func (s *Store) JobByID(ctx context.Context, id int64) (*Job, error) {
	j, err := scanJob(s.read.QueryRowContext(ctx, s.rebind("SELECT "+jobColumns+" FROM jobs WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("job %d: %w", id, rendezvous.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("job %d: %w", id, err)
	}
	return j, nil
}

// Jobs lists an organization's jobs of one kind, oldest first, for tests and support
// tools. An empty kind lists every kind.
func (s *Store) Jobs(ctx context.Context, orgID, kind string) ([]*Job, error) {
	q := "SELECT " + jobColumns + " FROM jobs WHERE org_id = ?"
	args := []any{orgID}
	if kind != "" {
		q += " AND kind = ?"
		args = append(args, kind)
	}
	rows, err := s.read.QueryContext(ctx, s.rebind(q+" ORDER BY id"), args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	var out []*Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// PruneJobs deletes jobs that finished (done, failed or cancelled) before the given
// instant and reports how many. Finished jobs are kept for a while as a record of what was
// attempted; run this periodically (for example daily, keeping 30 days).
func (s *Store) PruneJobs(ctx context.Context, finishedBefore time.Time) (int, error) {
	n, err := s.execCount(ctx, `DELETE FROM jobs WHERE state IN ('done', 'failed', 'cancelled')
		AND finished_at > 0 AND finished_at < ?`, TimeToDB(finishedBefore))
	if err != nil {
		return 0, fmt.Errorf("prune jobs: %w", err)
	}
	return int(n), nil
}

// enqueueEvent enqueues the event job of an appointment change (EventJobKind).
func (tx *Tx) enqueueEvent(ctx context.Context, orgID string, ev EventArgs) error {
	if err := tx.Enqueue(ctx, Job{OrgID: orgID, Kind: EventJobKind, Args: ev}); err != nil {
		return fmt.Errorf("enqueue event %s: %w", ev.Event, err)
	}
	return nil
}
