package journey

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/linkguard"
)

//go:embed templates/*.html assets/*
var files embed.FS

// pages holds the parsed templates.
type pages struct {
	tmpl *template.Template
}

func newPages() (*pages, error) {
	t, err := template.New("").ParseFS(files, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("journey: parse templates: %w", err)
	}
	return &pages{tmpl: t}, nil
}

// View is what a customer's page shows at one instant; the page script receives it as
// JSON (from the event stream and from GET /a/{token} with Accept: application/json).
type View struct {
	Phase    Phase    `json:"phase"`
	Progress Progress `json:"progress"`
	// Room is true when the page should hand over to the video room.
	Room    bool      `json:"room"`
	Start   time.Time `json:"start"`
	OpensAt time.Time `json:"opensAt"`
	// ServerTime is the server clock in Unix milliseconds, so the script counts down on
	// the server's clock, not the customer's.
	ServerTime int64 `json:"serverTime"`
}

func (s *Service) view(ctx context.Context, a *rendezvous.Appointment, set Settings, now time.Time, readProgress bool) View {
	v := View{
		Phase:      PhaseAt(a, set, now),
		Start:      a.Start,
		OpensAt:    a.Start.Add(-set.OpensEarly()),
		ServerTime: now.UnixMilli(),
	}
	if v.Phase == PhaseLive {
		if readProgress {
			p, err := s.progress(ctx, a.ID)
			if err != nil {
				s.log.Warn("journey: read progress", "appointment_id", a.ID, "error", err)
			}
			v.Progress = p
		}
		if v.Progress == ProgressNone && set.SchedulingChannel == ChannelCallbacks {
			v.Progress = ProgressWaitingAgent // Genesys offers the scheduled callback itself
		}
		if readProgress {
			v.Progress = s.withRoomJoin(ctx, a, v.Progress)
		}
		v.Room = v.Progress == ProgressAgentJoined || a.Status == rendezvous.StatusInProgress
	}
	return v
}

// sameState reports whether two views show the same thing (the server time aside).
func sameState(a, b View) bool {
	return a.Phase == b.Phase && a.Progress == b.Progress && a.Room == b.Room &&
		a.Start.Equal(b.Start) && a.OpensAt.Equal(b.OpensAt)
}

// lookup resolves the link token of the request: a 404 page that reveals nothing to an
// unknown token, and 429 once the client has guessed too often. A link that resolves is
// always served, however often its client (or a neighbour behind the same address)
// guessed wrong: only misses are counted and slowed (package linkguard).
func (s *Service) lookup(w http.ResponseWriter, r *http.Request, page bool) (*rendezvous.Appointment, bool) {
	token := r.PathValue("token")
	var a *rendezvous.Appointment
	err := rendezvous.ErrNotFound
	// Anything but a well-formed token cannot exist, so it costs a guess without a
	// database round trip (and no odd byte reaches a query).
	if rendezvous.IsLinkToken(token) {
		a, err = s.st.AppointmentByLinkToken(r.Context(), token)
	}
	if errors.Is(err, rendezvous.ErrNotFound) {
		if blocked, wait := s.guesses.Miss(r, s.clock.Now()); blocked {
			w.Header().Set("Retry-After", linkguard.RetryAfter(wait))
			s.renderStatic(w, r, http.StatusTooManyRequests, "slowDown", page)
			return nil, false
		}
		s.renderStatic(w, r, http.StatusNotFound, "notFound", page)
		return nil, false
	}
	if err != nil {
		s.logError(r, "journey: look up link", "error", err)
		serverError(w)
		return nil, false
	}
	return a, true
}

// logError logs a failure while serving r at ERROR level, or at DEBUG when the client
// has hung up: a cancelled request makes its database reads fail, and that is not a fault
// of the service (web records such requests as 499, not 500).
func (s *Service) logError(r *http.Request, msg string, args ...any) {
	if errors.Is(r.Context().Err(), context.Canceled) {
		s.log.Debug(msg+" (the client hung up)", args...)
		return
	}
	s.log.Error(msg, args...)
}

// serverError answers a failure on our side without telling the customer what it was.
func serverError(w http.ResponseWriter) {
	http.Error(w, "Something went wrong on our side. Please try again in a moment.", http.StatusInternalServerError)
}

func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	// The token is in the URL: never send it to another site in a Referer.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex, nofollow")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", PageCSP)
	// Never framed: a framed confirm button invites click-jacking (X-Frame-Options for
	// browsers that predate frame-ancestors).
	h.Set("X-Frame-Options", "DENY")
}

