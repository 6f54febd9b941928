package oidctest

// Organisations and teams of GitHubServer.
//
// Faithful, per docs.github.com:
//   - GET /user/orgs (https://docs.github.com/en/rest/orgs/orgs#list-organizations-for-the-authenticated-user)
//     needs the user or read:org scope (write:org and admin:org imply
//     read:org); GET /user/teams (https://docs.github.com/en/rest/teams/teams#list-teams-for-the-authenticated-user)
//     the user, repo or read:org scope; either answers 403 without.
//   - Paging (https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api):
//     page and per_page (default 30, maximum 100), a Link header with
//     rel="prev", "next", "last" and "first" as applicable, omitted when
//     everything fits on one page.
//   - SAML SSO (https://docs.github.com/en/rest/authentication/authenticating-to-the-rest-api):
//     "If you requested data that could come from multiple organizations,
//     the API will not return results from the organizations that require
//     SAML SSO" and says which in "X-GitHub-SSO: partial-results;
//     organizations=ID,..." — this is what /user/orgs and /user/teams do
//     here by default; a request for one such organisation's data
//     (/user/memberships/orgs/{org}) answers 403 with "X-GitHub-SSO:
//     required; url=..." and the "Resource protected by organization SAML
//     enforcement" message. FaultGitHubSSOTeams403 makes /user/teams answer
//     that 403 instead, as some clients report seeing.
//   - Every authenticated answer carries X-OAuth-Scopes; scope refusals carry
//     X-Accepted-OAuth-Scopes.
//
// Simplified: one user; objects carry the fields a client reads (login, id,
// slug, organization.login, ...), not every documented one; the text of the
// scope refusal message is not documented and is the fake's own.

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// GitHubOrg is an organisation the user belongs to.
type GitHubOrg struct {
	Login string
	ID    int64 // default: 1000 + its position in SetOrgs
	// Teams are the slugs of the user's teams in the organisation.
	Teams []string
	// Admin makes the user an owner (role "admin" in the membership).
	Admin bool
	// SAMLEnforced: the organisation enforces SAML SSO and the user's token
	// is not authorized for it.
	SAMLEnforced bool
}

// GitHubFault is a misbehaviour of GitHubServer's organisation and team
// endpoints; faults combine with |.
type GitHubFault uint32

// The faults GitHubServer.SetFaults can switch on.
const (
	// FaultGitHubSSOTeams403: /user/teams answers 403 "X-GitHub-SSO:
	// required" for the first SAML-enforced organisation instead of leaving
	// its teams out.
	FaultGitHubSSOTeams403 GitHubFault = 1 << iota
	// FaultGitHubServerError: 502 from /user/orgs, /user/teams and
	// /user/memberships/orgs/{org}.
	FaultGitHubServerError
	// FaultGitHubRateLimited: 403 "API rate limit exceeded" with
	// X-RateLimit-Remaining: 0 from those endpoints.
	FaultGitHubRateLimited
)

// SetOrgs replaces the user's organisations (and their teams).
func (g *GitHubServer) SetOrgs(orgs ...GitHubOrg) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.orgs = slices.Clone(orgs)
	for i := range g.orgs {
		if g.orgs[i].ID == 0 {
			g.orgs[i].ID = int64(1000 + i)
		}
		g.orgs[i].Teams = slices.Clone(g.orgs[i].Teams)
	}
}

// SetFaults replaces the active faults (0 = honest).
func (g *GitHubServer) SetFaults(f GitHubFault) { g.mu.Lock(); g.faults = f; g.mu.Unlock() }

// IssueToken registers an access token with the given scopes for the user,
// as if an OAuth flow had granted them, for tests of API clients alone.
func (g *GitHubServer) IssueToken(scopes ...string) string {
	tok := "gho_" + randomString()
	g.mu.Lock()
	g.tokens[tok] = strings.Join(scopes, ",")
	g.mu.Unlock()
	return tok
}

// Calls are the requests received at path ("" = all), in order.
func (g *GitHubServer) Calls(path string) []Call { return g.calls.list(path) }

// orgAPI authenticates and applies faults and the scope check; it returns
// the organisations or false once it has answered.
func (g *GitHubServer) orgAPI(w http.ResponseWriter, r *http.Request, accepted ...string) ([]GitHubOrg, bool) {
	scopes, ok := g.tokenScopes(r)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials",
			"documentation_url": "https://docs.github.com/rest"})
		return nil, false
	}
	g.mu.Lock()
	f, orgs := g.faults, slices.Clone(g.orgs)
	g.mu.Unlock()
	switch {
	case f&FaultGitHubServerError != 0:
		writeJSON(w, http.StatusBadGateway, map[string]string{"message": "Server Error"})
		return nil, false
	case f&FaultGitHubRateLimited != 0:
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", "4102444800")
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "API rate limit exceeded for user ID 1.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"})
		return nil, false
	}
	granted := strings.Split(scopes, ",")
	for _, s := range accepted {
		if slices.Contains(granted, s) {
			return orgs, true
		}
	}
	w.Header().Set("X-Accepted-OAuth-Scopes", strings.Join(accepted, ", "))
	writeJSON(w, http.StatusForbidden, map[string]string{
		"message":           "This API requires one of these scopes: " + strings.Join(accepted, ", "),
		"documentation_url": "https://docs.github.com/rest"})
	return nil, false
}

