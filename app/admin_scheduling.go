package app

// Administration / Call scheduling: the scheduling channel, routing, the Messenger
// deployment keys, the participant attribute names, the waiting room's timing and media,
// with a live preview of the customer's waiting room. The settings are journey's, saved
// through journey.Service.PutSettings like PUT /api/v1/settings/scheduling.

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"rendezvous/auth"
	"rendezvous/journey"
)

// schedulingFields are the form's fields.
var schedulingFields = []string{"channel", "flow_key", "queue_key", "routing", "queue", "force_queue",
	"agent_attr", "queue_attr", "opens_early", "grace", "media", "media_url"}

// Media choices of the form: none, a URL (video or image), or the uploaded file.
const (
	mediaChoiceNone     = "none"
	mediaChoiceVideoURL = "video"
	mediaChoiceImageURL = "image"
	mediaChoiceUpload   = "upload"
)

// schedulingPage is the page's data.
type schedulingPage struct {
	F      *settingsForm
	Queues []string
	// Upload is the uploaded waiting-room file in the saved settings, if any.
	Upload     journey.Media
	UploadErr  string
	PreviewURL string
	MaxMiB     int
	MaxBytes   int
}

// schedulingForm fills the form from saved settings.
func schedulingForm(set journey.Settings) *settingsForm {
	f := newSettingsForm()
	f.V["channel"] = set.SchedulingChannel
	f.V["flow_key"], f.V["queue_key"] = set.FlowDeploymentKey, set.QueueDeploymentKey
	f.V["routing"], f.V["queue"] = set.DefaultRouting, set.DefaultQueue
	if set.ForceQueueRouting {
		f.V["force_queue"] = "on"
	}
	f.V["agent_attr"], f.V["queue_attr"] = set.AgentAttribute, set.QueueAttribute
	f.V["opens_early"], f.V["grace"] = strconv.Itoa(set.OpensEarlyMinutes), strconv.Itoa(set.GracePeriodMinutes)
	m := set.WaitingRoomMedia
	switch {
	case m.UploadID != "":
		f.V["media"] = mediaChoiceUpload
	case m.Kind == journey.MediaVideo || m.Kind == journey.MediaImage:
		f.V["media"], f.V["media_url"] = m.Kind, m.URL
	default:
		f.V["media"] = mediaChoiceNone
	}
	return f
}

// previewQuery is the preview's address for the form's values (the script builds the
// same from the fields as they are typed).
func previewQuery(f *settingsForm, lang string) string {
	return fmt.Sprintf("/app/admin/scheduling/preview?media=%s&media_url=%s&opens_early=%s&lang=%s",
		urlQueryEscape(f.Get("media")), urlQueryEscape(f.Get("media_url")), urlQueryEscape(f.Get("opens_early")), urlQueryEscape(lang))
}

// handleAdminScheduling shows the call scheduling settings.
func (a *App) handleAdminScheduling(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	set, err := a.o.Admin.Journey.Settings(r.Context(), s.User.OrgID)
	if err != nil {
		a.fail(w, r, fmt.Errorf("read scheduling settings: %w", err))
		return
	}
	v := a.adminView(r, s, "scheduling", "Call scheduling")
	a.renderScheduling(w, r, s, v, http.StatusOK, schedulingForm(set), set, "")
}

func (a *App) renderScheduling(w http.ResponseWriter, r *http.Request, s *auth.Session, v *view, status int, f *settingsForm, saved journey.Settings, uploadErr string) {
	queues := a.queueNames(r.Context(), s.User.OrgID)
	if q := f.Get("queue"); q != "" && !slices.Contains(queues, q) {
		queues = append(slices.Clone(queues), q)
	}
	p := &schedulingPage{F: f, Queues: queues, UploadErr: uploadErr, PreviewURL: previewQuery(f, v.Lang()), MaxMiB: journey.MaxMediaBytes >> 20, MaxBytes: journey.MaxMediaBytes}
	if saved.WaitingRoomMedia.UploadID != "" {
		p.Upload = saved.WaitingRoomMedia
	}
	v.Data = p
	// The preview is this site's page in a frame.
	w.Header().Set("Content-Security-Policy", strings.Replace(w.Header().Get("Content-Security-Policy"),
		"default-src 'none';", "default-src 'none'; frame-src 'self';", 1))
	a.render(w, r, status, "admin_scheduling", v)
}

