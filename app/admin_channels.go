package app

// The SMS and email setup wizards (/app/admin/sms, /app/admin/email): credentials checked
// with Genesys Cloud, the sender picked from the organization's inventory, then a
// one-time-password test, then Done. Each step saves through the same notify.Service
// functions as the settings API (web/notify_api.go: SaveChannel, Inventory,
// StartVerification, ConfirmVerification), so the rules and the audit are the API's.
//
// The wizard keeps no state of its own: the step shown is derived from the stored channel
// (not configured, code pending, unverified, verified), so an administrator can leave and
// come back. A verified channel shows a summary with ways to go through a step again.

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"rendezvous"
	"rendezvous/auth"
	"rendezvous/notify"
)

// Wizard steps.
const (
	stepCredentials = "credentials"
	stepSender      = "sender"
	stepTest        = "test"
	stepDone        = "done"
)

// maxSetupField bounds what the wizard's fields accept; client ids and secrets are far
// shorter.
const maxSetupField = 500

// channelPage is the wizard page's own data.
type channelPage struct {
	Ch   notify.Channel
	Step string
	V    notify.ChannelView
	// Options are the numbers or domains of the organization's inventory.
	Options []string
	// What the administrator typed, kept when a step is shown again.
	ClientID, FromNumber, Domain, LocalPart, SenderName, To string
	Errors                                                  map[string]string
}

// Err returns the problem with a field, if any.
func (p *channelPage) Err(field string) string { return p.Errors[field] }

// Steps lists the wizard's steps for the step indicator.
func (p *channelPage) Steps() []string {
	return []string{stepCredentials, stepSender, stepTest, stepDone}
}

// Reached says whether step s is behind the current one (shown as done).
func (p *channelPage) Reached(s string) bool {
	return slices.Index(p.Steps(), s) < slices.Index(p.Steps(), p.Step)
}

// Pending says whether a code was sent and waits to be typed back.
func (p *channelPage) Pending() bool { return p.V.Verification != nil && p.V.Verification.To != "" }

// Locked says whether too many wrong codes stop new ones for now.
func (p *channelPage) Locked() bool {
	return p.V.Verification != nil && p.V.Verification.LockedUntil != nil
}

// OTPMinutes is how long a code is valid.
func (p *channelPage) OTPMinutes() int { return int(notify.OTPLifetime / time.Minute) }

// StepLabel names a step in the page's language.
func (v *view) StepLabel(ch notify.Channel, step string) string {
	switch step {
	case stepCredentials:
		return v.T("Credentials")
	case stepSender:
		if ch == notify.ChannelSMS {
			return v.T("Number")
		}
		return v.T("Domain and sender")
	case stepTest:
		return v.T("Test message")
	}
	return v.T("Done")
}

// ChannelName names a channel in the page's language.
func (v *view) ChannelName(ch notify.Channel) string {
	if ch == notify.ChannelSMS {
		return v.T("SMS")
	}
	return v.T("Email")
}

func (a *App) channelTitle(ch notify.Channel) string {
	if ch == notify.ChannelSMS {
		return "SMS setup"
	}
	return "Email setup"
}

// handleChannel serves GET /app/admin/{sms,email}: the step the stored channel is at, or
// the one asked for with ?step=.
func (a *App) handleChannel(ch notify.Channel) func(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	return func(w http.ResponseWriter, r *http.Request, s *auth.Session) {
		v := a.adminView(r, s, string(ch), a.channelTitle(ch))
		cv, err := a.o.Admin.Notify.Channel(r.Context(), s.User.OrgID, ch)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		p := &channelPage{Ch: ch, V: cv, Errors: map[string]string{}, ClientID: cv.ClientID}
		p.Step = r.URL.Query().Get("step")
		if !slices.Contains(p.Steps(), p.Step) || (!cv.Configured && p.Step != stepCredentials) || (p.Step == stepDone && !cv.Verified) {
			p.Step = derivedStep(cv)
		}
		if c, err := r.Cookie(otpToCookie(ch)); err == nil && storable(c.Value) {
			p.To = c.Value
		}
		switch r.URL.Query().Get("ok") {
		case "credentials":
			v.Flash = v.T("Genesys Cloud accepted the credentials. They are saved; the secret will not be shown again.")
		case "sender":
			v.Flash = v.T("Saved. Now send a test message.")
		case "sent":
			if p.Pending() {
				v.Flash = v.T("A code was sent to %s. Type it below.", p.V.Verification.To)
			}
		case "verified":
			v.Flash = v.T("Verified. Notifications now go out by SMS.")
			if ch == notify.ChannelEmail {
				v.Flash = v.T("Verified. Notifications now go out by email.")
			}
		}
		a.renderChannel(w, r, v, http.StatusOK, p)
	}
}

