package e2e

import (
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// newerUnicodeUsers hold characters that Unicode added after 15.0 and the
// gateway's Unicode 15.0 does not know: the outlined Latin capitals and
// digits (U+1CCD6 to U+1CCF9) and U+A7F1, which NFKC makes "A" to "Z",
// "0" to "9" and "S" in runtimes on a newer Unicode (Python 3.14, ICU 76
// and later: Node's normalize and Intl.Collator), as it makes the fullwidth
// letters ASCII everywhere.
var newerUnicodeUsers = []namedUser{
	{"outlined ADMIN as preferred_username", oidctest.User{Subject: "n1", Claims: map[string]any{
		"preferred_username": "\U0001CCD6\U0001CCD9\U0001CCE2\U0001CCDE\U0001CCE3"}}},
	{"outlined digits in the user", oidctest.User{Subject: "ops\U0001CCF1\U0001CCF2", Claims: map[string]any{}}},
	{"U+A7F1 in a group", oidctest.User{Subject: "n2", Claims: map[string]any{"groups": []any{"staff", "\ua7f1re"}}}},
}

// TestNewerUnicodeIdentityNeverReachesTheApp: a character the gateway's
// Unicode tables do not assign had neither a case mapping nor a
// decomposition there, so the look-alike rule let it through: the provider
// user whose preferred_username is the outlined "ADMIN" signed in (200) and
// reached the app, which on a newer Unicode reads it as "ADMIN". Such a
// value now fails the sign-in (502) and makes a bearer token invalid (401).
func TestNewerUnicodeIdentityNeverReachesTheApp(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", demoRoutes+"\n[[routes]]\npath = \"/**\"\n"))
	refusesEachIdentity(t, p, gw, up, newerUnicodeUsers)
}
