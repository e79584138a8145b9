// Package webtest checks HTTP exchanges against Rendezvous's OpenAPI document, so that
// tests prove the handlers and the document agree. Wrap a test client's transport with
// a Checker and every request the test makes is checked: its method, path and status
// must be documented, and its bodies must validate against the documented schemas
// (JSON Schema 2020-12, as OpenAPI 3.1 uses).
//
//	c := webtest.New(t, web.OpenAPI)
//	client := c.Client()          // or &http.Client{Transport: c.RoundTripper(base)}
//	resp, err := client.Post(srv.URL+"/api/v1/appointments", ...)
//
// Request bodies are validated only when the server accepted them (2xx): tests send
// deliberately bad requests, and what matters is that the document describes what the
// server accepts and returns.
package webtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// docURL is where the document is registered with the schema compiler; only its
// fragments matter.
const docURL = "https://rendezvous.invalid/openapi.json"

// Checker validates HTTP exchanges against an OpenAPI 3.1 document. It is safe for
// concurrent use.
type Checker struct {
	t        testing.TB
	doc      map[string]any
	compiler *jsonschema.Compiler

	mu      sync.Mutex
	schemas map[string]*jsonschema.Schema // by JSON pointer into the document
}

// New parses doc (an OpenAPI 3.1 document in JSON) and returns a Checker that reports
// mismatches as errors of t.
func New(t testing.TB, doc []byte) *Checker {
	t.Helper()
	parsed, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("webtest: parse OpenAPI document: %v", err)
	}
	m, ok := parsed.(map[string]any)
	if !ok || !strings.HasPrefix(fmt.Sprint(m["openapi"]), "3.1") {
		t.Fatalf("webtest: not an OpenAPI 3.1 document")
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, parsed); err != nil {
		t.Fatalf("webtest: load OpenAPI document: %v", err)
	}
	return &Checker{t: t, doc: m, compiler: c, schemas: map[string]*jsonschema.Schema{}}
}

// Client returns an HTTP client whose every exchange is checked.
func (c *Checker) Client() *http.Client {
	return &http.Client{Transport: c.RoundTripper(http.DefaultTransport)}
}

// RoundTripper wraps next so that every exchange through it is checked.
func (c *Checker) RoundTripper(next http.RoundTripper) http.RoundTripper {
	return roundTripper{c: c, next: next}
}

type roundTripper struct {
	c    *Checker
	next http.RoundTripper
}

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	resp, err := rt.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	rt.c.Check(req, reqBody, resp, respBody)
	return resp, nil
}

// Check validates one exchange: req with body reqBody, answered by resp with body
// respBody.
func (c *Checker) Check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	c.t.Helper()
	method := strings.ToLower(req.Method)
	where := fmt.Sprintf("%s %s → %d", req.Method, req.URL.Path, resp.StatusCode)
	tmpl, item := c.findPath(req.URL.Path)
	if item == nil {
		c.t.Errorf("webtest: %s: path not in the OpenAPI document", where)
		return
	}
	op, _ := item[method].(map[string]any)
	if op == nil {
		c.t.Errorf("webtest: %s: method not documented for %s", where, tmpl)
		return
	}
	opPtr := "/paths/" + escape(tmpl) + "/" + method
	status, response := findResponse(op, resp.StatusCode)
	if response == nil {
		c.t.Errorf("webtest: %s: status not documented for %s %s", where, req.Method, tmpl)
		return
	}
	respPtr := opPtr + "/responses/" + escape(status)
	if ref, ok := response["$ref"].(string); ok {
		respPtr = strings.TrimPrefix(ref, "#")
		response = c.resolve(respPtr)
	}
	c.checkBody(where+" response", resp.Header.Get("Content-Type"), respBody, response, respPtr)

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		c.checkQuery(where, req.URL.Query(), item, op)
		if len(bytes.TrimSpace(reqBody)) > 0 {
			rb, _ := op["requestBody"].(map[string]any)
			if rb == nil {
				c.t.Errorf("webtest: %s: request has a body but the operation documents none", where)
				return
			}
			c.checkBody(where+" request", req.Header.Get("Content-Type"), reqBody, rb, opPtr+"/requestBody")
		}
	}
}