// derivedStep is where a channel's setup stands.
func derivedStep(cv notify.ChannelView) string {
	switch {
	case cv.Verification != nil && cv.Verification.To != "":
		return stepTest
	case !cv.Configured:
		return stepCredentials
	case !cv.Verified:
		return stepTest
	}
	return stepDone
}

// renderChannel shows the wizard; the sender step lists the inventory, read with the
// stored credentials.
func (a *App) renderChannel(w http.ResponseWriter, r *http.Request, v *view, status int, p *channelPage) {
	if p.Step == stepSender {
		if p.FromNumber == "" && p.Domain == "" && p.LocalPart == "" && p.SenderName == "" {
			p.FromNumber, p.Domain, p.LocalPart, p.SenderName = p.V.FromNumber, p.V.Domain, p.V.SenderLocalPart, p.V.SenderName
		}
		opts, err := a.o.Admin.Notify.Inventory(r.Context(), v.User().OrgID, p.Ch, p.V.ClientID, "")
		if err != nil && !setupProblems(v, p, err) {
			a.fail(w, r, err)
			return
		}
		p.Options = opts
		if p.Ch == notify.ChannelEmail {
			p.Options = domainsOnly(opts)
		}
	}
	v.Data = p
	a.render(w, r, status, "admin_channel", v)
}

// domainsOnly keeps the entries that look like domain names (Inventory lists a domain's
// id and its name when they differ).
func domainsOnly(opts []string) []string {
	var out []string
	for _, o := range opts {
		if strings.Contains(o, ".") && !strings.ContainsAny(o, " /") && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		return opts
	}
	return out
}

// readSetupForm reads the posted fields, refusing what cannot be stored or is too long
// before any of it reaches Genesys Cloud or the database.
func readSetupForm(v *view, r *http.Request, p *channelPage, fields ...string) {
	for _, f := range fields {
		val := r.PostForm.Get(f)
		if msg := setupFieldProblem(v.tr, val); msg != "" {
			p.Errors[f] = msg
			if f != "client_secret" {
				val = strings.ToValidUTF8(strings.ReplaceAll(val, "\x00", ""), "")
				if len(val) > maxSetupField {
					val = val[:maxSetupField]
				}
				val = strings.ToValidUTF8(val, "")
			}
		}
		switch f {
		case "client_id":
			p.ClientID = val
		case "from_number":
			p.FromNumber = val
		case "domain":
			p.Domain = val
		case "sender_local_part":
			p.LocalPart = val
		case "sender_name":
			p.SenderName = val
		case "to":
			p.To = val
		}
	}
}

// setupFieldProblem says what is wrong with a typed value that cannot be used at all.
func setupFieldProblem(t *tr, s string) string {
	switch {
	case !storable(s):
		return t.T("This contains characters that cannot be stored. Please retype it.")
	case len(s) > maxSetupField:
		return t.T("This is too long (up to %d characters).", maxSetupField)
	}
	return ""
}

// postChannel wraps the wizard's POST handlers: the form is read, the channel loaded.
func (a *App) postChannel(ch notify.Channel, h func(w http.ResponseWriter, r *http.Request, v *view, p *channelPage)) func(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	return func(w http.ResponseWriter, r *http.Request, s *auth.Session) {
		v := a.adminView(r, s, string(ch), a.channelTitle(ch))
		if err := r.ParseForm(); err != nil {
			var mb *http.MaxBytesError
			if !errors.As(err, &mb) {
				a.fail(w, r, err)
				return
			}
		}
		cv, err := a.o.Admin.Notify.Channel(r.Context(), s.User.OrgID, ch)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		h(w, r, v, &channelPage{Ch: ch, V: cv, Errors: map[string]string{}})
	}
}

