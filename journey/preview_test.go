package journey

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The preview is the waiting room as customers see it, for settings not yet saved: the
// media and the opening time follow the settings given; a media address that would be
// refused shows the built-in picture; the page has no script and may be framed only by
// this site.
func TestWritePreview(t *testing.T) {
	f := newFixture(t, "sqlite")
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	preview := func(set Settings, lang string) (*httptest.ResponseRecorder, string) {
		w := httptest.NewRecorder()
		f.svc.WritePreview(w, httptest.NewRequest(http.MethodGet, "/app/admin/scheduling/preview", nil), set, lang, "Europe/Athens", now)
		return w, w.Body.String()
	}
	set := DefaultSettings("flow-dep", "", "")
	set.WaitingRoomMedia = Media{Kind: MediaImage, URL: "https://cdn.example.com/wait.png"}
	w, body := preview(set, "de")
	for _, want := range []string{`lang="de"`, `src="https://cdn.example.com/wait.png"`, `data-phase="waiting"`, "00:30:00", "11:30"} {
		if !strings.Contains(body, want) {
			t.Errorf("preview lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "page.js") {
		t.Error("the preview runs the page script")
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'self'") || w.Header().Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Errorf("framing headers: %q, %q", csp, w.Header().Get("X-Frame-Options"))
	}

	set.OpensEarlyMinutes = 10
	set.WaitingRoomMedia = Media{Kind: MediaVideo, URL: "javascript:alert(1)"}
	_, body = preview(set, "en")
	if !strings.Contains(body, `data-phase="not_yet"`) || strings.Contains(body, "javascript:") || !strings.Contains(body, "waiting.svg") {
		t.Errorf("opening in 10 minutes with a refused address:\n%s", body)
	}
}
