package app

import (
	"net/http"
	"strings"

	"rendezvous"
	"rendezvous/auth"
)

// handlePreferences serves POST /app/preferences: the person's language and time zone
// ("" for each means as the browser says).
func (a *App) handlePreferences(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	lang := r.PostFormValue("language")
	if !supported(lang) {
		lang = ""
	}
	zone := strings.TrimSpace(r.PostFormValue("tz"))
	if zone != "" {
		if _, err := rendezvous.LoadZone(zone); err != nil {
			zone = ""
		}
	}
	if err := a.o.Store.SetStaffPreferences(r.Context(), s.User.OrgID, s.User.ID, zone, lang); err != nil {
		a.fail(w, r, err)
		return
	}
	back := auth.SafeNext(r.PostFormValue("back"))
	if back == "" || strings.Contains(back, "done=") {
		back = "/app/calendar"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
