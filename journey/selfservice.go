package journey

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/store"
)

// Self-service: the customer's own reschedule and cancel pages behind the appointment
// link (/a/{token}/reschedule and /a/{token}/cancel), which the notifications link to.
//
// The link token is the customer's only credential, so the pages are guarded against a
// third-party site making the customer's browser post to them (CSRF) in two ways: a POST
// whose Sec-Fetch-Site (or, without it, Origin) says it came from elsewhere is refused,
// and every form
// carries a token that is an HMAC, keyed by the link token, of the action, the appointment
// and the version the page showed. Only someone who knows the link can make one, and a
// form shown before the appointment changed is recognised as stale rather than applied.

// cancelReason is the reason recorded on an appointment the customer cancelled.
const cancelReason = "cancelled by the customer"

// The actions a self-service form token is bound to.
const (
	actionCancel     = "cancel"
	actionReschedule = "reschedule"
)

// formToken is the per-page token of a self-service form: HMAC-SHA256 keyed by the link
// token over the action, the appointment id and the version the page showed.
func formToken(linkToken, action, apptID string, version int) string {
	m := hmac.New(sha256.New, []byte(linkToken))
	fmt.Fprintf(m, "rendezvous/self-service\x00%s\x00%s\x00%d", action, apptID, version)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validFormToken reports whether tok is the form token of the action for the version.
func validFormToken(linkToken, action, apptID string, version int, tok string) bool {
	want := formToken(linkToken, action, apptID, version)
	return hmac.Equal([]byte(want), []byte(tok))
}

// sameOrigin reports whether a POST may have come from this service's own pages. It
// refuses only what a browser says came from elsewhere; the form token (checked after it)
// is what proves the request genuine.
//
// Sec-Fetch-Site is set by the browser itself (no page script can forge it) and survives
// every referrer policy, so when present it decides alone: "same-origin", or "none" (the
// user acted in the browser itself). The pages send Referrer-Policy: no-referrer, under
// which Chromium posts a form with Origin: null; that value is therefore normal and says
// nothing. Without Sec-Fetch-Site (an older browser), an Origin naming another host is
// refused, and "null" or no Origin at all is left to the form token: an HMAC keyed by the
// link token, which a third-party page cannot compute without the link itself (and whoever
// has the link can use the pages anyway).
func (s *Service) sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default: // same-site, cross-site, or anything new: not our page
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	if s.o.PublicURL != "" {
		if p, err := url.Parse(s.o.PublicURL); err == nil && strings.EqualFold(p.Scheme, u.Scheme) && strings.EqualFold(p.Host, u.Host) {
			return true
		}
	}
	return strings.EqualFold(u.Host, r.Host)
}

// canReschedule reports whether the customer may move the appointment at instant now:
// while it is still ahead (or was missed and never started), not while it is live, and
// never once it ended or was cancelled.
func canReschedule(a *rendezvous.Appointment, ph Phase) bool {
	if a.Status != rendezvous.StatusScheduled {
		return false
	}
	return ph == PhaseNotYet || ph == PhaseWaiting || ph == PhaseTooLate
}

// canCancel reports whether the customer may cancel the appointment: any time before its
// start while it is scheduled.
func canCancel(a *rendezvous.Appointment, ph Phase) bool {
	return a.Status == rendezvous.StatusScheduled && (ph == PhaseNotYet || ph == PhaseWaiting)
}

// slotDay is one local day of the reschedule page's list of free times.
type slotDay struct {
	Date  string
	Slots []slotChoice
}

// slotChoice is one free time: the value posted back (RFC 3339 UTC) and its local label.
type slotChoice struct {
	Value, Label string
	at           time.Time // local
}

// selfData is what the self-service template shows.
type selfData struct {
	L         map[string]string
	Lang      string
	Assets    string
	Title     string
	Action    string // "cancel", "reschedule", "done", "closed"
	Intro     string
	Notice    string // a message above the form (slot taken, changed meanwhile)
	Appt      string
	Date      string
	Time      string
	Zone      string
	FormToken string
	Version   int
	// LangNote says that the customer's language is not offered.
	LangNote string
	Days     []slotDay
	// Links back to the appointment and to the other action, when allowed.
	PageURL       string
	RescheduleURL string
	CancelURL     string
}

