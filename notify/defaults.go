package notify

import (
	"fmt"
	"html"
	"strings"
	"time"
)

// DefaultLanguage is the language used when no template matches the customer's.
const DefaultLanguage = "en"

// Languages lists the languages Rendezvous ships default templates in.
func Languages() []string { return []string{"en", "de", "el"} }

// emailBodyTag opens the body of every default email; brand puts the organization's band
// right after it.
const emailBodyTag = `<body style="font-family: sans-serif; line-height: 1.5">`

// emailHTML wraps a body in the minimal HTML every default email uses.
func emailHTML(body string) string {
	return `<!doctype html><html>` + emailBodyTag + body + `</body></html>`
}

// defaultBrandColor is the band's colour when the organization chose none.
const defaultBrandColor = "#2457c5"

// brand dresses a default email's HTML in the organization's colours: a band with its logo
// (when set) and name above the message, and links in its colour. Inline styles only,
// which is what email clients keep. Custom templates are left as their authors wrote them.
func brand(htmlBody, orgName string, set Settings) string {
	if !strings.Contains(htmlBody, emailBodyTag) {
		return htmlBody
	}
	color := set.BrandColor
	if color == "" {
		color = defaultBrandColor
	}
	band := `<div style="border-top: 6px solid ` + color + `; padding: 12px 0 8px; margin-bottom: 12px; border-bottom: 1px solid #dde2ec">`
	if set.LogoURL != "" {
		band += `<img src="` + html.EscapeString(set.LogoURL) + `" alt="" height="40" style="height: 40px; vertical-align: middle; margin-right: 10px">`
	}
	band += `<strong style="font-size: 18px; vertical-align: middle; color: ` + color + `">` + html.EscapeString(orgName) + `</strong></div>`
	out := strings.Replace(htmlBody, emailBodyTag, emailBodyTag+band, 1)
	return strings.ReplaceAll(out, `<a href=`, `<a style="color: `+color+`" href=`)
}

// DefaultTemplate returns the built-in template of an event and channel in lang, and
// false when Rendezvous ships none in that language.
func DefaultTemplate(e Event, ch Channel, lang string) (Template, bool) {
	t, ok := defaultTemplates[lang][e][ch]
	return t, ok
}

type templateSet map[Event]map[Channel]Template

