package idp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestVerifyBearerEntraAppOnlyWithoutRole: Entra ID issues a client
// credentials token for an API to any application that has a service
// principal in the tenant, whether or not it was granted anything: a
// multi-tenant application of another publisher gets one there as soon as a
// user of the tenant consents to it, and its owner can then ask the
// tenant's token endpoint for an app-only token for the gateway's API
// (iss the tenant, aud the client ID). Such a token has no scp (no user
// delegated it) and no roles (no app role was assigned); Microsoft's
// guidance is that an API refuses it. Before, it passed every route that
// names nobody, as the service principal's oid. A delegated token (scp) or
// an app-only token with an assigned role (roles) still passes.
func TestVerifyBearerEntraAppOnlyWithoutRole(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, func(cfg *Config) { cfg.Kind = "entra" })
	now := clk.Now()
	token := func(extra map[string]any) string {
		claims := map[string]any{"iss": p.Issuer, "sub": "5f1a", "oid": "5f1a", "aud": p.ClientID,
			"azp": "3c2b-other-publisher", "tid": "t", "ver": "2.0",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		for k, v := range extra {
			claims[k] = v
		}
		return p.Sign(claims, oidctest.SignOptions{})
	}
	for name, extra := range map[string]map[string]any{
		"no scp or roles": nil,
		"empty roles":     {"roles": []any{}},
		"empty scp":       {"scp": ""},
		"idtyp app":       {"idtyp": "app"},
	} {
		id, err := c.VerifyBearer(context.Background(), token(extra))
		if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "app-only") {
			t.Errorf("%s: %+v, %v; want it refused as an app-only token without a role", name, id, err)
		}
	}
	for name, extra := range map[string]map[string]any{
		"delegated": {"scp": "Dashboards.Read"},
		"app role":  {"roles": []any{"Dashboards.Reader"}, "idtyp": "app"},
	} {
		if _, err := c.VerifyBearer(context.Background(), token(extra)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