// selfCtx is what every self-service request resolves first.
type selfCtx struct {
	a     *rendezvous.Appointment
	set   Settings
	now   time.Time
	phase Phase
	l     *lang
	// langNote says that the customer's language is not offered ("" when it is).
	langNote string
}

// resolve looks the link up and reads the settings; it writes the error page and reports
// false when that fails.
func (s *Service) resolve(w http.ResponseWriter, r *http.Request) (*selfCtx, bool) {
	a, ok := s.lookup(w, r, true)
	if !ok {
		return nil, false
	}
	set, err := s.Settings(r.Context(), a.OrgID)
	if err != nil {
		s.logError(r, "journey: read settings", "org_id", a.OrgID, "error", err)
		serverError(w)
		return nil, false
	}
	now := s.clock.Now()
	var language string
	if len(a.Customers) > 0 {
		language = a.Customers[0].Language
	}
	l, note := chooseLang(language, r.Header.Get("Accept-Language"), s.orgLanguage(r.Context(), a.OrgID))
	return &selfCtx{a: a, set: set, now: now, phase: PhaseAt(a, set, now), l: l, langNote: note}, true
}

func (s *Service) baseData(c *selfCtx, r *http.Request) selfData {
	loc := c.a.Location()
	start := c.a.Start.In(loc)
	base := "/a/" + r.PathValue("token")
	d := selfData{
		L: c.l.Text, Lang: c.l.Tag, Assets: "/journey/assets", Appt: c.a.Title,
		Date: c.l.date(start), Time: c.l.clockZone(start), Zone: c.l.zone(c.a.TimeZone),
		Version: c.a.Version, PageURL: base, LangNote: c.langNote,
	}
	d.RescheduleURL, d.CancelURL = selfLinks(c.a, c.phase, base)
	return d
}

// selfLinks returns the self-service pages under the link base that the customer may use
// in phase ph, or empty strings.
func selfLinks(a *rendezvous.Appointment, ph Phase, base string) (reschedule, cancel string) {
	if canReschedule(a, ph) {
		reschedule = base + "/reschedule"
	}
	if canCancel(a, ph) {
		cancel = base + "/cancel"
	}
	return reschedule, cancel
}

func (s *Service) renderSelf(w http.ResponseWriter, status int, d selfData) {
	setPageHeaders(w) // a strict policy, never framed (PageCSP)
	s.writePage(w, status, "selfservice.html", d)
}

// renderClosed writes the page of a link whose appointment can no longer be changed the
// way the customer asked: ended and cancelled appointments say so plainly (with the
// status of the customer's page, 410), a live one points back to the link.
func (s *Service) renderClosed(w http.ResponseWriter, r *http.Request, c *selfCtx, status int) {
	d := s.baseData(c, r)
	d.Action = "closed"
	switch c.phase {
	case PhaseCancelled:
		d.Title, d.Intro = c.l.t("cancelledTitle"), c.l.t("selfContactUs")
	case PhaseEnded:
		d.Title, d.Intro = c.l.t("endedTitle"), c.l.t("selfContactUs")
	case PhaseTooLate:
		d.Title, d.Intro = c.l.t("tooLateTitle"), c.l.t("selfTooLateBody")
	case PhaseLive:
		d.Title, d.Intro = c.l.t("selfLiveTitle"), c.l.t("selfLiveBody")
	default:
		d.Title, d.Intro = c.l.t("selfCannotChangeTitle"), c.l.t("selfContactUs")
	}
	if status == 0 {
		status = c.phase.HTTPStatus()
		if status == http.StatusOK {
			status = http.StatusConflict
		}
	}
	s.renderSelf(w, status, d)
}

