package proxy

import (
	"errors"
	"net/http"
	"testing"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/policy"
)

// TestExplainAgreesWithServe: `portcullis check --request` (Explain) gives
// the verdict ServeHTTP gives the same request with a bearer token of the
// same identity. It used to match the path alone (policy.Table.Match and
// Route.Evaluate), so it called allowed what the gateway refuses through a
// path alias ("/admin/", "/admin.json" are also decided as "/admin") or a
// POST's _method, and missed the 400 of an access_token in the query.
func TestExplainAgreesWithServe(t *testing.T) {
	f := newFixture(t, withRoutes(t, []policy.RouteConfig{
		{Path: "/public/**", Public: true},                                                   // 0
		{Path: "/admin", AllowGroups: []string{"admins"}},                                    // 1
		{Path: "/items/*", Methods: []string{"DELETE"}, AllowGroups: []string{"admins"}},     // 2
		{Path: "/api/**", RequireScopes: []string{"api:write"}},                              // 3
		{Path: "/**", Methods: []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}}, // 4
	}))
	ids := map[string]*portcullis.Identity{
		"bob-token": {Subject: "bob", Groups: []string{"staff"}},
		"ann-token": {Subject: "ann", Groups: []string{"admins"}, Scopes: []string{"api:write"}},
	}
	for tok, id := range ids {
		f.prov.bearers[tok] = id
	}
	requests := []struct{ method, target string }{
		{"GET", "/admin"}, {"GET", "/admin/"}, {"GET", "/admin.json"}, {"GET", "/admin.tar.gz/"},
		{"GET", "/administrator"}, {"GET", "/public/x"}, {"GET", "/public/x?access_token=t"},
		{"GET", "/x?access_token=t"}, {"POST", "/items/1"}, {"POST", "/items/1?_method=delete"},
		{"POST", "/items/1?_method=DELETE&_method=put"}, {"DELETE", "/items/1"}, {"GET", "/api/x"},
		{"GET", "/nothing/../admin/"}, {"GET", "/a%2Fb"}, {"get", "/x"}, {"TRACE", "/x"}, {"HEAD", "/admin/"},
		{"POST", "/x?_method=TRACE"},
	}
	for _, rq := range requests {
		for _, tok := range []string{"", "bob-token", "ann-token"} {
			var opts []reqOption
			if tok != "" {
				opts = append(opts, withHeader("Authorization", "Bearer "+tok))
			}
			resp := f.do(t, rq.method, rq.target, nil, opts...)
			served := resp.StatusCode
			ex, err := f.h.Explain(rq.method, "http://gw.test"+rq.target, nil, ids[tok])
			explained := explainedStatus(t, ex, err)
			if explained != served {
				t.Errorf("%s %s as %q: explained %d (route %v, %s), served %d", rq.method, rq.target, tok,
					explained, ex.Route, ex.Outcome, served)
			}
		}
	}
}

// explainedStatus is the status ServeHTTP answers (no browser) for what
// Explain decided: a refusal's own, 404 for no route.
func explainedStatus(t *testing.T, ex Explanation, err error) int {
	t.Helper()
	var refused *RefusedError
	switch {
	case errors.As(err, &refused):
		return refused.Status
	case err != nil:
		t.Fatalf("explain: %v", err)
	case ex.Route == nil:
		return http.StatusNotFound
	}
	switch ex.Outcome {
	case portcullis.OutcomeAllow, portcullis.OutcomePublic:
		return http.StatusOK
	case portcullis.OutcomeUnauthenticated:
		return http.StatusUnauthorized
	}
	return http.StatusForbidden
}

// TestExplainDecidesWebDAVHeadersAsServe: `check --request --header`
// gives Explain a Destination, Depth and Overwrite, which decide a WebDAV
// request as much as its path does; without them Explain could not show
// why a COPY to /archive/ is refused, and called a Depth 1 listing of
// /reports/ a deep one.
func TestExplainDecidesWebDAVHeadersAsServe(t *testing.T) {
	f, bob := staffFixture(t, effectRoutes)
	id := &portcullis.Identity{Subject: "bob", Groups: []string{"staff"}}
	cases := []struct{ method, path, dest, overwrite, depth string }{
		{"COPY", "/files/x", "/archive/x", "", ""}, {"COPY", "/files/x", "/ledger/x", "F", ""},
		{"COPY", "/files/x", "/ledger/x", "", ""}, {"MOVE", "/files/x", "/files/y", "", ""},
		{"COPY", "/files/x", "http://gw.test/archive/x", "", ""}, {"COPY", "/files/x", "http://other.test/x", "", ""},
		{"COPY", "/files/x", "/a/../archive/x", "", ""}, {"PROPFIND", "/", "", "", "1"},
		{"PROPFIND", "/files/", "", "", "1"}, {"PROPFIND", "/files/", "", "", "infinity"},
		{"LOCK", "/", "", "", "0"}, {"LOCK", "/", "", "", "infinity"}, {"REPORT", "/reports/", "", "", "0"},
	}
	for _, c := range cases {
		header, opts := http.Header{}, []reqOption{bob}
		for k, v := range map[string]string{"Destination": c.dest, "Overwrite": c.overwrite, "Depth": c.depth} {
			if v != "" {
				header.Set(k, v)
				opts = append(opts, withHeader(k, v))
			}
		}
		served := f.do(t, c.method, c.path, nil, opts...).StatusCode
		ex, err := f.h.Explain(c.method, "http://gw.test"+c.path, header, id)
		if explained := explainedStatus(t, ex, err); explained != served {
			t.Errorf("%s %s %v: explained %d (route %v, why %q), served %d", c.method, c.path, header, explained, ex.Route, ex.Why, served)
		}
	}
}

// TestExplainGatewayEndpoint: a path under the prefix is a gateway
// endpoint, which no route decides: Explain names it, and refuses with
// serve's 404 a path there that names none.
func TestExplainGatewayEndpoint(t *testing.T) {
	f := newFixture(t)
	for endpoint := range gatewayEndpoints {
		ex, err := f.h.Explain("GET", "http://gw.test/oauth2"+endpoint, nil, nil)
		if err != nil || ex.Endpoint != endpoint || ex.Route != nil {
			t.Errorf("%s: endpoint %q, route %v, err %v", endpoint, ex.Endpoint, ex.Route, err)
		}
	}
	for _, p := range []string{"/oauth2", "/oauth2/", "/oauth2/nope", "/oauth2//auth"} {
		var refused *RefusedError
		if _, err := f.h.Explain("GET", "http://gw.test"+p, nil, nil); !errors.As(err, &refused) || refused.Status != http.StatusNotFound {
			t.Errorf("%s: %v, want a 404 refusal", p, err)
		}
	}
}
