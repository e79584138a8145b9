package web

// Notifications: the settings API (switch and offsets, SMS and email setup with their
// one-time-password verification, templates and preview), an appointment's delivery log
// and manual retry, and the customer's .ics calendar file. Served by package notify
// (Deps.Notify).

import (
	"errors"
	"fmt"
	"net/http"

	"rendezvous"
	"rendezvous/linkguard"
	"rendezvous/notify"
)

func (s *server) notifyMissing(w http.ResponseWriter, r *http.Request) {
	s.error(w, r, errors.New("notifications are not configured in this server"))
}

// withNotify runs h with the notification service, or answers 500 when the server was
// built without one (tests of other areas).
func (s *server) withNotify(h func(w http.ResponseWriter, r *http.Request, n *notify.Service, org string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Notify == nil {
			s.notifyMissing(w, r)
			return
		}
		h(w, r, s.Notify, apiKey(r.Context()).OrgID)
	})
}

// pathChannel reads the {channel} path value.
func pathChannel(r *http.Request) (notify.Channel, error) {
	ch, err := notify.ParseChannel(r.PathValue("channel"))
	if err != nil {
		return "", rendezvous.WithDetail(fmt.Errorf("%v: %w", err, rendezvous.ErrNotFound), "The channel must be sms or email.")
	}
	return ch, nil
}

func (s *server) handleNotificationSettingsGet() http.Handler {
	return s.withNotify(func(w http.ResponseWriter, r *http.Request, n *notify.Service, org string) {
		set, err := n.Settings(r.Context(), org)
		if err != nil {
			s.error(w, r, fmt.Errorf("read notification settings: %w", err))
			return
		}
		writeJSON(w, http.StatusOK, set)
	})
}

// handleNotificationSettingsPut replaces the notification settings; fields left out keep
// their current value.
func (s *server) handleNotificationSettingsPut() http.Handler {
	return s.withNotify(func(w http.ResponseWriter, r *http.Request, n *notify.Service, org string) {
		set, err := n.Settings(r.Context(), org)
		if err != nil {
			s.error(w, r, fmt.Errorf("read notification settings: %w", err))
			return
		}
		if err := s.decodeJSON(w, r, &set, false); err != nil {
			s.error(w, r, err)
			return
		}
		saved, err := n.PutSettings(r.Context(), org, set)
		if err != nil {
			s.error(w, r, fmt.Errorf("save notification settings: %w", err))
			return
		}
		writeJSON(w, http.StatusOK, saved)
	})
}