// handleChannelCredentials serves POST /app/admin/{ch}/credentials: the client id and
// secret are checked with Genesys Cloud (a token, the permission to read the inventory)
// and saved with the stored sender when it is still in the inventory, else the first
// one, which the next step lets the administrator change. Nothing is sent yet.
func (a *App) handleChannelCredentials(ch notify.Channel) func(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	return a.postChannel(ch, func(w http.ResponseWriter, r *http.Request, v *view, p *channelPage) {
		p.Step = stepCredentials
		readSetupForm(v, r, p, "client_id", "client_secret")
		secret := r.PostForm.Get("client_secret")
		if len(p.Errors) > 0 {
			a.renderChannel(w, r, v, http.StatusUnprocessableEntity, p)
			return
		}
		ctx, org := r.Context(), v.User().OrgID
		have, err := a.o.Admin.Notify.Inventory(ctx, org, ch, p.ClientID, secret)
		if err != nil {
			if !setupProblems(v, p, err) {
				a.fail(w, r, err)
				return
			}
			a.renderChannel(w, r, v, http.StatusUnprocessableEntity, p)
			return
		}
		in := notify.ChannelInput{ClientID: p.ClientID, ClientSecret: secret}
		if ch == notify.ChannelSMS {
			in.FromNumber = p.V.FromNumber
			if !slices.Contains(have, in.FromNumber) && len(have) > 0 {
				in.FromNumber = have[0]
			}
			if len(have) == 0 {
				p.Errors["client_id"] = v.T("The credentials work, but the organization has no SMS number. Provision one in Genesys Cloud (Admin > Message > SMS Number Inventory), then try again.")
				a.renderChannel(w, r, v, http.StatusUnprocessableEntity, p)
				return
			}
		} else {
			in.Domain, in.SenderLocalPart, in.SenderName = p.V.Domain, p.V.SenderLocalPart, p.V.SenderName
			domains := domainsOnly(have)
			if !slices.Contains(have, in.Domain) && len(domains) > 0 {
				in.Domain = domains[0]
			}
			if in.SenderLocalPart == "" {
				in.SenderLocalPart = "no-reply"
			}
			if len(have) == 0 {
				p.Errors["client_id"] = v.T("The credentials work, but the organization has no outbound email domain. Add a campaign/agentless domain in Genesys Cloud (Admin > Email > Outbound domains), then try again.")
				a.renderChannel(w, r, v, http.StatusUnprocessableEntity, p)
				return
			}
		}
		if _, err := a.o.Admin.Notify.SaveChannel(ctx, org, ch, in); err != nil {
			if !setupProblems(v, p, err) {
				a.fail(w, r, err)
				return
			}
			a.renderChannel(w, r, v, http.StatusUnprocessableEntity, p)
			return
		}
		http.Redirect(w, r, "/app/admin/"+string(ch)+"?step=sender&ok=credentials", http.StatusSeeOther)
	})
}

// handleChannelSender serves POST /app/admin/{ch}/sender: the number, or the domain and
// sender, saved with the stored credentials.
func (a *App) handleChannelSender(ch notify.Channel) func(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	return a.postChannel(ch, func(w http.ResponseWriter, r *http.Request, v *view, p *channelPage) {
		p.Step = stepSender
		if !p.V.Configured {
			http.Redirect(w, r, "/app/admin/"+string(ch), http.StatusSeeOther)
			return
		}
		in := notify.ChannelInput{ClientID: p.V.ClientID}
		if ch == notify.ChannelSMS {
			readSetupForm(v, r, p, "from_number")
			in.FromNumber = p.FromNumber
		} else {
			readSetupForm(v, r, p, "domain", "sender_local_part", "sender_name")
			in.Domain, in.SenderLocalPart, in.SenderName = p.Domain, p.LocalPart, p.SenderName
		}
		if len(p.Errors) == 0 {
			_, err := a.o.Admin.Notify.SaveChannel(r.Context(), v.User().OrgID, ch, in)
			if err == nil {
				http.Redirect(w, r, "/app/admin/"+string(ch)+"?step=test&ok=sender", http.StatusSeeOther)
				return
			}
			if !setupProblems(v, p, err) {
				a.fail(w, r, err)
				return
			}
		}
		a.renderChannel(w, r, v, http.StatusUnprocessableEntity, p)
	})
}