func (g *GitHubServer) orgJSON(o GitHubOrg) map[string]any {
	return map[string]any{"login": o.Login, "id": o.ID, "node_id": fmt.Sprintf("O_fake%d", o.ID),
		"url": g.URL + "/orgs/" + o.Login, "description": nil}
}

// partialResults sets the documented header for organisations left out of a
// multi-organisation listing and returns the others.
func partialResults(w http.ResponseWriter, orgs []GitHubOrg) []GitHubOrg {
	var ok []GitHubOrg
	var ids []string
	for _, o := range orgs {
		if o.SAMLEnforced {
			ids = append(ids, strconv.FormatInt(o.ID, 10))
		} else {
			ok = append(ok, o)
		}
	}
	if len(ids) > 0 {
		w.Header().Set("X-GitHub-SSO", "partial-results; organizations="+strings.Join(ids, ","))
	}
	return ok
}

func (g *GitHubServer) samlRequired(w http.ResponseWriter, org string) {
	w.Header().Set("X-GitHub-SSO", "required; url="+g.URL+"/orgs/"+org+"/sso?authorization_request="+randomString())
	writeJSON(w, http.StatusForbidden, map[string]string{
		"message":           "Resource protected by organization SAML enforcement. You must grant your OAuth token access to this organization.",
		"documentation_url": "https://docs.github.com/articles/authenticating-to-a-github-organization-with-saml-single-sign-on/"})
}

func (g *GitHubServer) userOrgs(w http.ResponseWriter, r *http.Request) {
	orgs, ok := g.orgAPI(w, r, "read:org", "write:org", "admin:org", "user")
	if !ok {
		return
	}
	var items []any
	for _, o := range partialResults(w, orgs) {
		items = append(items, g.orgJSON(o))
	}
	g.writePage(w, r, items)
}

func (g *GitHubServer) userTeams(w http.ResponseWriter, r *http.Request) {
	orgs, ok := g.orgAPI(w, r, "read:org", "write:org", "admin:org", "user", "repo")
	if !ok {
		return
	}
	g.mu.Lock()
	f := g.faults
	g.mu.Unlock()
	if f&FaultGitHubSSOTeams403 != 0 {
		for _, o := range orgs {
			if o.SAMLEnforced {
				g.samlRequired(w, o.Login)
				return
			}
		}
	}
	var items []any
	for _, o := range partialResults(w, orgs) {
		for i, slug := range o.Teams {
			id := o.ID*1000 + int64(i)
			items = append(items, map[string]any{"id": id, "node_id": fmt.Sprintf("T_fake%d", id),
				"name": slug, "slug": slug, "description": "", "privacy": "closed", "permission": "pull",
				"parent": nil, "url": g.URL + "/teams/" + strconv.FormatInt(id, 10),
				"organization": g.orgJSON(o)})
		}
	}
	g.writePage(w, r, items)
}

// orgMembership is GET /user/memberships/orgs/{org}: one organisation's
// data, so SAML enforcement answers 403 rather than leaving it out.
func (g *GitHubServer) orgMembership(w http.ResponseWriter, r *http.Request) {
	orgs, ok := g.orgAPI(w, r, "read:org", "write:org", "admin:org", "user")
	if !ok {
		return
	}
	for _, o := range orgs {
		if !strings.EqualFold(o.Login, r.PathValue("org")) {
			continue
		}
		if o.SAMLEnforced {
			g.samlRequired(w, o.Login)
			return
		}
		role := "member"
		if o.Admin {
			role = "admin"
		}
		writeJSON(w, http.StatusOK, map[string]any{"url": g.URL + "/orgs/" + o.Login + "/memberships/me",
			"state": "active", "role": role, "organization_url": g.URL + "/orgs/" + o.Login,
			"organization": g.orgJSON(o)})
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found",
		"documentation_url": "https://docs.github.com/rest"})
}

// writePage answers one page of items with GitHub's Link header.
func (g *GitHubServer) writePage(w http.ResponseWriter, r *http.Request, items []any) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	last := max((len(items)+per-1)/per, 1)
	link := func(p int, rel string) string {
		return fmt.Sprintf(`<%s%s?page=%d&per_page=%d>; rel="%s"`, g.URL, r.URL.Path, p, per, rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(min(page-1, last), "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	from, to := pageBounds((page-1)*per, per, len(items))
	out := items[from:to]
	if out == nil {
		out = []any{}
	}
	writeJSON(w, http.StatusOK, out)
}
