package webhook

import (
	"context"
	"net/http"
	"time"
)

// DialCheck makes a request to u with the client of a service outside the demo mode and
// returns its error.
func DialCheck(u string) error {
	c := newClient(false, 2*time.Second)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return err
}
