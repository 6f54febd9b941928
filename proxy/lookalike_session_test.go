package proxy

import (
	"testing"
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