// defaultTemplates are the built-in templates by language, built once: every message
// rendered looks them up.
var defaultTemplates = map[string]templateSet{
	"en": {
		EventCreated: {
			ChannelSMS: {Text: "Hi {customerName}, your video appointment with {orgName} is booked for {date} at {time}. Join here: {link}"},
			ChannelEmail: {
				Subject: "Your video appointment on {date}",
				Text:    "Hello {customerName},\n\nYour video appointment with {agentName} of {orgName} is booked for {date} at {time} ({duration}).\n\nJoin at the appointment time: {link}\nAdd it to your calendar: {calendarLink}\nNeed another time? {rescheduleLink}\nCancel: {cancelLink}\n",
				HTML: emailHTML(`<p>Hello {customerName},</p><p>Your video appointment with {agentName} of {orgName} is booked for <strong>{date} at {time}</strong> ({duration}).</p>` +
					`<p><a href="{link}">Join your appointment</a> at the appointment time.</p>` +
					`<p><a href="{calendarLink}">Add to calendar</a> · <a href="{rescheduleLink}">Choose another time</a> · <a href="{cancelLink}">Cancel</a></p>`),
			},
		},
		EventRescheduled: {
			ChannelSMS: {Text: "Hi {customerName}, your video appointment with {orgName} has changed: {changes}. Join here: {link}"},
			ChannelEmail: {
				Subject: "Your video appointment has changed: {date} at {time}",
				Text:    "Hello {customerName},\n\nYour video appointment with {orgName} has changed: {changes}.\n\nIt is now on {date} at {time} ({duration}) with {agentName}.\n\nJoin at that time: {link}\nUpdate your calendar: {calendarLink}\n",
				HTML: emailHTML(`<p>Hello {customerName},</p><p>Your video appointment with {orgName} has changed: {changes}.</p><p>It is now on <strong>{date} at {time}</strong> ({duration}) with {agentName}.</p>` +
					`<p><a href="{link}">Join your appointment</a> at that time.</p><p><a href="{calendarLink}">Update your calendar</a></p>`),
			},
		},
		EventCancelled: {
			ChannelSMS: {Text: "Hi {customerName}, your video appointment with {orgName} on {date} at {time} has been cancelled."},
			ChannelEmail: {
				Subject: "Your video appointment on {date} is cancelled",
				Text:    "Hello {customerName},\n\nYour video appointment with {orgName} on {date} at {time} has been cancelled.\n\nRemove it from your calendar: {calendarLink}\n",
				HTML: emailHTML(`<p>Hello {customerName},</p><p>Your video appointment with {orgName} on <strong>{date} at {time}</strong> has been cancelled.</p>` +
					`<p><a href="{calendarLink}">Remove it from your calendar</a></p>`),
			},
		},
		EventReminder: {
			ChannelSMS: {Text: "Reminder: your video appointment with {orgName} is on {date} at {time}. Join here: {link}"},
			ChannelEmail: {
				Subject: "Reminder: your video appointment on {date} at {time}",
				Text:    "Hello {customerName},\n\nA reminder of your video appointment with {agentName} of {orgName} on {date} at {time}.\n\nJoin here: {link}\nNeed another time? {rescheduleLink}\n",
				HTML: emailHTML(`<p>Hello {customerName},</p><p>A reminder of your video appointment with {agentName} of {orgName} on <strong>{date} at {time}</strong>.</p>` +
					`<p><a href="{link}">Join your appointment</a> · <a href="{rescheduleLink}">Choose another time</a></p>`),
			},
		},
		EventFollowUp: {
			ChannelSMS: {Text: "Thank you for meeting {orgName} today, {customerName}. We hope we could help."},
			ChannelEmail: {
				Subject: "Thank you for your video appointment",
				Text:    "Hello {customerName},\n\nThank you for meeting {agentName} of {orgName} today. We hope we could help.\n",
				HTML:    emailHTML(`<p>Hello {customerName},</p><p>Thank you for meeting {agentName} of {orgName} today. We hope we could help.</p>`),
			},
		},
	},
	"de": {
		EventCreated: {
			ChannelSMS: {Text: "Hallo {customerName}, Ihr Videotermin bei {orgName} ist gebucht: {date} um {time}. Teilnehmen: {link}"},
			ChannelEmail: {
				Subject: "Ihr Videotermin am {date}",
				Text:    "Hallo {customerName},\n\nIhr Videotermin mit {agentName} von {orgName} ist gebucht: {date} um {time} ({duration}).\n\nZum Termin: {link}\nIn den Kalender: {calendarLink}\nAnderen Termin wählen: {rescheduleLink}\nAbsagen: {cancelLink}\n",
				HTML: emailHTML(`<p>Hallo {customerName},</p><p>Ihr Videotermin mit {agentName} von {orgName} ist gebucht: <strong>{date} um {time}</strong> ({duration}).</p>` +
					`<p><a href="{link}">Zum Termin</a></p>` +
					`<p><a href="{calendarLink}">In den Kalender</a> · <a href="{rescheduleLink}">Anderen Termin wählen</a> · <a href="{cancelLink}">Absagen</a></p>`),
			},
		},
		EventRescheduled: {
			ChannelSMS: {Text: "Hallo {customerName}, Ihr Videotermin bei {orgName} hat sich geändert: {changes}. Teilnehmen: {link}"},
			ChannelEmail: {
				Subject: "Ihr Videotermin hat sich geändert: {date} um {time}",
				Text:    "Hallo {customerName},\n\nIhr Videotermin bei {orgName} hat sich geändert: {changes}.\n\nEr findet jetzt am {date} um {time} statt ({duration}), mit {agentName}.\n\nZum Termin: {link}\nKalender aktualisieren: {calendarLink}\n",
				HTML: emailHTML(`<p>Hallo {customerName},</p><p>Ihr Videotermin bei {orgName} hat sich geändert: {changes}.</p><p>Er findet jetzt am <strong>{date} um {time}</strong> statt ({duration}), mit {agentName}.</p>` +
					`<p><a href="{link}">Zum Termin</a></p><p><a href="{calendarLink}">Kalender aktualisieren</a></p>`),
			},
		},
		EventCancelled: {
			ChannelSMS: {Text: "Hallo {customerName}, Ihr Videotermin bei {orgName} am {date} um {time} wurde abgesagt."},
			ChannelEmail: {
				Subject: "Ihr Videotermin am {date} wurde abgesagt",
				Text:    "Hallo {customerName},\n\nIhr Videotermin bei {orgName} am {date} um {time} wurde abgesagt.\n\nAus dem Kalender entfernen: {calendarLink}\n",
				HTML: emailHTML(`<p>Hallo {customerName},</p><p>Ihr Videotermin bei {orgName} am <strong>{date} um {time}</strong> wurde abgesagt.</p>` +
					`<p><a href="{calendarLink}">Aus dem Kalender entfernen</a></p>`),
			},
		},
		EventReminder: {
			ChannelSMS: {Text: "Erinnerung: Ihr Videotermin bei {orgName} ist am {date} um {time}. Teilnehmen: {link}"},
			ChannelEmail: {
				Subject: "Erinnerung: Ihr Videotermin am {date} um {time}",
				Text:    "Hallo {customerName},\n\nwir erinnern Sie an Ihren Videotermin mit {agentName} von {orgName} am {date} um {time}.\n\nZum Termin: {link}\nAnderen Termin wählen: {rescheduleLink}\n",
				HTML: emailHTML(`<p>Hallo {customerName},</p><p>wir erinnern Sie an Ihren Videotermin mit {agentName} von {orgName} am <strong>{date} um {time}</strong>.</p>` +
					`<p><a href="{link}">Zum Termin</a> · <a href="{rescheduleLink}">Anderen Termin wählen</a></p>`),
			},
		},
		EventFollowUp: {
			ChannelSMS: {Text: "Danke für Ihren Termin bei {orgName}, {customerName}. Wir hoffen, wir konnten Ihnen helfen."},
			ChannelEmail: {
				Subject: "Danke für Ihren Videotermin",
				Text:    "Hallo {customerName},\n\ndanke für Ihren Termin mit {agentName} von {orgName}. Wir hoffen, wir konnten Ihnen helfen.\n",
				HTML:    emailHTML(`<p>Hallo {customerName},</p><p>danke für Ihren Termin mit {agentName} von {orgName}. Wir hoffen, wir konnten Ihnen helfen.</p>`),
			},
		},
	},
	// Greek avoids an article before {orgName} and {agentName}: their gender is unknown,
	// so the names stand after a colon or in parentheses.
	"el": {
		EventCreated: {
			ChannelSMS: {Text: "{orgName}: Γεια σας {customerName}, το ραντεβού σας μέσω βίντεο κλείστηκε για {date}, ώρα {time}. Σύνδεση: {link}"},
			ChannelEmail: {
				Subject: "Το ραντεβού σας μέσω βίντεο, {date}",
				Text:    "Γεια σας {customerName},\n\nΤο ραντεβού σας μέσω βίντεο κλείστηκε για {date}, ώρα {time} (διάρκεια: {duration}).\nΘα σας εξυπηρετήσει: {agentName} ({orgName})\n\nΣύνδεση την ώρα του ραντεβού: {link}\nΠροσθήκη στο ημερολόγιο: {calendarLink}\nΆλλη ώρα: {rescheduleLink}\nΑκύρωση: {cancelLink}\n",
				HTML: emailHTML(`<p>Γεια σας {customerName},</p><p>Το ραντεβού σας μέσω βίντεο κλείστηκε για <strong>{date}, ώρα {time}</strong> (διάρκεια: {duration}).<br>Θα σας εξυπηρετήσει: {agentName} ({orgName})</p>` +
					`<p><a href="{link}">Συνδεθείτε στο ραντεβού σας</a> την ώρα του ραντεβού.</p>` +
					`<p><a href="{calendarLink}">Προσθήκη στο ημερολόγιο</a> · <a href="{rescheduleLink}">Επιλογή άλλης ώρας</a> · <a href="{cancelLink}">Ακύρωση</a></p>`),
			},
		},
		EventRescheduled: {
			ChannelSMS: {Text: "{orgName}: Γεια σας {customerName}, το ραντεβού σας μέσω βίντεο άλλαξε: {changes}. Σύνδεση: {link}"},
			ChannelEmail: {
				Subject: "Το ραντεβού σας μέσω βίντεο άλλαξε: {date}, ώρα {time}",
				Text:    "Γεια σας {customerName},\n\nΤο ραντεβού σας μέσω βίντεο ({orgName}) άλλαξε: {changes}.\n\nΓίνεται πλέον {date}, ώρα {time} (διάρκεια: {duration}).\nΘα σας εξυπηρετήσει: {agentName} ({orgName})\n\nΣύνδεση την ώρα του ραντεβού: {link}\nΕνημέρωση ημερολογίου: {calendarLink}\n",
				HTML: emailHTML(`<p>Γεια σας {customerName},</p><p>Το ραντεβού σας μέσω βίντεο ({orgName}) άλλαξε: {changes}.</p><p>Γίνεται πλέον <strong>{date}, ώρα {time}</strong> (διάρκεια: {duration}).<br>Θα σας εξυπηρετήσει: {agentName} ({orgName})</p>` +
					`<p><a href="{link}">Συνδεθείτε στο ραντεβού σας</a> την ώρα του ραντεβού.</p><p><a href="{calendarLink}">Ενημέρωση ημερολογίου</a></p>`),
			},
		},
		EventCancelled: {
			ChannelSMS: {Text: "{orgName}: Γεια σας {customerName}, το ραντεβού σας μέσω βίντεο για {date}, ώρα {time}, ακυρώθηκε."},
			ChannelEmail: {
				Subject: "Ακύρωση του ραντεβού σας μέσω βίντεο, {date}",
				Text:    "Γεια σας {customerName},\n\nΤο ραντεβού σας μέσω βίντεο ({orgName}) για {date}, ώρα {time}, ακυρώθηκε.\n\nΑφαίρεση από το ημερολόγιο: {calendarLink}\n",
				HTML: emailHTML(`<p>Γεια σας {customerName},</p><p>Το ραντεβού σας μέσω βίντεο ({orgName}) για <strong>{date}, ώρα {time}</strong>, ακυρώθηκε.</p>` +
					`<p><a href="{calendarLink}">Αφαίρεση από το ημερολόγιο</a></p>`),
			},
		},
		EventReminder: {
			ChannelSMS: {Text: "{orgName}: Υπενθύμιση του ραντεβού σας μέσω βίντεο, {date}, ώρα {time}. Σύνδεση: {link}"},
			ChannelEmail: {
				Subject: "Υπενθύμιση: ραντεβού μέσω βίντεο, {date}, ώρα {time}",
				Text:    "Γεια σας {customerName},\n\nΣας υπενθυμίζουμε το ραντεβού σας μέσω βίντεο, {date}, ώρα {time}.\nΘα σας εξυπηρετήσει: {agentName} ({orgName})\n\nΣύνδεση: {link}\nΆλλη ώρα: {rescheduleLink}\n",
				HTML: emailHTML(`<p>Γεια σας {customerName},</p><p>Σας υπενθυμίζουμε το ραντεβού σας μέσω βίντεο, <strong>{date}, ώρα {time}</strong>.<br>Θα σας εξυπηρετήσει: {agentName} ({orgName})</p>` +
					`<p><a href="{link}">Συνδεθείτε στο ραντεβού σας</a> · <a href="{rescheduleLink}">Επιλογή άλλης ώρας</a></p>`),
			},
		},
		EventFollowUp: {
			ChannelSMS: {Text: "{orgName}: Σας ευχαριστούμε για το σημερινό ραντεβού, {customerName}. Ελπίζουμε να σας εξυπηρετήσαμε."},
			ChannelEmail: {
				Subject: "Σας ευχαριστούμε για το ραντεβού σας μέσω βίντεο",
				Text:    "Γεια σας {customerName},\n\nΣας ευχαριστούμε για το σημερινό ραντεβού ({agentName}, {orgName}). Ελπίζουμε να σας εξυπηρετήσαμε.\n",
				HTML:    emailHTML(`<p>Γεια σας {customerName},</p><p>Σας ευχαριστούμε για το σημερινό ραντεβού ({agentName}, {orgName}). Ελπίζουμε να σας εξυπηρετήσαμε.</p>`),
			},
		},
	},
}

