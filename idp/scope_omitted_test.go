package idp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestOmittedScopeIsNotTheRequestedOne: a token response may leave scope
// out when the grant is the requested scope (RFC 6749 §5.1), but the
// request the provider saw is the one the browser carried, which its user
// can edit. Dropping reports:write from the authorization URL, the user
// gets a grant without it, honestly stated by omission, and the gateway
// took the scopes it had asked for as granted: require_scopes =
// ["reports:write"] admitted a user the provider never granted it. The
// grant is read from the provider instead: the access token's own scope
// claim when it is a JWT, else introspection, else none.
func TestOmittedScopeIsNotTheRequestedOne(t *testing.T) {
	requested := []string{"openid", "email", "profile", "reports:write"}
	for _, tt := range []struct {
		name              string
		opts              oidctest.Options
		edit              bool
		want              []string
		deadIntrospection bool
	}{
		{name: "scope dropped, opaque token, introspection", opts: oidctest.Options{OmitTokenScope: true}, edit: true,
			want: []string{"openid", "email", "profile"}},
		{name: "scope dropped, JWT access token", edit: true,
			opts: oidctest.Options{OmitTokenScope: true, JWTAccessTokens: true, NoIntrospection: true},
			want: []string{"openid", "email", "profile"}},
		{name: "scope dropped, nothing tells", edit: true,
			opts: oidctest.Options{OmitTokenScope: true, NoIntrospection: true}},
		{name: "honest, introspection", opts: oidctest.Options{OmitTokenScope: true}, want: requested},
		{name: "honest, JWT access token", opts: oidctest.Options{OmitTokenScope: true, JWTAccessTokens: true,
			NoIntrospection: true}, want: requested},
		{name: "scope stated", opts: oidctest.Options{}, edit: true, want: []string{"openid", "email", "profile"}},
		{name: "introspection fails: the sign-in stands, without scope", opts: oidctest.Options{OmitTokenScope: true},
			deadIntrospection: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, c, _ := setup(t, tt.opts, func(cfg *Config) {
				cfg.Scopes = requested
				if tt.deadIntrospection {
					dead := httptest.NewServer(http.NotFoundHandler())
					dead.Close()
					cfg.IntrospectionURL = dead.URL + "/introspect"
				}
			})
			u, err := c.AuthCodeURL("state-1", "nonce-1", testVerifier, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.edit {
				// The user edits the URL before the browser follows it.
				pu, _ := url.Parse(u)
				q := pu.Query()
				q.Set("scope", "openid email profile")
				pu.RawQuery = q.Encode()
				u = pu.String()
			}
			hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := hc.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			toks, id, err := c.Exchange(context.Background(), loc.Query().Get("code"), testVerifier, "nonce-1", time.Time{})
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			if !slices.Equal(toks.Scopes, tt.want) || !slices.Equal(id.Scopes, tt.want) {
				t.Errorf("granted scopes %q (identity %q), want %q; the provider saw scope %q",
					toks.Scopes, id.Scopes, tt.want, p.LastAuthorize().Get("scope"))
			}
			if slices.Contains(id.Scopes, "reports:write") && !strings.Contains(p.LastAuthorize().Get("scope"), "reports:write") {
				t.Errorf("reports:write counts as granted although the provider was never asked for it")
			}
		})
	}
}
