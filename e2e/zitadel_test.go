package e2e

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

// startZitadel serves zitadel/oidc's example OpenID Provider (an
// OpenID-certified library) in-process on a loopback listener and registers a
// confidential web client "web"/"secret" for redirectURI. Its user is
// test-user@127.0.0.1 with password verysecure.
func startZitadel(tb testing.TB, redirectURI string) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	storage.RegisterClients(storage.WebClient("web", "secret", redirectURI))
	router := exampleop.SetupServer(issuer, storage.NewStorage(storage.NewUserStore(issuer)), nil, false)
	srv := &http.Server{Handler: router}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return issuer
}

var loginIDField = regexp.MustCompile(`name="id" value="([^"]+)"`)

// zitadelLogin submits the example provider's login form found in page.
func zitadelLogin(tb testing.TB, c *http.Client, issuer, page, user, password string) (int, string) {
	tb.Helper()
	m := loginIDField.FindStringSubmatch(page)
	if m == nil {
		tb.Fatalf("no login form in provider page:\n%s", page)
	}
	form := url.Values{"id": {m[1]}, "username": {user}, "password": {password}}
	req, _ := http.NewRequest("POST", issuer+"/login/username", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("login POST: %v", err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	_, _ = io.Copy(b, resp.Body)
	return resp.StatusCode, b.String()
}

func gatewayConfig(issuer, clientID, clientSecret, upstreamURL, extra string) string {
	return tomlConfig{Provider: oidcProvider(issuer, clientID, clientSecret), Upstream: upstreamURL,
		Extra: extra, Routes: demoRoutes + "\n[[routes]]\npath = \"/**\"\n"}.String()
}

func TestZitadelLogin(t *testing.T) {
	up := newUpstream(t)
	a := pickAddrs(t)
	issuer := startZitadel(t, "http://"+a.Listen+"/oauth2/callback")
	gw := startGateway(t, a, gatewayConfig(issuer, "web", "secret", up.URL, ""))
	c := browser(t)

	status, page, resp := get(t, c, gw.URL+"/hello/world?x=1")
	if status != 200 || !strings.HasPrefix(resp.Request.URL.String(), issuer) {
		t.Fatalf("want the provider's login page, got %d at %s", status, resp.Request.URL)
	}
	if up.count() != 0 {
		t.Fatalf("upstream reached before login")
	}
	status, body := zitadelLogin(t, c, issuer, page, "test-user@127.0.0.1", "verysecure")
	if status != 200 {
		t.Fatalf("after login: %d\n%s\ngateway:\n%s", status, body, gw.Proc.Output())
	}
	s := decodeSeen(t, body)
	if s.Path != "/hello/world" || s.Query != "x=1" {
		t.Errorf("upstream got %s?%s, want /hello/world?x=1", s.Path, s.Query)
	}
	if got := s.Headers.Get("X-Forwarded-User"); got != "id1" {
		t.Errorf("X-Forwarded-User = %q, want id1", got)
	}
	if got := s.Headers.Get("X-Forwarded-Email"); got != "test-user@zitadel.ch" {
		t.Errorf("X-Forwarded-Email = %q (userinfo completes the ID token)", got)
	}
	if s.Headers.Get("X-Portcullis-Jwt-Assertion") == "" {
		t.Error("no identity assertion sent upstream")
	}
	if ck := s.Headers.Get("Cookie"); strings.Contains(ck, "portcullis") {
		t.Errorf("gateway cookie forwarded upstream: %q", ck)
	}

	// Spoofed identity headers never reach the upstream.
	req, _ := http.NewRequest("GET", gw.URL+"/again", nil)
	req.Header.Set("X-Forwarded-User", "admin")
	req.Header.Set("X_Forwarded_Email", "boss@example.com")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b := new(strings.Builder)
	io.Copy(b, resp.Body)
	resp.Body.Close()
	s = decodeSeen(t, b.String())
	if got := s.Headers.Values("X-Forwarded-User"); len(got) != 1 || got[0] != "id1" {
		t.Errorf("X-Forwarded-User = %q after spoofing", got)
	}
	if got := s.Headers.Values("X_Forwarded_Email"); len(got) != 0 {
		t.Errorf("underscore spoof forwarded: %q", got)
	}

	// The user has no groups claim: the admin route refuses with a 403 page.
	status, page, _ = get(t, c, gw.URL+"/admin/")
	if status != 403 || !strings.Contains(page, "admins") {
		t.Errorf("admin route: %d\n%s", status, page)
	}
}
