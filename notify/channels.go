package notify

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"rendezvous/store"
)

// AppointmentChannels are an appointment's own channel choices: a customer who asked for
// email only gets no SMS. They narrow the organization's verified channels; an appointment
// without choices uses every verified channel.
type AppointmentChannels struct {
	SMS   bool `json:"sms"`
	Email bool `json:"email"`
}

func (c AppointmentChannels) allows(ch Channel) bool {
	if ch == ChannelSMS {
		return c.SMS
	}
	return c.Email
}

// AppointmentChannels returns an appointment's channel choices.
func (s *Service) AppointmentChannels(ctx context.Context, orgID, appointmentID string) (AppointmentChannels, error) {
	if _, err := s.st.Appointment(ctx, orgID, appointmentID); err != nil {
		return AppointmentChannels{}, err
	}
	return s.appointmentChannels(ctx, orgID, appointmentID)
}

func (s *Service) appointmentChannels(ctx context.Context, orgID, appointmentID string) (AppointmentChannels, error) {
	sms, email, _, err := s.st.NotifyAppointmentChannels(ctx, orgID, appointmentID)
	if err != nil {
		return AppointmentChannels{}, err
	}
	return AppointmentChannels{SMS: sms, Email: email}, nil
}

// PutAppointmentChannels saves an appointment's channel choices and, in the same
// transaction, queues a re-plan of its reminders and follow-ups for the channels now
// chosen. Messages already due for a channel switched off are skipped when they run.
func (s *Service) PutAppointmentChannels(ctx context.Context, orgID, appointmentID string, c AppointmentChannels) (AppointmentChannels, error) {
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		a, err := tx.AppointmentInTx(ctx, orgID, appointmentID)
		if err != nil {
			return err
		}
		if err := tx.PutNotifyAppointmentChannels(ctx, orgID, appointmentID, c.SMS, c.Email); err != nil {
			return err
		}
		return tx.Enqueue(ctx, store.Job{OrgID: orgID, Kind: EventJobKind,
			Args: eventArgs{EventArgs: store.EventArgs{AppointmentID: a.ID, Event: "updated", Version: a.Version}, Revision: uuid.NewString()[:8]}})
	})
	if err != nil {
		return AppointmentChannels{}, fmt.Errorf("channel choices of %s: %w", appointmentID, err)
	}
	return c, nil
}
