package sandbox

import (
	_ "embed"
	"html/template"
	"net/http"
)

//go:embed templates/desktop.html
var desktopHTML string

var desktopTmpl = template.Must(template.New("desktop").Parse(desktopHTML))

// desktopPage is what the agent desktop page shows.
type desktopPage struct {
	Users []User
	Agent string
	App   string
}

// handleDesktop serves GET /sandbox/desktop?agent=<userId>&app=<URL template>: a stand-in
// for the Genesys Cloud agent desktop. It shows the interaction offered to the agent with
// an Answer button and, beside each interaction the agent is connected to, the Interaction
// Widget framed as Genesys Cloud frames it: the app URL with {{pcConversationId}},
// {{gcConversationId}}, {{gcHostOrigin}}, {{gcTargetEnv}} and {{gcLangTag}} substituted,
// the iframe sandbox options allow-scripts allow-same-origin allow-forms allow-modals
// allow-popups, and camera and microphone allowed.
func (s *Sandbox) handleDesktop() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		page := desktopPage{Users: s.Users(), Agent: q.Get("agent"), App: q.Get("app")}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := desktopTmpl.Execute(w, page); err != nil {
			s.log.Error("sandbox desktop page", "err", err)
		}
	})
}
