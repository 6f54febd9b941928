package main

import (
	"net/http"
	"testing"
)

// TestRouteBoundToOneAudience: provider.audiences are accepted on every
// route, so a token issued for one API (aud "api-a") passes any route its
// rules admit, another API's included. A route binds itself to its API's
// tokens with require_claims on aud (docs/configuration.md, audiences):
// the token of the other audience is then a 403 there, a token naming
// both audiences passes, and a browser session (its ID token's aud is the
// client ID) is refused too.
func TestRouteBoundToOneAudience(t *testing.T) {
	f := newFixtureWith(t, nil, nil, func(c *testConfig) {
		c.provider = "audiences = [\"api-a\", \"api-b\"]\n"
		c.route = "\n[[routes]]\npath = \"/b/**\"\nrequire_claims = { aud = \"api-b\" }\n"
	})
	for _, tc := range []struct {
		name string
		aud  any
		path string
		want int
	}{
		{"api-a token at its own route", "api-a", "/a/x", http.StatusOK},
		{"api-a token at api-b's route", "api-a", "/b/x", http.StatusForbidden},
		{"api-b token at its route", "api-b", "/b/x", http.StatusOK},
		{"token for both", []any{"api-a", "api-b"}, "/b/x", http.StatusOK},
		{"token for neither", "api-c", "/a/x", http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest("GET", f.url(tc.path), nil)
		req.Header.Set("Authorization", "Bearer "+f.p.AccessToken("alice", map[string]any{"aud": tc.aud}))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	alice := f.login()
	if code := f.get(alice, "/b/x", false); code != http.StatusForbidden {
		t.Errorf("browser session at api-b's route: status %d, want 403", code)
	}
}
