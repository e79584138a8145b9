package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"rendezvous"
)

// told is what a message told the customer about their appointment, recorded on the
// delivery when it goes (store.Tx.SetNotifyTold): a later change message compares the
// appointment with it to say what changed, or to say nothing when nothing did.
type told struct {
	Start           time.Time `json:"start"`
	DurationMinutes int       `json:"durationMinutes"`
	AgentUserID     string    `json:"agentUserId,omitempty"`
	TimeZone        string    `json:"timeZone"`
}

// toldOf is what a message about a tells.
func toldOf(a *rendezvous.Appointment) told {
	return told{Start: a.Start.UTC(), DurationMinutes: int(a.Duration / time.Minute), AgentUserID: a.AgentUserID, TimeZone: a.TimeZone}
}

func (t told) encode() string {
	b, _ := json.Marshal(t) // plain fields: cannot fail
	return string(b)
}

// decodeTold reads a recorded told; ok is false for ” (nothing told) or a bad record.
func decodeTold(s string) (t told, ok bool) {
	if s == "" {
		return told{}, false
	}
	return t, json.Unmarshal([]byte(s), &t) == nil
}

// changeSet is what differs, for the customer, between two tolds.
type changeSet struct {
	time, duration, agent bool
}

func (c changeSet) any() bool { return c.time || c.duration || c.agent }

// changesBetween compares what the customer was told with what is true now. A change of
// zone alone counts as a change of time: the customer reads another clock time.
func changesBetween(before, now told) changeSet {
	return changeSet{
		time:     !before.Start.Equal(now.Start) || before.TimeZone != now.TimeZone,
		duration: before.DurationMinutes != now.DurationMinutes,
		agent:    before.AgentUserID != now.AgentUserID,
	}
}

// changeText holds the phrases of a change message in one language.
type changeText struct {
	timeNow  string // new date, new time: when nothing was told before
	time     string // new date, new time, old date, old time
	duration string // new length, old length
	agent    string // new agent, old agent
	// agentOther says the agent changed when their names cannot be told apart (neither
	// could be looked up).
	agentOther string
	sep        string
}

// changeWords are the phrases of change messages per language.
var changeWords = map[string]changeText{
	"en": {"it is now on %s at %s", "it is now on %s at %s instead of %s at %s", "it now lasts %s instead of %s", "you will now meet %s instead of %s", "another agent will now meet you", "; "},
	"de": {"er findet jetzt am %s um %s statt", "er findet jetzt am %s um %s statt (bisher %s um %s)", "er dauert jetzt %s (bisher %s)", "Ihre Ansprechperson ist jetzt %s (bisher %s)", "eine andere Ansprechperson übernimmt Ihren Termin", "; "},
	"el": {"γίνεται πλέον %s, ώρα %s", "γίνεται πλέον %s, ώρα %s (αντί για %s, ώρα %s)", "διαρκεί πλέον %s (αντί για %s)", "θα σας εξυπηρετήσει πλέον: %s (αντί για: %s)", "θα σας εξυπηρετήσει άλλος εκπρόσωπος", "· "},
}

// describeChanges writes what changed in lang, for the {changes} variable. before is what
// the customer was told (ok false: nothing, so the time is all there is to say);
// agentName names an agent (a Genesys user id) in lang.
func describeChanges(before told, ok bool, a *rendezvous.Appointment, lang string, agentName func(id string) string) string {
	w, found := changeWords[baseLanguage(lang)]
	if !found {
		w = changeWords[DefaultLanguage]
	}
	start := a.Start.In(a.Location())
	if !ok {
		return fmt.Sprintf(w.timeNow, FormatDate(start, lang), FormatTime(start, lang))
	}
	c := changesBetween(before, toldOf(a))
	var parts []string
	if c.time {
		oldLoc, err := rendezvous.LoadZone(before.TimeZone)
		if err != nil {
			oldLoc = a.Location()
		}
		old := before.Start.In(oldLoc)
		parts = append(parts, fmt.Sprintf(w.time, FormatDate(start, lang), FormatTime(start, lang), FormatDate(old, lang), FormatTime(old, lang)))
	}
	if c.duration {
		parts = append(parts, fmt.Sprintf(w.duration, FormatDuration(a.Duration, lang), FormatDuration(time.Duration(before.DurationMinutes)*time.Minute, lang)))
	}
	if c.agent {
		if n, o := agentName(a.AgentUserID), agentName(before.AgentUserID); n != o {
			parts = append(parts, fmt.Sprintf(w.agent, n, o))
		} else {
			parts = append(parts, w.agentOther)
		}
	}
	return strings.Join(parts, w.sep)
}