// PageCSP is the Content-Security-Policy of every customer page (the link in each phase,
// with the room inside it, and the self-service pages): only this origin's scripts, no
// inline script or style, connections only back here (the event stream, the room's
// socket), waiting-room media from this origin or any https address (administrators may
// give a CDN URL), forms posted only here, and no framing by anyone.
const PageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; " +
	"media-src 'self' https: blob: mediastream:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// renderStatic writes one of the plain pages (not found, too many attempts).
func (s *Service) renderStatic(w http.ResponseWriter, r *http.Request, status int, key string, page bool) {
	setPageHeaders(w)
	if !page || wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, "{\"phase\":%q}\n", key)
		return
	}
	l := pickLang("", r.Header.Get("Accept-Language"))
	s.render(w, status, pageData{L: l.Text, Lang: l.Tag, Title: l.t(key + "Title"), Message: l.t(key + "Body"), Phase: key})
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

type pageData struct {
	L          map[string]string
	Lang       string
	Title      string
	Message    string
	Phase      string
	Appt       string // the appointment's title
	Date, Time string
	Zone       string
	OpensDate  string
	OpensTime  string
	Media      Media
	MediaURL   string
	RoomScript string
	View       View
	Assets     string
	// Script holds the few words the page script writes itself.
	Script map[string]string
	// LangNote says, when it is set, that the customer's language is not offered.
	LangNote string
	// RescheduleURL and CancelURL are the self-service pages, when the customer may use
	// them now.
	RescheduleURL, CancelURL string
	// BookAgainURL and BookAgainLabel offer a new booking after a cancellation of an
	// appointment booked through the widget (see bookAgain).
	BookAgainURL, BookAgainLabel string
	// Preview marks the administrator's preview (WritePreview): no script, and the
	// countdown written by the server (Countdown).
	Preview   bool
	Countdown string
}

func (s *Service) render(w http.ResponseWriter, status int, d pageData) {
	d.Assets = "/journey/assets"
	d.Script = map[string]string{}
	for _, k := range []string{"connecting", "waiting_agent", "agent_joined", "starting", "days", "room_waiting_agent", "checkOK", "checkNoCamera", "checkDenied", "checkSilent"} {
		d.Script[k] = d.L[k]
	}
	s.writePage(w, status, "page.html", d)
}

// writePage executes template name with data and writes it with status, or a plain 500
// when the template fails (nothing of the page has been written then).
func (s *Service) writePage(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("journey: render page", "template", name, "error", err)
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// PageHandler serves GET /a/{token}: the customer's page. In the live window the request
// itself starts (or resumes) the Genesys interaction, so a plain GET is enough.
func (s *Service) PageHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := s.lookup(w, r, true)
		if !ok {
			return
		}
		ctx := r.Context()
		set, err := s.Settings(ctx, a.OrgID)
		if err != nil {
			s.logError(r, "journey: read settings", "org_id", a.OrgID, "error", err)
			serverError(w)
			return
		}
		now := s.clock.Now()
		// In the live phase EnsureInteraction reads the progress itself; reading it here
		// too would only delay the interaction.
		v := s.view(ctx, a, set, now, false)
		switch {
		case v.Phase != PhaseLive || v.Room:
		case set.SchedulingChannel == ChannelCallbacks:
			// On the legacy callbacks channel Genesys Cloud offers the scheduled callback
			// to the agent by itself; the page only waits for the agent.
			v.Progress = s.withRoomJoin(ctx, a, ProgressWaitingAgent)
			v.Room = v.Progress == ProgressAgentJoined
		default:
			p, err := s.EnsureInteraction(ctx, a, set)
			if err != nil {
				s.logError(r, "journey: start interaction", "appointment_id", a.ID, "error", err)
			}
			v.Progress = p
			if v.Progress == ProgressNone {
				v.Progress = ProgressConnecting
			}
			v.Progress = s.withRoomJoin(ctx, a, v.Progress)
			v.Room = v.Progress == ProgressAgentJoined
		}
		setPageHeaders(w)
		if wantsJSON(r) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(v.Phase.HTTPStatus())
			json.NewEncoder(w).Encode(v)
			return
		}
		var lang string
		if len(a.Customers) > 0 {
			lang = a.Customers[0].Language
		}
		l, note := chooseLang(lang, r.Header.Get("Accept-Language"), s.orgLanguage(ctx, a.OrgID))
		loc := a.Location()
		start, opens := a.Start.In(loc), v.OpensAt.In(loc)
		d := pageData{
			L: l.Text, Lang: l.Tag, Title: l.t("title"), Phase: string(v.Phase), Appt: a.Title,
			Date: l.date(start), Time: l.clockZone(start), Zone: l.zone(a.TimeZone),
			OpensDate: l.date(opens), OpensTime: l.clockZone(opens),
			Media: set.WaitingRoomMedia, RoomScript: s.o.RoomScript, View: v, LangNote: note,
		}
		d.MediaURL = set.WaitingRoomMedia.URL
		if set.WaitingRoomMedia.UploadID != "" {
			d.MediaURL = "/journey/media/" + set.WaitingRoomMedia.UploadID
		}
		d.RescheduleURL, d.CancelURL = selfLinks(a, v.Phase, "/a/"+r.PathValue("token"))
		switch v.Phase {
		case PhaseCancelled:
			d.Title, d.Message = l.t("cancelledTitle"), l.t("selfContactUs")
			d.BookAgainURL, d.BookAgainLabel = bookAgain(s.o.PublicURL, a, l.Tag)
		case PhaseEnded:
			d.Title, d.Message = l.t("endedTitle"), l.t("endedBody")+" "+l.t("selfContactUs")
		case PhaseTooLate:
			d.Title, d.Message = l.t("tooLateTitle"), l.t("tooLateBody")
			if d.RescheduleURL != "" {
				d.Message = l.t("selfTooLateBody")
			}
		}
		s.render(w, v.Phase.HTTPStatus(), d)
	})
}

