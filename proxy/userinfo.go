package proxy

import (
	"net/http"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
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
	if statable(id) != nil {
		h.fail(ex, r, forbidden("the identity holds a value an application could read as another user or group, which the gateway no longer states"))
		return
	}
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

// statable refuses an identity that userinfo must not state: one the
// assertion would not state (assertable), or whose email, verified or
// not (userinfo names both), an application could read as another. Only a
// session saved before idp's look-alike rule holds one; its headers leave
// such values out and it gets no assertion, and a page that reads
// userinfo is an application too (it keyed "\u212aate" as kate).
func statable(id *portcullis.Identity) error {
	if err := assertable(id); err != nil {
		return err
	}
	_, err := idp.IdentityValue(id.Email)
	return err
}
