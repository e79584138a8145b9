package notify_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"rendezvous"
	"rendezvous/notify"
	"rendezvous/store"
	"rendezvous/store/storetest"
)

// problem asserts err is a validation error with a problem on field containing want.
func problem(t *testing.T, err error, field, want string) {
	t.Helper()
	var ve *rendezvous.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a validation error on %s", err, field)
	}
	for _, p := range ve.Problems {
		if p.Field == field && strings.Contains(p.Message, want) {
			return
		}
	}
	t.Fatalf("problems %+v lack %s: %q", ve.Problems, field, want)
}

func TestSMSSetupChecksAndVerification(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) { testSMSSetup(t, d) })
	}
}

func testSMSSetup(t *testing.T, dialect string) {
	e := newEnv(t, dialect)
	sms := e.demo.SMSClient
	ok := notify.ChannelInput{ClientID: sms.ID, ClientSecret: sms.Secret, FromNumber: e.demo.SMSNumber}

	// Failed checks: nothing is saved.
	bad := ok
	bad.ClientSecret = "wrong"
	_, err := e.svc.SaveChannel(e.ctx, e.org, notify.ChannelSMS, bad)
	problem(t, err, "clientSecret", "refused this client id and secret")
	bad = notify.ChannelInput{ClientID: e.demo.EmailClient.ID, ClientSecret: e.demo.EmailClient.Secret, FromNumber: e.demo.SMSNumber}
	_, err = e.svc.SaveChannel(e.ctx, e.org, notify.ChannelSMS, bad)
	problem(t, err, "clientId", "lacks the permission sms:phoneNumber:view")
	bad = ok
	bad.FromNumber = "+14155550123"
	_, err = e.svc.SaveChannel(e.ctx, e.org, notify.ChannelSMS, bad)
	problem(t, err, "fromNumber", "not in the organization's SMS number inventory; use one of "+e.demo.SMSNumber)
	if v, _ := e.svc.Channel(e.ctx, e.org, notify.ChannelSMS); v.Configured {
		t.Fatal("a failed check saved the channel")
	}

	v, err := e.svc.SaveChannel(e.ctx, e.org, notify.ChannelSMS, ok)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Configured || v.Verified || v.ClientSecretHint != "••••"+sms.Secret[len(sms.Secret)-4:] {
		t.Fatalf("after save: %+v", v)
	}
	b, _ := json.Marshal(v)
	if strings.Contains(string(b), sms.Secret) {
		t.Fatalf("the view shows the secret: %s", b)
	}
	// At rest the secret is sealed.
	row, err := e.st.NotifyChannel(e.ctx, e.org, "sms")
	if err != nil || strings.Contains(string(row.SecretSealed), sms.Secret) {
		t.Fatalf("secret stored in the clear (err %v)", err)
	}

	// Unverified channels send nothing: a booking plans no SMS.
	admin := "+4915112345678"
	if _, err := e.svc.ConfirmVerification(e.ctx, e.org, notify.ChannelSMS, "123456"); !errors.Is(err, rendezvous.ErrConflict) {
		t.Fatalf("confirm without a code: %v", err)
	}

	// Wrong code, then the right one.
	if _, err := e.svc.StartVerification(e.ctx, e.org, notify.ChannelSMS, admin, ""); err != nil {
		t.Fatal(err)
	}
	code := e.lastCode(admin)
	row, _ = e.st.NotifyChannel(e.ctx, e.org, "sms")
	if row.OTPHash == "" || strings.Contains(row.OTPHash, code) {
		t.Fatalf("otp not stored as a hash: %+v", row.OTPHash)
	}
	_, err = e.svc.ConfirmVerification(e.ctx, e.org, notify.ChannelSMS, wrong(code))
	problem(t, err, "code", "is wrong; 4 attempts left")
	v, err = e.svc.ConfirmVerification(e.ctx, e.org, notify.ChannelSMS, code)
	if err != nil || !v.Verified || v.VerifiedTo != "+491••••••••78" {
		t.Fatalf("confirm: %+v, %v", v, err)
	}

	// Saving the same values keeps the verification; a change clears it.
	same := ok
	same.ClientSecret = "" // kept
	if v, err := e.svc.SaveChannel(e.ctx, e.org, notify.ChannelSMS, same); err != nil || !v.Verified {
		t.Fatalf("re-save same: %+v, %v", v, err)
	}
	api := notify.ChannelInput{ClientID: e.demo.APIClient.ID, ClientSecret: e.demo.APIClient.Secret, FromNumber: e.demo.SMSNumber}
	if v, err := e.svc.SaveChannel(e.ctx, e.org, notify.ChannelSMS, api); err != nil || v.Verified {
		t.Fatalf("changed credentials kept verification: %+v, %v", v, err)
	}

	// Expiry.
	if _, err := e.svc.StartVerification(e.ctx, e.org, notify.ChannelSMS, admin, ""); err != nil {
		t.Fatal(err)
	}
	code = e.lastCode(admin)
	e.clk.Advance(notify.OTPLifetime + time.Second)
	_, err = e.svc.ConfirmVerification(e.ctx, e.org, notify.ChannelSMS, code)
	problem(t, err, "code", "has expired")

	// Lockout after five wrong codes: the right code no longer works, nor does a new one.
	if _, err := e.svc.StartVerification(e.ctx, e.org, notify.ChannelSMS, admin, ""); err != nil {
		t.Fatal(err)
	}
	code = e.lastCode(admin)
	for i := 1; i < notify.OTPMaxAttempts; i++ {
		_, err = e.svc.ConfirmVerification(e.ctx, e.org, notify.ChannelSMS, wrong(code))
		problem(t, err, "code", "is wrong")
	}
	if _, err := e.svc.ConfirmVerification(e.ctx, e.org, notify.ChannelSMS, wrong(code)); !errors.Is(err, rendezvous.ErrRateLimited) {
		t.Fatalf("fifth wrong code: %v", err)
	}
	if _, err := e.svc.ConfirmVerification(e.ctx, e.org, notify.ChannelSMS, code); !errors.Is(err, rendezvous.ErrRateLimited) {
		t.Fatalf("right code after lockout: %v", err)
	}
	sent := len(e.outbox(admin))
	if _, err := e.svc.StartVerification(e.ctx, e.org, notify.ChannelSMS, admin, ""); !errors.Is(err, rendezvous.ErrRateLimited) || len(e.outbox(admin)) != sent {
		t.Fatalf("new code during lockout: %v", err)
	}
	e.clk.Advance(notify.OTPLockout + time.Second)
	if _, err := e.svc.StartVerification(e.ctx, e.org, notify.ChannelSMS, admin, ""); err != nil {
		t.Fatalf("after lockout: %v", err)
	}
	if v, err := e.svc.ConfirmVerification(e.ctx, e.org, notify.ChannelSMS, e.lastCode(admin)); err != nil || !v.Verified {
		t.Fatalf("verify after lockout: %+v %v", v, err)
	}
}

