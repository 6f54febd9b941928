package e2e

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// sentQueries are query strings real clients send as they are (curl,
// Chromium's address bar and links, Go's client): ';' between parameters
// (Perl's CGI.pm writes them so) or in a value, a '%' that starts no escape
// (a discount of "100%", a search for "50%"), and a malformed escape. Go's
// httputil.ReverseProxy re-encodes such a query from url.ParseQuery, which
// drops every pair it cannot parse and sorts the rest: "sort=name;asc&page=2"
// reached the application as "page=2".
var sentQueries = []string{
	"a=1;b=2",
	"sort=name;asc&page=2",
	"off=100%",
	"q=50%&z=1&a[]=x",
	"x=%zz&y=caf%C3%A9",
}

// TestQueryReachesAppAsSent: a signed-in user's request and an anonymous
// one on a public route reach the application with the query string its
// client sent, byte for byte, from curl, Go's client and Chromium. The
// gateway reads the query for its own checks (access_token, _method) with
// ';' as a separator and malformed escapes kept, as the frameworks read it,
// so forwarding it unchanged admits nothing: a token after a ';' is still
// a 400.
func TestQueryReachesAppAsSent(t *testing.T) {
	t.Parallel()
	gw := startPublicAndSignedIn(t, newUpstream(t).URL)
	c := browser(t)
	loginThrough(t, c, gw, "alice")
	ck := sessionCookie(t, c, gw)
	curl := testenv.LookPath(t, "curl")
	for _, q := range sentQueries {
		for _, base := range []string{"/public/x", "/app/x"} {
			u := gw.URL + base + "?" + q
			out, err := exec.Command(curl, "-sS", "-g", "-b", ck.Name+"="+ck.Value, u).CombinedOutput()
			if err != nil {
				t.Fatalf("curl %s: %v\n%s", u, err, out)
			}
			wantQuery(t, "curl", u, string(out), q)
			status, body, _ := get(t, c, u)
			if status != http.StatusOK {
				t.Errorf("Go's client GET %s: %d\n%s", u, status, body)
				continue
			}
			wantQuery(t, "Go's client", u, body, q)
		}
	}
	for _, base := range []string{"/public/x", "/app/x"} {
		u := gw.URL + base + "?a=1;access_token=secret-value"
		if status, _, _ := withCookie(t, "GET", u, ck, false); status != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400: a token after ';' is still in the URL", u, status)
		}
	}
	queriesInChromium(t, gw)
}

// queriesInChromium navigates Chromium (signing in on the way) to each of
// sentQueries and checks the application's echo.
func queriesInChromium(t *testing.T, gw *gateway) {
	t.Helper()
	ctx, cancel := context.WithTimeout(newChromium(t), 90*time.Second)
	defer cancel()
	for _, q := range sentQueries {
		u := gw.URL + "/app/x?" + q
		s := open(t, ctx, u)
		wantQuery(t, "Chromium", u, s.Text, q)
	}
}

// wantQuery checks that the upstream's echo body shows query q.
func wantQuery(t *testing.T, client, u, body, q string) {
	t.Helper()
	if !strings.HasPrefix(strings.TrimSpace(body), "{") {
		t.Errorf("%s %s: no echo from the application:\n%s", client, u, body)
		return
	}
	if got := decodeSeen(t, body).Query; got != q {
		t.Errorf("%s %s: the application got the query %q, want %q as sent", client, u, got, q)
	}
}

// TestSignInReturnsToQueryAsSent: a sign-in started by a page whose query
// holds a '%' that starts no escape (?off=100%) returns to that page, with
// its query as it was, in proxy mode and through the nginx and Caddy
// snippets of forward-auth. The return URL was refused for its malformed
// escape and the browser landed on "/", though in a query such an escape
// is text that neither the browser nor the Location header decodes.
func TestSignInReturnsToQueryAsSent(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", "[[routes]]\npath = \"/**\"\n"))
	signInReturns(t, "proxy mode", gw.URL)
	for _, f := range []struct {
		name, trusted string
		start         func(tb testing.TB, listen, gateway, app string)
	}{{"nginx", "127.0.0.2/32", startNginx}, {"Caddy", "127.0.0.1/32", startCaddy}} {
		s := behindFront(t, f.trusted, f.start)
		signInReturns(t, f.name, "http://"+s.front)
	}
}

// signInReturns signs a new browser in from base's /app/x with each of
// sentQueries and checks the page it lands on.
func signInReturns(t *testing.T, mode, base string) {
	t.Helper()
	for _, q := range sentQueries {
		u := base + "/app/x?" + q
		status, body, resp := get(t, browser(t), u)
		if status != http.StatusOK || resp.Request.URL.String() != u {
			t.Errorf("%s: a sign-in from %s: %d at %s", mode, u, status, resp.Request.URL)
			continue
		}
		wantQuery(t, mode, u, body, q)
	}
}