// otpWords is the verification message per language: the code sentence (with %s for
// the code and %d for its lifetime in minutes, OTPLifetime), the email subject prefix and
// the email's closing instruction.
var otpWords = map[string][3]string{
	"en": {"Your Rendezvous verification code is %s. It expires in %d minutes.", "Rendezvous verification code", "Enter it in Rendezvous's email settings to finish the setup."},
	"de": {"Ihr Rendezvous-Bestätigungscode lautet %s. Er ist %d Minuten gültig.", "Rendezvous-Bestätigungscode", "Geben Sie ihn in den E-Mail-Einstellungen von Rendezvous ein, um die Einrichtung abzuschließen."},
	"el": {"Ο κωδικός επαλήθευσης Rendezvous είναι %s. Ισχύει για %d λεπτά.", "Κωδικός επαλήθευσης Rendezvous", "Πληκτρολογήστε τον στις ρυθμίσεις email του Rendezvous για να ολοκληρωθεί η ρύθμιση."},
}

// otpText is the verification message in the administrator's language (a BCP 47 tag;
// its base language is used), or English when Rendezvous has no words for it. The
// message goes to the administrator, not a customer, so no organization template applies.
func otpText(code string, ch Channel, lang string) Message {
	w, ok := otpWords[baseLanguage(lang)]
	if !ok {
		w = otpWords[DefaultLanguage]
	}
	minutes := int(OTPLifetime / time.Minute)
	text := fmt.Sprintf(w[0], code, minutes)
	if ch == ChannelSMS {
		return Message{Text: text}
	}
	return Message{
		Subject: w[1] + " " + code,
		Text:    text + "\n\n" + w[2] + "\n",
		HTML:    emailHTML("<p>" + fmt.Sprintf(html.EscapeString(w[0]), "<strong>"+code+"</strong>", minutes) + "</p><p>" + html.EscapeString(w[2]) + "</p>"),
	}
}
