package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestMethodOverrideParameterDecided: ASP.NET MVC reads a POST's method
// override from an X-HTTP-Method-Override header and, without one, from a
// form field or query parameter of that name ([HttpDelete] actions match
// it). The gateway removes the header but read only _method from the
// query and the form: a user whom the routes refuse DELETE sent
// POST /items/1?X-HTTP-Method-Override=DELETE, was decided as a POST and
// forwarded. It is decided as both methods, as _method is: a 403.
func TestMethodOverrideParameterDecided(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	gw, ck := frameworkGateway(t, "items", up.URL, true)
	for _, tc := range []struct{ query, form string }{
		{query: "_method=delete"},
		{query: "X-HTTP-Method-Override=DELETE"},
		{query: "x-http-method-override=delete"},
		{form: "X-HTTP-Method-Override=DELETE"},
		{form: "a=1&X-HTTP-METHOD-OVERRIDE=delete"},
	} {
		u := gw.URL + "/items/1?" + tc.query
		req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(tc.form))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(ck)
		before := up.count()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || up.count() != before {
			t.Errorf("POST %s with %q: %d, forwarded %v; want 403, nothing forwarded",
				u, tc.form, resp.StatusCode, up.count() != before)
		}
	}
}
