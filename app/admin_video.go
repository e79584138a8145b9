package app

// Administration / Video: the STUN and TURN servers the video room's browsers use. Saved
// through room.Rooms.PutSettings like PUT /api/v1/settings/video. A TURN server takes
// either its shared secret (recommended: each room gets its own short-lived credential)
// or a fixed username and credential. Neither is shown again, only a hint, and a server
// saved with it left blank keeps the one it had.

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"rendezvous/auth"
	"rendezvous/room"
)

// videoRow is one server of the form as typed, with the hints of its saved secrets.
type videoRow struct {
	N                          int
	URLs, Username             string
	CredentialHint, SecretHint string
	// Auth is how browsers sign in to the TURN server: authSecret or authFixed.
	Auth string
	Err  string
}

// The TURN sign-in choices of a server row.
const (
	authSecret = "secret"
	authFixed  = "fixed"
)

// videoPage is the page's data.
type videoPage struct {
	Rows []videoRow
	// Default is true while the organization uses the installation's servers.
	Default bool
	Errors  map[string]string
	// Retype asks for credentials typed in a form that was refused: they are not shown back.
	Retype bool
}

// videoSpare is how many empty rows the form offers for new servers.
const videoSpare = 1

func videoRows(set room.Settings) []videoRow {
	var rows []videoRow
	for i, srv := range set.Redacted().ICEServers {
		auth := authSecret
		if srv.Username != "" || srv.Credential != "" {
			auth = authFixed
		}
		rows = append(rows, videoRow{N: i, URLs: strings.Join(srv.URLs, " "), Username: srv.Username,
			CredentialHint: srv.Credential, SecretHint: srv.Secret, Auth: auth})
	}
	for range videoSpare {
		rows = append(rows, videoRow{N: len(rows), Auth: authSecret})
	}
	return rows
}

func (a *App) handleAdminVideo(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	set, at, err := a.o.Admin.Rooms.Settings(r.Context(), s.User.OrgID)
	if err != nil {
		a.fail(w, r, fmt.Errorf("read video settings: %w", err))
		return
	}
	v := a.adminView(r, s, "video", "Video")
	v.Data = &videoPage{Rows: videoRows(set), Default: at.IsZero(), Errors: map[string]string{}}
	a.render(w, r, http.StatusOK, "admin_video", v)
}

// iceField finds the row of a problem such as "iceServers[2].urls[0]".
var iceField = regexp.MustCompile(`^iceServers\[(\d+)\]`)

