package web

import (
	"bytes"
	"html/template"
	"net/http"
	"time"
)

// homeTemplate is the page at /: what this server is and where to go next. It is the
// first thing a person sees after go run ./cmd/rendezvous.
var homeTemplate = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rendezvous</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1d2330}
h1{font-size:1.6rem;margin-bottom:.2rem} code,pre{background:#f2f4f7;border-radius:4px;padding:.1rem .3rem}
pre{padding:.8rem;overflow-x:auto} li{margin:.3rem 0} .muted{color:#5b6475}
a.signin{display:inline-block;background:#2457c5;color:#fff;padding:.7rem 1.3rem;border-radius:6px;text-decoration:none;font-size:1.1rem}
</style></head><body>
<h1>Rendezvous</h1>
<p class="muted">Video appointments for contact centers on Genesys Cloud.</p>
{{if .SignIn}}<p><a class="signin" href="{{.SignIn}}">Sign in with Genesys Cloud</a></p>
<p class="muted">Agents and supervisors work in the staff app.{{if .Sandbox}} In this demo the sign-in opens the
built-in Genesys Cloud sandbox: pick any of its users (agents Alice, Bruno and Chloé, supervisor Sam); there are no
passwords, and the first person to sign in becomes the administrator.{{end}}</p>{{end}}
<h2>Try it</h2>
<ol>
<li>Create an API key (it is printed alone on the last line):
<pre>KEY=$(go run ./cmd/rendezvous apikey create -name me | tail -n 1)</pre></li>
<li>Book an appointment:
<pre>curl -s {{.Base}}/api/v1/appointments -H "Authorization: Bearer $KEY" \
  -H "Content-Type: application/json" -d '{"start": "{{.Start}}",
  "durationMinutes": 30, "timeZone": "Europe/Athens", "agentUserId": "AGENT",
  "customers": [{"name": "Maria", "email": "maria@example.com"}]}'</pre>
The answer's <code>links.customer</code> is the customer's page.</li>
</ol>
<h2>Links</h2>
<ul>
<li><a href="/api/v1/openapi.json">REST API reference</a> (OpenAPI 3.1)</li>
{{if .Sandbox}}<li><a href="{{.Sandbox}}/sandbox/">Genesys Cloud sandbox console</a>: sent messages, conversations, acting as an agent</li>{{end}}
<li><a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a>, <a href="/metrics">/metrics</a></li>
</ul>
</body></html>
`))

func (s *server) handleHome() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		signIn := ""
		if s.Staff != nil {
			// One click here, one on the Genesys Cloud login page: signed in.
			signIn = "/signin?go=1"
		}
		// The example books tomorrow afternoon, so that it works when pasted.
		start := s.clock.Now().UTC().Add(24 * time.Hour).Truncate(24 * time.Hour).Add(14*time.Hour + 30*time.Minute)
		err := homeTemplate.Execute(&b, struct{ Base, Sandbox, Start, SignIn string }{s.publicURL(r), s.Sandbox, start.Format(time.RFC3339), signIn})
		if err != nil {
			s.error(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(b.Bytes())
	})
}
