package journey

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"rendezvous/i18n"
)

// lang holds the words of the customer's page in one language. Dates are written by hand
// from the shared i18n calendars because the standard library formats only English names.
type lang struct {
	Tag  string
	Text map[string]string
}

var langs = map[string]*lang{
	"en": {
		Tag: "en",
		Text: map[string]string{
			"title":              "Your video appointment",
			"at":                 "at",
			"zone":               "Time zone",
			"startsIn":           "Starts in",
			"waitingIntro":       "You are in the waiting room. This page moves on by itself when your appointment starts; keep it open.",
			"notYetIntro":        "The waiting room opens before your appointment. Come back closer to the time.",
			"opensAt":            "The waiting room opens",
			"connecting":         "Connecting you…",
			"waiting_agent":      "Waiting for your agent…",
			"agent_joined":       "Your agent has joined.",
			"starting":           "Your appointment is starting…",
			"room_waiting_agent": "Your agent has answered and is joining the video call…",
			"checkTitle":         "Check your camera and microphone",
			"checkIntro":         "Try them now, so the call starts smoothly. Your browser will ask for permission; nothing is recorded or sent.",
			"checkButton":        "Check camera and microphone",
			"checkLevel":         "Microphone level",
			"checkOK":            "Your camera and microphone work.",
			"checkNoCamera":      "Your microphone works, but no camera was found. The agent will hear you without seeing you.",
			"checkDenied":        "The browser could not use your camera or microphone. Allow them in your browser's site settings, then try again.",
			"checkSilent":        "We cannot hear anything yet: check that your microphone is on and not muted.",
			"cancelledTitle":     "This appointment was cancelled",
			"endedTitle":         "This appointment has ended",
			"endedBody":          "Thank you. This link can no longer be used.",
			"tooLateTitle":       "This appointment is over",
			"tooLateBody":        "The time for this appointment has passed. Please book a new appointment.",
			"notFoundTitle":      "Link not found",
			"notFoundBody":       "This link does not work. Check that you copied all of it from your message.",
			"slowDownTitle":      "Too many attempts",
			"slowDownBody":       "Please wait a minute before trying again.",
			"offline":            "Connection lost, reconnecting…",
			"langFallback":       "This page is not available in %s, so it is shown in English.",
			"days":               "d",
		},
	},
	"de": {
		Tag: "de",
		Text: map[string]string{
			"title":              "Ihr Videotermin",
			"at":                 "um",
			"zone":               "Zeitzone",
			"startsIn":           "Beginnt in",
			"waitingIntro":       "Sie sind im Warteraum. Diese Seite geht zu Terminbeginn von selbst weiter; lassen Sie sie geöffnet.",
			"notYetIntro":        "Der Warteraum öffnet vor Ihrem Termin. Kommen Sie näher am Termin wieder.",
			"opensAt":            "Der Warteraum öffnet",
			"connecting":         "Verbindung wird hergestellt…",
			"waiting_agent":      "Warten auf Ihre Beraterin oder Ihren Berater…",
			"agent_joined":       "Ihre Beraterin oder Ihr Berater ist da.",
			"starting":           "Ihr Termin beginnt…",
			"room_waiting_agent": "Ihre Ansprechperson hat angenommen und kommt gleich in den Videoanruf…",
			"checkTitle":         "Kamera und Mikrofon prüfen",
			"checkIntro":         "Probieren Sie beides jetzt aus, damit der Anruf reibungslos beginnt. Ihr Browser fragt um Erlaubnis; nichts wird aufgezeichnet oder gesendet.",
			"checkButton":        "Kamera und Mikrofon prüfen",
			"checkLevel":         "Mikrofonpegel",
			"checkOK":            "Ihre Kamera und Ihr Mikrofon funktionieren.",
			"checkNoCamera":      "Ihr Mikrofon funktioniert, aber es wurde keine Kamera gefunden. Man wird Sie hören, aber nicht sehen.",
			"checkDenied":        "Der Browser konnte Kamera oder Mikrofon nicht verwenden. Erlauben Sie beides in den Website-Einstellungen Ihres Browsers und versuchen Sie es erneut.",
			"checkSilent":        "Wir hören noch nichts: Prüfen Sie, ob Ihr Mikrofon eingeschaltet und nicht stummgeschaltet ist.",
			"cancelledTitle":     "Dieser Termin wurde abgesagt",
			"endedTitle":         "Dieser Termin ist beendet",
			"endedBody":          "Vielen Dank. Dieser Link kann nicht mehr verwendet werden.",
			"tooLateTitle":       "Dieser Termin ist vorbei",
			"tooLateBody":        "Die Zeit für diesen Termin ist abgelaufen. Bitte buchen Sie einen neuen Termin.",
			"notFoundTitle":      "Link nicht gefunden",
			"notFoundBody":       "Dieser Link funktioniert nicht. Prüfen Sie, ob Sie ihn vollständig aus Ihrer Nachricht kopiert haben.",
			"slowDownTitle":      "Zu viele Versuche",
			"slowDownBody":       "Bitte warten Sie eine Minute und versuchen Sie es dann erneut.",
			"offline":            "Verbindung unterbrochen, neuer Versuch…",
			"langFallback":       "Diese Seite gibt es nicht auf %s, daher wird sie auf Deutsch angezeigt.",
			"days":               "T",
		},
	},
	"el": {
		Tag: "el",
		Text: map[string]string{
			"title":              "Το ραντεβού σας μέσω βίντεο",
			"at":                 "στις",
			"zone":               "Ζώνη ώρας",
			"startsIn":           "Ξεκινά σε",
			"waitingIntro":       "Βρίσκεστε στην αίθουσα αναμονής. Η σελίδα θα προχωρήσει μόνη της όταν ξεκινήσει το ραντεβού σας· κρατήστε την ανοιχτή.",
			"notYetIntro":        "Η αίθουσα αναμονής ανοίγει πριν από το ραντεβού σας. Επιστρέψτε πιο κοντά στην ώρα.",
			"opensAt":            "Η αίθουσα αναμονής ανοίγει",
			"connecting":         "Γίνεται σύνδεση…",
			"waiting_agent":      "Αναμονή για τον εκπρόσωπό σας…",
			"agent_joined":       "Ο εκπρόσωπός σας συνδέθηκε.",
			"starting":           "Το ραντεβού σας ξεκινά…",
			"room_waiting_agent": "Ο εκπρόσωπός σας απάντησε και συνδέεται στη βιντεοκλήση…",
			"checkTitle":         "Έλεγχος κάμερας και μικροφώνου",
			"checkIntro":         "Δοκιμάστε τα τώρα, ώστε η κλήση να ξεκινήσει χωρίς προβλήματα. Ο browser θα ζητήσει άδεια· τίποτα δεν καταγράφεται ούτε αποστέλλεται.",
			"checkButton":        "Έλεγχος κάμερας και μικροφώνου",
			"checkLevel":         "Ένταση μικροφώνου",
			"checkOK":            "Η κάμερα και το μικρόφωνό σας λειτουργούν.",
			"checkNoCamera":      "Το μικρόφωνό σας λειτουργεί, αλλά δεν βρέθηκε κάμερα. Θα σας ακούν χωρίς να σας βλέπουν.",
			"checkDenied":        "Ο browser δεν μπόρεσε να χρησιμοποιήσει την κάμερα ή το μικρόφωνο. Επιτρέψτε τα στις ρυθμίσεις ιστότοπου του browser και δοκιμάστε ξανά.",
			"checkSilent":        "Δεν ακούμε τίποτα ακόμη: ελέγξτε ότι το μικρόφωνο είναι ενεργό και όχι σε σίγαση.",
			"cancelledTitle":     "Το ραντεβού ακυρώθηκε",
			"endedTitle":         "Το ραντεβού ολοκληρώθηκε",
			"endedBody":          "Σας ευχαριστούμε. Ο σύνδεσμος δεν μπορεί πλέον να χρησιμοποιηθεί.",
			"tooLateTitle":       "Η ώρα του ραντεβού πέρασε",
			"tooLateBody":        "Ο χρόνος για αυτό το ραντεβού έληξε. Κλείστε νέο ραντεβού.",
			"notFoundTitle":      "Ο σύνδεσμος δεν βρέθηκε",
			"notFoundBody":       "Αυτός ο σύνδεσμος δεν λειτουργεί. Ελέγξτε ότι τον αντιγράψατε ολόκληρο από το μήνυμά σας.",
			"slowDownTitle":      "Πάρα πολλές προσπάθειες",
			"slowDownBody":       "Περιμένετε ένα λεπτό και δοκιμάστε ξανά.",
			"offline":            "Η σύνδεση χάθηκε, νέα προσπάθεια…",
			"langFallback":       "Η σελίδα δεν είναι διαθέσιμη στη γλώσσα %s, γι' αυτό εμφανίζεται στα ελληνικά.",
			"days":               "ημ.",
		},
	},
}

