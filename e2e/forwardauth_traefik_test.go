package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/portcullis/portcullis/internal/testenv"
)

// traefikStatic is the static configuration a test's Traefik runs with: one
// HTTP entry point and the documented dynamic configuration from a file.
// Its format arguments are the listen address and the dynamic file.
const traefikStatic = `entryPoints:
  web:
    address: "%[1]s"
providers:
  file:
    filename: "%[2]s"
    watch: false
log:
  level: WARN
global:
  checkNewVersion: false
  sendAnonymousUsage: false
`

// startTraefik runs docs/forward-auth/traefik.yaml, built as its Go module
// publishes it (scripts/install-test-tools.sh), with the test's addresses.
func startTraefik(tb testing.TB, listen, gateway, app string) {
	runTraefik(tb, traefikStatic, listen, gateway, app)
}

// runTraefik runs Traefik with the static configuration static (format
// arguments: the listen address and the dynamic file) and the documented
// dynamic one, and waits until it routes.
func runTraefik(tb testing.TB, static, listen, gateway, app string) {
	tb.Helper()
	bin := testenv.LookPath(tb, "traefik")
	host, _, _ := strings.Cut(listen, ":")
	dir := tb.TempDir()
	dynamic := filepath.Join(dir, "dynamic.yaml")
	text := snippet(tb, "traefik.yaml", "dash.example.com", host,
		"http://portcullis:4180", "http://"+gateway, "http://127.0.0.1:3000", "http://"+app)
	staticFile := filepath.Join(dir, "traefik.yaml")
	for f, s := range map[string]string{dynamic: text, staticFile: fmt.Sprintf(static, listen, dynamic)} {
		if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "--configfile="+staticFile)
	cmd.Dir = dir
	p := testenv.Start(tb, cmd)
	testenv.WaitTCP(tb, listen, 20*time.Second, p)
	waitRouted(tb, "http://"+listen+"/public/x", p)
}

// waitRouted waits until Traefik has applied its file configuration: it
// listens before its routers exist and answers 404 until then.
func waitRouted(tb testing.TB, url string, p *testenv.Process) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if status, _, _ := get(tb, browser(tb), url); status == 200 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("traefik never routed %s\n%s", url, p.Output())
}

// behindTraefik is Traefik in front of the app with the documented
// configuration.
func behindTraefik(t *testing.T) frontSetup { return behindFront(t, "127.0.0.1/32", startTraefik) }

func TestForwardAuthTraefik(t *testing.T) {
	s := behindTraefik(t)
	// Traefik copies the answer's headers under their own names: the app
	// reads X-Auth-Request-User, and X-Forwarded-User is removed.
	frontProxyCase(t, "http://"+s.front, "X-Auth-Request-User", s.p, s.up, s.gw)
	hostileCase(t, "http://"+s.front, "X-Auth-Request-User", s.p, s.up)
}

func TestForwardAuthManyGroupsTraefik(t *testing.T) {
	s := behindTraefik(t)
	manyGroupsCase(t, "http://"+s.front, "X-Auth-Request-Groups", s.p, s.up)
}

