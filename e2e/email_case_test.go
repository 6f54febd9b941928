package e2e

import (
	"net/http"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestEmailRulesFoldCaseBeyondASCII signs in users whose verified address
// differs from an allow_emails or allow_email_domains entry in the case of
// a letter that is not ASCII. The rules compare addresses
// case-insensitively, but the entry was lower-cased with Unicode's mapping
// and the address with ASCII's only: MÜLLER@example.com was refused the
// entry müller@example.com (403) while Müller@example.com passed it. A
// Kelvin-sign address still never passes kate's entry.
func TestEmailRulesFoldCaseBeyondASCII(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	p := oidctest.New(t, oidctest.Options{})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", `
[[routes]]
path = "/people/**"
allow_emails = ["müller@example.com", "kate@example.com"]

[[routes]]
path = "/books/**"
allow_email_domains = ["BÜCHER.example"]
`))
	for _, tc := range []struct {
		email, path string
		want        int
	}{
		{"MÜLLER@example.com", "/people/x", http.StatusOK},
		{"Müller@Example.com", "/people/x", http.StatusOK},
		{"muller@example.com", "/people/x", http.StatusForbidden},
		{"\u212aate@example.com", "/people/x", http.StatusBadGateway}, // a look-alike fails the sign-in
		{"ann@bücher.example", "/books/x", http.StatusOK},
		{"ann@BÜCHER.EXAMPLE", "/books/x", http.StatusOK},
	} {
		p.SetUser(oidctest.User{Subject: "u-" + tc.email, Claims: map[string]any{"email": tc.email, "email_verified": true}})
		status, _, _ := get(t, browser(t), gw.URL+tc.path)
		if status != tc.want {
			t.Errorf("%s on %s: %d, want %d", tc.email, tc.path, status, tc.want)
		}
		if status == http.StatusOK && up.last().Headers.Get("X-Forwarded-Email") != tc.email {
			t.Errorf("%s: the app saw X-Forwarded-Email %q", tc.email, up.last().Headers.Get("X-Forwarded-Email"))
		}
	}
}
