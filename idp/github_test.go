package idp

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

func githubClient(t *testing.T, g *oidctest.GitHubServer) *Client {
	t.Helper()
	c, err := New(Config{Kind: "github", ClientID: g.ClientID, ClientSecret: g.ClientSecret,
		RedirectURL: redirectURL, AuthorizationURL: g.AuthorizationURL(), TokenURL: g.TokenURL(),
		UserinfoURL: g.UserURL()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGitHubLogin(t *testing.T) {
	private := "private"
	tests := []struct {
		name        string
		user        oidctest.GitHubUser
		email       string
		scopeString string
	}{
		{name: "public email verified in /user/emails", user: oidctest.GitHubUser{ID: 12345678, Login: "octocat", Email: "octo@github.com",
			Emails: []oidctest.GitHubEmail{
				{Email: "main@example.com", Primary: true, Verified: true},
				{Email: "Octo@GitHub.com", Verified: true},
			}}, email: "Octo@GitHub.com"},
		// /user shows the public address verified or not: only
		// /user/emails says which.
		{name: "unverified public email not trusted", user: oidctest.GitHubUser{ID: 12345678, Login: "octocat", Email: "ceo@example.com",
			Emails: []oidctest.GitHubEmail{
				{Email: "ceo@example.com"},
				{Email: "main@example.com", Primary: true, Verified: true},
			}}, email: "main@example.com"},
		{name: "public email missing from /user/emails", user: oidctest.GitHubUser{ID: 12345678, Login: "octocat", Email: "ceo@example.com",
			Emails: []oidctest.GitHubEmail{{Email: "main@example.com", Primary: true}}}, email: ""},
		{name: "primary verified from /user/emails", user: oidctest.GitHubUser{ID: 12345678, Login: "octocat",
			Emails: []oidctest.GitHubEmail{
				{Email: "old@example.com", Verified: true},
				{Email: "main@example.com", Primary: true, Verified: true, Visibility: &private},
			}}, email: "main@example.com"},
		{name: "unverified primary ignored", user: oidctest.GitHubUser{ID: 12345678, Login: "octocat",
			Emails: []oidctest.GitHubEmail{
				{Email: "main@example.com", Primary: true},
				{Email: "other@example.com", Verified: true},
			}}, email: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := oidctest.NewGitHub(t, tt.user)
			c := githubClient(t, g)
			if !c.Ready() {
				t.Fatal("github client not ready without discovery")
			}
			code := authorize(t, c, "st", "", testVerifier)
			toks, id, err := c.Exchange(context.Background(), code, testVerifier, "", time.Time{})
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if id.Subject != "12345678" || id.PreferredUsername != "octocat" || id.Issuer != "" {
				t.Errorf("identity = %+v", id)
			}
			if id.Email != tt.email || id.EmailVerified != (tt.email != "") {
				t.Errorf("email %q verified %v, want %q", id.Email, id.EmailVerified, tt.email)
			}
			if n := g.Requests("/user/emails"); n != 1 {
				t.Errorf("%d requests at /user/emails, want 1", n)
			}
			if a := g.LastAccept("/user"); a != "application/vnd.github+json" {
				t.Errorf("Accept = %q", a)
			}
			// GitHub lists granted scopes comma-separated ("read:user,user:email,read:org");
			// kind github adds read:org for organisations and teams.
			if want := []string{"read:user", "user:email", "read:org"}; !slices.Equal(toks.Scopes, want) || !slices.Equal(id.Scopes, want) {
				t.Errorf("scopes = %q, identity scopes %q, want %q", toks.Scopes, id.Scopes, want)
			}
		})
	}
}

func TestGitHubBadCode(t *testing.T) {
	g := oidctest.NewGitHub(t, oidctest.GitHubUser{ID: 1, Login: "x"})
	c := githubClient(t, g)
	if _, id, err := c.Exchange(context.Background(), "bogus", testVerifier, "", time.Time{}); err == nil {
		t.Fatalf("bad code accepted: %+v", id)
	}
	code := authorize(t, c, "st", "", testVerifier)
	if _, id, err := c.Exchange(context.Background(), code, testVerifier+"x", "", time.Time{}); err == nil {
		t.Fatalf("wrong PKCE verifier accepted: %+v", id)
	}
}

func TestSplitGitHubScopes(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"read:user,user:email", []string{"read:user", "user:email"}},
		{"repo", []string{"repo"}},
		{"repo, gist,", []string{"repo", "gist"}},
		{",", nil},
	}
	for _, tt := range tests {
		if got := splitGitHubScopes(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("splitGitHubScopes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestGitHubScopesAlwaysAskEmails: scopes that leave out user:email get it
// added, as read:org is, since only GET /user/emails says which address is
// verified; without it no sign-in could carry an email.
func TestGitHubScopesAlwaysAskEmails(t *testing.T) {
	g := oidctest.NewGitHub(t, oidctest.GitHubUser{ID: 7, Login: "octocat", Email: "octo@example.com",
		Emails: []oidctest.GitHubEmail{{Email: "octo@example.com", Primary: true, Verified: true}}})
	c, err := New(Config{Kind: "github", ClientID: g.ClientID, ClientSecret: g.ClientSecret, RedirectURL: redirectURL,
		AuthorizationURL: g.AuthorizationURL(), TokenURL: g.TokenURL(), UserinfoURL: g.UserURL(),
		Scopes: []string{"read:user"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"read:user", "user:email", "read:org"}; !slices.Equal(c.cfg.Scopes, want) {
		t.Fatalf("scopes %q, want %q", c.cfg.Scopes, want)
	}
	_, id, err := c.Exchange(context.Background(), authorize(t, c, "st", "", testVerifier), testVerifier, "", time.Time{})
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if id.Email != "octo@example.com" || !id.EmailVerified {
		t.Errorf("email %q verified %v", id.Email, id.EmailVerified)
	}
}