// checkPost applies the CSRF rules to a self-service POST. It writes the refusal and
// reports ok=false for a cross-site request or a forged token; for a genuine form shown
// before the appointment last changed it reports stale=true.
func (s *Service) checkPost(w http.ResponseWriter, r *http.Request, c *selfCtx, action string) (ok, stale bool) {
	if !s.sameOrigin(r) {
		s.log.Warn("journey: self-service post from another site refused", "appointment_id", c.a.ID, "action", action)
		s.renderForbidden(w, r, c)
		return false, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		s.renderForbidden(w, r, c)
		return false, false
	}
	version, err := strconv.Atoi(r.PostForm.Get("version"))
	if err != nil || !validFormToken(c.a.LinkToken, action, c.a.ID, version, r.PostForm.Get("csrf")) {
		s.log.Warn("journey: self-service post with a bad form token refused", "appointment_id", c.a.ID, "action", action)
		s.renderForbidden(w, r, c)
		return false, false
	}
	return true, version != c.a.Version
}

func (s *Service) renderForbidden(w http.ResponseWriter, r *http.Request, c *selfCtx) {
	d := s.baseData(c, r)
	d.Action = "closed"
	d.Title, d.Intro = c.l.t("selfForbiddenTitle"), c.l.t("selfForbiddenBody")
	s.renderSelf(w, http.StatusForbidden, d)
}

// errNotChangeable marks a change refused because the appointment moved on meanwhile.
var errNotChangeable = errors.New("appointment can no longer be changed by the customer")

// CancelHandler serves /a/{token}/cancel: GET shows the appointment and a confirm
// button, POST cancels it.
func (s *Service) CancelHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.resolve(w, r)
		if !ok {
			return
		}
		if !canCancel(c.a, c.phase) {
			s.renderClosed(w, r, c, 0)
			return
		}
		if r.Method == http.MethodPost {
			ok, stale := s.checkPost(w, r, c, actionCancel)
			if !ok {
				return
			}
			if !stale {
				s.cancelByCustomer(w, r, c)
				return
			}
			d := s.cancelForm(c, r)
			d.Notice = c.l.t("selfStale")
			s.renderSelf(w, http.StatusConflict, d)
			return
		}
		s.renderSelf(w, http.StatusOK, s.cancelForm(c, r))
	})
}

func (s *Service) cancelForm(c *selfCtx, r *http.Request) selfData {
	d := s.baseData(c, r)
	d.Action = "cancel"
	d.Title, d.Intro = c.l.t("selfCancelTitle"), c.l.t("selfCancelQuestion")
	d.FormToken = formToken(c.a.LinkToken, actionCancel, c.a.ID, c.a.Version)
	d.CancelURL = ""
	return d
}

func (s *Service) cancelByCustomer(w http.ResponseWriter, r *http.Request, c *selfCtx) {
	a, err := s.st.UpdateAppointment(r.Context(), c.a.OrgID, c.a.ID, c.a.Version, func(a *rendezvous.Appointment) (string, error) {
		if !canCancel(a, PhaseAt(a, c.set, s.clock.Now())) {
			return "", errNotChangeable
		}
		return "cancelled", a.Cancel(cancelReason, s.clock.Now())
	})
	if err != nil {
		s.changeFailed(w, r, c, err, actionCancel)
		return
	}
	s.log.Info("journey: customer cancelled", "appointment_id", a.ID, "org_id", a.OrgID)
	s.wake(a.ID)
	c.a, c.phase = a, PhaseAt(a, c.set, s.clock.Now())
	d := s.baseData(c, r)
	d.Action = "done"
	d.Title, d.Intro = c.l.t("selfCancelledTitle"), c.l.t("selfCancelledBody")
	s.renderSelf(w, http.StatusOK, d)
}

