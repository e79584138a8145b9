package web

// Video room: the agent's page, the customer's standalone page, their signaling
// WebSockets, the room script and stylesheet, and the video settings API, all served by
// package room (Deps.Rooms).

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/linkguard"
	"rendezvous/notify"
	"rendezvous/room"
)

//go:embed templates/room/*.html
var roomTemplates embed.FS

//go:embed static/room
var roomStatic embed.FS

var roomPage = template.Must(template.ParseFS(roomTemplates, "templates/room/page.html"))

// roomWords are the words of the room's own pages (the call's words are in room.js).
var roomWords = map[string]map[string]string{
	"en": {
		"title":       "Video appointment",
		"agentTitle":  "Video appointment (agent)",
		"unknown":     "This link is not valid. Check that you copied all of it.",
		"notYet":      "The room opens at %s. Come back then; you do not need to reload before.",
		"closed":      "This appointment is over. The room is closed.",
		"unavailable": "The room is not available right now. Please try again in a moment.",
		"slowDown":    "Too many links that do not exist were tried from your network. Please wait a minute and open your link again.",
	},
	"de": {
		"title":       "Video-Termin",
		"agentTitle":  "Video-Termin (Ansprechperson)",
		"unknown":     "Dieser Link ist ungültig. Prüfen Sie, ob Sie ihn vollständig kopiert haben.",
		"notYet":      "Der Raum öffnet um %s.",
		"closed":      "Dieser Termin ist vorbei. Der Raum ist geschlossen.",
		"unavailable": "Der Raum ist gerade nicht verfügbar. Bitte versuchen Sie es gleich noch einmal.",
		"slowDown":    "Aus Ihrem Netz wurden zu viele ungültige Links aufgerufen. Bitte warten Sie eine Minute und öffnen Sie Ihren Link dann erneut.",
	},
	"el": {
		"title":       "Ραντεβού μέσω βίντεο",
		"agentTitle":  "Ραντεβού μέσω βίντεο (εκπρόσωπος)",
		"unknown":     "Αυτός ο σύνδεσμος δεν είναι έγκυρος. Ελέγξτε ότι τον αντιγράψατε ολόκληρο.",
		"notYet":      "Το δωμάτιο ανοίγει στις %s.",
		"closed":      "Αυτό το ραντεβού έχει ολοκληρωθεί. Το δωμάτιο έκλεισε.",
		"unavailable": "Το δωμάτιο δεν είναι διαθέσιμο αυτή τη στιγμή. Δοκιμάστε ξανά σε λίγο.",
		"slowDown":    "Από το δίκτυό σας δοκιμάστηκαν πάρα πολλοί σύνδεσμοι που δεν υπάρχουν. Περιμένετε ένα λεπτό και ανοίξτε ξανά τον σύνδεσμό σας.",
	},
}

// roomLang picks the page language: the customer's for the customer, else the browser's.
func roomLang(r *http.Request, a *rendezvous.Appointment, side room.Side) string {
	if side == room.Customer && a != nil && len(a.Customers) > 0 {
		if l := strings.ToLower(strings.SplitN(a.Customers[0].Language, "-", 2)[0]); roomWords[l] != nil {
			return l
		}
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if l := strings.ToLower(strings.SplitN(tag, "-", 2)[0]); roomWords[l] != nil {
			return l
		}
	}
	return "en"
}

// roomConfig is what the page hands to RendezvousRoom.mount.
type roomConfig struct {
	Role         room.Side        `json:"role"`
	SignalingURL string           `json:"signalingURL"`
	ICEServers   []room.ICEServer `json:"iceServers"`
	Lang         string           `json:"lang"`
	// ConfirmHangUp is false for nobody today; kept explicit so hosts can see the option.
	ConfirmHangUp bool `json:"confirmHangUp"`
}

type roomPageData struct {
	Lang  string
	Title string
	// Subtitle tells the agent which appointment this is (never shown to the customer,
	// whose page needs no reminder and whose link might be forwarded).
	Subtitle string
	Message  string
	Config   *roomConfig
}

func (s *server) roomsMissing(w http.ResponseWriter, r *http.Request) {
	s.error(w, r, errors.New("video room is not configured in this server"))
}

