package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// githubConfig is the documented GitHub configuration with the endpoints
// pointed at the fake.
func githubConfig(g *oidctest.GitHubServer, upstreamURL string) string {
	return tomlConfig{
		Provider: `kind = "github"
client_id = "` + g.ClientID + `"
client_secret = "` + g.ClientSecret + `"
authorization_url = "` + g.AuthorizationURL() + `"
token_url = "` + g.TokenURL() + `"
userinfo_url = "` + g.UserURL() + `"
`,
		Upstream: upstreamURL,
		Routes: `
[[routes]]
path = "/settings/**"
require_scopes = ["user:email"]

[[routes]]
path = "/**"
allow_email_domains = ["example.com"]
`}.String()
}

// TestGitHubLogin logs in through the gateway at a faithful fake of
// GitHub's OAuth app and REST endpoints (provider.kind = "github"): the
// numeric id is the user, the login the preferred username, and the email
// the public one of /user when /user/emails lists it verified, else the
// primary verified one.
func TestGitHubLogin(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		user       oidctest.GitHubUser
		wantEmail  string
		wantEmails int // requests at /user/emails
	}{
		{"private email", oidctest.GitHubUser{ID: 583231, Login: "octocat", Name: "The Octocat", Emails: []oidctest.GitHubEmail{
			{Email: "octocat@elsewhere.example.org", Verified: true},
			{Email: "unverified@example.com", Verified: false},
			{Email: "octocat@example.com", Primary: true, Verified: true},
		}}, "octocat@example.com", 1},
		{"public email", oidctest.GitHubUser{ID: 9919, Login: "hubot", Email: "hubot@example.com",
			Emails: []oidctest.GitHubEmail{{Email: "other@example.com", Primary: true, Verified: true},
				{Email: "hubot@example.com", Verified: true}}},
			"hubot@example.com", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := oidctest.NewGitHub(t, tc.user)
			up := newUpstream(t)
			gw := startGateway(t, pickAddrs(t), githubConfig(g, up.URL))
			c, _ := redirectCounter(t)
			status, body, _ := get(t, c, gw.URL+"/repos?tab=1")
			if status != 200 {
				t.Fatalf("login: %d\n%s\ngateway:\n%s", status, body, gw.Proc.Output())
			}
			s := decodeSeen(t, body)
			want := map[string]string{
				"X-Forwarded-User":               strconv.FormatInt(tc.user.ID, 10),
				"X-Forwarded-Preferred-Username": tc.user.Login,
				"X-Forwarded-Email":              tc.wantEmail,
			}
			for h, v := range want {
				if got := s.Headers.Get(h); got != v {
					t.Errorf("%s = %q, want %q", h, got, v)
				}
			}
			if s.Path != "/repos" || s.Query != "tab=1" {
				t.Errorf("upstream got %s?%s", s.Path, s.Query)
			}
			if n := g.Requests("/user/emails"); n != tc.wantEmails {
				t.Errorf("%d requests at /user/emails, want %d", n, tc.wantEmails)
			}
			if a := g.LastAccept("/user"); !strings.Contains(a, "application/vnd.github+json") {
				t.Errorf("GET /user with Accept %q", a)
			}
			// GitHub lists granted scopes comma-separated ("read:user,user:email").
			authorizes := g.Requests("/login/oauth/authorize")
			if status, body, _ := get(t, c, gw.URL+"/settings/emails"); status != 200 {
				t.Errorf("route requiring the granted scope user:email: %d\n%s", status, body)
			}
			if n := g.Requests("/login/oauth/authorize") - authorizes; n != 0 {
				t.Errorf("%d step-up trips to GitHub for a granted scope", n)
			}
		})
	}
}

// TestGitHubUnverifiedPublicEmailRefused: a user shows an address nobody
// verified as public on /user; /user/emails says it is unverified, so the
// gateway takes the user's primary verified address instead and the domain
// rule refuses them.
func TestGitHubUnverifiedPublicEmailRefused(t *testing.T) {
	t.Parallel()
	g := oidctest.NewGitHub(t, oidctest.GitHubUser{ID: 9920, Login: "mallory", Email: "ceo@example.com",
		Emails: []oidctest.GitHubEmail{{Email: "mallory@example.net", Primary: true, Verified: true},
			{Email: "ceo@example.com", Verified: false}}})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), githubConfig(g, up.URL))
	c, _ := redirectCounter(t)
	status, body, _ := get(t, c, gw.URL+"/repos")
	if status != 403 || up.count() != 0 {
		t.Fatalf("sign-in with an unverified public email: %d, %d requests upstream\n%s\ngateway:\n%s",
			status, up.count(), body, gw.Proc.Output())
	}
	if strings.Contains(body, "ceo@example.com") {
		t.Errorf("the refusal names the unverified address:\n%s", body)
	}
}
