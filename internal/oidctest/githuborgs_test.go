package oidctest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// ghGet GETs u with the token and returns the status, headers and the
// decoded body (a list or an object).
func ghGet(t *testing.T, u, token string) (int, http.Header, any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v any
	_ = json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, resp.Header, v
}

var linkRel = regexp.MustCompile(`<([^>]+)>; rel="(\w+)"`)

func links(h http.Header) map[string]string {
	out := map[string]string{}
	for _, m := range linkRel.FindAllStringSubmatch(h.Get("Link"), -1) {
		out[m[2]] = m[1]
	}
	return out
}

// ghAll follows rel="next" from u and collects field of every item
// ("organization.login/slug" for teams).
func ghAll(t *testing.T, u, token, field string) ([]string, int) {
	t.Helper()
	var out []string
	pages := 0
	for u != "" {
		st, h, v := ghGet(t, u, token)
		if st != 200 {
			t.Fatalf("GET %s: %d %v", u, st, v)
		}
		pages++
		for _, it := range v.([]any) {
			m := it.(map[string]any)
			if field == "team" {
				out = append(out, m["organization"].(map[string]any)["login"].(string)+"/"+m["slug"].(string))
			} else {
				out = append(out, m[field].(string))
			}
		}
		u = links(h)["next"]
	}
	return out, pages
}

func TestGitHubOrgsAndTeamsPaging(t *testing.T) {
	g := NewGitHub(t, GitHubUser{ID: 1, Login: "alice"})
	g.SetOrgs(GitHubOrg{Login: "acme", Teams: []string{"sre", "dev", "ops"}}, GitHubOrg{Login: "beta"},
		GitHubOrg{Login: "gamma", Teams: []string{"web"}})
	tok := g.IssueToken("read:org", "user:email")
	st, h, _ := ghGet(t, g.URL+"/user/orgs?per_page=2", tok)
	l := links(h)
	if st != 200 || l["next"] != g.URL+"/user/orgs?page=2&per_page=2" || l["last"] == "" || l["prev"] != "" {
		t.Fatalf("page 1: %d Link %q", st, h.Get("Link"))
	}
	if h.Get("X-OAuth-Scopes") != "read:org, user:email" {
		t.Fatalf("X-OAuth-Scopes %q", h.Get("X-OAuth-Scopes"))
	}
	_, h2, _ := ghGet(t, l["next"], tok)
	if l2 := links(h2); l2["next"] != "" || l2["prev"] == "" || l2["first"] == "" {
		t.Fatalf("last page Link %q", h2.Get("Link"))
	}
	orgs, pages := ghAll(t, g.URL+"/user/orgs?per_page=2", tok, "login")
	if strings.Join(orgs, ",") != "acme,beta,gamma" || pages != 2 {
		t.Fatalf("orgs %v in %d pages", orgs, pages)
	}
	teams, pages := ghAll(t, g.URL+"/user/teams?per_page=3", tok, "team")
	if strings.Join(teams, ",") != "acme/sre,acme/dev,acme/ops,gamma/web" || pages != 2 {
		t.Fatalf("teams %v in %d pages", teams, pages)
	}
	// One page: no Link header at all.
	if _, h, _ := ghGet(t, g.URL+"/user/orgs", tok); h.Get("Link") != "" {
		t.Fatalf("single page Link %q", h.Get("Link"))
	}
	// A membership change is seen at once.
	g.SetOrgs(GitHubOrg{Login: "acme", Teams: []string{"dev"}})
	if teams, _ := ghAll(t, g.URL+"/user/teams", tok, "team"); strings.Join(teams, ",") != "acme/dev" {
		t.Fatalf("after removal: %v", teams)
	}
	if c := g.Calls("/user/teams"); len(c) != 3 || c[0].Authorization != "Bearer "+tok {
		t.Fatalf("calls %+v", c)
	}
}

func TestGitHubScopesAndFaults(t *testing.T) {
	g := NewGitHub(t, GitHubUser{ID: 1, Login: "alice"})
	g.SetOrgs(GitHubOrg{Login: "acme", Teams: []string{"sre"}})
	noOrg := g.IssueToken("user:email")
	for _, p := range []string{"/user/orgs", "/user/teams", "/user/memberships/orgs/acme"} {
		st, h, _ := ghGet(t, g.URL+p, noOrg)
		if st != 403 || !strings.Contains(h.Get("X-Accepted-OAuth-Scopes"), "read:org") {
			t.Fatalf("%s without read:org: %d %q", p, st, h.Get("X-Accepted-OAuth-Scopes"))
		}
	}
	if st, _, _ := ghGet(t, g.URL+"/user/orgs", "gho_unknown"); st != 401 {
		t.Fatalf("bad token: %d", st)
	}
	tok := g.IssueToken("read:org")
	g.SetFaults(FaultGitHubServerError)
	if st, _, _ := ghGet(t, g.URL+"/user/teams", tok); st != 502 {
		t.Fatalf("server error: %d", st)
	}
	g.SetFaults(FaultGitHubRateLimited)
	if st, h, _ := ghGet(t, g.URL+"/user/orgs", tok); st != 403 || h.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("rate limited: %d", st)
	}
	g.SetFaults(0)
	if st, _, v := ghGet(t, g.URL+"/user/memberships/orgs/acme", tok); st != 200 || v.(map[string]any)["state"] != "active" {
		t.Fatalf("membership: %d %v", st, v)
	}
	if st, _, _ := ghGet(t, g.URL+"/user/memberships/orgs/other", tok); st != 404 {
		t.Fatalf("not a member: %d", st)
	}
}

func TestGitHubSAMLEnforcedOrg(t *testing.T) {
	g := NewGitHub(t, GitHubUser{ID: 1, Login: "alice"})
	g.SetOrgs(GitHubOrg{Login: "acme", Teams: []string{"sre"}},
		GitHubOrg{Login: "secure", ID: 4242, Teams: []string{"admins"}, SAMLEnforced: true})
	tok := g.IssueToken("read:org")
	st, h, v := ghGet(t, g.URL+"/user/orgs", tok)
	if st != 200 || len(v.([]any)) != 1 || h.Get("X-GitHub-SSO") != "partial-results; organizations=4242" {
		t.Fatalf("orgs: %d %v X-GitHub-SSO %q", st, v, h.Get("X-GitHub-SSO"))
	}
	st, h, v = ghGet(t, g.URL+"/user/teams", tok)
	if st != 200 || len(v.([]any)) != 1 || h.Get("X-GitHub-SSO") != "partial-results; organizations=4242" {
		t.Fatalf("teams: %d %v X-GitHub-SSO %q", st, v, h.Get("X-GitHub-SSO"))
	}
	required := func(st int, h http.Header, v any) {
		t.Helper()
		msg, _ := v.(map[string]any)["message"].(string)
		if st != 403 || !strings.HasPrefix(h.Get("X-GitHub-SSO"), "required; url="+g.URL+"/orgs/secure/sso?authorization_request=") ||
			!strings.HasPrefix(msg, "Resource protected by organization SAML enforcement.") {
			t.Fatalf("want the SSO 403: %d %q %v", st, h.Get("X-GitHub-SSO"), v)
		}
	}
	st, h, v = ghGet(t, g.URL+"/user/memberships/orgs/secure", tok)
	required(st, h, v)
	g.SetFaults(FaultGitHubSSOTeams403)
	st, h, v = ghGet(t, g.URL+"/user/teams", tok)
	required(st, h, v)
}