// keepAliveEvery is the wall-clock interval of SSE keep-alives. It is real time, not the
// injected clock, on purpose: it keeps proxies from closing idle connections, which is a
// property of the network, not of appointment time.
const keepAliveEvery = 25 * time.Second

// EventsHandler serves GET /a/{token}/events: a Server-Sent Events stream of View
// updates ("state" events). A waiting page is woken by the timer of its start instant;
// a live page by this instance's progress notifications, and by a periodic re-read that
// catches progress made on other instances.
func (s *Service) EventsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var a *rendezvous.Appointment
		var set Settings
		var ok bool
		offload(func() {
			if a, ok = s.lookup(w, r, false); !ok {
				return
			}
			var err error
			if set, err = s.Settings(ctx, a.OrgID); err != nil {
				ok = false
				http.Error(w, "settings unavailable", http.StatusInternalServerError)
			}
		})
		if !ok {
			return
		}
		if v := s.view(ctx, a, set, s.clock.Now(), false); (v.Phase == PhaseWaiting || v.Phase == PhaseNotYet) && s.tryPark(w, a, v) {
			return
		}
		rc := http.NewResponseController(w)
		// A stream outlives any server read or write timeout meant for ordinary
		// requests; with a read deadline left in place net/http would cancel the
		// request (and end the stream) when it passes.
		rc.SetReadDeadline(time.Time{})
		rc.SetWriteDeadline(time.Time{})
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)

		changed, unsubscribe := s.changes.subscribe(a.ID)
		defer unsubscribe()
		// Spread keep-alives (and the re-reads they trigger) so that thousands of pages
		// opened together do not all hit the database in the same instant.
		keep := time.NewTicker(keepAliveEvery - time.Duration(rand.Int64N(int64(5*time.Second))))
		defer keep.Stop()
		var poll *time.Timer
		defer func() {
			if poll != nil {
				poll.Stop()
			}
		}()
		readProgress := true
		var last View
		sent, force := false, false
		for {
			var v View
			if readProgress {
				offload(func() { v = s.view(ctx, a, set, s.clock.Now(), true) })
			} else {
				v = s.view(ctx, a, set, s.clock.Now(), false)
			}
			// A poll that found nothing new writes nothing; keep-alives and real changes
			// write the whole state (which also refreshes the countdown's clock offset).
			if force || !sent || !sameState(v, last) {
				last, sent = v, true
				if _, err := w.Write(encodeEvent(v)); err != nil {
					return
				}
				if err := rc.Flush(); err != nil {
					return
				}
			}
			force = false
			if v.Phase.HTTPStatus() != http.StatusOK || v.Room {
				return // the page has moved on for good; the script stops listening
			}
			var wake <-chan struct{}
			release := func() {}
			var pollC <-chan time.Time
			switch v.Phase {
			case PhaseNotYet:
				wake, release = s.starts.wait(v.OpensAt)
			case PhaseWaiting:
				wake, release = s.starts.wait(a.Start)
			case PhaseLive:
				wake, release = s.starts.wait(a.End().Add(set.Grace()))
				d := s.o.PollEvery/2 + time.Duration(rand.Int64N(int64(s.o.PollEvery)))
				if poll == nil {
					poll = time.NewTimer(d)
				} else {
					poll.Reset(d)
				}
				pollC = poll.C
			}
			readProgress = true
			select {
			case <-ctx.Done():
				release()
				return
			case <-wake:
				// The start (or opening) instant came: tell the page at once, without a
				// database read, so every waiting page hears it together. The page's own
				// GET then starts the interaction.
				readProgress = false
			case <-changed:
				offload(func() {
					if fresh, err := s.st.Appointment(ctx, a.OrgID, a.ID); err == nil {
						a = fresh
					}
					if fresh, err := s.Settings(ctx, a.OrgID); err == nil {
						set = fresh
					}
				})
			case <-keep.C:
				force = true
				if v.Phase != PhaseLive {
					// Other instances' changes reach this page through the re-read.
					offload(func() {
						if fresh, err := s.st.Appointment(ctx, a.OrgID, a.ID); err == nil {
							a = fresh
						}
					})
				}
			case <-pollC:
			}
			release()
		}
	})
}