var langMatcher = language.NewMatcher([]language.Tag{language.English, language.German, language.Greek})

// pickLang chooses the page's language: the customer's language from the appointment
// first, then the browser's Accept-Language, then English.
func pickLang(preferred, acceptLanguage string) *lang {
	l, _ := chooseLang(preferred, acceptLanguage, "")
	return l
}

// chooseLang chooses the page's language: the customer's language from the appointment
// when the pages offer it; else the browser's Accept-Language, the organization's default
// language (orgDefault), then English. When the customer's own language is not offered it
// also returns a note, in the chosen language, that says so: a customer who asked for
// French should see why the page is in English, not be silently given it.
func chooseLang(preferred, acceptLanguage, orgDefault string) (*lang, string) {
	offered := func(tags ...language.Tag) (*lang, bool) {
		if len(tags) == 0 {
			return nil, false
		}
		_, i, conf := langMatcher.Match(tags...)
		if conf == language.No {
			return nil, false
		}
		return langs[[]string{"en", "de", "el"}[i]], true
	}
	pref, err := language.Parse(preferred)
	hasPref := err == nil && preferred != ""
	if hasPref {
		if l, ok := offered(pref); ok {
			return l, ""
		}
	}
	al, _, _ := language.ParseAcceptLanguage(acceptLanguage)
	l, ok := offered(al...)
	if !ok {
		if t, err := language.Parse(orgDefault); err == nil && orgDefault != "" {
			l, ok = offered(t)
		}
	}
	if !ok {
		l = langs["en"]
	}
	if !hasPref {
		return l, ""
	}
	return l, fmt.Sprintf(l.t("langFallback"), display.Self.Name(pref))
}

// orgLanguage is the organization's default language for customers, or "".
func (s *Service) orgLanguage(ctx context.Context, orgID string) string {
	if s.o.OrgLanguage == nil {
		return ""
	}
	return s.o.OrgLanguage(ctx, orgID)
}

// date writes t's calendar date in the language, e.g. "Tuesday, November 24, 2026", as
// the messages do (i18n.FormatDate).
func (l *lang) date(t time.Time) string { return i18n.FormatDate(t, l.Tag) }

// clock writes t's time of day as the language reads it ("2:30 PM", "14:30").
func (l *lang) clock(t time.Time) string { return i18n.FormatClock(t, l.Tag) }

// clockZone is clock with the zone's abbreviation or offset at t ("1:30 AM EDT"), which
// tells apart the two 01:30s of the night the clocks go back.
func (l *lang) clockZone(t time.Time) string { return l.clock(t) + " " + i18n.ZoneAbbr(t, l.Tag) }

// zone names a zone as people know it in the language ("Eastern Time").
func (l *lang) zone(name string) string { return i18n.ZoneName(name, l.Tag) }

func (l *lang) t(key string) string {
	if s, ok := l.Text[key]; ok {
		return s
	}
	return langs["en"].Text[key]
}
