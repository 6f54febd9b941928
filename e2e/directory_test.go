package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// directoryRoutes grant /eng/** to one group and /ops/** to another.
func directoryRoutes(eng, ops string) string {
	return `
[[routes]]
path = "/eng/**"
allow_groups = ["` + eng + `"]

[[routes]]
path = "/ops/**"
allow_groups = ["` + ops + `"]
`
}

// googleProvider is the [provider] of kind google for p (hosted domain
// acme.com) with g's service account key, the admin to act as ("": Cloud
// Identity) and the directory at directoryURL.
func googleProvider(t *testing.T, p *oidctest.Provider, g *oidctest.GoogleServer, admin, directoryURL string) string {
	s := `kind = "google"
` + oidcProvider(p.Issuer, p.ClientID, p.ClientSecret) + `hosted_domain = "acme.com"
google_service_account_file = "` + g.WriteServiceAccountKey(t) + `"
directory_url = "` + directoryURL + `"
`
	if admin != "" {
		s += "google_admin_email = \"" + admin + "\"\n"
	}
	return s
}

// googleGateway starts an OpenID provider playing Google's accounts (kind
// google with an explicit issuer), the Google directory fake and the gateway.
func googleGateway(t *testing.T, adminEmail, hd string) (*oidctest.Provider, *oidctest.GoogleServer, *gateway) {
	t.Helper()
	return googleGatewayWith(t, adminEmail, hd, 0, `groups_refresh = "1s"`)
}

func googleGatewayWith(t *testing.T, adminEmail, hd string, tokenLifetime time.Duration, extra string) (*oidctest.Provider, *oidctest.GoogleServer, *gateway) {
	t.Helper()
	p := oidctest.New(t, oidctest.Options{AccessTokenLifetime: tokenLifetime, User: &oidctest.User{Subject: "108123",
		Claims: map[string]any{"email": "ann@acme.com", "email_verified": true, "hd": hd}}})
	g := oidctest.NewGoogle(t, oidctest.GoogleOptions{})
	g.SetMemberships("ann@acme.com", "sre@acme.com")
	g.SetMemberships("sre@acme.com", "eng@acme.com") // nested: ann is in eng through sre
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), tomlConfig{
		Provider: googleProvider(t, p, g, adminEmail, g.URL) + extra + "\n",
		Session:  "refresh_margin = \"1s\"\n",
		Upstream: up.URL,
		Routes:   directoryRoutes("eng@acme.com", "ops@acme.com"),
	}.String())
	return p, g, gw
}

// TestGoogleDirectoryGroups logs in with kind = "google" through both
// directory ways: nested groups grant access, the authorization request asks
// for offline access, and a membership removed at the directory is picked
// up at groups_refresh.
func TestGoogleDirectoryGroups(t *testing.T) {
	t.Parallel()
	for name, admin := range map[string]string{"admin sdk": "admin@acme.com", "cloud identity": ""} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, g, gw := googleGateway(t, admin, "acme.com")
			c := browser(t)
			status, body, _ := get(t, c, gw.URL+"/eng/dash")
			if status != 200 {
				t.Fatalf("login: %d\n%s\ngateway:\n%s", status, body, gw.Proc.Output())
			}
			got := strings.Split(decodeSeen(t, body).Headers.Get("X-Forwarded-Groups"), ",")
			if slices.Sort(got); !slices.Equal(got, []string{"eng@acme.com", "sre@acme.com"}) {
				t.Errorf("X-Forwarded-Groups = %q", got)
			}
			q := p.LastAuthorize()
			if q.Get("access_type") != "offline" || q.Get("prompt") != "consent" || q.Get("hd") != "acme.com" {
				t.Errorf("authorization request: %v", q)
			}
			if status, _, _ := get(t, c, gw.URL+"/ops/"); status != http.StatusForbidden {
				t.Errorf("/ops/ without the group: %d", status)
			}
			// Removed from sre@ at the directory: access to eng ends at
			// the next read, groups_refresh (1s) later.
			g.SetMemberships("ann@acme.com")
			time.Sleep(1200 * time.Millisecond)
			if status, body, _ := get(t, c, gw.URL+"/eng/dash"); status != http.StatusForbidden {
				t.Errorf("after removal and groups_refresh: %d\n%s", status, body)
			}
			if status, _, _ := get(t, c, gw.URL+"/eng/dash"); status != http.StatusForbidden {
				t.Errorf("second request after removal: %d", status)
			}
		})
	}
}

