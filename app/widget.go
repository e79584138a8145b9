package app

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/auth"
	"rendezvous/genesys"
	"rendezvous/room"
)

// widgetData is the Interaction Widget's own data.
type widgetData struct {
	// State is "signin", "none", "room" or "unavailable".
	State        string
	Org          string
	SignInURL    string
	Appointment  *rendezvous.Appointment
	CustomerZone *time.Location
	Room         *widgetRoom
	RoomOpens    time.Time
}

// widgetRoom is what the page hands to the room script (web/static/room/room.js).
type widgetRoom struct {
	Role          room.Side        `json:"role"`
	SignalingURL  string           `json:"signalingURL"`
	ICEServers    []room.ICEServer `json:"iceServers"`
	Lang          string           `json:"lang"`
	ConfirmHangUp bool             `json:"confirmHangUp"`
}

// appointmentAttribute is the suffix of the participant attribute that carries the
// appointment id (context.auvious.appointmentId as the journey sends it; Genesys may or
// may not add the context. prefix, so the suffix is what is matched).
const appointmentAttribute = "auvious.appointmentId"

// appointmentOf finds the appointment id in a conversation's participant data.
func appointmentOf(c genesys.Conversation) string {
	for _, p := range c.Participants {
		for k, v := range p.Attributes {
			if strings.HasSuffix(k, appointmentAttribute) && strings.TrimSpace(v) != "" {
				return strings.TrimSpace(v)
			}
		}
	}
	return ""
}

// connectedAgent reports whether userID is an agent connected to the conversation, as
// Genesys Cloud itself says (read with that user's own token).
func connectedAgent(c genesys.Conversation, userID string) bool {
	for _, p := range c.Participants {
		if p.Purpose == "agent" && p.UserID == userID && p.State == "connected" {
			return true
		}
	}
	return false
}

// handleWidget serves GET /widget?org=...&conversationid=...: the Interaction Widget that
// Genesys Cloud frames beside an interaction. It signs the agent in (in a pop-up, since
// the frame cannot show Genesys' login), reads the conversation as the agent
// (GET /api/v2/conversations/{id}), finds the appointment from the participant data the
// journey attached, and shows the agent's side of the video room with the appointment's
// details. The agent sees the room of an appointment assigned to them, or of one whose
// interaction Genesys Cloud routed to them (a queue or the fallback after the preferred
// agent); anything else is "no video appointment for this interaction".
func (a *App) handleWidget(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	org := q.Get("org")
	if org == "" {
		org = a.o.DefaultOrg
	}
	convID := strings.TrimSpace(q.Get("conversationid"))
	if convID == "" {
		convID = strings.TrimSpace(q.Get("gcConversationId"))
	}
	// The room script injects its own stylesheet and sets styles on its elements.
	w.Header().Set("Content-Security-Policy", strings.Replace(w.Header().Get("Content-Security-Policy"),
		"style-src 'self'", "style-src 'self' 'unsafe-inline'", 1))
	s, err := a.o.Auth.Load(w, r)
	if err != nil && !errors.Is(err, auth.ErrNoSession) {
		a.fail(w, r, err)
		return
	}
	var u *rendezvous.StaffUser
	if s != nil {
		u = &s.User
	}
	v := &view{tr: newTr(langOf(r, u)), Session: s, Zone: zoneOf(r, u), Bare: true}
	if tag := q.Get("gcLangTag"); tag != "" && (u == nil || u.Language == "") {
		if l := strings.ToLower(strings.SplitN(tag, "-", 2)[0]); supported(l) {
			v.tr = newTr(l)
		}
	}
	v.Title = v.T("Video appointment")
	d := &widgetData{Org: org}
	v.Data = d
	if s == nil || (org != "" && s.User.OrgID != org) {
		d.State = "signin"
		d.SignInURL = auth.SignInPath + "?go=1&org=" + urlQueryEscape(org) + "&next=" + urlQueryEscape("/signin/done")
		a.render(w, r, http.StatusOK, "widget", v)
		return
	}
	d.State = "none"
	if convID == "" {
		a.render(w, r, http.StatusOK, "widget", v)
		return
	}
	gc, err := a.o.Auth.Client(r.Context(), s.User.OrgID)
	if err != nil {
		a.log.WarnContext(r.Context(), "widget: no Genesys connection", "org_id", s.User.OrgID, "error", err)
		d.State = "unavailable"
		a.render(w, r, http.StatusOK, "widget", v)
		return
	}
	conv, err := gc.ConversationAs(r.Context(), s.Token, convID)
	var ae *genesys.APIError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		d.State = "signin"
		d.SignInURL = auth.SignInPath + "?go=1&org=" + urlQueryEscape(org) + "&next=" + urlQueryEscape("/signin/done")
		a.render(w, r, http.StatusOK, "widget", v)
		return
	case errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusForbidden):
		a.render(w, r, http.StatusOK, "widget", v)
		return
	case err != nil:
		a.log.WarnContext(r.Context(), "widget: read conversation", "org_id", s.User.OrgID, "error", err)
		d.State = "unavailable"
		a.render(w, r, http.StatusOK, "widget", v)
		return
	}
	id := appointmentOf(conv)
	if id == "" {
		a.render(w, r, http.StatusOK, "widget", v)
		return
	}
	ap, err := a.o.Store.Appointment(r.Context(), s.User.OrgID, id)
	if err != nil || !(rendezvous.CanView(s.User, ap) || connectedAgent(conv, s.User.ID)) {
		if err != nil && !errors.Is(err, rendezvous.ErrNotFound) {
			a.log.WarnContext(r.Context(), "widget: appointment", "error", err)
		}
		a.render(w, r, http.StatusOK, "widget", v)
		return
	}
	d.Appointment, d.CustomerZone = ap, ap.Location()
	d.State = "room"
	if a.o.Rooms != nil && (ap.Status == rendezvous.StatusScheduled || ap.Status == rendezvous.StatusInProgress) {
		ice, err := a.o.Rooms.ICEServers(r.Context(), ap.OrgID)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		d.RoomOpens = a.o.Rooms.Opens(ap, room.Agent)
		if !a.clock.Now().Before(d.RoomOpens) {
			d.Room = &widgetRoom{Role: room.Agent, SignalingURL: room.SignalingPath(room.Agent, a.o.Rooms.AgentKey(ap)),
				ICEServers: ice, Lang: v.Lang(), ConfirmHangUp: true}
		}
	}
	a.render(w, r, http.StatusOK, "widget", v)
}
