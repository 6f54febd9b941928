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
