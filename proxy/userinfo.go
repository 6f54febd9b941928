package proxy

import (
	"net/http"
)

// userinfo is the JSON identity served at {prefix}/userinfo. It never holds
// a token.
type userinfo struct {
	Subject           string   `json:"sub"`
	Email             string   `json:"email,omitempty"`
	EmailVerified     bool     `json:"email_verified"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Groups            []string `json:"groups"`
	Scopes            []string `json:"scopes"`
	// SubjectID names the issuer that vouched, as in the assertion.
	SubjectID *subjectID `json:"sub_id,omitempty"`
}

// handleUserinfo serves GET {prefix}/userinfo: the caller's identity (bearer
// token or session), 401 without one.
func (h *Handler) handleUserinfo(ex *exchange, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.fail(ex, r, methodNotAllowed("GET, HEAD"))
		return
	}
	if err := h.identify(ex, r); err != nil {
		h.fail(ex, r, err)
		return
	}
	if ex.id == nil {
		h.fail(ex, r, unauthenticated())
		return
	}
	id := ex.id
	ui := userinfo{Subject: id.Subject, Email: id.Email, EmailVerified: id.EmailVerified,
		PreferredUsername: id.PreferredUsername, Groups: id.Groups, Scopes: id.Scopes,
		SubjectID: subjectIDOf(id)}
	if ui.Groups == nil {
		ui.Groups = []string{}
	}
	if ui.Scopes == nil {
		ui.Scopes = []string{}
	}
	ex.Header().Set("Cache-Control", "no-store")
	writeJSON(ex, http.StatusOK, ui)
}