// tryPark takes the connection of a waiting page over and parks it until its next
// instant (see parking). It reports false when the connection cannot be taken over
// (HTTP/2), leaving the request to the streaming loop.
func (s *Service) tryPark(w http.ResponseWriter, a *rendezvous.Appointment, v View) bool {
	at := a.Start
	if v.Phase == PhaseNotYet {
		at = v.OpensAt
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	// The body runs until the connection closes; no chunked encoding, no length.
	const head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n" +
		"X-Accel-Buffering: no\r\nConnection: close\r\n\r\n" + sseRetry
	// Park first, then write the first event while holding the page's lock: a change
	// or the instant arriving meanwhile is then not missed, and its event follows ours.
	p := &parked{conn: conn, apptID: a.ID, start: a.Start, opensAt: v.OpensAt}
	p.mu.Lock()
	parkedOK := s.park.add(p, at)
	err = p.write([]byte(head))
	if err == nil {
		err = p.send(v)
	}
	p.mu.Unlock()
	if err != nil || !parkedOK {
		// The instant came meanwhile, the service is closing or the client left: the
		// page reconnects and the new stream tells it what is true now.
		s.park.remove(p)
		conn.Close()
	}
	return true
}

// offload runs f on a short-lived goroutine and waits for it. An event stream's goroutine
// lives as long as the customer waits, and a goroutine's stack keeps the deepest size it
// ever reached until the garbage collector shrinks it: database calls (the SQLite driver
// runs deep) would leave every waiting customer holding tens of KiB of stack. Doing them
// on a goroutine that then exits keeps the waiting goroutines small.
func offload(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

// AssetsHandler serves the page's script and style sheet under /journey/assets/.
func (s *Service) AssetsHandler() http.Handler {
	sub, _ := fs.Sub(files, "assets")
	fsrv := http.StripPrefix("/journey/assets/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		fsrv.ServeHTTP(w, r)
	})
}

// FaviconHandler serves GET /favicon.ico: the pages' icon, for browsers that ask for it
// by that name (the pages themselves link to the SVG).
func (s *Service) FaviconHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := files.ReadFile("assets/favicon.svg")
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Write(b)
	})
}

// MediaHandler serves GET /journey/media/{id}: an uploaded waiting-room file.
func (s *Service) MediaHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		err := rendezvous.ErrNotFound
		var ct string
		var body []byte
		if rendezvous.IsID(id) { // anything else cannot exist: no database round trip
			_, ct, body, err = s.st.JourneyMedia(r.Context(), id)
		}
		if errors.Is(err, rendezvous.ErrNotFound) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			s.logError(r, "journey: read media", "error", err)
			http.Error(w, "media unavailable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=86400, immutable")
		// ServeContent answers Range requests, which browsers use for video.
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})
}

// sniffMatches checks an upload's bytes against its declared type.
func sniffMatches(ct string, body []byte) bool {
	got := http.DetectContentType(body)
	if ct == "video/mp4" {
		// DetectContentType knows MP4 by its "ftyp" box.
		return got == "video/mp4" || (len(body) > 12 && string(body[4:8]) == "ftyp")
	}
	return got == ct
}
