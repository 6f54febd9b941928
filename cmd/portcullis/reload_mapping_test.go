package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestReloadOfIdentityTermsEndsSessions: a session keeps the identity its
// sign-in derived, so a reload that changes how [provider] reads the
// identity (which claim holds the groups or the email, whether an email
// without email_verified counts as verified) or what the sign-in requires
// (acr_values) must not leave it deciding requests by the old terms until
// its next refresh. Before, alice kept /admin after each of these reloads
// (200); now her session ends (401) and, signed in again, she is decided
// by the new terms (403). A change outside those terms keeps the session.
// Both stores: a Redis session is opened through its cookie, bound alike.
func TestReloadOfIdentityTermsEndsSessions(t *testing.T) {
	stores := map[string]string{"cookie": "", "redis": fmt.Sprintf("store = \"redis\"\nredis_url = \"redis://%s/0\"\n", reviewRedis(t))}
	alice := func(extra map[string]any) oidctest.User {
		c := map[string]any{"email": "alice@example.com", "sid": "sid-alice"}
		for k, v := range extra {
			c[k] = v
		}
		return oidctest.User{Subject: "alice", Claims: c}
	}
	groupsRoute := "[[routes]]\npath = \"/admin/**\"\nallow_groups = [\"admins\"]\n"
	emailRoute := "[[routes]]\npath = \"/admin/**\"\nallow_emails = [\"alice@example.com\"]\n"
	for _, tc := range []struct {
		name           string
		user           oidctest.User
		route          string
		before, after  string // [provider] TOML before and after the reload
		want, wantNext int    // GET /admin/x after the reload, and after signing in again (0: not tried)
	}{
		{"groups_claim to a claim without the group", alice(map[string]any{"email_verified": true, "groups": []any{"admins"}, "roles": []any{"viewers"}}),
			groupsRoute, "", "groups_claim = \"roles\"\n", 401, 403},
		{"email_claim to another address", alice(map[string]any{"email_verified": true, "mail": "mallory@example.com"}),
			emailRoute, "", "email_claim = \"mail\"\n", 401, 403},
		{"assume_email_verified turned off", alice(nil),
			emailRoute, "assume_email_verified = true\n", "", 401, 403},
		{"acr_values required", alice(map[string]any{"email_verified": true}),
			emailRoute, "", "auth_params = { acr_values = \"mfa\" }\n", 401, 0},
		{"audiences: not an identity term", alice(map[string]any{"email_verified": true}),
			emailRoute, "", "audiences = [\"client\", \"api\"]\n", 200, 0},
	} {
		for _, store := range []string{"cookie", "redis"} {
			t.Run(store+"/"+tc.name, func(t *testing.T) {
				f := newFixtureWith(t, nil, nil, func(c *testConfig) {
					c.route, c.provider, c.session = tc.route, tc.before, stores[store]
				})
				f.p.SetUser(tc.user)
				browser := f.login()
				if got := f.get(browser, "/admin/x", false); got != 200 {
					t.Fatalf("GET /admin/x before the reload = %d, want 200", got)
				}
				c := f.cfg
				c.provider = tc.after
				f.write(c.String())
				if !f.g.reload(context.Background()) {
					t.Fatalf("reload refused; logs:\n%s", f.logs)
				}
				if got := f.get(browser, "/admin/x", false); got != tc.want {
					t.Errorf("GET /admin/x after the reload = %d, want %d", got, tc.want)
				}
				if tc.wantNext != 0 {
					if got := f.get(f.login(), "/admin/x", false); got != tc.wantNext {
						t.Errorf("GET /admin/x signed in again = %d, want %d", got, tc.wantNext)
					}
				}
			})
		}
	}
}