// handleRoomPage serves the page of side's room link: the call, or a plain page saying
// why not (unknown link 404, not open yet 409, over 410).
func (s *server) handleRoomPage(side room.Side) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Rooms == nil {
			s.roomsMissing(w, r)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// Only our own script runs; the WebSocket and media stay with this origin. Only
		// Genesys Cloud (Deps.AgentFrameAncestors) may show the agent's page in a frame,
		// beside the interaction; the customer's page may be framed by nobody, so no other
		// site can dress it up or click it for them.
		h.Set("Content-Security-Policy", roomCSP(side, s.AgentFrameAncestors))
		h.Set("X-Frame-Options", "DENY")
		if side == room.Agent && len(s.AgentFrameAncestors) > 0 {
			h.Del("X-Frame-Options") // frame-ancestors decides; X-Frame-Options cannot name origins
		}
		h.Set("Permissions-Policy", "camera=(self), microphone=(self)")
		key := r.PathValue("key")
		a, err := s.Rooms.Authorize(r.Context(), side, key)
		lang := roomLang(r, a, side)
		words := roomWords[lang]
		d := roomPageData{Lang: lang, Title: words["title"]}
		if side == room.Agent {
			d.Title = words["agentTitle"]
		}
		status := http.StatusOK
		if err == nil {
			err = s.Rooms.Check(r.Context(), a, side)
		}
		switch {
		case err == nil:
			ice, ierr := s.Rooms.ICEServersFor(r.Context(), a, side)
			if ierr != nil {
				s.log.ErrorContext(r.Context(), "room page: ICE servers", "request_id", requestID(r.Context()), "error", ierr)
				status, d.Message = http.StatusServiceUnavailable, words["unavailable"]
				break
			}
			if side == room.Agent {
				start := a.Start.In(a.Location())
				d.Subtitle = notify.FormatDate(start, lang) + ", " + notify.FormatTime(start, lang)
				if a.Title != "" {
					d.Subtitle = a.Title + " · " + d.Subtitle
				}
			}
			d.Config = &roomConfig{Role: side, SignalingURL: room.SignalingPath(side, key), ICEServers: ice, Lang: lang, ConfirmHangUp: true}
		case errors.Is(err, rendezvous.ErrNotFound):
			status, d.Message = http.StatusNotFound, words["unknown"]
			if blocked, wait := s.LinkGuard.Miss(r, s.clock.Now()); blocked {
				h.Set("Retry-After", linkguard.RetryAfter(wait))
				status, d.Message = http.StatusTooManyRequests, words["slowDown"]
			}
		case errors.Is(err, room.ErrNotYet):
			opens := s.Rooms.Opens(a, side).In(a.Location())
			status, d.Message = http.StatusConflict, fmt.Sprintf(words["notYet"], notify.FormatTime(opens, lang))
		case errors.Is(err, room.ErrClosed):
			status, d.Message = http.StatusGone, words["closed"]
		default:
			s.log.ErrorContext(r.Context(), "room page", "request_id", requestID(r.Context()), "error", err)
			status, d.Message = http.StatusInternalServerError, words["unavailable"]
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		if err := roomPage.Execute(w, d); err != nil {
			s.log.ErrorContext(r.Context(), "room page: render", "error", err)
		}
	})
}

// roomCSP is the Content-Security-Policy of side's room page.
func roomCSP(side room.Side, agentFrameAncestors []string) string {
	ancestors := "'none'"
	if side == room.Agent && len(agentFrameAncestors) > 0 {
		ancestors = strings.Join(agentFrameAncestors, " ")
	}
	return "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
		"connect-src 'self'; media-src 'self' blob: mediastream:; img-src 'self' data:; base-uri 'none'; form-action 'none'; " +
		"frame-ancestors " + ancestors
}

// handleRoomSignaling serves side's signaling WebSocket. Refusals before the upgrade
// are problem details: 404 for any link that does not open this side's room, 409 when
// the room is not open.
func (s *server) handleRoomSignaling(side room.Side) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Rooms == nil {
			s.roomsMissing(w, r)
			return
		}
		a, err := s.Rooms.Authorize(r.Context(), side, r.PathValue("key"))
		if errors.Is(err, rendezvous.ErrNotFound) {
			if blocked, wait := s.LinkGuard.Miss(r, s.clock.Now()); blocked {
				err = &retryAfterError{seconds: int(wait.Seconds()) + 1, what: "too many unknown room links from this network"}
			}
		}
		if err == nil {
			err = s.Rooms.Serve(w, r, a, side)
		}
		if err != nil {
			s.error(w, r, err)
		}
	})
}

