package room

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/secret"
)

// ICEServer is one STUN or TURN server, in the shape RTCPeerConnection takes.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
	// Secret is a TURN server's shared secret (coturn's static-auth-secret with
	// use-auth-secret): instead of a fixed username and credential, which every browser
	// of every room would see, each side of each room gets its own credential derived from
	// it that expires after the appointment (TURNCredentials). It never leaves the server.
	Secret string `json:"secret,omitempty"`
}

// Settings are an organization's video room settings.
type Settings struct {
	// ICEServers replace the service's default STUN/TURN servers when not empty.
	ICEServers []ICEServer `json:"iceServers"`
}

// MaxICEServers bounds the list; browsers slow down gathering with many servers.
const MaxICEServers = 10

// Validate checks the settings and names the field and the fix of every problem.
func (s Settings) Validate() error {
	var p rendezvous.Problems
	if len(s.ICEServers) > MaxICEServers {
		p.Add("iceServers", "has %d servers; the limit is %d", len(s.ICEServers), MaxICEServers)
	}
	for i, srv := range s.ICEServers {
		f := fmt.Sprintf("iceServers[%d]", i)
		if len(srv.URLs) == 0 {
			p.Add(f+".urls", "needs at least one URL such as stun:stun.example.com:3478 or turn:turn.example.com:3478?transport=udp")
		}
		turn := false
		for j, u := range srv.URLs {
			scheme, err := iceScheme(u)
			if err != nil {
				p.Add(fmt.Sprintf("%s.urls[%d]", f, j), "%s", err)
				continue
			}
			turn = turn || strings.HasPrefix(scheme, "turn")
		}
		switch {
		case srv.Secret != "" && !turn:
			p.Add(f+".secret", "is for TURN servers only; give a turn: or turns: URL")
		case srv.Secret != "" && (srv.Username != "" || srv.Credential != ""):
			p.Add(f, "gives both a shared secret and a fixed username and credential; give only the secret (recommended: each room then gets its own short-lived credential)")
		case srv.Secret != "" && len(srv.Secret) < 16:
			p.Add(f+".secret", "is shorter than 16 characters; use the TURN server's static-auth-secret, a long random string")
		case turn && srv.Secret == "" && (srv.Username == "" || srv.Credential == ""):
			p.Add(f, "is a TURN server and needs its shared secret (secret, recommended) or a username and a credential")
		}
		if len(srv.Username) > 500 || len(srv.Credential) > 500 || len(srv.Secret) > 500 {
			p.Add(f, "has a username, credential or secret longer than 500 characters")
		}
		for _, v := range []string{srv.Username, srv.Credential, srv.Secret} {
			if err := rendezvous.CheckLine(v); err != nil {
				p.Add(f, "has a username, credential or secret that %s", err)
				break
			}
		}
	}
	return p.Err()
}

// iceScheme checks an ICE server URL (RFC 7064/7065) and returns its scheme.
func iceScheme(u string) (string, error) {
	scheme, rest, ok := strings.Cut(u, ":")
	if !ok || rest == "" {
		return "", fmt.Errorf("%q is not an ICE server URL; write stun:host[:port] or turn:host[:port][?transport=udp|tcp]", u)
	}
	switch scheme {
	case "stun", "stuns", "turn", "turns":
	default:
		return "", fmt.Errorf("%q has scheme %q; use stun, stuns, turn or turns", u, scheme)
	}
	host, query, _ := strings.Cut(rest, "?")
	if strings.HasPrefix(host, "//") || host == "" || strings.ContainsAny(host, " /@") {
		return "", fmt.Errorf("%q: write the host right after the scheme, as in %s:turn.example.com:3478", u, scheme)
	}
	if query != "" {
		v, err := url.ParseQuery(query)
		if err != nil || len(v) != 1 || (v.Get("transport") != "udp" && v.Get("transport") != "tcp") {
			return "", fmt.Errorf("%q: the only parameter allowed is transport=udp or transport=tcp", u)
		}
	}
	return scheme, nil
}

// Redacted returns a copy of s safe to show: credentials replaced by their hint.
func (s Settings) Redacted() Settings {
	out := Settings{ICEServers: make([]ICEServer, len(s.ICEServers))}
	for i, srv := range s.ICEServers {
		srv.URLs = append([]string(nil), srv.URLs...)
		if srv.Credential != "" {
			srv.Credential = secret.Hint(srv.Credential)
		}
		if srv.Secret != "" {
			srv.Secret = secret.Hint(srv.Secret)
		}
		out.ICEServers[i] = srv
	}
	return out
}

