package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
)

// decodeJSON reads r's body into dst, which must be a pointer to a struct whose fields
// have json tags. It refuses, naming the field where it can: a content type other than
// JSON, a body over s.maxBody bytes, malformed JSON, fields dst does not have, values
// of the wrong JSON type, and trailing data. An empty body is allowed only when
// allowEmpty (dst is then left as it is).
//
// It returns the body as read, for hashing idempotency keys.
func (s *server) decodeJSON(w http.ResponseWriter, r *http.Request, dst any, allowEmpty bool) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, &requestError{status: http.StatusUnsupportedMediaType,
				msg: fmt.Sprintf("Content-Type %q is not supported; send application/json", ct)}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &requestError{status: http.StatusRequestEntityTooLarge,
				msg: fmt.Sprintf("request body is larger than the limit of %d bytes", mbe.Limit)}
		}
		return nil, badRequest("", "could not read the request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return body, nil
		}
		return nil, badRequest("", "request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return nil, describeJSONError(err, body)
	}
	if dec.More() {
		return nil, badRequest("", "request body holds more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("", "request body has data after the JSON object")
	}
	return body, nil
}

// describeJSONError turns encoding/json's errors into messages that name the field and,
// for type errors, the type that was expected in JSON terms (not Go's).
func describeJSONError(err error, body []byte) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := position(body, syn.Offset)
		return badRequest("", "malformed JSON at line %d, column %d: %s", line, col, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "malformed JSON: the body ends before the JSON value is complete")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return badRequest("", "request body must be a JSON object, not %s", jsonKind(typ.Value))
		}
		return badRequest(field, "must be %s, not %s", expected(typ.Type), jsonKind(typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest(name, "is not a known field; check its spelling against the API reference at /api/v1/openapi.json")
	}
	return badRequest("", "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// expected names a Go type as the JSON a caller should send.
func expected(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map:
		if t.Elem().Kind() == reflect.String {
			return "an object of strings"
		}
		return "an object"
	case reflect.Struct:
		return "an object"
	}
	return "a " + t.String()
}

// jsonKind names the JSON value encoding/json reports ("number 1.5" → "a number").
func jsonKind(v string) string {
	switch {
	case strings.HasPrefix(v, "number"):
		return "a number"
	case v == "string":
		return "a string"
	case v == "bool":
		return "true or false"
	case v == "array":
		return "an array"
	case v == "object":
		return "an object"
	}
	return v
}

// position converts a byte offset into a 1-based line and column.
func position(body []byte, offset int64) (line, col int) {
	if offset > int64(len(body)) {
		offset = int64(len(body))
	}
	before := body[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}