func otpToCookie(ch notify.Channel) string { return "rdv_otp_to_" + string(ch) }

// handleChannelSendCode serves POST /app/admin/{ch}/code: a one-time password to the
// number or address typed. The address is kept in a short-lived cookie of this page only,
// so "send again" needs no retyping and it never appears in an address.
func (a *App) handleChannelSendCode(ch notify.Channel) func(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	return a.postChannel(ch, func(w http.ResponseWriter, r *http.Request, v *view, p *channelPage) {
		p.Step = stepTest
		readSetupForm(v, r, p, "to")
		if strings.TrimSpace(p.To) == "" && len(p.Errors) == 0 {
			if ch == notify.ChannelSMS {
				p.Errors["to"] = v.T("Enter a mobile number you have at hand, with the country code.")
			} else {
				p.Errors["to"] = v.T("Enter an email address you can read now.")
			}
		}
		if len(p.Errors) == 0 {
			_, err := a.o.Admin.Notify.StartVerification(r.Context(), v.User().OrgID, ch, p.To, v.Lang())
			if err == nil {
				http.SetCookie(w, &http.Cookie{Name: otpToCookie(ch), Value: p.To, Path: "/app/admin/" + string(ch), MaxAge: 3600,
					HttpOnly: true, Secure: r.TLS != nil || strings.HasPrefix(a.o.PublicURL, "https://"), SameSite: http.SameSiteStrictMode})
				http.Redirect(w, r, "/app/admin/"+string(ch)+"?step=test&ok=sent", http.StatusSeeOther)
				return
			}
			if !setupProblems(v, p, err) {
				a.fail(w, r, err)
				return
			}
		}
		a.renderChannel(w, r, v, http.StatusUnprocessableEntity, p)
	})
}

// handleChannelConfirm serves POST /app/admin/{ch}/confirm: the code typed back. A right
// one verifies the channel; a wrong one is refused with the attempts left.
func (a *App) handleChannelConfirm(ch notify.Channel) func(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	return a.postChannel(ch, func(w http.ResponseWriter, r *http.Request, v *view, p *channelPage) {
		p.Step = stepTest
		if c, err := r.Cookie(otpToCookie(ch)); err == nil && storable(c.Value) {
			p.To = c.Value
		}
		// People copy codes with spaces ("123 456"); the digits are what count.
		code := strings.Join(strings.Fields(r.PostForm.Get("code")), "")
		switch {
		case code == "":
			p.Errors["code"] = v.T("Type the %d-digit code from the message.", notify.OTPDigits)
		case !regexp.MustCompile(`^[0-9]{1,12}$`).MatchString(code):
			p.Errors["code"] = v.T("The code has %d digits and nothing else.", notify.OTPDigits)
		}
		if len(p.Errors) == 0 {
			_, err := a.o.Admin.Notify.ConfirmVerification(r.Context(), v.User().OrgID, ch, code)
			if err == nil {
				http.Redirect(w, r, "/app/admin/"+string(ch)+"?ok=verified", http.StatusSeeOther)
				return
			}
			if !setupProblems(v, p, err) {
				a.fail(w, r, err)
				return
			}
			// The attempt counted; show what is left.
			if cv, err := a.o.Admin.Notify.Channel(r.Context(), v.User().OrgID, ch); err == nil {
				p.V = cv
			}
		}
		a.renderChannel(w, r, v, http.StatusUnprocessableEntity, p)
	})
}

