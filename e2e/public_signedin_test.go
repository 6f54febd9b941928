package e2e

import (
	"net/http"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// publicAndSignedIn are routes with a public /public/** and every other
// path for signed-in users: a legitimate request tried both ways.
const publicAndSignedIn = "[[routes]]\npath = \"/public/**\"\npublic = true\n\n[[routes]]\npath = \"/**\"\n"

// startPublicAndSignedIn starts a gateway with publicAndSignedIn routes in
// front of upstreamURL, at a new test provider.
func startPublicAndSignedIn(t *testing.T, upstreamURL string) *gateway {
	t.Helper()
	p := oidctest.New(t, oidctest.Options{})
	return startGateway(t, pickAddrs(t), oidctestConfig(p, upstreamURL, "", publicAndSignedIn))
}

// aliceOnPublicAndSignedIn starts such a gateway in front of a new echoing
// upstream and signs alice in: the gateway, the upstream and her cookie.
func aliceOnPublicAndSignedIn(t *testing.T) (*gateway, *upstream, *http.Cookie) {
	t.Helper()
	up := newUpstream(t)
	gw := startPublicAndSignedIn(t, up.URL)
	c := browser(t)
	loginThrough(t, c, gw, "alice")
	return gw, up, sessionCookie(t, c, gw)
}