// checkBody validates body against the content of a documented request body or response
// (obj, found at pointer ptr).
func (c *Checker) checkBody(where, contentType string, body []byte, obj map[string]any, ptr string) {
	c.t.Helper()
	content, _ := obj["content"].(map[string]any)
	if len(body) == 0 {
		if len(content) > 0 && !strings.Contains(where, "request") {
			c.t.Errorf("webtest: %s: empty body, but the document describes one", where)
		}
		return
	}
	if content == nil {
		c.t.Errorf("webtest: %s: has a body, but the document describes none", where)
		return
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = "application/json" // clients may omit Content-Type on JSON requests
	}
	media, _ := content[mt].(map[string]any)
	if media == nil {
		c.t.Errorf("webtest: %s: content type %q not documented", where, mt)
		return
	}
	if _, ok := media["schema"]; !ok || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return
	}
	sch, err := c.schema(ptr + "/content/" + escape(mt) + "/schema")
	if err != nil {
		c.t.Errorf("webtest: %s: compile schema: %v", where, err)
		return
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		c.t.Errorf("webtest: %s: body is not JSON: %v", where, err)
		return
	}
	if err := sch.Validate(v); err != nil {
		c.t.Errorf("webtest: %s: body does not match the document: %v\nbody: %s", where, err, truncate(body))
	}
}

// checkQuery refuses query parameters the operation does not document.
func (c *Checker) checkQuery(where string, q url.Values, item, op map[string]any) {
	c.t.Helper()
	known := map[string]bool{}
	for _, list := range []any{item["parameters"], op["parameters"]} {
		params, _ := list.([]any)
		for _, p := range params {
			pm, _ := p.(map[string]any)
			if ref, ok := pm["$ref"].(string); ok {
				pm = c.resolve(strings.TrimPrefix(ref, "#"))
			}
			if pm["in"] == "query" {
				known[fmt.Sprint(pm["name"])] = true
			}
		}
	}
	for name := range q {
		if !known[name] {
			c.t.Errorf("webtest: %s: query parameter %q not documented", where, name)
		}
	}
}

// findPath returns the documented path template matching path, preferring the one with
// the most literal segments (so /a/b/export beats /a/b/{id}).
func (c *Checker) findPath(path string) (string, map[string]any) {
	paths, _ := c.doc["paths"].(map[string]any)
	segs := strings.Split(strings.TrimSuffix(path, "/"), "/")
	best, bestLiterals := "", -1
	for tmpl := range paths {
		ts := strings.Split(strings.TrimSuffix(tmpl, "/"), "/")
		if len(ts) != len(segs) {
			continue
		}
		literals, ok := 0, true
		for i, t := range ts {
			switch {
			case strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}"):
				ok = ok && segs[i] != ""
			case t == segs[i]:
				literals++
			default:
				ok = false
			}
		}
		if ok && literals > bestLiterals {
			best, bestLiterals = tmpl, literals
		}
	}
	if best == "" {
		return "", nil
	}
	item, _ := paths[best].(map[string]any)
	return best, item
}

// findResponse returns the documented response for code: exact, then 4XX-style, then
// default.
func findResponse(op map[string]any, code int) (string, map[string]any) {
	responses, _ := op["responses"].(map[string]any)
	for _, k := range []string{strconv.Itoa(code), strconv.Itoa(code/100) + "XX", "default"} {
		if r, ok := responses[k].(map[string]any); ok {
			return k, r
		}
	}
	return "", nil
}

// resolve returns the object at a JSON pointer into the document.
func (c *Checker) resolve(ptr string) map[string]any {
	var cur any = c.doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, _ := cur.(map[string]any)
		cur = m[tok]
	}
	m, _ := cur.(map[string]any)
	return m
}

// schema compiles (once) the schema at a JSON pointer into the document.
func (c *Checker) schema(ptr string) (*jsonschema.Schema, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.schemas[ptr]; ok {
		return s, nil
	}
	var frag strings.Builder
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		frag.WriteString("/" + url.PathEscape(tok))
	}
	s, err := c.compiler.Compile(docURL + "#" + frag.String())
	if err != nil {
		return nil, err
	}
	c.schemas[ptr] = s
	return s, nil
}

// escape escapes one JSON pointer token.
func escape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// MustJSON is a test convenience: v encoded as JSON, failing t on error.
func MustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode JSON: %v", err)
	}
	return b
}