// changeFailed answers a change that the store refused: the appointment changed or moved
// on meanwhile (shown again as it is now), or the chosen time was just taken.
func (s *Service) changeFailed(w http.ResponseWriter, r *http.Request, c *selfCtx, err error, action string) {
	fresh, ferr := s.st.Appointment(r.Context(), c.a.OrgID, c.a.ID)
	if ferr != nil {
		s.logError(r, "journey: self-service change", "appointment_id", c.a.ID, "action", action, "error", err, "reread_error", ferr)
		serverError(w)
		return
	}
	fresh.LinkToken = c.a.LinkToken
	c.a, c.now = fresh, s.clock.Now()
	c.phase = PhaseAt(fresh, c.set, c.now)
	var notice string
	switch {
	case errors.Is(err, errNotChangeable):
		s.renderClosed(w, r, c, 0)
		return
	case errors.Is(err, rendezvous.ErrStaleVersion):
		notice = c.l.t("selfStale")
	case errors.Is(err, rendezvous.ErrConflict) && action == actionReschedule && fresh.Status == rendezvous.StatusScheduled:
		notice = c.l.t("selfSlotTaken")
	case errors.Is(err, rendezvous.ErrConflict):
		s.renderClosed(w, r, c, 0)
		return
	case errors.As(err, new(*rendezvous.ValidationError)):
		notice = c.l.t("selfSlotGone")
	default:
		s.logError(r, "journey: self-service change", "appointment_id", c.a.ID, "action", action, "error", err)
		serverError(w)
		return
	}
	var d selfData
	if action == actionCancel {
		if !canCancel(fresh, c.phase) {
			s.renderClosed(w, r, c, 0)
			return
		}
		d = s.cancelForm(c, r)
	} else {
		if !canReschedule(fresh, c.phase) {
			s.renderClosed(w, r, c, 0)
			return
		}
		d, err = s.rescheduleForm(r.Context(), c, r)
		if err != nil {
			s.logError(r, "journey: free times", "appointment_id", c.a.ID, "error", err)
			serverError(w)
			return
		}
	}
	d.Notice = notice
	s.renderSelf(w, http.StatusConflict, d)
}

// RescheduleHandler serves /a/{token}/reschedule: GET shows the current time and the free
// times to move to, POST moves the appointment to the chosen one.
func (s *Service) RescheduleHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.resolve(w, r)
		if !ok {
			return
		}
		if !canReschedule(c.a, c.phase) {
			s.renderClosed(w, r, c, 0)
			return
		}
		status := http.StatusOK
		var notice string
		if r.Method == http.MethodPost {
			ok, stale := s.checkPost(w, r, c, actionReschedule)
			if !ok {
				return
			}
			if !stale {
				s.reschedule(w, r, c)
				return
			}
			status, notice = http.StatusConflict, c.l.t("selfStale")
		}
		d, err := s.rescheduleForm(r.Context(), c, r)
		if err != nil {
			s.logError(r, "journey: free times", "appointment_id", c.a.ID, "error", err)
			serverError(w)
			return
		}
		d.Notice = notice
		s.renderSelf(w, status, d)
	})
}

// freeSlots computes the times the appointment may move to now.
func (s *Service) freeSlots(ctx context.Context, a *rendezvous.Appointment, now time.Time) ([]time.Time, error) {
	// The availability engine, when a queue's schedule covers the appointment.
	if slots, ok, err := s.scheduledSlots(ctx, a, now); ok || err != nil {
		return slots, err
	}
	rule := DefaultSlotRule
	loc := a.Location()
	var busy []Busy
	if a.AgentUserID != "" {
		// The agent's appointments over the whole window (a day on either side covers
		// any zone), read page by page.
		f := store.ListFilter{
			AgentUserID: a.AgentUserID,
			Statuses:    []rendezvous.Status{rendezvous.StatusScheduled, rendezvous.StatusInProgress},
			From:        now.Add(-24 * time.Hour), To: now.Add(time.Duration(rule.Days+1) * 24 * time.Hour),
			Limit: store.MaxListLimit,
		}
		for {
			list, next, err := s.st.ListAppointments(ctx, a.OrgID, f)
			if err != nil {
				return nil, fmt.Errorf("agent's appointments: %w", err)
			}
			busy = append(busy, busyOf(a, list)...)
			if next == "" {
				break
			}
			f.Cursor = next
		}
	}
	slots := FreeSlots(now, loc, a.Duration, busy, rule)
	out := slots[:0]
	for _, t := range slots {
		if !t.Equal(a.Start) { // moving to the same time is no move
			out = append(out, t)
		}
	}
	return out, nil
}

