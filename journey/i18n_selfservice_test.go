package journey

import "testing"

// Every self-service word exists in every language, so no page falls back to English
// half-way.
func TestSelfServiceWordsInEveryLanguage(t *testing.T) {
	for tag := range langs {
		for k := range selfText["en"] {
			if langs[tag].Text[k] == "" {
				t.Errorf("%s: no %q", tag, k)
			}
		}
	}
	for _, tc := range []struct{ lang, want string }{
		{"en", "Choose a new time"}, {"de", "Neuen Termin wählen"}, {"el", "Επιλέξτε νέα ώρα"},
	} {
		if got := pickLang(tc.lang, "").t("selfRescheduleTitle"); got != tc.want {
			t.Errorf("%s: %q", tc.lang, got)
		}
	}
}