// TestForwardAuthTraefikSignInChromium: behind Traefik a real browser
// without a session lands on the gateway's 401 page, which takes it
// through the sign-in and back to the page it asked for.
func TestForwardAuthTraefikSignInChromium(t *testing.T) {
	t.Parallel()
	s := behindTraefik(t)
	front, gw := s.front, s.gw
	ctx, cancel := context.WithTimeout(newChromium(t), 30*time.Second)
	defer cancel()
	want := "http://" + front + "/hello?q=1"
	if err := chromedp.Do(ctx, chromedp.Navigate(want)); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	// The page navigates on its own (meta refresh, then the provider's
	// redirects): ask where it is until it is back, or the time is up.
	var loc, body string
	for ctx.Err() == nil {
		loc, _ = chromedp.Run(ctx, chromedp.Location())
		if loc == want {
			if body, _ = chromedp.Run(ctx, chromedp.Text("body")); strings.Contains(body, `"alice"`) {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ctx.Err() != nil {
		t.Fatalf("sign-in through Traefik's 401 page: at %s\n%s\ngateway:\n%s", loc, body, gw.Proc.Output())
	}
	// The page is the app's echo of the request it received.
	if got := decodeSeen(t, body); got.Headers.Get("X-Auth-Request-User") != "alice" || got.Path != "/hello" || got.Query != "q=1" {
		t.Errorf("the app saw %s?%s with X-Auth-Request-User %q", got.Path, got.Query, got.Headers.Get("X-Auth-Request-User"))
	}
}

// TestForwardAuthTraefikMixedSpellings: a header the gateway sets or acts
// on, spelled with '_' or '.' in only some places ("X-Http_Method-Override",
// "X-Forwarded_User"), is a name Traefik cannot remove (it removes names,
// not patterns), and CGI, WSGI, Rack and PHP apps read it as the dashed
// name: Symfony performs a POST with "X-Http_Method-Override: DELETE" as a
// DELETE, a Flask app behind gunicorn routes by "X-Script_Name". The
// gateway refuses every such spelling, but only of the headers it is sent.
// The access-token headers, which proxy mode removes and forward-auth never
// sets, must not reach the app with a client's value either.
func TestForwardAuthTraefikMixedSpellings(t *testing.T) {
	s := behindTraefik(t)
	anon := browser(t)
	for _, h := range [][2]string{
		{"X-Http_Method-Override", "DELETE"}, {"X-Method.Override", "DELETE"},
		{"X-Script_Name", "/public"}, {"Path.Info", "/admin/secret"}, {"X-Rewrite_Url", "/admin/secret"},
		{"X-Forwarded_User", spoofMark}, {"X-Auth.Request-User", spoofMark},
		{"X-Forwarded-Access-Token", spoofMark}, {"X-Auth-Request-Access-Token", spoofMark},
		{"X_Forwarded_Access_Token", spoofMark},
	} {
		before := s.up.count()
		status, _ := send(t, anon, "POST", "http://"+s.front+"/public/x", map[string]string{h[0]: h[1]})
		if s.up.count() == before {
			continue // refused
		}
		for k, vs := range s.up.last().Headers {
			if foldName(k) == foldName(h[0]) && slices.Contains(vs, h[1]) {
				t.Errorf("anonymous POST /public/x (%d): the app received %s: %s", status, k, h[1])
			}
		}
	}
}

// foldName is a header name as CGI, WSGI and PHP read it.
func foldName(k string) string {
	return strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(k))
}

// TestForwardAuthTraefikRemovesAuthRequestFamily: the app never receives a
// client's X-Auth-Request-* header, whatever its name or spelling, as proxy
// mode and Caddy's snippet promise: apps moved from oauth2-proxy read its
// names (X-Auth-Request-Redirect, X-Auth-Request-Access-Token). The "_"
// and "." spellings, which PHP, CGI and WSGI read as the dashed name, the
// gateway refuses (400).
func TestForwardAuthTraefikRemovesAuthRequestFamily(t *testing.T) {
	s := behindTraefik(t)
	anon := browser(t)
	for _, name := range []string{"X-Auth-Request-Redirect", "X-Auth-Request-Tenant",
		"x-auth-request-user", "X_Auth_Request_Redirect", "X.Auth.Request.Tenant"} {
		before := s.up.count()
		status, _ := send(t, anon, "GET", "http://"+s.front+"/public/x", map[string]string{name: spoofMark})
		if s.up.count() == before {
			continue // refused: the gateway's answer to "_" and "." spellings
		}
		for k, vs := range s.up.last().Headers {
			if strings.HasPrefix(foldName(k), "X_AUTH_REQUEST_") && slices.Contains(vs, spoofMark) {
				t.Errorf("GET /public/x (%d): the app received the client's %s: %s", status, k, spoofMark)
			}
		}
	}
}