func wrong(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

func TestEmailSetupChecksAndVerification(t *testing.T) {
	e := newEnv(t, store.SQLite)
	em := e.demo.EmailClient
	ok := notify.ChannelInput{ClientID: em.ID, ClientSecret: em.Secret, Domain: e.demo.EmailDomain, SenderLocalPart: "no-reply", SenderName: "Acme Bank"}
	bad := ok
	bad.Domain = "mail.unknown.example"
	_, err := e.svc.SaveChannel(e.ctx, e.org, notify.ChannelEmail, bad)
	problem(t, err, "domain", "is not an outbound email domain of the organization; use one of "+e.demo.EmailDomain)
	bad = notify.ChannelInput{ClientID: e.demo.SMSClient.ID, ClientSecret: e.demo.SMSClient.Secret, Domain: e.demo.EmailDomain, SenderLocalPart: "no-reply"}
	_, err = e.svc.SaveChannel(e.ctx, e.org, notify.ChannelEmail, bad)
	problem(t, err, "clientId", "lacks the permission routing:email:manage")
	bad = ok
	bad.ClientSecret = "nope"
	_, err = e.svc.SaveChannel(e.ctx, e.org, notify.ChannelEmail, bad)
	problem(t, err, "clientSecret", "refused")
	bad = ok
	bad.SenderLocalPart = ""
	_, err = e.svc.SaveChannel(e.ctx, e.org, notify.ChannelEmail, bad)
	problem(t, err, "senderLocalPart", "is required")

	v, err := e.svc.SaveChannel(e.ctx, e.org, notify.ChannelEmail, ok)
	if err != nil || v.FromAddress != "no-reply@"+e.demo.EmailDomain || v.Verified {
		t.Fatalf("save: %+v %v", v, err)
	}
	admin := "admin@acme.example"
	if _, err := e.svc.StartVerification(e.ctx, e.org, notify.ChannelEmail, admin, ""); err != nil {
		t.Fatal(err)
	}
	msgs := e.outbox(admin)
	if len(msgs) != 1 || msgs[0].From != "no-reply@"+e.demo.EmailDomain || msgs[0].FromName != "Acme Bank" {
		t.Fatalf("verification email: %+v", msgs)
	}
	_, err = e.svc.ConfirmVerification(e.ctx, e.org, notify.ChannelEmail, wrong(e.lastCode(admin)))
	problem(t, err, "code", "4 attempts left")
	if v, err := e.svc.ConfirmVerification(e.ctx, e.org, notify.ChannelEmail, e.lastCode(admin)); err != nil || !v.Verified || v.VerifiedTo != "a•••@acme.example" {
		t.Fatalf("confirm: %+v %v", v, err)
	}
	// A new sender clears the verification.
	ok.ClientSecret, ok.SenderLocalPart = "", "appointments"
	if v, err := e.svc.SaveChannel(e.ctx, e.org, notify.ChannelEmail, ok); err != nil || v.Verified {
		t.Fatalf("sender change: %+v %v", v, err)
	}
}
