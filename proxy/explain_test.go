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
	// The status of a decision when ServeHTTP answers it (no browser).
	status := func(d portcullis.Decision) int {
		switch d.Outcome {
		case portcullis.OutcomeAllow, portcullis.OutcomePublic:
			return http.StatusOK
		case portcullis.OutcomeUnauthenticated:
			return http.StatusUnauthorized
		}
		return http.StatusForbidden
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
			ex, err := f.h.Explain(rq.method, "http://gw.test"+rq.target, ids[tok])
			var refused *RefusedError
			explained := 0
			switch {
			case errors.As(err, &refused):
				explained = refused.Status
			case err != nil:
				t.Fatalf("%s %s: %v", rq.method, rq.target, err)
			case ex.Route == nil:
				explained = http.StatusNotFound
			default:
				explained = status(ex.Decision)
			}
			if explained != served {
				t.Errorf("%s %s as %q: explained %d (route %v, %s), served %d", rq.method, rq.target, tok,
					explained, ex.Route, ex.Outcome, served)
			}
		}
	}
}

// TestExplainGatewayEndpoint: a path under the prefix is a gateway
// endpoint, which no route decides: Explain names it, and refuses with
// serve's 404 a path there that names none.
func TestExplainGatewayEndpoint(t *testing.T) {
	f := newFixture(t)
	for endpoint := range gatewayEndpoints {
		ex, err := f.h.Explain("GET", "http://gw.test/oauth2"+endpoint, nil)
		if err != nil || ex.Endpoint != endpoint || ex.Route != nil {
			t.Errorf("%s: endpoint %q, route %v, err %v", endpoint, ex.Endpoint, ex.Route, err)
		}
	}
	for _, p := range []string{"/oauth2", "/oauth2/", "/oauth2/nope", "/oauth2//auth"} {
		var refused *RefusedError
		if _, err := f.h.Explain("GET", "http://gw.test"+p, nil); !errors.As(err, &refused) || refused.Status != http.StatusNotFound {
			t.Errorf("%s: %v, want a 404 refusal", p, err)
		}
	}
}
