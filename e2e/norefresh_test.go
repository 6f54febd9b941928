package e2e

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestNoRefreshTokenIsSaid: a provider that issues no refresh token (Google
// without offline access, Entra ID or Okta without offline_access) leaves
// every session to end with its first access token, an hour in, and users
// were sent to sign in again each hour with nothing in the log saying why.
// The first such sign-in now says it once, at warn, with the advice; later
// ones do not repeat it, and a provider that issues one says nothing.
func TestNoRefreshTokenIsSaid(t *testing.T) {
	t.Parallel()
	const said = "the provider issued no refresh token at a sign-in"
	for _, noRefresh := range []bool{true, false} {
		p := oidctest.New(t, oidctest.Options{NoRefreshToken: noRefresh})
		up := newUpstream(t)
		gw := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
			Upstream: up.URL, Routes: "[[routes]]\npath = \"/**\"\n"}.String())
		loginThrough(t, browser(t), gw, "alice")
		loginThrough(t, browser(t), gw, "alice")
		waitFor(t, "two sign-in lines", func() bool { return len(linesWith(gw.Proc.Output(), "proxy: signed in")) == 2 })
		lines := linesWith(settledOutput(t, gw), said) // a second warning too
		switch {
		case noRefresh && (len(lines) != 1 || !strings.Contains(lines[0], "level=WARN") ||
			!strings.Contains(lines[0], "sub=alice") || !strings.Contains(lines[0], "access_token_for=")):
			t.Errorf("without refresh tokens, two sign-ins said:\n%q\nlog:\n%s", lines, gw.Proc.Output())
		case !noRefresh && len(lines) != 0:
			t.Errorf("a provider that issues refresh tokens: %q", lines)
		}
	}
}
