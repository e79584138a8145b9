package journey

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"rendezvous"
)

// PreviewCSP is the Content-Security-Policy of the waiting-room preview: the customer
// page's own policy, except that the administration page of this site may frame it.
var PreviewCSP = strings.Replace(PageCSP, "frame-ancestors 'none'", "frame-ancestors 'self'", 1)

// PreviewStartsIn is how far ahead of now the preview's sample appointment starts.
const PreviewStartsIn = 30 * time.Minute

// WritePreview writes the customer's waiting room as it looks under set, for a sample
// appointment that starts PreviewStartsIn from now in zone, in language lang ("" picks
// from the request): what an administrator sees beside the settings before saving them.
// Settings that do not pass validation show as the customer would see them once fixed:
// media that is not a valid URL or upload shows the built-in picture. The page is static
// (no script), so the preview never starts an interaction.
func (s *Service) WritePreview(w http.ResponseWriter, r *http.Request, set Settings, lang, zone string, now time.Time) {
	if _, err := rendezvous.LoadZone(zone); err != nil || zone == "" {
		zone = "UTC"
	}
	var p rendezvous.Problems
	checkMedia(&p, set.WaitingRoomMedia, nil)
	if p.Err() != nil {
		set.WaitingRoomMedia = Media{Kind: MediaNone}
	}
	if set.OpensEarlyMinutes < 0 || set.OpensEarlyMinutes > maxOpensEarlyMinutes {
		set.OpensEarlyMinutes = DefaultOpensEarlyMinutes
	}
	a := &rendezvous.Appointment{Start: now.Add(PreviewStartsIn).Truncate(time.Minute), Duration: 30 * time.Minute, TimeZone: zone}
	v := View{Phase: PhaseAt(a, set, now), Start: a.Start, OpensAt: a.Start.Add(-set.OpensEarly()), ServerTime: now.UnixMilli()}
	l, _ := chooseLang(lang, r.Header.Get("Accept-Language"), "")
	loc := a.Location()
	start, opens := a.Start.In(loc), v.OpensAt.In(loc)
	d := pageData{
		L: l.Text, Lang: l.Tag, Title: l.t("title"), Phase: string(v.Phase),
		Date: l.date(start), Time: l.clockZone(start), Zone: l.zone(zone),
		OpensDate: l.date(opens), OpensTime: l.clockZone(opens),
		Media: set.WaitingRoomMedia, MediaURL: set.WaitingRoomMedia.URL, View: v,
		Preview: true, Countdown: countdown(a.Start.Sub(now)),
	}
	if set.WaitingRoomMedia.UploadID != "" {
		d.MediaURL = "/journey/media/" + set.WaitingRoomMedia.UploadID
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", PreviewCSP)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	s.render(w, http.StatusOK, d)
}

// countdown writes d as the page script does: "hh:mm:ss".
func countdown(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	sec := int(d / time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", sec/3600, sec%3600/60, sec%60)
}
