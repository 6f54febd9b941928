package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/portcullis/portcullis/internal/oidctest"
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
	tb.Helper()
	bin := testenv.LookPath(tb, "traefik")
	host, _, _ := strings.Cut(listen, ":")
	dir := tb.TempDir()
	dynamic := filepath.Join(dir, "dynamic.yaml")
	text := snippet(tb, "traefik.yaml", "dash.example.com", host,
		"http://portcullis:4180", "http://"+gateway, "http://127.0.0.1:3000", "http://"+app,
		// The gateway's cookie on an http public_url.
		"__Host-portcullis", "portcullis")
	if err := os.WriteFile(dynamic, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
	static := filepath.Join(dir, "traefik.yaml")
	if err := os.WriteFile(static, []byte(fmt.Sprintf(traefikStatic, listen, dynamic)), 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "--configfile="+static)
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

// traefikSetup is an app, a test provider, the gateway in forward-auth mode
// and Traefik in front of the app with the documented configuration.
type traefikSetup struct {
	up    *upstream
	p     *oidctest.Provider
	gw    *gateway
	front string // Traefik's address
}

func behindTraefik(t *testing.T) traefikSetup {
	s := traefikSetup{up: newUpstream(t), p: oidctest.New(t, oidctest.Options{}), front: testenv.Addr(testenv.FreePort(t))}
	a := pickAddrs(t)
	s.gw = startGateway(t, a, forwardAuthConfig(s.p, "http://"+s.front, s.up.URL, "127.0.0.1/32"))
	startTraefik(t, s.front, a.Listen, strings.TrimPrefix(s.up.URL, "http://"))
	return s
}

func TestForwardAuthTraefik(t *testing.T) {
	s := behindTraefik(t)
	// Traefik copies the answer's headers under their own names: the app
	// reads X-Auth-Request-User, and X-Forwarded-User is removed.
	frontProxyCase(t, "http://"+s.front, "X-Auth-Request-User", s.p, s.up, s.gw)
	hostileCase(t, "http://"+s.front, "X-Auth-Request-User", s.p, s.up)
}

func TestForwardAuthConnectionHeaderTraefik(t *testing.T) {
	s := behindTraefik(t)
	connectionCase(t, "http://"+s.front, "X-Auth-Request-", s.p, s.up)
}

func TestForwardAuthManyGroupsTraefik(t *testing.T) {
	s := behindTraefik(t)
	manyGroupsCase(t, "http://"+s.front, "X-Auth-Request-Groups", s.p, s.up)
}

// TestForwardAuthTraefikSignInChromium: behind Traefik a real browser
// without a session lands on the gateway's 401 page, which takes it
// through the sign-in and back to the page it asked for.
func TestForwardAuthTraefikSignInChromium(t *testing.T) {
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
