package widget

import (
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/availability"
)

//go:embed static templates
var files embed.FS

var frameTemplate = template.Must(template.ParseFS(files, "templates/frame.html"))

// SlotView is a free slot as the widget and the availability API show it: start and end
// with the offset of the customer's zone, the local date, the places left.
type SlotView struct {
	Start     string `json:"start"`
	End       string `json:"end"`
	Date      string `json:"date"`
	Remaining int    `json:"remaining"`
}

// Views writes slots in the zone loc.
func Views(slots []availability.Slot, loc *time.Location) []SlotView {
	out := make([]SlotView, len(slots))
	for i, sl := range slots {
		st := sl.Start.In(loc)
		out[i] = SlotView{Start: st.Format(time.RFC3339), End: sl.End.In(loc).Format(time.RFC3339),
			Date: st.Format(time.DateOnly), Remaining: sl.Remaining}
	}
	return out
}

// frameConfig is what the frame's script needs, passed in a data attribute.
type frameConfig struct {
	Org      string `json:"org"`
	Queue    string `json:"queue"`
	ChatMode string `json:"chatMode"`
	Lang     string `json:"lang"`
	TZ       string `json:"tz"`
	Origin   string `json:"origin"`
	Color    string `json:"color,omitempty"`
	Font     string `json:"font,omitempty"`
	Radius   string `json:"radius,omitempty"`
}

type frameData struct {
	Lang, Theme          string
	T                    map[string]string
	TJSON, Config, Slots string
	Refused              string
}

// Theme values the frame accepts from the embedding page; anything else is ignored.
var (
	colorRe  = regexp.MustCompile(`^#[0-9a-fA-F]{3,8}$`)
	fontRe   = regexp.MustCompile(`^[A-Za-z0-9 ,"'-]{1,100}$`)
	radiusRe = regexp.MustCompile(`^[0-9]{1,2}$`)
)

// Theme is how an embedding page asks the widget to look (its data-theme, data-color,
// data-font and data-radius attributes). Empty fields take the widget's own look.
type Theme struct {
	// Mode is "light" or "dark".
	Mode string
	// Color is the accent colour, "#rgb" or "#rrggbb" (with alpha, "#rgba" or "#rrggbbaa").
	Color string
	// Font is a CSS font-family list, such as "Inter, sans-serif".
	Font string
	// Radius is the corner radius in pixels, 0 to 99.
	Radius string
}

// CheckTheme reports the values of t the frame would ignore, by field (mode, color, font,
// radius): the same rules FrameHandler applies to what a page sends.
func CheckTheme(t Theme) error {
	var p rendezvous.Problems
	if t.Mode != "" && t.Mode != "light" && t.Mode != "dark" {
		p.Add("mode", "must be light or dark")
	}
	for _, v := range []struct {
		field, val string
		re         *regexp.Regexp
		msg        string
	}{{"color", t.Color, colorRe, "must be a colour such as #0b5cad"},
		{"font", t.Font, fontRe, "must be font names separated by commas, such as Inter, sans-serif (letters, digits, spaces, quotes and hyphens)"},
		{"radius", t.Radius, radiusRe, "must be a number of pixels from 0 to 99"}} {
		if v.val != "" && !v.re.MatchString(v.val) {
			p.Add(v.field, "%s", v.msg)
		}
	}
	return p.Err()
}

