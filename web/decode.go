package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"rendezvous"
)

// decodeJSON reads r's body into dst, which must be a pointer to a struct whose fields
// have json tags. It refuses, naming the field where it can: a content type other than
// JSON, a body over s.maxBody bytes, malformed JSON, fields dst does not have, values
// of the wrong JSON type, and trailing data. An empty body is allowed only when
// allowEmpty (dst is then left as it is).
func (s *server) decodeJSON(w http.ResponseWriter, r *http.Request, dst any, allowEmpty bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &requestError{status: http.StatusUnsupportedMediaType,
				msg: fmt.Sprintf("Content-Type %q is not supported; send application/json", ct)}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &requestError{status: http.StatusRequestEntityTooLarge,
				msg: fmt.Sprintf("request body is larger than the limit of %d bytes", mbe.Limit)}
		}
		return badRequest("", "could not read the request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return nil
		}
		return badRequest("", "request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) || strings.HasPrefix(err.Error(), "json: unknown field ") {
			// encoding/json names the leaf ("fax") or a path without indexes
			// ("customers.name"); find the full path, as validation errors write it.
			if e := locate(body, reflect.TypeOf(dst)); e != nil {
				return e
			}
		}
		return describeJSONError(err, body)
	}
	if dec.More() {
		return badRequest("", "request body holds more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("", "request body has data after the JSON object")
	}
	return controlsIn(body)
}

// controlsIn refuses, with a 422 naming the field, any string or object key in a JSON body
// that holds a NUL or another control character other than tab, line feed and carriage
// return. No field of the API means anything by them, PostgreSQL refuses NUL in text
// (where SQLite would store it), and they must never reach a database, a log line, an
// email header or Genesys Cloud. Fields that must be one line (names, titles, ids) are
// held to the stricter rendezvous.CheckLine by the domain's validation.
func controlsIn(body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil // already decoded once; cannot happen
	}
	var p rendezvous.Problems
	walkStrings(v, "", func(path, s string) {
		if err := rendezvous.CheckMultiline(s); err != nil {
			p.Add(path, "%s", err)
		}
	})
	return p.Err()
}

// walkStrings calls f for every string and object key in v with its path
// ("customers[0].name"); a key is reported under the path it names.
func walkStrings(v any, path string, f func(path, s string)) {
	switch x := v.(type) {
	case string:
		f(path, x)
	case []any:
		for i, item := range x {
			walkStrings(item, fmt.Sprintf("%s[%d]", path, i), f)
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			kp := join(path, sanitizeField(k))
			f(kp, k)
			walkStrings(x[k], kp, f)
		}
	}
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

// locate finds the first unknown field or value of the wrong JSON type in body, read as
// t, and reports it with its full path ("customers[0].phone"). Object keys are visited in
// sorted order so the answer does not depend on map iteration. It returns nil when it
// finds nothing (then encoding/json's own description is used).
func locate(body []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	return walk(v, t, "")
}

func walk(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil || t.Kind() == reflect.Interface {
		return nil // null is accepted everywhere, as encoding/json does
	}
	wrong := func() error {
		if path == "" {
			return badRequest("", "request body must be %s, not %s", expected(t), jsonKindOf(v))
		}
		return badRequest(path, "must be %s, not %s", expected(t), jsonKindOf(v))
	}
	switch t.Kind() {
	case reflect.String:
		if _, ok := v.(string); !ok {
			return wrong()
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return wrong()
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.(json.Number)
		if !ok {
			return wrong()
		}
		if _, err := n.Int64(); err != nil {
			return badRequest(path, "must be %s, not %s", expected(t), n)
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := v.(json.Number); !ok {
			return wrong()
		}
	case reflect.Slice, reflect.Array:
		items, ok := v.([]any)
		if !ok {
			return wrong()
		}
		for i, item := range items {
			if err := walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return wrong()
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if err := walk(obj[k], t.Elem(), join(path, k)); err != nil {
				return err
			}
		}
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return wrong()
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			f, ok := fieldByJSONName(t, k)
			if !ok {
				return badRequest(join(path, k), "is not a known field; check its spelling against the API reference at /api/v1/openapi.json")
			}
			if err := walk(obj[k], f.Type, join(path, k)); err != nil {
				return err
			}
		}
	}
	return nil
}

// fieldByJSONName finds the struct field encoding/json would decode key into: the exact
// tag name first, then a case-insensitive match, as encoding/json does.
func fieldByJSONName(t reflect.Type, key string) (reflect.StructField, bool) {
	var fold reflect.StructField
	found := false
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f, true
		}
		if !found && strings.EqualFold(name, key) {
			fold, found = f, true
		}
	}
	return fold, found
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonKindOf names a decoded JSON value's kind for messages.
func jsonKindOf(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "true or false"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "null"
}