// handleRoomStatic serves room.js and room.css. They change with the binary only, so
// a short cache is enough and a deploy is picked up within minutes.
func (s *server) handleRoomStatic() http.Handler {
	sub, err := fs.Sub(roomStatic, "static/room")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory
	}
	files := http.StripPrefix("/static/room/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}

// videoSettingsJSON is the video settings as the API shows them: TURN credentials are
// write-only and shown as a hint.
type videoSettingsJSON struct {
	ICEServers []iceServerJSON `json:"iceServers"`
	// Default is true when the organization saved none and the service's defaults apply.
	Default   bool   `json:"default"`
	UpdatedAt string `json:"updatedAt,omitempty"`
}

type iceServerJSON struct {
	URLs           []string `json:"urls"`
	Username       string   `json:"username,omitempty"`
	CredentialHint string   `json:"credentialHint,omitempty"`
	SecretHint     string   `json:"secretHint,omitempty"`
}

func toVideoSettingsJSON(set room.Settings, saved bool, at time.Time) videoSettingsJSON {
	out := videoSettingsJSON{ICEServers: []iceServerJSON{}, Default: !saved}
	for _, srv := range set.Redacted().ICEServers {
		out.ICEServers = append(out.ICEServers, iceServerJSON{URLs: srv.URLs, Username: srv.Username, CredentialHint: srv.Credential, SecretHint: srv.Secret})
	}
	if !at.IsZero() {
		out.UpdatedAt = formatTime(at)
	}
	return out
}

func (s *server) handleVideoSettingsGet() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Rooms == nil {
			s.roomsMissing(w, r)
			return
		}
		set, savedAt, err := s.Rooms.Settings(r.Context(), apiKey(r.Context()).OrgID)
		if err != nil {
			s.error(w, r, fmt.Errorf("read video settings: %w", err))
			return
		}
		writeJSON(w, http.StatusOK, toVideoSettingsJSON(set, !savedAt.IsZero(), savedAt))
	})
}

// handleVideoSettingsPut replaces the organization's ICE servers. A TURN server sent
// without a credential keeps the one saved for the same URLs and username.
func (s *server) handleVideoSettingsPut() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Rooms == nil {
			s.roomsMissing(w, r)
			return
		}
		var set room.Settings
		if err := s.decodeJSON(w, r, &set, false); err != nil {
			s.error(w, r, err)
			return
		}
		saved, at, err := s.Rooms.PutSettings(r.Context(), apiKey(r.Context()).OrgID, set)
		if err != nil {
			s.error(w, r, fmt.Errorf("save video settings: %w", err))
			return
		}
		writeJSON(w, http.StatusOK, toVideoSettingsJSON(saved, true, at))
	})
}

// roomInfoJSON is GET /api/v1/appointments/{id}/room: the agent's room link, for
// integrations that hand it to the agent themselves, and who was in the room when.
type roomInfoJSON struct {
	AgentLink string            `json:"agentLink,omitempty"`
	Sessions  []roomSessionJSON `json:"sessions"`
}

type roomSessionJSON struct {
	Side       string `json:"side"`
	JoinedAt   string `json:"joinedAt"`
	LeftAt     string `json:"leftAt,omitempty"`
	LeftReason string `json:"leftReason,omitempty"`
}

func (s *server) handleAppointmentRoom() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Rooms == nil {
			s.roomsMissing(w, r)
			return
		}
		org := apiKey(r.Context()).OrgID
		id, err := pathID(r, "id")
		if err != nil {
			s.error(w, r, err)
			return
		}
		a, err := s.Store.Appointment(r.Context(), org, id)
		if err != nil {
			s.error(w, r, err)
			return
		}
		sessions, err := s.Store.RoomSessions(r.Context(), org, a.ID)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out := roomInfoJSON{Sessions: []roomSessionJSON{}}
		// The agent's link joins the call as the agent: only for keys that may act on
		// appointments, like the customer's link (linkBase).
		if apiKey(r.Context()).HasScope(rendezvous.ScopeAppointmentsWrite) {
			out.AgentLink = s.Rooms.AgentLink(a)
		}
		for _, rs := range sessions {
			js := roomSessionJSON{Side: rs.Side, JoinedAt: formatTime(rs.JoinedAt), LeftReason: rs.LeftReason}
			if !rs.LeftAt.IsZero() {
				js.LeftAt = formatTime(rs.LeftAt)
			}
			out.Sessions = append(out.Sessions, js)
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, out)
	})
}
