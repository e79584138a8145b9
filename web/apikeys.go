package web

import (
	"fmt"
	"net/http"

	"rendezvous"
)

// apiKeyJSON is an API key as the API shows it: never its secret, which only the
// response that created it carries (Key).
type apiKeyJSON struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	CreatedAt string   `json:"createdAt"`
	// LastUsedAt is absent for a key never used.
	LastUsedAt string `json:"lastUsedAt,omitempty"`
	Key        string `json:"key,omitempty"`
}

func toAPIKeyJSON(k rendezvous.APIKey) apiKeyJSON {
	j := apiKeyJSON{ID: k.ID, Name: k.Name, Scopes: k.Scopes, CreatedAt: formatTime(k.CreatedAt)}
	if !k.LastUsedAt.IsZero() {
		j.LastUsedAt = formatTime(k.LastUsedAt)
	}
	return j
}

// handleAPIKeyList serves GET /api/v1/settings/api-keys: the organization's live keys.
func (s *server) handleAPIKeyList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys, err := s.Store.APIKeys(r.Context(), apiKey(r.Context()).OrgID)
		if err != nil {
			s.error(w, r, fmt.Errorf("list API keys: %w", err))
			return
		}
		out := struct {
			Items []apiKeyJSON `json:"items"`
		}{Items: []apiKeyJSON{}}
		for _, k := range keys {
			out.Items = append(out.Items, toAPIKeyJSON(k))
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// handleAPIKeyCreate serves POST /api/v1/settings/api-keys: a new key of the caller's
// organization, whose secret this response is the only one to show.
func (s *server) handleAPIKeyCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Name   string   `json:"name"`
			Scopes []string `json:"scopes"`
		}
		if err := s.decodeJSON(w, r, &in, false); err != nil {
			s.error(w, r, err)
			return
		}
		caller := apiKey(r.Context())
		if err := rendezvous.CheckGrant(caller, in.Scopes); err != nil {
			s.error(w, r, err)
			return
		}
		k, secret, err := s.Store.CreateAPIKey(r.Context(), caller.OrgID, in.Name, in.Scopes)
		if err != nil {
			s.error(w, r, fmt.Errorf("create API key: %w", err))
			return
		}
		out := toAPIKeyJSON(k)
		out.Key = secret
		w.Header().Set("Location", "/api/v1/settings/api-keys/"+k.ID)
		writeJSON(w, http.StatusCreated, out)
	})
}

// handleAPIKeyRevoke serves DELETE /api/v1/settings/api-keys/{id}. The key stops working
// at once on this instance and within Deps.KeyCacheTTL on the others.
func (s *server) handleAPIKeyRevoke() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id")
		if err != nil {
			s.error(w, r, err)
			return
		}
		if err := s.Store.RevokeAPIKey(r.Context(), apiKey(r.Context()).OrgID, id); err != nil {
			s.error(w, r, fmt.Errorf("revoke API key %s: %w", id, err))
			return
		}
		s.keys.forget(id)
		w.WriteHeader(http.StatusNoContent)
	})
}
