package hostcheck

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHostsAllows(t *testing.T) {
	h := New("https://meet.example.com", "10.0.0.5:8080", "", "ops.internal:9090")
	for host, want := range map[string]bool{
		"meet.example.com":      true,
		"MEET.example.com.":     true,
		"meet.example.com:443":  true,
		"ops.internal:9090":     true,
		"10.0.0.5:8080":         true,
		"192.0.2.1":             true, // any IP literal: nothing to rebind
		"[2001:db8::1]:8080":    true,
		"evil.example":          false,
		"meet.example.com.evil": false,
		"localhost:8080":        false, // not configured and not a loopback deployment
		"":                      false,
	} {
		if got := h.Allows(host); got != want {
			t.Errorf("Allows(%q) = %v, want %v", host, got, want)
		}
	}
	demo := New("http://127.0.0.1:8080")
	if !demo.Allows("localhost:8080") || !demo.Allows("127.0.0.1:8080") || demo.Allows("rebind.attacker.example:8080") {
		t.Error("the loopback demo must answer its loopback names and nothing else")
	}
	if !(Hosts{}).Allows("anything") {
		t.Error("the zero Hosts allows everything")
	}
}

func TestHandlerRefusesForeignHost(t *testing.T) {
	h := New("http://127.0.0.1:8090").Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("secret outbox"))
	}))
	for host, want := range map[string]int{"127.0.0.1:8090": 200, "localhost:8090": 200, "attacker.example:8090": 421} {
		r := httptest.NewRequest("GET", "/sandbox/outbox", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("Host %s: %d, want %d", host, w.Code, want)
		}
		if want == 421 && w.Body.String() == "secret outbox" {
			t.Error("served to a foreign host")
		}
	}
}
