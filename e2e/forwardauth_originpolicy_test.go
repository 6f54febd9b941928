package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestForwardAuthAppCannotSetOriginPolicies: through each documented front
// proxy, an app's answer reaches the browser without Clear-Site-Data, NEL
// and Alt-Svc, as proxy mode removes them (docs/requests.md, request
// hygiene). Chromium obeys Clear-Site-Data "cookies" (or "*") for the whole
// registrable domain (TestHostileAppCannotClearGatewayCookiesInChromium):
// one app behind a front proxy, on any host of the site, deleted the
// gateway's session cookie and signed the user out of the gateway and of
// every other app. A NEL policy has the browser report the URL of every
// request of the origin, the gateway's callback with its code among them,
// to the app's collector; an Alt-Svc steers the browser's connections to
// the host, the gateway's endpoints on it included. The app's other headers
// pass.
func TestForwardAuthAppCannotSetOriginPolicies(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			if front.name == "ingress-nginx" {
				// No annotation hides an answer's header for one Ingress;
				// docs/forward-auth.md names the controller's hide-headers.
				t.Skip("ingress-nginx: the controller's ConfigMap, not the Ingress, hides answer headers")
			}
			s := behindFront(t, front.trusted, front.start)
			session := strings.Join(signedInBehindFront(t, s), "; ")
			q := url.Values{
				"Clear-Site-Data": {`"cookies"`, `"*"`},
				"Nel":             {`{"report_to":"app","max_age":86400,"include_subdomains":true,"success_fraction":1}`},
				"Alt-Svc":         {`h3=":443"; ma=86400; persist=1`},
				"X-App-Own":       {"kept"},
			}
			req, _ := http.NewRequest("GET", "http://"+s.front+"/answer-headers/?"+q.Encode(), nil)
			req.Header.Set("Accept", "application/json")
			req.Header.Set("Cookie", session)
			resp, err := plainClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || s.up.last().Path != "/answer-headers/" {
				t.Fatalf("%d, the app saw %q: want 200 from the app", resp.StatusCode, s.up.last().Path)
			}
			for _, name := range []string{"Clear-Site-Data", "Nel", "Alt-Svc"} {
				if v := resp.Header.Values(name); len(v) > 0 {
					t.Errorf("the app's %s reached the browser: %q", name, v)
				}
			}
			if got := resp.Header.Get("X-App-Own"); got != "kept" {
				t.Errorf("the app's own header: %q, want kept", got)
			}
		})
	}
}
