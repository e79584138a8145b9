package sandbox

import (
	"context"
	_ "embed"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed templates/console.html
var consoleHTML string

var consoleTmpl = template.Must(template.New("console").Funcs(template.FuncMap{
	"clock":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
	"join":      strings.Join,
	"presences": func() []Presence { return []Presence{PresenceOnQueue, PresenceAvailable, PresenceOffline} },
	"lower":     func(s string) string { return strings.ToLower(s) },
	"label":     func(p Presence) string { return p.systemPresence() },
	"firstText": firstInboundText,
}).Parse(consoleHTML))

// firstInboundText is the customer's first visible message, which a Genesys agent sees at
// the top of a web messaging interaction (a guest has no name of its own there).
func firstInboundText(tr []TranscriptEntry) string {
	for _, e := range tr {
		if e.Direction == "Inbound" && e.Type == "Text" {
			return e.Text
		}
	}
	return ""
}

// consoleAgent is a user row of the console, with what they can do now.
type consoleAgent struct {
	User
	Offered   *Conversation
	Connected []Conversation
}

type consolePage struct {
	OrgName       string
	Now           time.Time
	Version       int64
	Error         string
	Agents        []consoleAgent
	Conversations []Conversation
	Outbox        []OutboxMessage
	Queues        []Queue
	Clients       []DemoClient
	Faults        []wireFault
	Demo          DemoOrg
	Deployments   []Deployment
	UserNames     map[string]string
	QueueNames    map[string]string
}

// handleConsole serves GET /sandbox/: the state of the org and buttons to act as an agent.
func (s *Sandbox) handleConsole() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		version := s.version
		s.mu.Unlock()
		convs := s.Conversations()
		byID := map[string]Conversation{}
		for _, c := range convs {
			byID[c.ID] = c
		}
		page := consolePage{OrgName: s.org.OrgName, Now: s.clock.Now(), Version: version, Error: r.URL.Query().Get("error"),
			Outbox: s.Outbox(), Queues: s.Queues(), Clients: s.OAuthClients(), Faults: wireFaults(s.Faults()),
			Demo: s.Demo(), Deployments: s.Deployments(), UserNames: map[string]string{}, QueueNames: map[string]string{}}
		for _, q := range page.Queues {
			page.QueueNames[q.ID] = q.Name
		}
		for _, u := range s.Users() {
			a := consoleAgent{User: u}
			if c, ok := byID[u.OfferedConversationID]; ok {
				a.Offered = &c
			}
			for _, id := range u.ConnectedConversationIDs {
				a.Connected = append(a.Connected, byID[id])
			}
			page.Agents = append(page.Agents, a)
			page.UserNames[u.ID] = u.Name
		}
		// Newest first: the console is read from the top.
		slices.Reverse(convs)
		page.Conversations = convs
		slices.Reverse(page.Outbox)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := consoleTmpl.Execute(w, page); err != nil {
			s.log.Error("sandbox console", "err", err)
		}
	})
}

// handleChanges serves GET /sandbox/changes?after=N: it answers {"version": V} as soon as
// the state version exceeds N, or after 25 s. The console long-polls it to refresh itself.
func (s *Sandbox) handleChanges() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
		ctx, cancel := context.WithTimeout(r.Context(), 25*time.Second)
		defer cancel()
		var v int64
		s.WaitFor(ctx, func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			v = s.version
			return v > after
		})
		writeJSON(w, http.StatusOK, map[string]int64{"version": v})
	})
}
