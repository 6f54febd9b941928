package e2e

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// publicPathSmuggles name a public path after a protected one where only
// the query or a fragment holds it: oauth2-proxy matched its skip_auth_routes
// against the path and query together, so "/admin?/public" was public
// (GHSA-7rh7-c77v-6434), and a suffix after "#" widened a pattern while the
// app routed the path before it (GHSA-pxq7-h93f-9jrg). The encoded "?" and
// "#" are here because an app that decodes them cuts the path there.
var publicPathSmuggles = []string{"/admin/x?/public/x", "/admin/x?r=/public/x", "/admin/x?/../../public/x",
	"/admin/x?%2F..%2F..%2Fpublic%2Fx", "/admin/x/?/public/", "/admin/x#/public/x", "/admin/x#/../../public/x",
	"/admin/x%23/../../public/x", "/admin/x%3F/../../public/x", "/admin/x%3f/public/x", "/admin?public",
	"/admin/x?public=true#/public/", "/files/secret#/pub", "/files/secret%23/pub", "/files/secret?/pub",
	"/files/secret?x=/pub", "/files/secret%3F/pub", "/files/secret;/pub", "/files/secret%3B/pub"}

// smuggleRoutes are public /public/** and /files/**/pub (a glob widened in
// its middle, as the skip-auth patterns the fragment smuggled through
// were), and every other path for signed-in users.
const smuggleRoutes = "[[routes]]\npath = \"/public/**\"\npublic = true\n\n" +
	"[[routes]]\npath = \"/files/**/pub\"\npublic = true\n\n[[routes]]\npath = \"/**\"\n"

// TestPublicPathInQueryIsNotPublic: a request for a protected path whose
// query or fragment names a public one is decided by its path, in proxy
// mode and behind each documented front. Anonymous, none reaches the app
// with a path that is not public (a front that resolves the dot-segments
// itself sends the public path it decided) or gets a 200 of its own; the
// public path with the protected one in its query (the control) still
// reaches the app.
func TestPublicPathInQueryIsNotPublic(t *testing.T) {
	t.Parallel() // one gateway per mode, in parallel: each has its own provider, app and ports
	t.Run("proxy", func(t *testing.T) {
		t.Parallel()
		up := newUpstream(t)
		gw := startGateway(t, pickAddrs(t), oidctestConfig(oidctest.New(t, oidctest.Options{}), up.URL, "", smuggleRoutes))
		publicPathNotSmuggled(t, strings.TrimPrefix(gw.URL, "http://"), up)
	})
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			p, up, addr, a := oidctest.New(t, oidctest.Options{}), newUpstream(t), testenv.Addr(testenv.FreePort(t)), pickAddrs(t)
			cfg := forwardAuthTOML(p, "http://"+addr, up.URL, front.trusted)
			cfg.Routes = smuggleRoutes
			startGateway(t, a, cfg.String())
			front.start(t, addr, a.Listen, strings.TrimPrefix(up.URL, "http://"))
			publicPathNotSmuggled(t, addr, up)
		})
	}
}

// smugglePublic reports whether the app, given path, serves a public one:
// under /public/, or /files/**/pub without a ';', '#' or '?' before its
// "/pub" that an app cuts the path at ("/files/secret;/pub" is
// /files/secret to Tomcat and Spring).
func smugglePublic(path string) bool {
	return strings.HasPrefix(path, "/public/") ||
		strings.HasPrefix(path, "/files/") && strings.HasSuffix(path, "/pub") && !strings.ContainsAny(path, ";#?")
}

// publicPathNotSmuggled sends each smuggle to addr without a session, raw
// (Go's client would drop a fragment), and wants up never to receive a
// path outside /public/; then the controls, which must reach up with their query as sent.
func publicPathNotSmuggled(t *testing.T, addr string, up *upstream) {
	t.Helper()
	for _, target := range publicPathSmuggles {
		before := up.count()
		resp, _, err := rawExchange(t, addr, "GET "+target+" HTTP/1.1\r\nHost: "+addr+
			"\r\nAccept: application/json\r\nConnection: close\r\n\r\n")
		// Traefik resolves "/admin/x%23/../../public/x" to "/public/x"
		// itself and sends that: the app serves what was decided.
		if got := up.last(); up.count() != before && !smugglePublic(got.Path) {
			t.Errorf("%q: the app received %s %q ?%q", target, got.Method, got.Path, got.Query)
		} else if err == nil && resp.StatusCode < 300 && up.count() == before {
			t.Errorf("%q: %d without a session", target, resp.StatusCode)
		}
	}
	for _, control := range []string{"/public/x?/admin/x", "/files/a/b/pub?/files/secret"} {
		resp, _, err := rawExchange(t, addr, "GET "+control+" HTTP/1.1\r\nHost: "+addr+"\r\nConnection: close\r\n\r\n")
		path, query, _ := strings.Cut(control, "?")
		if err != nil || resp.StatusCode != 200 || up.last().Path != path || up.last().Query != query {
			t.Errorf("%q (control): %v %v, the app saw %q ?%q", control, resp, err, up.last().Path, up.last().Query)
		}
	}
}