// handleAdminSchedulingSave saves the call scheduling settings.
func (a *App) handleAdminSchedulingSave(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	ctx := r.Context()
	saved, err := a.o.Admin.Journey.Settings(ctx, s.User.OrgID)
	if err != nil {
		a.fail(w, r, fmt.Errorf("read scheduling settings: %w", err))
		return
	}
	v := a.adminView(r, s, "scheduling", "Call scheduling")
	f := readSettingsForm(r, schedulingFields...)
	set := saved // fields the page does not show keep their value
	t := v.tr
	set.SchedulingChannel = f.line(t, "channel", 20)
	set.FlowDeploymentKey = f.line(t, "flow_key", 100)
	set.QueueDeploymentKey = f.line(t, "queue_key", 100)
	set.DefaultRouting = f.line(t, "routing", 20)
	set.DefaultQueue = f.line(t, "queue", 200)
	set.ForceQueueRouting = f.Get("force_queue") != ""
	set.AgentAttribute = f.line(t, "agent_attr", 200)
	set.QueueAttribute = f.line(t, "queue_attr", 200)
	set.OpensEarlyMinutes = f.number(t, "opens_early", 0, 30*24*60)
	set.GracePeriodMinutes = f.number(t, "grace", 0, 24*60)
	url := f.line(t, "media_url", 2000)
	switch f.Get("media") {
	case mediaChoiceNone:
		set.WaitingRoomMedia = journey.Media{Kind: journey.MediaNone}
	case mediaChoiceVideoURL, mediaChoiceImageURL:
		set.WaitingRoomMedia = journey.Media{Kind: f.Get("media"), URL: url}
	case mediaChoiceUpload:
		if saved.WaitingRoomMedia.UploadID == "" {
			f.fail("media", t.T("Upload a file first, or choose a web address."))
		}
	default:
		f.fail("media", t.T("Choose what the waiting room shows."))
	}
	if len(f.Errors) == 0 {
		_, err = a.o.Admin.Journey.PutSettings(ctx, s.User.OrgID, set)
		if err != nil && !f.problems(err, schedulingField, func(k string) string { return schedulingWords(t, k) }) {
			a.fail(w, r, fmt.Errorf("save scheduling settings: %w", err))
			return
		}
	}
	if len(f.Errors) > 0 {
		a.renderScheduling(w, r, s, v, http.StatusUnprocessableEntity, f, saved, "")
		return
	}
	http.Redirect(w, r, "/app/admin/scheduling?done=saved", http.StatusSeeOther)
}

// schedulingField maps a settings field to the form field that shows its problem.
func schedulingField(field string) string {
	switch {
	case field == "schedulingChannel":
		return "channel"
	case field == "communicationChannel":
		return "channel"
	case field == "flowDeploymentKey":
		return "flow_key"
	case field == "queueDeploymentKey":
		return "queue_key"
	case field == "defaultRouting":
		return "routing"
	case field == "defaultQueue":
		return "queue"
	case field == "agentAttribute":
		return "agent_attr"
	case field == "queueAttribute":
		return "queue_attr"
	case field == "opensEarlyMinutes":
		return "opens_early"
	case field == "gracePeriodMinutes":
		return "grace"
	case strings.HasPrefix(field, "waitingRoomMedia"):
		return "media_url"
	}
	return field
}

