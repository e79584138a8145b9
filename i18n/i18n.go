// Package i18n holds the calendar words Rendezvous writes to customers in English, German
// and Greek. The customer's page (journey) and the notifications (notify) both write dates
// by hand, because the standard library knows only English names; one table keeps the
// page and the messages spelling a date the same way.
package i18n

// Calendar is one language's weekday and month names.
type Calendar struct {
	// Days starts on Sunday, as time.Weekday counts.
	Days [7]string
	// Months is in the form a date uses: Greek needs the genitive ("24 Νοεμβρίου").
	Months [12]string
}

// English, German and Greek are the calendars of the languages Rendezvous ships.
var (
	English = Calendar{
		Days:   [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		Months: [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	}
	German = Calendar{
		Days:   [7]string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"},
		Months: [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
	}
	Greek = Calendar{
		Days:   [7]string{"Κυριακή", "Δευτέρα", "Τρίτη", "Τετάρτη", "Πέμπτη", "Παρασκευή", "Σάββατο"},
		Months: [12]string{"Ιανουαρίου", "Φεβρουαρίου", "Μαρτίου", "Απριλίου", "Μαΐου", "Ιουνίου", "Ιουλίου", "Αυγούστου", "Σεπτεμβρίου", "Οκτωβρίου", "Νοεμβρίου", "Δεκεμβρίου"},
	}
)
