package e2e

import (
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// lookalikeUsers are identities whose user, email, preferred_username or a
// group the provider holds as one value and an application reads as
// another, ASCII one: it lowercases (strings.ToLower, Python's lower(),
// JavaScript's toLowerCase() take the Kelvin sign for "k"), compares
// case-insensitively (Java's equalsIgnoreCase takes the dotless "ı" for "i"
// and the long "ſ" for "s"; JavaScript's toUpperCase() and Python's
// casefold() take the sharp "ß" for "ss"), or normalises (Django's usernames are NFKC:
// fullwidth "ａｄｍｉｎ" is "admin"; NFC makes an NFD "é" another user's).
var lookalikeUsers = []namedUser{
	{"user with the Kelvin sign", oidctest.User{Subject: "\u212aate", Claims: map[string]any{}}},
	{"fullwidth preferred_username", oidctest.User{Subject: "u1", Claims: map[string]any{"preferred_username": "ａｄｍｉｎ"}}},
	{"dotless i in preferred_username", oidctest.User{Subject: "u2", Claims: map[string]any{"preferred_username": "adm\u0131n"}}},
	{"long s in the user", oidctest.User{Subject: "\u017fam", Claims: map[string]any{}}},
	{"sharp s in preferred_username", oidctest.User{Subject: "u6", Claims: map[string]any{"preferred_username": "bo\u00df"}}},
	{"NFD address", oidctest.User{Subject: "u3", Claims: map[string]any{"email": "jose\u0301@example.com", "email_verified": true}}},
	{"fullwidth group", oidctest.User{Subject: "u4", Claims: map[string]any{"groups": []any{"staff", "ａｄｍｉｎｓ"}}}},
	{"Kelvin-sign group", oidctest.User{Subject: "u5", Claims: map[string]any{"groups": []any{"\u212aube"}}}},
}

// TestLookalikeIdentityNeverReachesTheApp: such a value was forwarded as
// it was, in the identity headers and the signed assertion, so the rules
// decided about one user or group and the application served another
// (an app that lowercases X-Forwarded-User gives "\u212aate" kate's
// account). The
// sign-in that brings one is refused (502) and a bearer token with one is
// invalid (401); the app never sees either. Accented letters and other
// scripts, in their composed form, still pass unchanged.
func TestLookalikeIdentityNeverReachesTheApp(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", demoRoutes+"\n[[routes]]\npath = \"/**\"\n"))
	refusesEachIdentity(t, p, gw, up, lookalikeUsers)
	p.SetUser(oidctest.User{Subject: "José", Claims: map[string]any{"preferred_username": "山田太郎",
		"email": "müller@example.com", "email_verified": true, "groups": []any{"Équipe"}}})
	status, body, _ := get(t, browser(t), gw.URL+"/hello")
	if status != 200 {
		t.Fatalf("composed accents and CJK: sign-in %d:\n%.300s", status, body)
	}
	h := decodeSeen(t, body).Headers
	if h.Get("X-Forwarded-User") != "José" || h.Get("X-Forwarded-Email") != "müller@example.com" ||
		h.Get("X-Forwarded-Preferred-Username") != "山田太郎" || h.Get("X-Forwarded-Groups") != "Équipe" {
		t.Errorf("the app saw %v", h)
	}
}

// namedUser is a provider user a test signs in as, with what it shows.
type namedUser struct {
	name string
	user oidctest.User
}

// refusesEachIdentity signs in as each of users at p, through gw's route
// /hello, and calls /api with a bearer token of each: the sign-in must
// fail (502) and the token be invalid (401), without up seeing a request.
func refusesEachIdentity(t *testing.T, p *oidctest.Provider, gw *gateway, up *upstream, users []namedUser) {
	t.Helper()
	for _, tc := range users {
		p.SetUser(tc.user)
		before := up.count()
		if status, body, _ := get(t, browser(t), gw.URL+"/hello"); status != 502 || up.count() != before {
			t.Errorf("%s: sign-in %d, app requests %d -> %d, want 502 and none:\n%.300s", tc.name, status, before, up.count(), body)
		}
		tok := p.AccessToken(tc.user.Subject, tc.user.Claims)
		if r := apiCall(t, "GET", gw.URL+"/api", bearer(tok)); r.status != 401 || up.count() != before {
			t.Errorf("%s: bearer token %d, want 401", tc.name, r.status)
		}
	}
}
