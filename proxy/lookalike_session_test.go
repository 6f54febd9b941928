package proxy

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/session"
)

// TestLookalikeSessionHeadersAndAssertion: idp refuses a sign-in whose
// user or groups an application could read as another (the Kelvin sign,
// fullwidth letters); a session saved before that rule still holds one.
// Its request reaches the app without the user and groups headers and
// without an assertion that would state them, the other headers kept.
func TestLookalikeSessionHeadersAndAssertion(t *testing.T) {
	f := newFixture(t)
	s := f.session()
	s.Identity.Subject, s.Identity.Groups = "\u212aate", []string{"staff", "ａｄｍｉｎｓ"}
	f.do(t, "GET", "/app/x", nil, withCookies(f.cookies(t, s)))
	h := f.up.last(t).Header
	for _, name := range []string{"X-Forwarded-User", "X-Forwarded-Groups", "X-Portcullis-Jwt-Assertion"} {
		if v := h.Get(name); v != "" {
			t.Errorf("%s = %q, want none", name, v)
		}
	}
	if h.Get("X-Forwarded-Email") == "" {
		t.Errorf("the email header was left out too: %v", h)
	}
}

// TestLookalikeProviderSubNoAssertion: idp refuses a sign-in whose
// provider sub is a look-alike, and the assertion states that sub as its
// sub_id (iss_sub), which an application keys accounts on. A session saved
// before the rule, whose user (user_claim = email, say) is plain but whose
// sub is "\u212aate" (kate's to an application that lowercases), got an
// assertion naming it: the check covered the user, email, username and
// groups only. Neither form of the sub (ProviderSubject, or the sub claim of
// a session saved before that field) is stated now; the user header stays.
func TestLookalikeProviderSubNoAssertion(t *testing.T) {
	for name, set := range map[string]func(s *session.Session){
		"provider subject": func(s *session.Session) { s.Identity.ProviderSubject = "\u212aate" },
		"sub claim": func(s *session.Session) {
			s.Identity.ProviderSubject, s.Identity.Claims = "", map[string]any{"sub": "\u212aate"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			s := f.session()
			s.Identity.Issuer = "https://idp.test"
			set(s)
			f.do(t, "GET", "/app/x", nil, withCookies(f.cookies(t, s)))
			h := f.up.last(t).Header
			if v := h.Get("X-Portcullis-Jwt-Assertion"); v != "" {
				_, payload, _ := strings.Cut(v, ".")
				claims, _ := base64.RawURLEncoding.DecodeString(strings.Split(payload, ".")[0])
				t.Errorf("assertion sent for a look-alike provider sub: %s", claims)
			}
			if h.Get("X-Forwarded-User") == "" {
				t.Errorf("the user header was left out too: %v", h)
			}
		})
	}
}

// TestLookalikeSessionUserinfo: the userinfo endpoint states the identity
// to the application's pages, and to any client with the session, as the
// assertion states it to the application's server (its JSON has the
// same sub, email, preferred_username, groups and sub_id). A session saved
// before the look-alike rule got its headers left out and no assertion,
// but userinfo still answered "\u212aate" as its sub, kate's to a page
// that lowercases. Such an identity is now refused there (403) and none of
// its values is echoed; a plain one is answered as before.
func TestLookalikeSessionUserinfo(t *testing.T) {
	for name, set := range map[string]func(s *session.Session){
		"user":         func(s *session.Session) { s.Identity.Subject = "\u212aate" },
		"email":        func(s *session.Session) { s.Identity.Email, s.Identity.EmailVerified = "\u212aate@example.com", false },
		"username":     func(s *session.Session) { s.Identity.PreferredUsername = "ａｄｍｉｎ" },
		"group":        func(s *session.Session) { s.Identity.Groups = []string{"staff", "ａｄｍｉｎｓ"} },
		"provider sub": func(s *session.Session) { s.Identity.ProviderSubject = "\u212aate" },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			s := f.session()
			s.Identity.Issuer = "https://idp.test"
			set(s)
			r := f.do(t, "GET", "/oauth2/userinfo", nil, withCookies(f.cookies(t, s)))
			body, _ := io.ReadAll(r.Body)
			if r.StatusCode != http.StatusForbidden || strings.Contains(string(body), "\u212a") || strings.Contains(string(body), "ａ") {
				t.Errorf("userinfo of a look-alike identity: %d %s, want 403 without it", r.StatusCode, body)
			}
		})
	}
	f := newFixture(t)
	if r := f.do(t, "GET", "/oauth2/userinfo", nil, withCookies(f.cookies(t, f.session()))); r.StatusCode != http.StatusOK {
		t.Errorf("userinfo of a plain identity: %d, want 200", r.StatusCode)
	}
}