// setupProblems puts the service's problems beside the wizard's fields, in plain words in
// the page's language where the problem is a known one. It reports false for errors that
// are not the administrator's to fix.
func setupProblems(v *view, p *channelPage, err error) bool {
	var ve *rendezvous.ValidationError
	var de *rendezvous.DetailError
	switch {
	case errors.As(err, &ve):
		for _, fp := range ve.Problems {
			field := setupField(fp.Field)
			if _, ok := p.Errors[field]; !ok {
				p.Errors[field] = setupWords(v.tr, p.Ch, fp)
			}
		}
		return true
	case errors.Is(err, rendezvous.ErrRateLimited):
		if strings.Contains(err.Error(), "wrong code") {
			p.Errors["code"] = v.T("Too many wrong codes. This code no longer works; send a new one in 15 minutes.")
		} else {
			p.Errors["to"] = v.T("Genesys Cloud or Rendezvous is limiting requests right now. Wait a few minutes, then try again.")
		}
		return true
	case errors.As(err, &de) && errors.Is(err, rendezvous.ErrConflict):
		if strings.Contains(de.Detail, "No verification code") {
			p.Errors["code"] = v.T("No code is waiting to be typed. Send a code first.")
		} else {
			p.Errors["to"] = v.T("Save the credentials first.")
		}
		return true
	}
	return false
}

// setupField maps an API field name to the wizard's form field.
func setupField(f string) string {
	switch f {
	case "clientId":
		return "client_id"
	case "clientSecret":
		return "client_secret"
	case "fromNumber":
		return "from_number"
	case "senderLocalPart":
		return "sender_local_part"
	case "senderName":
		return "sender_name"
	}
	return f
}

var (
	lacksPermission = regexp.MustCompile(`lacks the permission ([A-Za-z]+(?::[A-Za-z]+)+(?: \(or [A-Za-z]+(?::[A-Za-z]+)+\))?)`)
	attemptsLeft    = regexp.MustCompile(`(\d+) attempts left`)
)

// setupWords is a service problem as the wizard says it. The service's words are precise
// and in English; the common cases are said again in the page's language, keeping the
// exact permission names, which Genesys Cloud shows in English too.
func setupWords(t *tr, ch notify.Channel, fp rendezvous.FieldProblem) string {
	m := fp.Message
	if perm := lacksPermission.FindStringSubmatch(m); perm != nil {
		return t.T("The OAuth client lacks the permission %s. In Genesys Cloud, add it to the client's role (Admin > Roles / Permissions), then try again.", perm[1])
	}
	switch {
	case strings.Contains(m, "refused this client id and secret"):
		return t.T("Genesys Cloud refused this client id and secret. Check that the OAuth client exists and uses the Client Credentials grant, and copy the secret again in full.")
	case fp.Field == "clientId" && strings.HasPrefix(m, "is required"):
		return t.T("Enter the client id of a Genesys Cloud OAuth client with the Client Credentials grant.")
	case fp.Field == "clientSecret" && strings.HasPrefix(m, "is required"):
		return t.T("Enter the client secret (needed when the client id changes).")
	case strings.HasPrefix(m, "could not check the credentials"):
		return t.T("Genesys Cloud could not be reached to check the credentials. Nothing was saved; try again in a moment.")
	case strings.Contains(m, "SMS number inventory, which is empty"):
		return t.T("The organization has no SMS number. Provision one in Genesys Cloud (Admin > Message > SMS Number Inventory), then try again.")
	case strings.Contains(m, "not in the organization's SMS number inventory"):
		return t.T("This number is not in the organization's SMS number inventory. Choose one from the list.")
	case strings.Contains(m, "not an outbound email domain"):
		return t.T("This is not an outbound email domain of the organization. Choose one from the list, or add it in Genesys Cloud (Admin > Email > Outbound domains).")
	case fp.Field == "senderLocalPart":
		return t.T("Enter the part before the @, for example no-reply.")
	case fp.Field == "senderName":
		return t.T("The display name must be one line of up to 100 characters.")
	case fp.Field == "fromNumber":
		return t.T("Choose a number from the organization's SMS number inventory.")
	case fp.Field == "to" && ch == notify.ChannelSMS && !strings.Contains(m, "Genesys"):
		return t.T("This is not a mobile number we can text. Write it with the country code, for example +30 691 234 5678.")
	case fp.Field == "to" && !strings.Contains(m, "Genesys"):
		return t.T("This is not an email address we can send to. Check it, for example maria@example.com.")
	case fp.Field == "code" && strings.Contains(m, "expired"):
		return t.T("This code has expired. Send a new code.")
	case fp.Field == "code":
		if n := attemptsLeft.FindStringSubmatch(m); n != nil {
			left, _ := strconv.Atoi(n[1])
			return t.T("This code is not right. Check the message and type it again (%d attempts left).", left)
		}
	}
	return m
}