func (s *Service) rescheduleForm(ctx context.Context, c *selfCtx, r *http.Request) (selfData, error) {
	d := s.baseData(c, r)
	d.Action = "reschedule"
	d.Title, d.Intro = c.l.t("selfRescheduleTitle"), c.l.t("selfRescheduleIntro")
	d.FormToken = formToken(c.a.LinkToken, actionReschedule, c.a.ID, c.a.Version)
	d.RescheduleURL = ""
	slots, err := s.freeSlots(ctx, c.a, c.now)
	if err != nil {
		return selfData{}, err
	}
	d.Days = groupSlots(slots, c.a.Location(), c.l)
	return d, nil
}

// groupSlots groups free times by their local day, in order. A day on which the clocks
// change labels its times with the zone's abbreviation or offset, so that the two 01:30s
// of the night the clocks go back can be told apart.
func groupSlots(slots []time.Time, loc *time.Location, l *lang) []slotDay {
	var days []slotDay
	var offsets []map[int]bool
	for _, t := range slots {
		lt := t.In(loc)
		date := l.date(lt)
		if len(days) == 0 || days[len(days)-1].Date != date {
			days = append(days, slotDay{Date: date})
			offsets = append(offsets, map[int]bool{})
		}
		_, off := lt.Zone()
		offsets[len(offsets)-1][off] = true
		day := &days[len(days)-1]
		day.Slots = append(day.Slots, slotChoice{Value: t.UTC().Format(time.RFC3339), Label: l.clock(lt), at: lt})
	}
	for i := range days {
		if len(offsets[i]) > 1 {
			for j := range days[i].Slots {
				days[i].Slots[j].Label = l.clockZone(days[i].Slots[j].at)
			}
		}
	}
	return days
}

func (s *Service) reschedule(w http.ResponseWriter, r *http.Request, c *selfCtx) {
	start, err := time.Parse(time.RFC3339, r.PostForm.Get("start"))
	if err != nil {
		d, ferr := s.rescheduleForm(r.Context(), c, r)
		if ferr != nil {
			s.logError(r, "journey: free times", "appointment_id", c.a.ID, "error", ferr)
			serverError(w)
			return
		}
		d.Notice = c.l.t("selfPickOne")
		s.renderSelf(w, http.StatusUnprocessableEntity, d)
		return
	}
	// Only a time the page would offer now may be chosen: the form is not a free-form
	// way to move the appointment anywhere.
	slots, err := s.freeSlots(r.Context(), c.a, c.now)
	if err != nil {
		s.logError(r, "journey: free times", "appointment_id", c.a.ID, "error", err)
		serverError(w)
		return
	}
	offered := false
	for _, t := range slots {
		if t.Equal(start) {
			offered = true
			break
		}
	}
	if !offered {
		s.changeFailed(w, r, c, fmt.Errorf("%s is not a free time: %w", start.Format(time.RFC3339), rendezvous.ErrConflict), actionReschedule)
		return
	}
	start = start.UTC()
	if s.beforeReschedule != nil {
		s.beforeReschedule()
	}
	a, err := s.st.UpdateAppointment(r.Context(), c.a.OrgID, c.a.ID, c.a.Version, func(a *rendezvous.Appointment) (string, error) {
		now := s.clock.Now()
		if !canReschedule(a, PhaseAt(a, c.set, now)) {
			return "", errNotChangeable
		}
		if err := a.Apply(rendezvous.AppointmentPatch{Start: &start}, now); err != nil {
			return "", err
		}
		return "rescheduled", nil
	})
	if err != nil {
		s.changeFailed(w, r, c, err, actionReschedule)
		return
	}
	s.log.Info("journey: customer rescheduled", "appointment_id", a.ID, "org_id", a.OrgID)
	s.wake(a.ID)
	a.LinkToken = c.a.LinkToken
	c.a, c.phase = a, PhaseAt(a, c.set, s.clock.Now())
	d := s.baseData(c, r)
	d.Action = "done"
	d.Title, d.Intro = c.l.t("selfRescheduledTitle"), c.l.t("selfRescheduledBody")
	s.renderSelf(w, http.StatusOK, d)
}
