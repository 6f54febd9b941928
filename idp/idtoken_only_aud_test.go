package idp

import (
	"context"
	"errors"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestIDTokenAudiencesAdmitNoBearer: a provider that names more audiences
// in its ID tokens (Zitadel adds the project ID) could only be signed in
// with by listing them in provider.audiences, which also admits, on every
// route, the bearer tokens any other client of that project obtains
// (review KN). provider.id_token_audiences trusts an audience in ID and
// back-channel logout tokens only: the sign-in passes, a bearer token for
// that audience is still refused, and one for another audience still is
// not trusted in an ID token.
func TestIDTokenAudiencesAdmitNoBearer(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, func(cfg *Config) { cfg.IDTokenAudiences = []string{"project-1"} })
	p.SetTokenField("id_token", `"`+idTokenWith(p, clk, []any{"client", "project-1"}, "client")+`"`)
	if _, id, err := login(t, c); err != nil || id == nil || id.Subject != "alice" {
		t.Fatalf("sign-in with aud [client project-1]: err = %v, id = %+v; want alice signed in", err, id)
	}
	if id, err := c.VerifyBearer(context.Background(), p.AccessToken("alice", map[string]any{"aud": "project-1"})); !errors.Is(err, ErrInvalidToken) || id != nil {
		t.Errorf("bearer token for project-1: identity %+v, err %v; want refused", id, err)
	}
	p.SetTokenField("id_token", `"`+idTokenWith(p, clk, []any{"client", "project-2"}, "client")+`"`)
	if _, id, err := login(t, c); err == nil || id != nil {
		t.Errorf("sign-in with aud [client project-2]: id = %+v; want refused", id)
	}
	lt := p.LogoutToken("alice", "", map[string]any{"aud": []any{"client", "project-1"}})
	if _, _, err := c.VerifyLogoutToken(context.Background(), lt); err != nil {
		t.Errorf("logout token with aud [client project-1]: %v; want accepted", err)
	}
}
