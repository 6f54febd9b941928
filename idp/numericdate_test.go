package idp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestTimeClaimOutOfRangeIsRefused: a NumericDate beyond what time.Time
// holds was converted with int64(f), whose result Go leaves to the
// platform (on amd64 the smallest int64), and time.Unix wrapped it again:
// a token "not valid before" 1e19, or "issued" then, was read as dated long
// ago and accepted at once, and an exp of 9.2e18 made a token valid for
// billions of years. Such a claim is no date: the token is refused, as a
// JWT and as an introspection answer.
func TestTimeClaimOutOfRangeIsRefused(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, nil)
	now := clk.Now().Unix()
	for _, claims := range []map[string]any{
		{"nbf": 1e19}, {"nbf": 9.3e18}, {"nbf": -1e19},
		{"iat": 1e19}, {"iat": 9.3e18},
		{"exp": 9.2e18}, {"exp": 1e300}, {"exp": 1e19},
	} {
		tok := p.AccessToken("alice", claims)
		if id, err := c.VerifyBearer(context.Background(), tok); err == nil {
			t.Errorf("%v: accepted, expiry %v", claims, id.Expiry)
		}
	}
	// A date far ahead, but one time.Time holds, is a date.
	if _, err := c.VerifyBearer(context.Background(), p.AccessToken("alice", map[string]any{"exp": 99999999999})); err != nil {
		t.Errorf("exp in the year 5138: %v", err)
	}

	for _, nbf := range []float64{1e19, 9.3e18} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(map[string]any{"active": true, "sub": "svc", "client_id": "client",
				"exp": now + 60, "nbf": nbf})
		}))
		ic, err := New(Config{Kind: "oauth2", ClientID: "client", ClientSecret: "secret",
			AuthorizationURL: srv.URL, TokenURL: srv.URL, UserinfoURL: srv.URL,
			IntrospectionURL: srv.URL + "/introspect", Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		if id, err := ic.VerifyBearer(context.Background(), "opaque-token"); err == nil {
			t.Errorf("introspected nbf %g: accepted, expiry %v", nbf, id.Expiry)
		}
		srv.Close()
	}
}
