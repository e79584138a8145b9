package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ReserveGenesysSlot takes the next free call slot of one Genesys Cloud OAuth client
// (key), for every instance on this database at once, and returns when the call may
// leave. The pace is a generic cell rate: one call per interval, with calls up to
// tolerance early allowed (the burst), so no window of length W holds more than
// W/interval + tolerance/interval + 1 calls, whichever instance made them, and a
// restarted process finds the pace where its predecessor left it.
//
// The row holds the client's theoretical arrival time (TAT): the slot taken is
// max(TAT, now) - tolerance, and the TAT moves on by one interval, in one statement (an
// upsert with RETURNING on both databases, which locks the row for that statement only).
// A slot further than maxWait from now is not taken: ok is false and at says when it
// would be, so that the caller can give the time back to its job queue instead of holding
// a worker.
func (s *Store) ReserveGenesysSlot(ctx context.Context, key string, now time.Time, interval, tolerance, maxWait time.Duration) (at time.Time, ok bool, err error) {
	if interval <= 0 {
		return now, true, nil
	}
	n := TimeToDB(now)
	iv := interval.Microseconds()
	tol := tolerance.Microseconds()
	mw := maxWait.Microseconds()
	var tat int64
	err = s.InTx(ctx, func(tx *Tx) error {
		// CASE rather than GREATEST/MAX: the one spelling both databases share.
		err := tx.QueryRow(ctx, `INSERT INTO genesys_pacing (client_key, tat) VALUES (?, ?)
			ON CONFLICT (client_key) DO UPDATE
			SET tat = (CASE WHEN genesys_pacing.tat > ? THEN genesys_pacing.tat ELSE ? END) + ?
			WHERE (CASE WHEN genesys_pacing.tat > ? THEN genesys_pacing.tat ELSE ? END) - ? - ? <= ?
			RETURNING tat`, key, n+iv, n, n, iv, n, n, tol, n, mw).Scan(&tat)
		if errors.Is(err, sql.ErrNoRows) {
			// Refused: nothing was taken. Say when the next slot would be.
			ok = false
			return tx.QueryRow(ctx, "SELECT tat FROM genesys_pacing WHERE client_key = ?", key).Scan(&tat)
		}
		ok = err == nil
		return err
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reserve a Genesys Cloud call slot: %w", err)
	}
	if ok {
		// The slot taken is the TAT before this call, less the tolerance.
		slot := tat - iv - tol
		return TimeFromDB(max(slot, n)), true, nil
	}
	return TimeFromDB(max(tat-tol, n)), false, nil
}
