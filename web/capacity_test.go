package web_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"rendezvous/store/storetest"
)

// TestAPIBookingsRespectQueueCapacity books the last places of a queue with a schedule
// through the API, in parallel: exactly as many succeed as the capacity allows (checked
// in the writing transaction under the queue's lock, as widget bookings are), the others
// get a 409 problem saying the queue is full then, and the same queue at another time
// and a queue without a schedule are not held back. Reschedules are held to the same
// rule, without an appointment counting against its own new time.
func TestAPIBookingsRespectQueueCapacity(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{dialect: d})
			wantStatus(t, e.do("PUT", "/api/v1/settings/schedules/Mortgages", schedule(2)), http.StatusOK)
			queued := func(queue string, h int) map[string]any {
				b := booking("", h)
				b["interaction"] = map[string]any{"routing": map[string]any{"type": "GENESYS_CLOUD_QUEUE",
					"properties": map[string]any{"queueName": queue}}}
				return b
			}
			const n = 20
			statuses := make([]int, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					r := e.do("POST", "/api/v1/appointments", queued("Mortgages", 30))
					statuses[i] = r.status
					if r.status == http.StatusConflict {
						p := r.json(t)
						if detail, _ := p["detail"].(string); r.header.Get("Content-Type") != "application/problem+json" || !strings.Contains(detail, "no place left") {
							t.Errorf("a refused booking's problem does not say why: %s", r.body)
						}
					}
				})
			}
			close(start)
			wg.Wait()
			count := map[int]int{}
			for _, s := range statuses {
				count[s]++
			}
			if count[http.StatusCreated] != 2 || count[http.StatusConflict] != n-2 {
				t.Fatalf("statuses = %v, want 2 × 201 and %d × 409", count, n-2)
			}
			// Another time of the same queue, and a queue without a schedule, still book.
			later := e.do("POST", "/api/v1/appointments", queued("Mortgages", 31))
			wantStatus(t, later, http.StatusCreated)
			for range 3 {
				wantStatus(t, e.do("POST", "/api/v1/appointments", queued("Loans", 30)), http.StatusCreated)
			}

			// A reschedule is held to the same rule: the later booking cannot move into the
			// full hour, nor into it by growing longer, and is left as it was.
			path := "/api/v1/appointments/" + later.json(t)["id"].(string)
			full := booking("", 30)["start"]
			r := e.do("PATCH", path, map[string]any{"start": full})
			wantStatus(t, r, http.StatusConflict)
			if detail, _ := r.json(t)["detail"].(string); !strings.Contains(detail, "no place left") {
				t.Errorf("a refused reschedule's problem does not say why: %s", r.body)
			}
			wantStatus(t, e.do("PATCH", path, map[string]any{"start": booking("", 30)["start"], "durationMinutes": 90}), http.StatusConflict)
			if got := e.do("GET", path, nil).json(t)["start"]; got != booking("", 31)["start"] {
				t.Errorf("after refused reschedules the appointment starts at %v, want where it was", got)
			}
			// One of the full hour's bookings may change within its own place.
			var inFull string
			for _, a := range e.do("GET", "/api/v1/appointments?limit=100", nil).json(t)["items"].([]any) {
				m := a.(map[string]any)
				routing := m["interaction"].(map[string]any)["routing"].(map[string]any)
				if m["start"] == full && routing["properties"].(map[string]any)["queueName"] == "Mortgages" {
					inFull = m["id"].(string)
				}
			}
			if inFull == "" {
				t.Fatal("no appointment found in the full hour")
			}
			wantStatus(t, e.do("PATCH", "/api/v1/appointments/"+inFull, map[string]any{"durationMinutes": 45}), http.StatusOK)
			// Once it is cancelled, its place is free for the later one.
			wantStatus(t, e.do("POST", "/api/v1/appointments/"+inFull+"/cancel", map[string]any{"reason": "moved"}), http.StatusOK)
			wantStatus(t, e.do("PATCH", path, map[string]any{"start": full}), http.StatusOK)
		})
	}
}
