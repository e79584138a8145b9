package rendezvous

import (
	"strings"
	"testing"
	"time"
)

func TestCheckLineAndMultiline(t *testing.T) {
	for _, c := range []struct {
		s               string
		line, multiline bool // accepted?
	}{
		{"Maria Papadopoulou", true, true},
		{"Μαρία 😀 Ñ", true, true},
		{"", true, true},
		{"a\x00b", false, false},
		{"a\nb", false, true},
		{"a\r\nBcc: x@example.com", false, true},
		{"a\tb", false, true},
		{"\x1b[31m", false, false},
		{"del\x7f", false, false},
		{"c1\u0085", false, false},
		{"sep\u2028", false, false},
		{"para\u2029", false, false},
		{"bad \xff utf8", false, false},
	} {
		if got := CheckLine(c.s) == nil; got != c.line {
			t.Errorf("CheckLine(%q) accepted=%v, want %v", c.s, got, c.line)
		}
		if got := CheckMultiline(c.s) == nil; got != c.multiline {
			t.Errorf("CheckMultiline(%q) accepted=%v, want %v", c.s, got, c.multiline)
		}
	}
}

func TestIDShapes(t *testing.T) {
	for s, want := range map[string]bool{
		"01a23d4c-1d11-7a6c-b6f7-124807e0cdc8":    true,
		"01A23D4C-1D11-7A6C-B6F7-124807E0CDC8":    true,
		"01a23d4c1d117a6cb6f7124807e0cdc8":        false, // uuid.Parse takes it; we never issue it
		"{01a23d4c-1d11-7a6c-b6f7-124807e0cdc8}":  false,
		"01a23d4c-1d11-7a6c-b6f7-124807e0cdc\x00": false,
		"": false, "x": false,
	} {
		if got := IsID(s); got != want {
			t.Errorf("IsID(%q) = %v", s, got)
		}
	}
	tok, err := NewLinkToken()
	if err != nil || !IsLinkToken(tok) {
		t.Fatalf("a fresh token %q is refused", tok)
	}
	for _, bad := range []string{tok[:42], tok + "A", tok[:42] + "=", tok[:42] + "\x00", tok[:42] + "/"} {
		if IsLinkToken(bad) {
			t.Errorf("IsLinkToken(%q)", bad)
		}
	}
}

// Every text field of a booking, a change and a cancellation refuses control characters,
// naming the field; free text keeps its line breaks.
func TestControlCharactersRefusedInEveryTextField(t *testing.T) {
	now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	valid := func() AppointmentInput {
		return AppointmentInput{
			Start: now.Add(24 * time.Hour), DurationMinutes: 30, TimeZone: "Europe/Athens",
			Title: "Review", Notes: "first line\nsecond line", AgentUserID: "agent-1",
			Customers:   []Customer{{Name: "Maria", Email: "maria@example.com"}},
			Interaction: Interaction{Routing: Routing{Type: RoutingQueue, QueueName: "Q"}, CustomFields: map[string]string{"crm": "1"}},
		}
	}
	if _, err := NewAppointment("org", valid(), now); err != nil {
		t.Fatalf("valid booking refused: %v", err)
	}
	for field, spoil := range map[string]func(*AppointmentInput, string){
		"title":             func(in *AppointmentInput, v string) { in.Title = v },
		"notes":             func(in *AppointmentInput, v string) { in.Notes = v },
		"agentUserId":       func(in *AppointmentInput, v string) { in.AgentUserID = v },
		"customers[0].name": func(in *AppointmentInput, v string) { in.Customers[0].Name = v },
		"interaction.routing.properties.queueName": func(in *AppointmentInput, v string) { in.Interaction.Routing.QueueName = v },
		"interaction.customFields.crm":             func(in *AppointmentInput, v string) { in.Interaction.CustomFields["crm"] = v },
	} {
		for _, bad := range []string{"a\x00b", "x\x1by", "z\u2028"} {
			in := valid()
			spoil(&in, bad)
			_, err := NewAppointment("org", in, now)
			if !problemFor(err, field) {
				t.Errorf("%s = %q: %v", field, bad, err)
			}
		}
		in := valid()
		spoil(&in, "Maria\r\nBcc: victim@example.com")
		_, err := NewAppointment("org", in, now)
		if field == "notes" {
			if err != nil {
				t.Errorf("notes refused a line break: %v", err)
			}
		} else if !problemFor(err, field) {
			t.Errorf("%s took a CR/LF: %v", field, err)
		}
	}
	a, _ := NewAppointment("org", valid(), now)
	for _, p := range []AppointmentPatch{{Title: ptr("t\x00")}, {Notes: ptr("n\x00")}, {AgentUserID: ptr("a\nb")}, {Customers: &[]Customer{{Name: "M\r\nX", Email: "m@example.com"}}}} {
		if err := a.Apply(p, now); err == nil {
			t.Errorf("patch %+v accepted", p)
		}
	}
	if err := a.Cancel("why\x00", now); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Errorf("cancel reason with NUL: %v", err)
	}
}

func ptr(s string) *string { return &s }

func problemFor(err error, field string) bool {
	ve, ok := err.(*ValidationError)
	if !ok {
		return false
	}
	for _, p := range ve.Problems {
		if p.Field == field {
			return true
		}
	}
	return false
}
