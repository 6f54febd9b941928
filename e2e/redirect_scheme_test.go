package e2e

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestHTTPSGatewayReturnsOverHTTPSOnly runs the binary with an https
// public_url (TLS ends at a front proxy; the test speaks to the listener
// with the Host a browser would send): a return URL or an Origin on an
// allowed host over plain http is refused, a loopback one is not. The
// session cookie is Secure, so the test carries cookies itself.
func TestHTTPSGatewayReturnsOverHTTPSOnly(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), tomlConfig{
		PublicURL: "https://gw.example.com",
		Server:    `allowed_redirect_hosts = ["*.example.com", "localhost:3000"]` + "\n",
		Provider:  oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream:  newUpstream(t).URL,
		Routes:    demoRoutes,
	}.String())

	// start on the application's host goes to public_url's start with rd
	// made https.
	resp := navigate(t, "GET", gw.URL+"/oauth2/start?rd="+url.QueryEscape("http://app.example.com/x"), "app.example.com", nil)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("rd") != "https://app.example.com/" {
		t.Errorf("start on app.example.com = %d to %q, want rd https://app.example.com/", resp.StatusCode, resp.Header.Get("Location"))
	}

	var session []*http.Cookie
	for rd, want := range map[string]string{
		"http://app.example.com/x":  "/",
		"https://app.example.com/x": "https://app.example.com/x",
		"http://localhost:3000/x":   "http://localhost:3000/x",
	} {
		got, cookies := loginReturningTo(t, gw, rd)
		if got != want {
			t.Errorf("login with rd %s returned to %q, want %q\n%s", rd, got, want, gw.Proc.Output())
		}
		session = cookies
	}

	for _, tt := range []struct {
		origin string
		want   int
	}{{"http://app.example.com", http.StatusForbidden}, {"http://gw.example.com", http.StatusForbidden}, {"https://app.example.com", http.StatusFound}} {
		h := http.Header{"Origin": {tt.origin}}
		resp := navigate(t, "POST", gw.URL+"/oauth2/sign_out?rd=%2F", "gw.example.com", h, session...)
		if resp.StatusCode != tt.want {
			t.Errorf("sign-out from %s = %d, want %d", tt.origin, resp.StatusCode, tt.want)
		}
	}
}

// loginReturningTo signs in through start?rd=rd at the auto-login provider
// and returns the callback's Location and the session's cookies.
func loginReturningTo(t *testing.T, gw *gateway, rd string) (string, []*http.Cookie) {
	t.Helper()
	start := navigate(t, "GET", gw.URL+"/oauth2/start?rd="+url.QueryEscape(rd), "gw.example.com", nil)
	authz := navigate(t, "GET", start.Header.Get("Location"), "", nil)
	cb, err := url.Parse(authz.Header.Get("Location"))
	if err != nil || cb.Host != "gw.example.com" {
		t.Fatalf("provider sent the browser to %q", authz.Header.Get("Location"))
	}
	resp := navigate(t, "GET", gw.URL+cb.RequestURI(), "gw.example.com", nil, start.Cookies()...)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("callback = %d\n%s", resp.StatusCode, gw.Proc.Output())
	}
	return resp.Header.Get("Location"), resp.Cookies()
}

// navigate makes one browser navigation without following redirects, with the
// Host host (when not "") and the cookies given.
func navigate(t *testing.T, method, target, host string, h http.Header, cookies ...*http.Cookie) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "text/html")
	if host != "" {
		req.Host = host
	}
	for _, c := range cookies {
		if c.MaxAge < 0 { // a cleared cookie
			continue
		}
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	c := &http.Client{Transport: clientTransport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}
