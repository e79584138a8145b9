package room

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
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
		if turn && (srv.Username == "" || srv.Credential == "") {
			p.Add(f, "is a TURN server and needs a username and a credential")
		}
		if len(srv.Username) > 500 || len(srv.Credential) > 500 {
			p.Add(f, "has a username or credential longer than 500 characters")
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
			if srv.Credential != "" {
				continue
			}
			for _, o := range old.ICEServers {
				if o.Username == srv.Username && strings.Join(o.URLs, " ") == strings.Join(srv.URLs, " ") {
					s.ICEServers[i].Credential = o.Credential
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
