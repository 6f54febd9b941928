package e2e

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestTwoAuthorizationHeadersRefusedOnEveryRoute: two Authorization
// headers are a 400 invalid_request whatever the route decides, in proxy
// mode and forward-auth alike, as a token in the query string is. The
// contract states both refusals per request; the check lived where the
// gateway reads credentials, so a public route (and a path no route
// matches) forwarded both headers to the application, or answered forward-
// auth's 200, for the front proxy to forward them. RFC 9110 allows one
// Authorization field, and an application (or a proxy before it) may read
// the first, the last or both joined: ambiguity is refused, not resolved.
func TestTwoAuthorizationHeadersRefusedOnEveryRoute(t *testing.T) {
	p := oidctest.New(t, oidctest.Options{AccessTokenAudience: "portcullis-api"})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), tomlConfig{
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret) + "audiences = [\"portcullis-api\"]\n",
		Upstream: up.URL, Server: "trusted_proxies = [\"127.0.0.1/32\"]\n",
		Routes: demoRoutes + "\n[[routes]]\npath = \"/app/**\"\n"}.String())
	tok := bearer(p.AccessToken("alice", nil))
	for _, path := range []string{"/public/x", "/nothing", "/app/x"} {
		for _, authz := range [][]string{{"Basic YTpi", "Basic YzpkCg=="}, {tok, tok}, {"Basic YTpi", tok}} {
			before := up.count()
			proxied := apiCall(t, "GET", gw.URL+path, authz...)
			auth := forwardAuthCall(t, gw, path, authz)
			if proxied.status != http.StatusBadRequest || errorCode(t, proxied.body) != "invalid_request" {
				t.Errorf("proxy mode, %s with %d Authorization headers: %d %q; want 400 invalid_request",
					path, len(authz), proxied.status, errorCode(t, proxied.body))
			}
			if auth.status != http.StatusBadRequest || errorCode(t, auth.body) != "invalid_request" {
				t.Errorf("forward-auth, %s with %d Authorization headers: %d %q; want 400 invalid_request",
					path, len(authz), auth.status, errorCode(t, auth.body))
			}
			if up.count() != before {
				t.Errorf("%s with two Authorization headers reached the upstream", path)
			}
		}
	}
	// One Authorization header of the application's own is still
	// forwarded as it is on a public route.
	if r := apiCall(t, "GET", gw.URL+"/public/x", "Basic YTpi"); r.status != http.StatusOK ||
		decodeSeen(t, r.body).Headers.Get("Authorization") != "Basic YTpi" {
		t.Errorf("public route with one Authorization header: %d; want 200 with it forwarded", r.status)
	}
}

// forwardAuthCall asks the gateway's forward-auth endpoint, as a trusted
// front proxy does, about a GET of path with the Authorization values
// given, and returns its answer.
func forwardAuthCall(tb testing.TB, gw *gateway, path string, authz []string) apiResult {
	tb.Helper()
	req, err := http.NewRequest("GET", gw.URL+"/oauth2/auth", nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Host = "portcullis.internal"
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Forwarded-Method", "GET")
	req.Header.Set("X-Forwarded-Host", "app.example.com")
	req.Header.Set("X-Forwarded-Uri", path)
	req.Header.Set("X-Forwarded-Proto", "https")
	for _, a := range authz {
		req.Header.Add("Authorization", a)
	}
	resp, err := plainClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var b json.RawMessage
	json.NewDecoder(resp.Body).Decode(&b)
	return apiResult{status: resp.StatusCode, body: string(b)}
}

// errorCode is the "error" member of a JSON error answer ("" for another body).
func errorCode(tb testing.TB, body string) string {
	tb.Helper()
	var e struct{ Error string }
	json.Unmarshal([]byte(body), &e)
	return e.Error
}

// TestTwoAuthorizationHeadersBehindFrontProxies: behind each documented
// front proxy, a public path asked for with two Authorization headers never
// reaches the application (the gateway's 400 is ingress-nginx's 500, as
// every forward-auth error is), while one Authorization header still does.
func TestTwoAuthorizationHeadersBehindFrontProxies(t *testing.T) {
	t.Parallel()
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			s := behindFront(t, "127.0.0.0/8", front.start)
			before := s.up.count()
			r := apiCall(t, "GET", "http://"+s.front+"/public/x", "Basic YTpi", "Basic YzpkCg==")
			if r.status < 400 || s.up.count() != before {
				t.Errorf("two Authorization headers: %d, %d request(s) reached the app; want a refusal and none",
					r.status, s.up.count()-before)
			}
			if r := apiCall(t, "GET", "http://"+s.front+"/public/x", "Basic YTpi"); r.status != http.StatusOK {
				t.Errorf("one Authorization header: %d, want 200", r.status)
			}
		})
	}
}