// TestGoogleSessionRefreshes: a kind = "google" session outlives its access
// token by refreshing it; the refreshed ID token passes the hosted_domain
// check and the directory groups stay without another directory read.
func TestGoogleSessionRefreshes(t *testing.T) {
	t.Parallel()
	p, g, gw := googleGatewayWith(t, "admin@acme.com", "acme.com", 2*time.Second, `groups_refresh = "1h"`)
	c := browser(t)
	if status, body, _ := get(t, c, gw.URL+"/eng/dash"); status != 200 {
		t.Fatalf("login: %d\n%s\ngateway:\n%s", status, body, gw.Proc.Output())
	}
	reads := len(g.Calls("/admin/directory/v1/groups"))
	time.Sleep(2500 * time.Millisecond) // the access token has expired
	status, body, _ := get(t, c, gw.URL+"/eng/dash")
	if status != 200 {
		t.Fatalf("after the access token expired: %d\n%s\ngateway:\n%s", status, body, gw.Proc.Output())
	}
	if n := p.Requests("/token"); n != 2 {
		t.Errorf("%d token requests, want the code exchange and one refresh", n)
	}
	if got := decodeSeen(t, body).Headers.Get("X-Forwarded-Groups"); !strings.Contains(got, "eng@acme.com") {
		t.Errorf("groups after refresh: %q", got)
	}
	if n := len(g.Calls("/admin/directory/v1/groups")); n != reads {
		t.Errorf("directory read %d more times on a token refresh", n-reads)
	}
}