// schedulingWords is the plain sentence for a problem with form field k.
func schedulingWords(t *tr, k string) string {
	switch k {
	case "channel":
		return t.T("Choose appointments or callbacks.")
	case "flow_key", "queue_key":
		return t.T("Paste the deployment key (a UUID such as 2b0ab1f5-2a36-4b8c-9d6c-7a1a0f3e6c55) from Genesys Cloud Admin > Message > Messenger Deployments. The appointments channel needs the first one.")
	case "routing":
		return t.T("Choose flow or queue.")
	case "queue":
		return t.T("Choose the queue appointments go to when they are routed to a queue.")
	case "agent_attr", "queue_attr":
		return t.T("Give the participant attribute name the Architect flow reads: a dotted name without spaces or quotes, different for the agent and the queue.")
	case "media_url":
		return t.T("Give an https address of a video or image, such as https://cdn.example.com/loop.mp4.")
	}
	return ""
}

// handleAdminSchedulingMedia stores an uploaded waiting-room file and makes it the
// waiting room's media at once (like POST /api/v1/settings/scheduling/media followed by
// a PUT of the settings).
func (a *App) handleAdminSchedulingMedia(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	ctx := r.Context()
	saved, err := a.o.Admin.Journey.Settings(ctx, s.User.OrgID)
	if err != nil {
		a.fail(w, r, fmt.Errorf("read scheduling settings: %w", err))
		return
	}
	v := a.adminView(r, s, "scheduling", "Call scheduling")
	again := func(msg string) {
		a.renderScheduling(w, r, s, v, http.StatusUnprocessableEntity, schedulingForm(saved), saved, msg)
	}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			again(v.T("The file is larger than %d MiB. Choose a smaller one, or give a web address instead.", journey.MaxMediaBytes>>20))
			return
		}
		again(v.T("Choose a video or image file to upload."))
		return
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, journey.MaxMediaBytes+1))
	if err != nil {
		again(v.T("The file could not be read. Please try again."))
		return
	}
	m, err := a.o.Admin.Journey.UploadMedia(ctx, s.User.OrgID, hdr.Header.Get("Content-Type"), data)
	if err != nil {
		if f := newSettingsForm(); f.problems(err, func(string) string { return "file" }, func(string) string { return "" }) {
			again(v.T("This file cannot be used: upload an MP4 or WebM video, or a PNG, JPEG, GIF or WebP image, up to %d MiB.", journey.MaxMediaBytes>>20))
			return
		}
		a.fail(w, r, fmt.Errorf("upload waiting-room media: %w", err))
		return
	}
	saved.WaitingRoomMedia = m
	if _, err := a.o.Admin.Journey.PutSettings(ctx, s.User.OrgID, saved); err != nil {
		// The saved settings may themselves be incomplete (a key missing); the file is
		// kept, and the person fixes the form.
		f := schedulingForm(saved)
		if f.problems(err, schedulingField, func(k string) string { return schedulingWords(v.tr, k) }) {
			a.renderScheduling(w, r, s, v, http.StatusUnprocessableEntity, f, saved, v.T("The file was uploaded, but the settings could not be saved: fix the fields below and save."))
			return
		}
		a.fail(w, r, fmt.Errorf("save scheduling settings: %w", err))
		return
	}
	http.Redirect(w, r, "/app/admin/scheduling?done=saved", http.StatusSeeOther)
}

// handleAdminSchedulingPreview shows the customer's waiting room as it looks with the
// settings typed in the form (not yet saved): the media and how early it opens.
func (a *App) handleAdminSchedulingPreview(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	set, err := a.o.Admin.Journey.Settings(r.Context(), s.User.OrgID)
	if err != nil {
		a.fail(w, r, fmt.Errorf("read scheduling settings: %w", err))
		return
	}
	q := r.URL.Query()
	if n, err := strconv.Atoi(strings.TrimSpace(q.Get("opens_early"))); err == nil {
		set.OpensEarlyMinutes = n
	}
	switch q.Get("media") {
	case mediaChoiceNone:
		set.WaitingRoomMedia = journey.Media{Kind: journey.MediaNone}
	case mediaChoiceVideoURL, mediaChoiceImageURL:
		set.WaitingRoomMedia = journey.Media{Kind: q.Get("media"), URL: strings.TrimSpace(q.Get("media_url"))}
	}
	a.o.Admin.Journey.WritePreview(w, r, set, q.Get("lang"), zoneOf(r, &s.User).String(), a.clock.Now())
}