func (a *App) handleAdminVideoSave(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	ctx := r.Context()
	saved, at, err := a.o.Admin.Rooms.Settings(ctx, s.User.OrgID)
	if err != nil {
		a.fail(w, r, fmt.Errorf("read video settings: %w", err))
		return
	}
	v := a.adminView(r, s, "video", "Video")
	t := v.tr
	n, _ := strconv.Atoi(r.PostFormValue("rows"))
	n = min(max(n, 0), room.MaxICEServers+videoSpare)
	var (
		rows   []videoRow
		set    room.Settings
		index  []int // form row of each server sent
		typed  bool
		errors = map[string]string{}
	)
	hints := map[string]videoRow{}
	for _, old := range videoRows(saved) {
		hints[old.URLs+"\x00"+old.Username] = old
	}
	for i := range n {
		k := strconv.Itoa(i)
		f := readSettingsForm(r, "urls_"+k, "username_"+k, "credential_"+k, "secret_"+k)
		urls := f.line(t, "urls_"+k, 2000)
		user := f.line(t, "username_"+k, 500)
		cred := f.line(t, "credential_"+k, 500)
		sec := f.line(t, "secret_"+k, 500)
		auth := authSecret
		if r.PostFormValue("auth_"+k) == authFixed {
			auth = authFixed
		}
		row := videoRow{N: len(rows), URLs: urls, Username: user, Auth: auth}
		if old, ok := hints[urls+"\x00"+user]; ok {
			row.CredentialHint, row.SecretHint = old.CredentialHint, old.SecretHint
		}
		for _, m := range f.Errors {
			row.Err = m
		}
		typed = typed || cred != "" || sec != ""
		if r.PostFormValue("remove_"+k) != "" || (urls == "" && user == "" && cred == "" && sec == "" && row.Err == "") {
			continue // removed, or a spare row left empty
		}
		if urls == "" && row.Err == "" {
			row.Err = t.T("Give the server's address, such as turn:turn.example.com:3478.")
		}
		rows = append(rows, row)
		index = append(index, len(rows)-1)
		srv := room.ICEServer{URLs: strings.Fields(strings.ReplaceAll(urls, ",", " "))}
		if auth == authFixed {
			srv.Username, srv.Credential = user, cred
		} else {
			srv.Secret = sec
		}
		set.ICEServers = append(set.ICEServers, srv)
	}
	failed := false
	for _, row := range rows {
		failed = failed || row.Err != ""
	}
	if !failed {
		// A server sent back without its credential keeps the one it has. Rooms does this
		// for saved settings; the installation's servers, shown until the organization
		// saves its own, need it here.
		for i, srv := range set.ICEServers {
			if srv.Credential != "" || srv.Secret != "" {
				continue
			}
			for _, o := range saved.ICEServers {
				if o.Username == srv.Username && strings.Join(o.URLs, " ") == strings.Join(srv.URLs, " ") {
					set.ICEServers[i].Credential = o.Credential
					if srv.Username == "" {
						set.ICEServers[i].Secret = o.Secret
					}
				}
			}
		}
		_, _, err = a.o.Admin.Rooms.PutSettings(ctx, s.User.OrgID, set)
		f := newSettingsForm()
		if err != nil && !f.problems(err, func(field string) string {
			if m := iceField.FindStringSubmatch(field); m != nil {
				return m[1]
			}
			return "all"
		}, func(string) string { return "" }) {
			a.fail(w, r, fmt.Errorf("save video settings: %w", err))
			return
		}
		for k, msg := range f.Errors {
			i, err := strconv.Atoi(k)
			if err != nil || i >= len(index) {
				errors["all"] = videoWords(t, msg)
				continue
			}
			rows[index[i]].Err = videoWords(t, msg)
		}
		failed = len(f.Errors) > 0
	}
	if failed {
		for range videoSpare {
			rows = append(rows, videoRow{N: len(rows)})
		}
		v.Data = &videoPage{Rows: rows, Default: at.IsZero(), Errors: errors, Retype: typed}
		a.render(w, r, http.StatusUnprocessableEntity, "admin_video", v)
		return
	}
	http.Redirect(w, r, "/app/admin/video?done=saved", http.StatusSeeOther)
}

// videoWords puts the room's rule in the page's words.
func videoWords(t *tr, msg string) string {
	switch {
	case strings.Contains(msg, "needs its shared secret"):
		return t.T("A TURN server needs its shared secret, or a username and a credential.")
	case strings.Contains(msg, "is for TURN servers only"):
		return t.T("A shared secret is for TURN servers only: give a turn: or turns: address, or leave the secret empty.")
	case strings.Contains(msg, "shorter than 16 characters"):
		return t.T("The shared secret is shorter than 16 characters: use the TURN server's static-auth-secret, a long random string.")
	case strings.Contains(msg, "scheme"), strings.Contains(msg, "not an ICE server URL"), strings.Contains(msg, "right after the scheme"), strings.Contains(msg, "transport"):
		return t.T("Write each address as stun:host:port or turn:host:port (optionally ?transport=udp or tcp), separated by spaces.")
	case strings.Contains(msg, "limit is"):
		return t.T("At most %d servers.", room.MaxICEServers)
	case strings.Contains(msg, "longer than"), strings.Contains(msg, "control"), strings.Contains(msg, "character"):
		return t.T("The username or credential is too long or contains characters that cannot be stored.")
	}
	return msg
}

// Num is the row's number as people count.
func (r videoRow) Num() int { return r.N + 1 }