// TestGoogleDirectoryOutage: a directory that is down at login fails the
// sign-in with a page that says so (never an identity without its groups);
// once logged in, an outage keeps the last groups, is counted and logged.
func TestGoogleDirectoryOutage(t *testing.T) {
	t.Parallel()
	_, g, gw := googleGateway(t, "admin@acme.com", "acme.com")
	g.SetFaults(oidctest.GoogleUnavailable)
	c := browser(t)
	status, body, _ := get(t, c, gw.URL+"/eng/dash")
	if status != http.StatusBadGateway || !strings.Contains(body, "group memberships could not be read from the directory") {
		t.Fatalf("login with the directory down: %d\n%s", status, body)
	}
	g.SetFaults(0)
	if status, body, _ := get(t, c, gw.URL+"/eng/dash"); status != 200 {
		t.Fatalf("login: %d\n%s", status, body)
	}
	g.SetFaults(oidctest.GoogleUnavailable)
	time.Sleep(1200 * time.Millisecond)
	if status, body, _ := get(t, c, gw.URL+"/eng/dash"); status != 200 {
		t.Errorf("directory down after login: %d, want the last groups kept\n%s", status, body)
	}
	if m := opsMetrics(t, gw); !strings.Contains(m, `portcullis_directory_errors_total{source="google"} 2`) {
		t.Errorf("metrics lack two directory errors:\n%s", testenv.LinesContaining(m, "directory"))
	}
	deadline := time.Now().Add(10 * time.Second) // the log is flushed every 200 ms, or later under load
	for !strings.Contains(gw.Proc.Output(), "keeping the last groups read") {
		if time.Now().After(deadline) {
			t.Errorf("no log line for the outage:\n%s", gw.Proc.Output())
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestGoogleHostedDomain refuses an account of another Workspace domain.
func TestGoogleHostedDomain(t *testing.T) {
	t.Parallel()
	_, g, gw := googleGateway(t, "admin@acme.com", "evil.example")
	status, body, _ := get(t, browser(t), gw.URL+"/eng/dash")
	if status != http.StatusForbidden || !strings.Contains(body, "Google Workspace domain") {
		t.Errorf("foreign hd: %d\n%s", status, body)
	}
	if n := len(g.Calls("/admin/directory/v1/groups")); n != 0 {
		t.Errorf("directory asked %d times for a refused account", n)
	}
}

// githubGroupsProvider are the [provider] keys of a GitHub login at g whose
// organisations and teams are read again every second.
func githubGroupsProvider(g *oidctest.GitHubServer) string {
	return `kind = "github"
client_id = "` + g.ClientID + `"
client_secret = "` + g.ClientSecret + `"
github_api_url = "` + g.URL + `"
authorization_url = "` + g.AuthorizationURL() + `"
token_url = "` + g.TokenURL() + `"
groups_refresh = "1s"
`
}

// TestGitHubOrgsAndTeams grants routes by GitHub organisation and team and
// refuses a login whose organisation enforces SAML SSO rather than leaving
// its teams out.
func TestGitHubOrgsAndTeams(t *testing.T) {
	t.Parallel()
	g := oidctest.NewGitHub(t, oidctest.GitHubUser{ID: 583231, Login: "octocat", Email: "octocat@example.com"})
	g.SetOrgs(oidctest.GitHubOrg{Login: "Acme", Teams: []string{"sre"}}, oidctest.GitHubOrg{Login: "octo-org"})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), tomlConfig{
		Provider: githubGroupsProvider(g),
		Upstream: up.URL,
		Routes:   directoryRoutes("acme/sre", "acme/web"),
	}.String())
	c := browser(t)
	status, body, _ := get(t, c, gw.URL+"/eng/")
	if status != 200 {
		t.Fatalf("login: %d\n%s\ngateway:\n%s", status, body, gw.Proc.Output())
	}
	if got := decodeSeen(t, body).Headers.Get("X-Forwarded-Groups"); got != "acme,octo-org,acme/sre" {
		t.Errorf("X-Forwarded-Groups = %q", got)
	}
	if status, _, _ := get(t, c, gw.URL+"/ops/"); status != http.StatusForbidden {
		t.Errorf("/ops/ without acme/web: %d", status)
	}
	// Moved from sre to web: picked up at groups_refresh.
	g.SetOrgs(oidctest.GitHubOrg{Login: "Acme", Teams: []string{"web"}})
	time.Sleep(1200 * time.Millisecond)
	if status, _, _ := get(t, c, gw.URL+"/ops/"); status != 200 {
		t.Errorf("/ops/ after joining acme/web: %d", status)
	}
	if status, _, _ := get(t, c, gw.URL+"/eng/"); status != http.StatusForbidden {
		t.Errorf("/eng/ after leaving acme/sre: %d", status)
	}
	// A new login while an organisation enforces SAML SSO.
	g.SetOrgs(oidctest.GitHubOrg{Login: "Acme", Teams: []string{"sre"}}, oidctest.GitHubOrg{Login: "sso-org", SAMLEnforced: true})
	status, body, _ = get(t, browser(t), gw.URL+"/eng/")
	if status != http.StatusBadGateway || !strings.Contains(body, "SAML single sign-on") {
		t.Errorf("login with an SSO-enforcing organisation: %d\n%s", status, body)
	}
}

// TestEntraGroupsOverage logs in at an Entra ID-like issuer: with few groups
// they come from the token, with more than the token holds (overage) from
// Microsoft Graph, throttling included; app roles count as groups.
func TestEntraGroupsOverage(t *testing.T) {
	t.Parallel()
	const eng, ops = "7b0c8e5a-0000-4000-8000-00000000e001", "7b0c8e5a-0000-4000-8000-00000000e002"
	const adminRole = "62e90394-69f5-4237-9190-012177145e10" // a directory role the user holds: no group
	for name, extra := range map[string][]string{"in the token": nil,
		"overage": {"7b0c8e5a-0000-4000-8000-00000000e003", "7b0c8e5a-0000-4000-8000-00000000e004"}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := oidctest.NewEntra(t, oidctest.EntraOptions{GroupsThreshold: 2},
				oidctest.EntraUser{Email: "ann@acme.com", Groups: append([]string{eng}, extra...), Roles: []string{"Dashboards.Reader"},
					DirectoryRoles: []string{adminRole}})
			e.ThrottleNext(1, time.Second)
			p := e.Provider
			up := newUpstream(t)
			gw := startGateway(t, pickAddrs(t), tomlConfig{
				Provider: `kind = "entra"
` + oidcProvider(p.Issuer, p.ClientID, p.ClientSecret) + `directory_url = "` + e.GraphURL + `"
`,
				Upstream: up.URL,
				Routes:   directoryRoutes(eng, "Dashboards.Reader") + "\n[[routes]]\npath = \"/none/**\"\nallow_groups = [\"" + ops + "\"]\n",
			}.String())
			c := browser(t)
			status, body, _ := get(t, c, gw.URL+"/eng/")
			if status != 200 {
				t.Fatalf("login: %d\n%s\ngateway:\n%s", status, body, gw.Proc.Output())
			}
			groups := decodeSeen(t, body).Headers.Get("X-Forwarded-Groups")
			if !strings.Contains(groups, eng) || !strings.HasSuffix(groups, ",Dashboards.Reader") || strings.Contains(groups, adminRole) {
				t.Errorf("X-Forwarded-Groups = %q", groups)
			}
			if status, _, _ := get(t, c, gw.URL+"/ops/"); status != 200 {
				t.Errorf("route granted by the app role: %d", status)
			}
			if status, _, _ := get(t, c, gw.URL+"/none/"); status != http.StatusForbidden {
				t.Errorf("route of another group: %d", status)
			}
			calls := len(e.Calls("/v1.0/me/transitiveMemberOf"))
			if (extra == nil) != (calls == 0) || (extra != nil && calls != 2) {
				t.Errorf("%d Graph calls (one throttled), want %v", calls, map[bool]string{true: "none", false: "2"}[extra == nil])
			}
		})
	}
}

