package webtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that collects errors instead of failing, so the test can
// check what the Checker reports.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

const doc = `{
  "openapi": "3.1.0",
  "info": {"title": "t", "version": "1"},
  "paths": {
    "/things/{id}": {
      "get": {
        "parameters": [{"name": "verbose", "in": "query", "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
          "404": {"$ref": "#/components/responses/Problem"}
        }
      },
      "put": {
        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}
      }
    },
    "/things/special": {
      "get": {"responses": {"204": {"description": "nothing"}}}
    }
  },
  "components": {
    "responses": {"Problem": {"description": "p", "content": {"application/problem+json": {"schema": {"type": "object", "required": ["status"]}}}}},
    "schemas": {"Thing": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}, "additionalProperties": false}}
  }
}`

func TestCheckerReportsWhatTheDocumentDoesNotSay(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/things/special":
			w.WriteHeader(http.StatusNoContent)
		case "/things/good":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"id": "good"}`))
		case "/things/extra":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"id": "extra", "colour": "red"}`))
		case "/things/missing":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"status": 404}`))
		case "/things/teapot":
			w.WriteHeader(http.StatusTeapot)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer srv.Close()

	cases := []struct {
		method, path, body string
		want               string // substring of the one expected error; "" for none
	}{
		{"GET", "/things/good?verbose=1", "", ""},
		{"GET", "/things/special", "", ""}, // the literal path wins over {id}
		{"GET", "/things/missing", "", ""},
		{"PUT", "/things/good", `{"id": "good"}`, ""},
		{"GET", "/things/extra", "", "does not match"},
		{"GET", "/things/teapot", "", "status not documented"},
		{"GET", "/things/good?debug=1", "", `query parameter "debug"`},
		{"DELETE", "/things/good", "", "method not documented"},
		{"GET", "/elsewhere", "", "path not in the OpenAPI document"},
		{"PUT", "/things/good", `{"name": "x"}`, "request: body does not match"},
	}
	for _, tc := range cases {
		rec := &recorder{TB: t}
		c := New(rec, []byte(doc))
		req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if tc.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch {
		case tc.want == "" && len(rec.errs) > 0:
			t.Errorf("%s %s: unexpected reports %q", tc.method, tc.path, rec.errs)
		case tc.want != "" && (len(rec.errs) != 1 || !strings.Contains(rec.errs[0], tc.want)):
			t.Errorf("%s %s: reports %q, want one containing %q", tc.method, tc.path, rec.errs, tc.want)
		}
	}
}