// Settings returns the organization's saved settings and when they were saved, or the
// service's defaults and the zero time when it saved none.
func (r *Rooms) Settings(ctx context.Context, orgID string) (s Settings, savedAt time.Time, err error) {
	body, at, err := r.st.RoomSettings(ctx, orgID)
	if errors.Is(err, rendezvous.ErrNotFound) {
		return Settings{ICEServers: r.o.ICEServers}, time.Time{}, nil
	}
	if err != nil {
		return Settings{}, time.Time{}, err
	}
	if box := r.st.Secrets(); box != nil {
		if body, err = box.Open(body); err != nil {
			return Settings{}, time.Time{}, fmt.Errorf("open room settings of %s: %w", orgID, err)
		}
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return Settings{}, time.Time{}, fmt.Errorf("decode room settings of %s: %w", orgID, err)
	}
	return s, at, nil
}

// PutSettings validates and saves an organization's settings. A TURN server given with
// an empty credential keeps the credential saved for the same URLs and username, so an
// administrator can edit the list without retyping secrets the API never shows.
func (r *Rooms) PutSettings(ctx context.Context, orgID string, s Settings) (Settings, time.Time, error) {
	old, savedAt, err := r.Settings(ctx, orgID)
	if err != nil {
		return Settings{}, time.Time{}, err
	}
	if !savedAt.IsZero() {
		for i, srv := range s.ICEServers {
			if srv.Credential != "" || srv.Secret != "" {
				continue
			}
			for _, o := range old.ICEServers {
				if o.Username == srv.Username && strings.Join(o.URLs, " ") == strings.Join(srv.URLs, " ") {
					s.ICEServers[i].Credential = o.Credential
					if srv.Username == "" {
						s.ICEServers[i].Secret = o.Secret // a secret server sent back without it
					}
				}
			}
		}
	}
	if err := s.Validate(); err != nil {
		return Settings{}, time.Time{}, err
	}
	if s.ICEServers == nil {
		s.ICEServers = []ICEServer{}
	}
	body, err := json.Marshal(s)
	if err != nil {
		return Settings{}, time.Time{}, fmt.Errorf("encode room settings: %w", err)
	}
	if box := r.st.Secrets(); box != nil {
		if body, err = box.Seal(body); err != nil {
			return Settings{}, time.Time{}, fmt.Errorf("seal room settings: %w", err)
		}
	}
	at, err := r.st.PutRoomSettings(ctx, orgID, body)
	if err != nil {
		return Settings{}, time.Time{}, err
	}
	return s, at, nil
}

// ICEServers returns the STUN/TURN servers the browsers of orgID's rooms use; never nil.
func (r *Rooms) ICEServers(ctx context.Context, orgID string) ([]ICEServer, error) {
	s, savedAt, err := r.Settings(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if savedAt.IsZero() || len(s.ICEServers) == 0 {
		return r.o.ICEServers, nil
	}
	return s.ICEServers, nil
}

// TURNTTLAfterEnd is how long after the end of an appointment (plus its grace period) the
// TURN credentials of its room stay valid, so a call that runs late is not cut off.
const TURNTTLAfterEnd = time.Hour

// ICEServersFor returns the ICE servers for side of a's room, as that side's browser gets
// them: a TURN server with a shared secret gets a credential of its own for this room and
// side, valid until an hour after the room closes (TURNCredentials); the secret itself is
// never included.
func (r *Rooms) ICEServersFor(ctx context.Context, a *rendezvous.Appointment, side Side) ([]ICEServer, error) {
	servers, err := r.ICEServers(ctx, a.OrgID)
	if err != nil {
		return nil, err
	}
	now := r.clock.Now()
	expires := a.End().Add(r.grace(ctx, a.OrgID)).Add(TURNTTLAfterEnd)
	if min := now.Add(TURNTTLAfterEnd); expires.Before(min) {
		expires = min // a call in progress past its end: an hour from now
	}
	out := make([]ICEServer, len(servers))
	for i, srv := range servers {
		srv.URLs = append([]string(nil), srv.URLs...)
		if srv.Secret != "" {
			srv.Username, srv.Credential = TURNCredentials(srv.Secret, a.ID+"-"+string(side), expires)
			srv.Secret = ""
		}
		out[i] = srv
	}
	return out, nil
}

// TURNCredentials derives a time-limited TURN credential from a shared secret, as the TURN
// REST API convention that coturn's use-auth-secret implements: the username is
// "<expiry as Unix seconds>:<tag>" and the credential base64(HMAC-SHA1(secret, username)).
// The TURN server checks the MAC with the same secret and refuses the username after its
// expiry, so a credential copied out of a page is good for one room and a few hours only.
func TURNCredentials(sharedSecret, tag string, expires time.Time) (username, credential string) {
	username = strconv.FormatInt(expires.Unix(), 10) + ":" + tag
	m := hmac.New(sha1.New, []byte(sharedSecret))
	m.Write([]byte(username))
	return username, base64.StdEncoding.EncodeToString(m.Sum(nil))
}