func (s *server) handleNotificationChannelGet() http.Handler {
	return s.withNotify(func(w http.ResponseWriter, r *http.Request, n *notify.Service, org string) {
		ch, err := pathChannel(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		v, err := n.Channel(r.Context(), org, ch)
		if err != nil {
			s.error(w, r, fmt.Errorf("read %s setup: %w", ch, err))
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// handleNotificationChannelPut checks the credentials against Genesys Cloud and saves them.
func (s *server) handleNotificationChannelPut() http.Handler {
	return s.withNotify(func(w http.ResponseWriter, r *http.Request, n *notify.Service, org string) {
		ch, err := pathChannel(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		var in notify.ChannelInput
		if err := s.decodeJSON(w, r, &in, false); err != nil {
			s.error(w, r, err)
			return
		}
		v, err := n.SaveChannel(r.Context(), org, ch, in)
		if err != nil {
			s.error(w, r, fmt.Errorf("save %s setup: %w", ch, err))
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

type verificationStartJSON struct {
	To string `json:"to"`
	// Language is the administrator's language for the code's message; English when empty.
	Language string `json:"language,omitempty"`
}

type verificationConfirmJSON struct {
	Code string `json:"code"`
}

func (s *server) handleNotificationVerificationStart() http.Handler {
	return s.withNotify(func(w http.ResponseWriter, r *http.Request, n *notify.Service, org string) {
		ch, err := pathChannel(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		var in verificationStartJSON
		if err := s.decodeJSON(w, r, &in, false); err != nil {
			s.error(w, r, err)
			return
		}
		v, err := n.StartVerification(r.Context(), org, ch, in.To, in.Language)
		if err != nil {
			s.error(w, r, fmt.Errorf("send %s verification code: %w", ch, err))
			return
		}
		writeJSON(w, http.StatusAccepted, v)
	})
}

func (s *server) handleNotificationVerificationConfirm() http.Handler {
	return s.withNotify(func(w http.ResponseWriter, r *http.Request, n *notify.Service, org string) {
		ch, err := pathChannel(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		var in verificationConfirmJSON
		if err := s.decodeJSON(w, r, &in, false); err != nil {
			s.error(w, r, err)
			return
		}
		v, err := n.ConfirmVerification(r.Context(), org, ch, in.Code)
		if err != nil {
			s.error(w, r, fmt.Errorf("confirm %s verification: %w", ch, err))
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// templatePath reads {event}/{channel}/{language}.
func templatePath(r *http.Request) (notify.Event, notify.Channel, string, error) {
	e, err := notify.ParseEvent(r.PathValue("event"))
	if err != nil {
		return "", "", "", rendezvous.WithDetail(fmt.Errorf("%v: %w", err, rendezvous.ErrNotFound),
			"There is no such notification event; see the event values in /api/v1/openapi.json.")
	}
	ch, err := pathChannel(r)
	if err != nil {
		return "", "", "", err
	}
	return e, ch, r.PathValue("language"), nil
}

func (s *server) handleNotificationTemplateGet() http.Handler {
	return s.withNotify(func(w http.ResponseWriter, r *http.Request, n *notify.Service, org string) {
		e, ch, lang, err := templatePath(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		v, err := n.Template(r.Context(), org, e, ch, lang)
		if err != nil {
			s.error(w, r, fmt.Errorf("read template: %w", err))
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

func (s *server) handleNotificationTemplatePut() http.Handler {
	return s.withNotify(func(w http.ResponseWriter, r *http.Request, n *notify.Service, org string) {
		e, ch, lang, err := templatePath(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		var t notify.Template
		if err := s.decodeJSON(w, r, &t, false); err != nil {
			s.error(w, r, err)
			return
		}
		v, err := n.PutTemplate(r.Context(), org, e, ch, lang, t)
		if err != nil {
			s.error(w, r, fmt.Errorf("save template: %w", err))
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// handleNotificationTemplateDelete drops the organization's own template, so the built-in
// one applies again.
func (s *server) handleNotificationTemplateDelete() http.Handler {
	return s.withNotify(func(w http.ResponseWriter, r *http.Request, n *notify.Service, org string) {
		e, ch, lang, err := templatePath(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if err := n.DeleteTemplate(r.Context(), org, e, ch, lang); err != nil {
			s.error(w, r, fmt.Errorf("delete template: %w", err))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *server) handleNotificationTemplatePreview() http.Handler {
	return s.withNotify(func(w http.ResponseWriter, r *http.Request, n *notify.Service, org string) {
		var in notify.PreviewInput
		if err := s.decodeJSON(w, r, &in, false); err != nil {
			s.error(w, r, err)
			return
		}
		var p rendezvous.Problems
		if _, err := notify.ParseEvent(string(in.Event)); err != nil {
			p.Add("event", "%v", err)
		}
		if _, err := notify.ParseChannel(string(in.Channel)); err != nil {
			p.Add("channel", "%v", err)
		}
		if err := p.Err(); err != nil {
			s.error(w, r, err)
			return
		}
		v, err := n.Preview(r.Context(), org, in)
		if err != nil {
			s.error(w, r, fmt.Errorf("preview template: %w", err))
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

type deliveriesJSON struct {
	Items []notify.DeliveryView `json:"items"`
}

func (s *server) handleAppointmentNotifications() http.Handler {
	return s.withNotify(func(w http.ResponseWriter, r *http.Request, n *notify.Service, org string) {
		id, err := pathID(r, "id")
		if err != nil {
			s.error(w, r, err)
			return
		}
		ds, err := n.Deliveries(r.Context(), org, id)
		if err != nil {
			s.error(w, r, fmt.Errorf("delivery log: %w", err))
			return
		}
		writeJSON(w, http.StatusOK, deliveriesJSON{Items: ds})
	})
}

func (s *server) handleAppointmentNotificationRetry() http.Handler {
	return s.withNotify(func(w http.ResponseWriter, r *http.Request, n *notify.Service, org string) {
		id, err := pathID(r, "id")
		if err != nil {
			s.error(w, r, err)
			return
		}
		deliveryID, err := pathID(r, "deliveryId")
		if err != nil {
			s.error(w, r, err)
			return
		}
		d, err := n.Retry(r.Context(), org, id, deliveryID)
		if err != nil {
			s.error(w, r, fmt.Errorf("retry delivery: %w", err))
			return
		}
		writeJSON(w, http.StatusAccepted, d)
	})
}

// handleCalendar serves the customer's .ics file. It is public like the link it hangs
// off: the token in the path is the credential.
func (s *server) handleCalendar() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Notify == nil {
			s.notifyMissing(w, r)
			return
		}
		token := r.PathValue("token")
		err := rendezvous.ErrNotFound
		var b []byte
		if rendezvous.IsLinkToken(token) { // anything else cannot exist: no database round trip
			b, err = s.Notify.Calendar(r.Context(), token)
		}
		if errors.Is(err, rendezvous.ErrNotFound) {
			// Counted like a miss on the customer's page: one budget per client for every
			// route that takes a link token.
			if blocked, wait := s.LinkGuard.Miss(r, s.clock.Now()); blocked {
				w.Header().Set("Retry-After", linkguard.RetryAfter(wait))
				http.Error(w, "Too many unknown links were tried from your network; wait a minute.", http.StatusTooManyRequests)
				return
			}
			http.Error(w, "This appointment link is not known.", http.StatusNotFound)
			return
		}
		if err != nil {
			s.error(w, r, fmt.Errorf("calendar file: %w", err))
			return
		}
		w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="appointment.ics"`)
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b)
	})
}

func (s *server) handleAppointmentNotificationChannelsGet() http.Handler {
	return s.withNotify(func(w http.ResponseWriter, r *http.Request, n *notify.Service, org string) {
		id, err := pathID(r, "id")
		if err != nil {
			s.error(w, r, err)
			return
		}
		c, err := n.AppointmentChannels(r.Context(), org, id)
		if err != nil {
			s.error(w, r, fmt.Errorf("channel choices: %w", err))
			return
		}
		writeJSON(w, http.StatusOK, c)
	})
}

// handleAppointmentNotificationChannelsPut sets which channels an appointment uses; its
// reminders and follow-ups are planned again for them.
func (s *server) handleAppointmentNotificationChannelsPut() http.Handler {
	return s.withNotify(func(w http.ResponseWriter, r *http.Request, n *notify.Service, org string) {
		id, err := pathID(r, "id")
		if err != nil {
			s.error(w, r, err)
			return
		}
		c, err := n.AppointmentChannels(r.Context(), org, id)
		if err != nil {
			s.error(w, r, fmt.Errorf("channel choices: %w", err))
			return
		}
		if err := s.decodeJSON(w, r, &c, false); err != nil {
			s.error(w, r, err)
			return
		}
		saved, err := n.PutAppointmentChannels(r.Context(), org, id, c)
		if err != nil {
			s.error(w, r, fmt.Errorf("save channel choices: %w", err))
			return
		}
		writeJSON(w, http.StatusOK, saved)
	})
}
