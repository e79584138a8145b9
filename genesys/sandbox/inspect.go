package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OAuthClients lists the org's OAuth clients with their secrets and permissions: it is a
// sandbox.
func (s *Sandbox) OAuthClients() []DemoClient {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]DemoClient, 0, len(s.clientOrder))
	for _, id := range s.clientOrder {
		c := s.clients[id].DemoClient
		c.Permissions = slices.Clone(c.Permissions)
		if c.Permissions == nil {
			c.Permissions = []string{}
		}
		out = append(out, c)
	}
	return out
}

// inspect serves a JSON snapshot.
func (s *Sandbox) inspect(snapshot func() any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, snapshot())
	})
}

// The control endpoints (/sandbox/agents/..., /sandbox/faults...) take JSON, or a form
// from the console page. JSON callers get JSON back; form posts are redirected to the
// console, with the error, if any, shown there.

type sandboxError struct {
	Error string `json:"error"`
}

func isForm(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data")
}

// readInput fills v from a JSON body, or from form fields named like v's JSON tags.
func readInput(r *http.Request, v any) error {
	if isForm(r) {
		if err := r.ParseForm(); err != nil {
			return err
		}
		m := map[string]string{}
		for k := range r.PostForm {
			m[k] = r.PostForm.Get(k)
		}
		b, _ := json.Marshal(m)
		return json.Unmarshal(b, v)
	}
	if r.ContentLength == 0 {
		return nil
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// control runs one console action and answers it.
func (s *Sandbox) control(w http.ResponseWriter, r *http.Request, result any, err error) {
	if isForm(r) {
		dest := "/sandbox/"
		if err != nil {
			dest += "?error=" + url.QueryEscape(err.Error())
		}
		http.Redirect(w, r, dest, http.StatusSeeOther)
		return
	}
	if err != nil {
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(err, ErrNoOffer), errors.Is(err, ErrNotConnected):
			status = http.StatusConflict
		}
		writeJSON(w, status, sandboxError{Error: err.Error()})
		return
	}
	if result == nil {
		result = map[string]any{}
	}
	writeJSON(w, http.StatusOK, result)
}

// POST /sandbox/agents/{userId}/answer → {"conversationId": ...}.
func (s *Sandbox) handleAnswer() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := s.Answer(r.PathValue("userId"))
		s.control(w, r, map[string]string{"conversationId": id}, err)
	})
}

// POST /sandbox/agents/{userId}/decline.
func (s *Sandbox) handleDecline() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.control(w, r, nil, s.Decline(r.PathValue("userId")))
	})
}

// POST /sandbox/agents/{userId}/presence {"presence": "ON_QUEUE"|"AVAILABLE"|"OFFLINE"}.
func (s *Sandbox) handlePresence() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Presence Presence `json:"presence"`
		}
		err := readInput(r, &in)
		if err == nil {
			err = s.SetPresence(r.PathValue("userId"), in.Presence)
		}
		s.control(w, r, nil, err)
	})
}

// POST /sandbox/agents/{userId}/messages {"conversationId": ..., "text": ...}.
func (s *Sandbox) handleAgentMessage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ConversationID string `json:"conversationId"`
			Text           string `json:"text"`
		}
		err := readInput(r, &in)
		if err == nil {
			err = s.AgentSendText(r.PathValue("userId"), in.ConversationID, in.Text)
		}
		s.control(w, r, nil, err)
	})
}

// POST /sandbox/conversations/{conversationId}/disconnect.
func (s *Sandbox) handleDisconnect() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.control(w, r, nil, s.Disconnect(r.PathValue("conversationId")))
	})
}

// wireFault is a Fault over HTTP, with durations in milliseconds and seconds.
type wireFault struct {
	Method            string `json:"method,omitempty"`
	PathPrefix        string `json:"pathPrefix,omitempty"`
	Count             int    `json:"count,omitempty"`
	LatencyMs         int    `json:"latencyMs,omitempty"`
	Status            int    `json:"status,omitempty"`
	RetryAfterSeconds int    `json:"retryAfterSeconds,omitempty"`
}

func wireFaults(fs []Fault) []wireFault {
	out := make([]wireFault, 0, len(fs))
	for _, f := range fs {
		out = append(out, wireFault{Method: f.Method, PathPrefix: f.PathPrefix, Count: f.Count,
			LatencyMs: int(f.Latency / time.Millisecond), Status: f.Status, RetryAfterSeconds: int(f.RetryAfter / time.Second)})
	}
	return out
}

// POST /sandbox/faults with a wireFault.
func (s *Sandbox) handleInjectFault() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in wireFault
		var err error
		if isForm(r) {
			in, err = formFault(r)
		} else {
			err = readInput(r, &in)
		}
		if err == nil && (in.Status != 0 && (in.Status < 400 || in.Status > 599)) {
			err = errors.New("status must be a 4xx or 5xx code")
		}
		if err == nil && in.Status == 0 && in.LatencyMs == 0 {
			err = errors.New("a fault needs a status or a latency")
		}
		if err == nil {
			s.InjectFault(Fault{Method: in.Method, PathPrefix: in.PathPrefix, Count: in.Count, Status: in.Status,
				Latency: time.Duration(in.LatencyMs) * time.Millisecond, RetryAfter: time.Duration(in.RetryAfterSeconds) * time.Second})
		}
		s.control(w, r, nil, err)
	})
}

// formFault reads a fault from the console's form, whose numbers arrive as text.
func formFault(r *http.Request) (wireFault, error) {
	if err := r.ParseForm(); err != nil {
		return wireFault{}, err
	}
	f := wireFault{Method: r.PostForm.Get("method"), PathPrefix: r.PostForm.Get("pathPrefix")}
	for name, dst := range map[string]*int{"count": &f.Count, "latencyMs": &f.LatencyMs, "status": &f.Status, "retryAfterSeconds": &f.RetryAfterSeconds} {
		if v := strings.TrimSpace(r.PostForm.Get(name)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return wireFault{}, fmt.Errorf("%s must be a number", name)
			}
			*dst = n
		}
	}
	return f, nil
}

// DELETE /sandbox/faults.
func (s *Sandbox) handleClearFaults() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		s.control(w, r, nil, nil)
	})
}

// POST /sandbox/sockets/drop.
func (s *Sandbox) handleDropSockets() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.DropSockets()
		s.control(w, r, nil, nil)
	})
}
