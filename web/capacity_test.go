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
// and a queue without a schedule are not held back.
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
			wantStatus(t, e.do("POST", "/api/v1/appointments", queued("Mortgages", 31)), http.StatusCreated)
			for range 3 {
				wantStatus(t, e.do("POST", "/api/v1/appointments", queued("Loans", 30)), http.StatusCreated)
			}
		})
	}
}
