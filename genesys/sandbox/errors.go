package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// correlationHeader is the header Genesys puts on every response; error bodies repeat it
// as contextId.
const correlationHeader = "Inin-Correlation-Id"

// errorBody is Genesys' error body. Every field is always present, as the facts file lists
// them.
type errorBody struct {
	Message           string            `json:"message"`
	Code              string            `json:"code"`
	Status            int               `json:"status"`
	EntityID          string            `json:"entityId"`
	EntityName        string            `json:"entityName"`
	MessageWithParams string            `json:"messageWithParams"`
	MessageParams     map[string]string `json:"messageParams"`
	ContextID         string            `json:"contextId"`
	Details           []errorDetail     `json:"details"`
	Errors            []errorBody       `json:"errors"`
}

type errorDetail struct {
	ErrorCode  string `json:"errorCode,omitempty"`
	FieldName  string `json:"fieldName,omitempty"`
	EntityID   string `json:"entityId,omitempty"`
	EntityName string `json:"entityName,omitempty"`
}

// Genesys error codes the sandbox answers with.
const (
	codeBadRequest      = "bad.request"
	codeAuthRequired    = "authentication.required"
	codeBadCredentials  = "bad.credentials"
	codeMissingPerms    = "missing.any.permissions"
	codeNotFound        = "not.found"
	codeTooManyRequests = "too.many.requests"
	codeNotImplemented  = "not.implemented"
	codeServerError     = "internal.server.error"
	codeUnavailable     = "service.unavailable"
	codeTooManyAgents   = "TooManyPreferredAgents"
	codeUserContext     = "user.context.required"
)

// apiError is a refusal on its way to becoming an errorBody.
type apiError struct {
	status  int
	code    string
	message string
	field   string // the offending request field, when there is one
	params  map[string]string
	// retryAfter, when set, goes out as the Retry-After header (whole seconds, at least 1).
	retryAfter time.Duration
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

func badRequest(field, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeBadRequest, field: field, message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *apiError {
	return &apiError{status: http.StatusNotFound, code: codeNotFound, message: fmt.Sprintf(format, args...)}
}

// writeAPIError answers err as Genesys would. Anything that is not an *apiError is a
// sandbox bug and answers 500.
func (s *Sandbox) writeAPIError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		s.log.Error("sandbox bug", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &apiError{status: http.StatusInternalServerError, code: codeServerError, message: "The sandbox failed: " + err.Error()}
	}
	body := errorBody{
		Message:           ae.message,
		Code:              ae.code,
		Status:            ae.status,
		MessageWithParams: ae.message,
		MessageParams:     ae.params,
		ContextID:         w.Header().Get(correlationHeader),
		Details:           []errorDetail{},
		Errors:            []errorBody{},
	}
	if ae.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(ae.retryAfter)))
	}
	if body.MessageParams == nil {
		body.MessageParams = map[string]string{}
	}
	if ae.field != "" {
		body.Details = append(body.Details, errorDetail{ErrorCode: ae.code, FieldName: ae.field})
	}
	if ae.status >= 500 || ae.status == http.StatusTooManyRequests {
		s.log.Warn("sandbox refused request", "method", r.Method, "path", r.URL.Path, "status", ae.status, "code", ae.code)
	} else {
		s.log.Info("sandbox refused request", "method", r.Method, "path", r.URL.Path, "status", ae.status, "code", ae.code, "message", ae.message)
	}
	writeJSON(w, ae.status, body)
}

// oauthErrorBody is the login host's error body.
type oauthErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, oauthErrorBody{Error: code, ErrorDescription: description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// withCorrelation gives every response an Inin-Correlation-Id.
func withCorrelation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(correlationHeader, uuid.NewString())
		next.ServeHTTP(w, r)
	})
}

// unmodelled answers every request the sandbox does not model: loudly, never a silent 200.
func (s *Sandbox) unmodelled() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/favicon.ico" {
			// Every browser that opens the console asks for an icon; Genesys Cloud's
			// API hosts have none either. Not a request the client makes, so no log.
			http.NotFound(w, r)
			return
		}
		s.log.Error("genesys sandbox: unmodelled request", "method", r.Method, "path", r.URL.Path)
		s.writeAPIError(w, r, &apiError{status: http.StatusNotImplemented, code: codeNotImplemented,
			message: fmt.Sprintf("The Genesys Cloud sandbox does not model %s %s.", r.Method, r.URL.Path)})
	})
}

// maxBody bounds request bodies: agentless email bodies may reach 3 MB, plus JSON overhead.
const maxBody = 4 << 20

// decodeJSON reads a JSON body strictly: unknown fields, trailing data and wrong types are
// refused with 400, so a misspelt field cannot pass unnoticed.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) *apiError {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported.media.type",
			message: "Content-Type must be application/json, not " + ct}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return badRequest("", "The request body is missing.")
		}
		return badRequest("", "The request could not be understood by the server due to malformed syntax: %v", err)
	}
	if dec.More() {
		return badRequest("", "The request body holds more than one JSON value.")
	}
	return nil
}
