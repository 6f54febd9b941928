package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/ascii"
)

// GitHubAPIURL is GitHub.com's REST API. GitHub Enterprise Server serves
// it at https://HOST/api/v3.
const GitHubAPIURL = "https://api.github.com"

// GitHub reads a user's organisations and teams with the user's OAuth token
// (scope read:org): GET /user/orgs and GET /user/teams, following the Link
// header's rel="next" (per_page=100). An organisation is the group "acme",
// a team "acme/sre" (its slug), both lowercased: GitHub logins and slugs are
// case-insensitive.
type GitHub struct {
	f    fetcher
	base *url.URL
}

var _ Source = (*GitHub)(nil)

// NewGitHub returns a source for the API at apiURL ("" = GitHubAPIURL).
func NewGitHub(apiURL string, hc *http.Client) (*GitHub, error) {
	if apiURL == "" {
		apiURL = GitHubAPIURL
	}
	b, err := parseBase(apiURL)
	if err != nil {
		return nil, err
	}
	return &GitHub{f: newFetcher(hc, "github"), base: b}, nil
}

// Groups returns the user's organisations, then their teams.
func (g *GitHub) Groups(ctx context.Context, u User) ([]string, error) {
	key, err := g.f.userTurn(u)
	if err != nil {
		return nil, err
	}
	var out groupSet
	err = g.pages(ctx, "/user/orgs", u.AccessToken, key, func(body []byte) error { return addGitHubOrgs(&out, body) })
	if err != nil {
		return nil, err
	}
	err = g.pages(ctx, "/user/teams", u.AccessToken, key, func(body []byte) error { return addGitHubTeams(&out, body) })
	if err != nil {
		return nil, err
	}
	return out.list, nil
}

// addGitHubOrgs adds the organisations of one page of GET /user/orgs
// ("acme"). Each page is decoded into a fresh slice, here and in
// addGitHubTeams: json.Unmarshal decodes into the elements a reused slice
// still holds, so a field a page leaves out or sets to null would keep
// the value of the page before (a team without its organisation read as
// a team of another organisation).
func addGitHubOrgs(out *groupSet, body []byte) error {
	var orgs []struct {
		Login string `json:"login"`
	}
	if err := json.Unmarshal(body, &orgs); err != nil {
		return err
	}
	if orgs == nil {
		return errNotAList // null: no page, not an empty one
	}
	for _, o := range orgs {
		if err := out.add(ascii.ToLower(o.Login)); err != nil {
			return err
		}
	}
	return nil
}

// addGitHubTeams adds the teams of one page of GET /user/teams
// ("acme/sre"); a team without a slug or an organisation is left out.
func addGitHubTeams(out *groupSet, body []byte) error {
	var teams []struct {
		Slug         string `json:"slug"`
		Organization struct {
			Login string `json:"login"`
		} `json:"organization"`
	}
	if err := json.Unmarshal(body, &teams); err != nil {
		return err
	}
	if teams == nil {
		return errNotAList // null: no page, not an empty one
	}
	for _, t := range teams {
		if t.Slug == "" || t.Organization.Login == "" {
			continue
		}
		if err := out.add(ascii.ToLower(t.Organization.Login + "/" + t.Slug)); err != nil {
			return err
		}
	}
	return nil
}

// errNotAList refuses a 200 body of null: decoded, it would be an empty
// page, and the user would be given no groups instead of theirs.
var errNotAList = errors.New("the answer is null, not a list")