// FrameHandler serves GET /widget/frame, the page widget.js frames. It answers only when
// the page's origin (the origin parameter) may embed the organization's widget, and then
// tells the browser, with frame-ancestors, to show it only inside that origin: a page
// elsewhere that claims an allowed origin gets a frame the browser refuses to show.
// Refused embeddings get frame-ancestors 'none', so the host page gets nothing.
func (s *Service) FrameHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		lang := pickLanguage(q.Get("lang"))
		t := texts[lang]
		origin := q.Get("origin")
		org := q.Get("org")
		refuse := func(status int, msg string) {
			w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
			s.render(w, status, frameData{Lang: lang, Theme: "light", T: t, Refused: msg, TJSON: "{}", Config: "{}", Slots: "null"})
		}
		if org == "" || len(org) > 100 {
			refuse(http.StatusNotFound, t["unavailable"])
			return
		}
		if _, err := s.o.Store.Org(r.Context(), org); err != nil {
			refuse(http.StatusNotFound, t["unavailable"])
			return
		}
		ok, err := s.OriginAllowed(r.Context(), org, origin)
		if err != nil {
			s.log.ErrorContext(r.Context(), "widget frame: read allowed origins", "org_id", org, "error", err)
			refuse(http.StatusInternalServerError, t["failed"])
			return
		}
		if !ok {
			refuse(http.StatusForbidden, t["unavailable"])
			return
		}
		ancestors := origin
		if s.Own(origin) {
			ancestors = "'self'"
		}
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors "+ancestors)
		w.Header().Set("Referrer-Policy", "no-referrer")
		theme := q.Get("theme")
		if theme != "dark" {
			theme = "light"
		}
		cfg := frameConfig{Org: org, Queue: q.Get("queue"), ChatMode: q.Get("chatMode"), Lang: lang, TZ: q.Get("tz"), Origin: origin}
		// Without a zone (an iframe pasted as it is), frame.js takes the customer's own
		// from their browser.
		if _, err := rendezvous.LoadZone(cfg.TZ); cfg.TZ != "" && err != nil {
			cfg.TZ = "UTC"
		}
		for _, v := range []struct {
			dst *string
			val string
			re  *regexp.Regexp
		}{{&cfg.Color, q.Get("color"), colorRe}, {&cfg.Font, q.Get("font"), fontRe}, {&cfg.Radius, q.Get("radius"), radiusRe}} {
			if v.re.MatchString(v.val) {
				*v.dst = v.val
			}
		}
		data := frameData{Lang: lang, Theme: theme, T: t, TJSON: mustJSON(t), Config: mustJSON(cfg), Slots: "null"}
		switch cfg.ChatMode {
		case ChatModeFlow, ChatModeQueue:
		case ChatModeWebChat:
			data.Refused = t["webChat"]
			s.render(w, http.StatusOK, data)
			return
		default:
			data.Refused = t["unavailable"]
			s.render(w, http.StatusOK, data)
			return
		}
		// The first slots come with the page: on a slow connection the customer sees days
		// to choose from after one round trip, not two. (Without a zone they cannot be
		// written yet: frame.js asks for them in the browser's.)
		if cfg.TZ == "" {
			s.render(w, http.StatusOK, data)
			return
		}
		now := s.clock.Now()
		slots, _, err := s.Availability(r.Context(), org, cfg.Queue, now, now.Add(62*24*time.Hour))
		switch {
		case errors.Is(err, rendezvous.ErrNotFound):
			data.Refused = t["unavailable"]
		case err != nil:
			s.log.ErrorContext(r.Context(), "widget frame: availability", "org_id", org, "error", err)
		default:
			loc, _ := rendezvous.LoadZone(cfg.TZ)
			data.Slots = mustJSON(Views(slots, loc))
		}
		s.render(w, http.StatusOK, data)
	})
}

func (s *Service) render(w http.ResponseWriter, status int, d frameData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if err := frameTemplate.Execute(w, d); err != nil {
		s.log.Error("widget frame: render", "error", err)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain data; cannot happen
	}
	return string(b)
}

// ScriptHandler serves GET /widget/widget.js, the script a host page loads.
func (s *Service) ScriptHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		// Any page may load the script; only allowed origins get a working frame.
		w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
		b, err := files.ReadFile("static/widget.js")
		if err != nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.Write(b)
	})
}

// StaticHandler serves GET /widget/static/: the frame's script and stylesheet.
func (s *Service) StaticHandler() http.Handler {
	sub, _ := fs.Sub(files, "static")
	fsrv := http.StripPrefix("/widget/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fsrv.ServeHTTP(w, r)
	})
}

// pickLanguage returns the widget language for a BCP 47 tag: en, de or el.
func pickLanguage(tag string) string {
	base, _, _ := strings.Cut(strings.ToLower(tag), "-")
	if _, ok := texts[base]; ok {
		return base
	}
	return "en"
}

// StandaloneURL is the widget's page on its own, for a link ("book again") rather than an
// embedding: the frame with the service as its own origin.
func (s *Service) StandaloneURL(orgID, queue, chatMode, lang string) string {
	q := url.Values{"org": {orgID}, "queue": {queue}, "chatMode": {chatMode}, "lang": {lang}, "origin": {strings.TrimRight(s.o.PublicURL, "/")}}
	return strings.TrimRight(s.o.PublicURL, "/") + "/widget/frame?" + q.Encode()
}
