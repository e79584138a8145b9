package journey

import (
	"errors"
	"strings"
	"testing"
	"time"

	"rendezvous"
)

func problems(t *testing.T, err error) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err == nil {
		return out
	}
	var ve *rendezvous.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %T %v", err, err)
	}
	for _, p := range ve.Problems {
		out[p.Field] = p.Message
	}
	return out
}

func TestSettingsValidate(t *testing.T) {
	ok := DefaultSettings("d3f1a2b4-0001-4000-8000-0000000000d1", "", "Appointments")
	if err := ok.Validate(nil); err != nil {
		t.Fatalf("defaults with a key: %v", err)
	}
	tests := []struct {
		name   string
		change func(s *Settings)
		field  string
		says   string
	}{
		{"web chat refused", func(s *Settings) { s.CommunicationChannel = CommWebChat }, "communicationChannel", "genesys-web-messaging"},
		{"unknown channel", func(s *Settings) { s.SchedulingChannel = "fax" }, "schedulingChannel", "appointments"},
		{"missing key", func(s *Settings) { s.FlowDeploymentKey = "" }, "flowDeploymentKey", "Messenger Deployments"},
		{"snippet pasted", func(s *Settings) { s.FlowDeploymentKey = "https://x/y?z" }, "flowDeploymentKey", "only the deployment key"},
		{"bad routing", func(s *Settings) { s.DefaultRouting = "ivr" }, "defaultRouting", "flow"},
		{"queue routing without queue", func(s *Settings) { s.DefaultRouting = RoutingQueue; s.DefaultQueue = "" }, "defaultQueue", "required"},
		{"empty agent attribute", func(s *Settings) { s.AgentAttribute = " " }, "agentAttribute", DefaultAgentAttribute},
		{"same attributes", func(s *Settings) { s.QueueAttribute = s.AgentAttribute }, "queueAttribute", "differ"},
		{"http media", func(s *Settings) { s.WaitingRoomMedia = Media{Kind: MediaVideo, URL: "http://cdn.example.com/a.mp4"} }, "waitingRoomMedia.url", "https"},
		{"ftp media", func(s *Settings) { s.WaitingRoomMedia = Media{Kind: MediaImage, URL: "ftp://x/a.png"} }, "waitingRoomMedia.url", "https"},
		{"media without source", func(s *Settings) { s.WaitingRoomMedia = Media{Kind: MediaImage} }, "waitingRoomMedia.url", "upload"},
		{"media both", func(s *Settings) { s.WaitingRoomMedia = Media{Kind: MediaImage, URL: "https://x/a.png", UploadID: "u"} }, "waitingRoomMedia", "not both"},
		{"unknown upload", func(s *Settings) { s.WaitingRoomMedia = Media{Kind: MediaImage, UploadID: "nope"} }, "waitingRoomMedia.uploadId", "upload one"},
		{"bad kind", func(s *Settings) { s.WaitingRoomMedia = Media{Kind: "audio"} }, "waitingRoomMedia.kind", "video"},
		{"negative early", func(s *Settings) { s.OpensEarlyMinutes = -1 }, "opensEarlyMinutes", "between"},
		{"huge grace", func(s *Settings) { s.GracePeriodMinutes = 100000 }, "gracePeriodMinutes", "between"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.change(&s)
			got := problems(t, s.Validate(func(id string) bool { return id == "known" }))
			msg, found := got[tt.field]
			if !found {
				t.Fatalf("no problem on %s; got %v", tt.field, got)
			}
			if !strings.Contains(msg, tt.says) {
				t.Errorf("%s: %q does not mention %q", tt.field, msg, tt.says)
			}
		})
	}
	for _, u := range []string{"https://cdn.example.com/loop.mp4", "http://localhost:8080/a.mp4", "http://127.0.0.1/a.png"} {
		s := ok
		s.WaitingRoomMedia = Media{Kind: MediaVideo, URL: u}
		if err := s.Validate(nil); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	s := ok
	s.WaitingRoomMedia = Media{Kind: MediaImage, UploadID: "known"}
	if err := s.Validate(func(id string) bool { return id == "known" }); err != nil {
		t.Errorf("known upload refused: %v", err)
	}
}