// pages GETs path and its rel="next" pages, handing each body to page. A
// rate limit throttles key (the user) until GitHub's reset.
func (g *GitHub) pages(ctx context.Context, path, token, key string, page func([]byte) error) error {
	u := g.base.String() + path + "?per_page=100"
	h := http.Header{"Accept": {"application/vnd.github+json"}, "X-GitHub-Api-Version": {"2022-11-28"}}
	for n := 1; u != ""; n++ {
		if n > maxPages {
			return fmt.Errorf("directory: github %s: more than %d pages", path, maxPages)
		}
		r, err := g.f.get(ctx, u, "Bearer "+token, h)
		if err != nil {
			return err
		}
		if err := ssoError(r.header.Get("X-GitHub-SSO")); err != nil {
			return err
		}
		if r.status != http.StatusOK {
			if d, ok := githubThrottleWait(r, g.f.bo.now()); ok {
				return g.f.bo.hold(g.f.source, key, d, githubStatusError(u, r))
			}
			return githubStatusError(u, r)
		}
		if err := page(r.body); err != nil {
			return fmt.Errorf("directory: github %s: %v", path, err)
		}
		next := nextLink(r.header.Values("Link"))
		if next != "" && !sameOrigin(g.base, next) {
			return fmt.Errorf("directory: github %s: next page %q is not on %s", path, redactURL(next), g.base.Host)
		}
		u = next
	}
	return nil
}

// githubStatusError explains a refusal. GitHub answers a rate limit with 403
// or 429, with X-RateLimit-Remaining: 0 (the primary limit, until
// X-RateLimit-Reset) or a message and perhaps Retry-After (a secondary
// limit): such a 403 is no missing scope, and saying so would send the
// operator to change a configuration that is right.
func githubStatusError(u string, r *response) *StatusError {
	se := statusError("github", u, r)
	limited := r.header.Get("X-RateLimit-Remaining") == "0" || r.header.Get("Retry-After") != "" ||
		strings.Contains(strings.ToLower(se.Detail), "rate limit")
	switch {
	case limited && (r.status == http.StatusForbidden || r.status == http.StatusTooManyRequests):
		se.Detail += " (GitHub's rate limit for this user"
		if reset, err := strconv.ParseInt(r.header.Get("X-RateLimit-Reset"), 10, 64); err == nil && reset > 0 {
			se.Detail += ", until " + time.Unix(reset, 0).UTC().Format(time.RFC3339)
		}
		se.Detail += ")"
	case r.status == http.StatusForbidden || r.status == http.StatusUnauthorized:
		se.Detail += " (the token needs the read:org scope)"
	}
	return se
}

// ssoError reads X-GitHub-SSO. GitHub sends "required; url=..." with a 403
// when an organisation enforcing SAML single sign-on refuses the token, and
// "partial-results; organizations=ID,ID" when a list left out what those
// organisations hold. Either way the groups would be incomplete.
func ssoError(v string) error {
	if v == "" {
		return nil
	}
	kind, params, _ := strings.Cut(v, ";")
	var orgs []string
	for _, p := range strings.Split(params, ";") {
		name, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.TrimSpace(name) {
		case "organizations":
			for _, o := range strings.Split(val, ",") {
				if o = strings.TrimSpace(o); o != "" {
					orgs = append(orgs, o)
				}
			}
		case "url":
			// https://github.com/orgs/ORG/sso?authorization_request=...
			if u, err := url.Parse(strings.TrimSpace(val)); err == nil {
				parts := strings.Split(strings.Trim(u.Path, "/"), "/")
				if len(parts) >= 2 && parts[0] == "orgs" {
					orgs = append(orgs, parts[1])
				}
			}
		}
	}
	switch strings.TrimSpace(kind) {
	case "required", "partial-results":
		if len(orgs) == 0 {
			orgs = []string{"(unnamed)"}
		}
		return &SSORequiredError{Organizations: orgs}
	}
	return nil
}

// nextLink returns the rel="next" target of Link header values (RFC 8288).
func nextLink(values []string) string {
	for _, v := range values {
		for _, link := range strings.Split(v, ",") {
			target, params, ok := strings.Cut(link, ";")
			if !ok {
				continue
			}
			target = strings.TrimSpace(target)
			if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for _, p := range strings.Split(params, ";") {
				name, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(name, "rel") && hasRel(strings.Trim(val, `"`), "next") {
					return target[1 : len(target)-1]
				}
			}
		}
	}
	return ""
}

func hasRel(v, rel string) bool {
	for _, r := range strings.Fields(v) {
		if strings.EqualFold(r, rel) {
			return true
		}
	}
	return false
}
