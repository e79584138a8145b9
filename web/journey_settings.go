package web

// Customer journey: the scheduling settings API and the customer's link pages, served by
// package journey (Deps.Journey).

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"runtime"
	"strings"

	"rendezvous"
	"rendezvous/journey"
)

// mediaJSON is the answer to a waiting-room upload: the value to put in
// waitingRoomMedia, and where the file is served.
type mediaJSON struct {
	Kind     string `json:"kind"`
	UploadID string `json:"uploadId"`
	URL      string `json:"url"`
}

func (s *server) journeyMissing(w http.ResponseWriter, r *http.Request) {
	s.error(w, r, errors.New("customer journey is not configured in this server"))
}

// handleJourney returns h from the journey service, or a 500 when the server was built
// without one (tests of other areas).
func (s *server) handleJourney(h func(*journey.Service) http.Handler) http.Handler {
	if s.Journey == nil {
		return http.HandlerFunc(s.journeyMissing)
	}
	h2 := h(s.Journey)
	// Whatever changes through the customer's link is audited as the customer's doing.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h2.ServeHTTP(w, r.WithContext(rendezvous.WithActor(r.Context(), rendezvous.Actor{Kind: rendezvous.ActorCustomer})))
	})
}

// arrival serves the customer's link as a request that background work yields to at
// once: at the start, opening the link creates the interaction, which must not wait on
// the cores a backlog of jobs is using (issue 14). It counts as enough API requests in
// flight to keep every core busy (see APIInFlight), for as long as it runs.
func (s *server) arrival(h http.Handler) http.Handler {
	if s.APIInFlight == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int64(runtime.GOMAXPROCS(0))
		s.APIInFlight.Add(n)
		defer s.APIInFlight.Add(-n)
		h.ServeHTTP(w, r)
	})
}

func (s *server) handleSchedulingSettingsGet() http.Handler {
	if s.Journey == nil {
		return http.HandlerFunc(s.journeyMissing)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		set, err := s.Journey.Settings(r.Context(), apiKey(r.Context()).OrgID)
		if err != nil {
			s.error(w, r, fmt.Errorf("read scheduling settings: %w", err))
			return
		}
		writeJSON(w, http.StatusOK, set)
	})
}

// handleSchedulingSettingsPut replaces the scheduling settings. Fields left out of the
// body keep their current value, so a client may send only what it changes.
func (s *server) handleSchedulingSettingsPut() http.Handler {
	if s.Journey == nil {
		return http.HandlerFunc(s.journeyMissing)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		org := apiKey(r.Context()).OrgID
		set, err := s.Journey.Settings(r.Context(), org)
		if err != nil {
			s.error(w, r, fmt.Errorf("read scheduling settings: %w", err))
			return
		}
		if err := s.decodeJSON(w, r, &set, false); err != nil {
			s.error(w, r, err)
			return
		}
		saved, err := s.Journey.PutSettings(r.Context(), org, set)
		if err != nil {
			s.error(w, r, fmt.Errorf("save scheduling settings: %w", err))
			return
		}
		writeJSON(w, http.StatusOK, saved)
	})
}

// handleSchedulingMediaUpload stores a waiting-room video or image. The file is the raw
// body with its own Content-Type (video/mp4, image/png, ...), or the "file" part of a
// multipart/form-data body as an HTML form sends it.
func (s *server) handleSchedulingMediaUpload() http.Handler {
	if s.Journey == nil {
		return http.HandlerFunc(s.journeyMissing)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, journey.MaxMediaBytes+1<<20)
		ct := r.Header.Get("Content-Type")
		var body io.Reader = r.Body
		if mt, _, _ := mime.ParseMediaType(ct); mt == "multipart/form-data" {
			mr, err := r.MultipartReader()
			if err != nil {
				s.error(w, r, badRequest("file", "could not read the multipart body: %v", err))
				return
			}
			for {
				part, err := mr.NextPart()
				if err != nil {
					s.error(w, r, badRequest("file", "send the file in a form field named \"file\""))
					return
				}
				if part.FormName() == "file" {
					ct, body = part.Header.Get("Content-Type"), part
					break
				}
			}
		}
		data, err := io.ReadAll(body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				s.error(w, r, &requestError{status: http.StatusRequestEntityTooLarge,
					msg: fmt.Sprintf("the file is larger than the limit of %d MiB", journey.MaxMediaBytes>>20)})
				return
			}
			s.error(w, r, badRequest("file", "could not read the upload: %v", err))
			return
		}
		m, err := s.Journey.UploadMedia(r.Context(), apiKey(r.Context()).OrgID, ct, data)
		if err != nil {
			s.error(w, r, fmt.Errorf("upload waiting-room media: %w", err))
			return
		}
		writeJSON(w, http.StatusCreated, mediaJSON{Kind: m.Kind, UploadID: m.UploadID,
			URL: strings.TrimSuffix(s.publicURL(r), "/") + "/journey/media/" + m.UploadID})
	})
}