// TestGroupsRefreshSharedByReplicas: with the redis store, the groups one
// replica reads again at groups_refresh are the session's on every replica;
// the other does not read them a second time.
func TestGroupsRefreshSharedByReplicas(t *testing.T) {
	t.Parallel()
	rs := startRedis(t, false)
	g := oidctest.NewGitHub(t, oidctest.GitHubUser{ID: 583231, Login: "octocat", Email: "octocat@example.com"})
	g.SetOrgs(oidctest.GitHubOrg{Login: "acme", Teams: []string{"sre"}})
	up := newUpstream(t)
	cfg := tomlConfig{
		Provider: githubGroupsProvider(g),
		Session:  redisSession(rs.URL()),
		Upstream: up.URL,
		Routes:   directoryRoutes("acme/sre", "acme/web"),
	}.String()
	gw1 := startGateway(t, pickAddrs(t), cfg)
	gw2 := startGateway(t, pickAddrs(t), cfg)
	c := browser(t)
	if status, body, _ := get(t, c, gw1.URL+"/eng/"); status != 200 {
		t.Fatalf("login: %d\n%s\ngateway:\n%s", status, body, gw1.Proc.Output())
	}
	if status, _, _ := get(t, c, gw2.URL+"/eng/"); status != 200 {
		t.Fatalf("the session on the second replica: %d", status)
	}
	g.SetOrgs(oidctest.GitHubOrg{Login: "acme", Teams: []string{"web"}})
	time.Sleep(1200 * time.Millisecond)
	reads := len(g.Calls("/user/teams"))
	if status, _, _ := get(t, c, gw2.URL+"/eng/"); status != http.StatusForbidden {
		t.Errorf("replica 2 after groups_refresh: %d", status)
	}
	if status, _, _ := get(t, c, gw1.URL+"/ops/"); status != 200 {
		t.Errorf("replica 1 with the groups replica 2 read: %d", status)
	}
	if n := len(g.Calls("/user/teams")) - reads; n != 1 {
		t.Errorf("%d reads of /user/teams after groups_refresh, want 1", n)
	}
}
