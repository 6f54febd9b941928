package e2e

import (
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// invisibleUsers hold, in the user, preferred_username, the address or a
// group, a character Unicode calls default-ignorable: drawn as nothing and
// ignored by a Unicode collation at every strength, so an application that
// compares names case-insensitively with one (JavaScript's Intl.Collator
// or localeCompare with sensitivity "accent", ICU, MySQL 8's utf8mb4_0900
// collations) reads "ka\u200bte" as kate and "ad\u00admin" as admin.
var invisibleUsers = []namedUser{
	{"zero-width space in the user", oidctest.User{Subject: "ka\u200bte", Claims: map[string]any{}}},
	{"soft hyphen in preferred_username", oidctest.User{Subject: "i1", Claims: map[string]any{"preferred_username": "ad\u00admin"}}},
	{"right-to-left override in preferred_username", oidctest.User{Subject: "i2", Claims: map[string]any{"preferred_username": "\u202enimda"}}},
	{"word joiner in a group", oidctest.User{Subject: "i3", Claims: map[string]any{"groups": []any{"staff", "admins\u2060"}}}},
	{"zero-width joiner in the address", oidctest.User{Subject: "i4", Claims: map[string]any{"email": "ka\u200dte@example.com", "email_verified": true}}},
	{"variation selector in the user", oidctest.User{Subject: "kate\ufe0f", Claims: map[string]any{}}},
}

// TestInvisibleIdentityNeverReachesTheApp: the look-alike rule refused
// what case mapping and NFKC make ASCII, but let an invisible character
// through: the provider's user "ka\u200bte" signed in (200) and reached the
// app as X-Forwarded-User, kate's account to an app that compares names
// with a Unicode collation, and its bearer token was let through. Such a
// value now fails the sign-in (502) and makes a bearer token invalid (401).
func TestInvisibleIdentityNeverReachesTheApp(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", demoRoutes+"\n[[routes]]\npath = \"/**\"\n"))
	refusesEachIdentity(t, p, gw, up, invisibleUsers)
}

// TestEmojiSequenceGroupSignsIn: the look-alike rule lets a zero-width
// joiner through between two characters past ASCII, as emoji sequences
// are written, but the many sequences that join a character shown as an
// emoji by its variation selector (the rainbow flag U+1F3F3 U+FE0F U+200D
// U+1F308, "heart on fire" U+2764 U+FE0F U+200D U+1F525) were refused: a
// user in a group so named could not sign in at all (502), nor use a
// bearer token (401). Ignoring the selector and the joiner there leaves a
// text past ASCII, which no ASCII name is; they sign in and reach the app.
func TestEmojiSequenceGroupSignsIn(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", demoRoutes+"\n[[routes]]\npath = \"/**\"\n"))
	for _, u := range []oidctest.User{
		{Subject: "e1", Claims: map[string]any{"groups": []any{"staff", "\U0001f3f3\ufe0f\u200d\U0001f308 pride"}}},
		{Subject: "e2", Claims: map[string]any{"preferred_username": "\u2764\ufe0f\u200d\U0001f525"}},
	} {
		p.SetUser(u)
		before := up.count()
		if status, body, _ := get(t, browser(t), gw.URL+"/hello"); status != 200 || up.count() != before+1 {
			t.Errorf("%s: sign-in %d, app requests %d -> %d, want 200 and one:\n%.300s", u.Subject, status, before, up.count(), body)
		} else if got := up.last().Headers.Get("X-Forwarded-User"); got != u.Subject {
			t.Errorf("%s: the app saw X-Forwarded-User %q", u.Subject, got)
		}
		tok := p.AccessToken(u.Subject, u.Claims)
		if r := apiCall(t, "GET", gw.URL+"/api", bearer(tok)); r.status != 200 {
			t.Errorf("%s: bearer token %d, want 200", u.Subject, r.status)
		}
	}
}