func TestEffectiveRoutingAndAttributes(t *testing.T) {
	set := DefaultSettings("flow-key", "queue-key", "Appointments")
	flow := &rendezvous.Appointment{ID: "ap1", AgentUserID: "agent-1",
		Interaction: rendezvous.Interaction{Routing: rendezvous.Routing{Type: rendezvous.RoutingFlow},
			CustomFields: map[string]string{"crm": "42", DefaultAgentAttribute: "spoof"}}}
	queue := &rendezvous.Appointment{ID: "ap2", AgentUserID: "agent-1",
		Interaction: rendezvous.Interaction{Routing: rendezvous.Routing{Type: rendezvous.RoutingQueue, QueueName: "Video"}}}

	r, key, q := set.EffectiveRouting(flow)
	if r != RoutingFlow || key != "flow-key" || q != "" {
		t.Errorf("flow: got %s %s %q", r, key, q)
	}
	attrs := set.Attributes(flow, "https://rdv/r/ap1")
	want := map[string]string{"crm": "42", DefaultAgentAttribute: "agent-1", AppointmentIDAttribute: "ap1", AgentRoomLinkAttribute: "https://rdv/r/ap1"}
	for k, v := range want {
		if attrs[k] != v {
			t.Errorf("flow attribute %s = %q, want %q", k, attrs[k], v)
		}
	}
	if _, ok := attrs[DefaultQueueAttribute]; ok {
		t.Errorf("flow routing carries a queue attribute")
	}

	r, key, q = set.EffectiveRouting(queue)
	if r != RoutingQueue || key != "queue-key" || q != "Video" {
		t.Errorf("queue: got %s %s %q", r, key, q)
	}
	if got := set.Attributes(queue, "l")[DefaultQueueAttribute]; got != "Video" {
		t.Errorf("queue attribute = %q", got)
	}

	forced := set
	forced.ForceQueueRouting = true
	forced.QueueDeploymentKey = ""
	r, key, q = forced.EffectiveRouting(flow)
	if r != RoutingQueue || key != "flow-key" || q != "Appointments" {
		t.Errorf("forced: got %s %s %q", r, key, q)
	}
}

func TestPhaseAt(t *testing.T) {
	set := DefaultSettings("k", "", "")
	start := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	a := func(st rendezvous.Status) *rendezvous.Appointment {
		return &rendezvous.Appointment{Status: st, Start: start, Duration: 30 * time.Minute}
	}
	tests := []struct {
		st   rendezvous.Status
		at   time.Time
		want Phase
		code int
	}{
		{rendezvous.StatusScheduled, start.Add(-25 * time.Hour), PhaseNotYet, 200},
		{rendezvous.StatusScheduled, start.Add(-24 * time.Hour), PhaseWaiting, 200},
		{rendezvous.StatusScheduled, start.Add(-time.Nanosecond), PhaseWaiting, 200},
		{rendezvous.StatusScheduled, start, PhaseLive, 200},
		{rendezvous.StatusScheduled, start.Add(44*time.Minute + 59*time.Second), PhaseLive, 200},
		{rendezvous.StatusScheduled, start.Add(45 * time.Minute), PhaseTooLate, 410},
		{rendezvous.StatusInProgress, start.Add(2 * time.Hour), PhaseLive, 200},
		{rendezvous.StatusCancelled, start, PhaseCancelled, 410},
		{rendezvous.StatusCompleted, start, PhaseEnded, 410},
		{rendezvous.StatusNoShow, start.Add(-time.Hour), PhaseEnded, 410},
	}
	for _, tt := range tests {
		got := PhaseAt(a(tt.st), set, tt.at)
		if got != tt.want || got.HTTPStatus() != tt.code {
			t.Errorf("%s at %s: got %s (%d), want %s (%d)", tt.st, tt.at.Sub(start), got, got.HTTPStatus(), tt.want, tt.code)
		}
	}
}

func TestLocalizedDate(t *testing.T) {
	at := time.Date(2026, 11, 24, 14, 30, 0, 0, time.UTC)
	tests := []struct{ pref, accept, want string }{
		{"en", "", "Tuesday, November 24, 2026"},
		{"de", "", "Dienstag, 24. November 2026"},
		{"el", "", "Τρίτη, 24 Νοεμβρίου 2026"},
		{"", "de-AT,de;q=0.9", "Dienstag, 24. November 2026"},
		{"fr", "", "Tuesday, November 24, 2026"},
	}
	for _, tt := range tests {
		l := pickLang(tt.pref, tt.accept)
		if got := l.date(at); got != tt.want {
			t.Errorf("%q/%q: got %q, want %q", tt.pref, tt.accept, got, tt.want)
		}
	}
	for tag, l := range langs {
		for k := range langs["en"].Text {
			if l.Text[k] == "" {
				t.Errorf("%s lacks %q", tag, k)
			}
		}
	}
}

// TestLanguageFallback: a customer whose language the pages do not offer gets the
// browser's language, else the organization's default, else English, and a note saying so.
func TestLanguageFallback(t *testing.T) {
	tests := []struct {
		pref, accept, org string
		want, note        string // note: a part of it; "" = no note
	}{
		{"de", "", "el", "de", ""},
		{"fr", "", "", "en", "This page is not available in français, so it is shown in English."},
		{"fr", "", "de", "de", "Diese Seite gibt es nicht auf français"},
		{"fr-CA", "el-GR,en;q=0.5", "de", "el", "γι' αυτό εμφανίζεται στα ελληνικά"},
		{"", "", "de", "de", ""},
		{"", "pt-BR", "el", "el", ""},
	}
	for _, tt := range tests {
		l, note := chooseLang(tt.pref, tt.accept, tt.org)
		if l.Tag != tt.want || (tt.note == "") != (note == "") || !strings.Contains(note, tt.note) {
			t.Errorf("%q/%q/%q: %s %q, want %s %q", tt.pref, tt.accept, tt.org, l.Tag, note, tt.want, tt.note)
		}
	}
}
