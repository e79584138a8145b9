package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"rendezvous"
)

// AppointmentCard is what a calendar card shows of an appointment. It is read without
// the columns a card does not show (the notes, the interaction, the sealed link token,
// the times of the appointment's life), and of the customers only the first name is taken
// out: a supervisor's week holds thousands of cards, and reading and decoding whole
// appointments was most of its cost.
type AppointmentCard struct {
	ID, OrgID   string
	Status      rendezvous.Status
	Start       time.Time
	Duration    time.Duration
	Title       string
	AgentUserID string
	// Customer is the first customer's name, "" for an appointment without customers.
	Customer string
}

// End is when the appointment ends.
func (c *AppointmentCard) End() time.Time { return c.Start.Add(c.Duration) }

// cardColumns is what a card reads, in scan order. The customers column is read whole
// and only the first name taken out of it (firstCustomerName): letting SQLite's
// json_extract do it cost more than the rest of the row.
const cardColumns = `id, status, start_at, end_at, title, agent_user_id, customers`

// ListAppointmentCards is ListAppointments reading only what a calendar card shows: the
// same filter, order, page size and cursor.
func (s *Store) ListAppointmentCards(ctx context.Context, orgID string, f ListFilter) ([]AppointmentCard, string, error) {
	query, args, limit, err := s.listQuery(cardColumns, orgID, f)
	if err != nil {
		return nil, "", err
	}
	items := make([]AppointmentCard, 0, min(limit+1, 256))
	// One set of scan targets for all rows: each pointer passed to Scan escapes, so
	// targets declared per row would cost an allocation each, per row.
	var row struct {
		id, status, title, agent, customers string
		start, end                          int64
	}
	dest := []any{&row.id, &row.status, &row.start, &row.end, &row.title, &row.agent, &row.customers}
	err = s.readRows(ctx, query, args, func(r rowScanner) error {
		if err := r.Scan(dest...); err != nil {
			return err
		}
		name, err := s.firstCustomerName(row.customers)
		if err != nil {
			return fmt.Errorf("appointment %s customers: %w", row.id, err)
		}
		items = append(items, AppointmentCard{ID: row.id, OrgID: orgID, Status: rendezvous.Status(row.status),
			Start: TimeFromDB(row.start), Duration: time.Duration(row.end-row.start) * time.Microsecond,
			Title: row.title, AgentUserID: row.agent, Customer: name})
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list appointment cards: %w", err)
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		last := &items[limit-1]
		next = encodeCursor(TimeToDB(last.Start), last.ID)
	}
	return items, next, nil
}

// firstCustomerName returns the name of the first customer in a customers column.
// encodeAppointment writes each customer's name first, and json.Marshal writes a name
// with a quote, a backslash, markup characters, control characters or invalid UTF-8 with
// escapes; so a name without a backslash before its closing quote is the stored text as
// it is, and the only other thing to handle is a column that does not start that way
// (no customers, escapes), which is decoded in full.
func (s *Store) firstCustomerName(customers string) (string, error) {
	const head = `[{"name":"`
	if rest, ok := strings.CutPrefix(customers, head); ok {
		if i := strings.IndexAny(rest, `"\`); i >= 0 && rest[i] == '"' {
			return rest[:i], nil
		}
	}
	cs, err := s.decoded.decodeCustomers([]byte(customers))
	if err != nil || len(cs) == 0 {
		return "", err
	}
	return cs[0].Name, nil
}
