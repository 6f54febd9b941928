package directory

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// GraphURL is Microsoft Graph's global endpoint. National clouds have their
// own (https://graph.microsoft.us, https://microsoftgraph.chinacloudapi.cn).
const GraphURL = "https://graph.microsoft.com"

// Graph reads the signed-in user's groups from Microsoft Graph with the
// user's access token: GET /v1.0/me/transitiveMemberOf/microsoft.graph.group
// ($select=id), nested memberships included, following @odata.nextLink.
// Groups are object IDs, as Entra ID puts them in its groups claim. Graph
// throttles with 429 and Retry-After, which is honoured a bounded number of
// times.
type Graph struct {
	f    fetcher
	base *url.URL
}

var _ Source = (*Graph)(nil)

// NewGraph returns a source for Graph at baseURL ("" = GraphURL).
func NewGraph(baseURL string, hc *http.Client) (*Graph, error) {
	if baseURL == "" {
		baseURL = GraphURL
	}
	b, err := parseBase(baseURL)
	if err != nil {
		return nil, err
	}
	return &Graph{f: newFetcher(hc, "graph"), base: b}, nil
}

// Groups returns the object IDs of the groups the token's user belongs to.
func (g *Graph) Groups(ctx context.Context, u User) ([]string, error) {
	if u.AccessToken == "" {
		return nil, ErrUserTokenNeeded
	}
	var out groupSet
	next := g.base.String() + "/v1.0/me/transitiveMemberOf/microsoft.graph.group?$select=id&$top=999"
	h := http.Header{"Accept": {"application/json"}}
	for n := 1; next != ""; n++ {
		if n > maxPages {
			return nil, fmt.Errorf("directory: graph: more than %d pages of groups", maxPages)
		}
		r, err := g.f.get(ctx, next, "Bearer "+u.AccessToken, h)
		if err != nil {
			return nil, err
		}
		if r.status != http.StatusOK {
			se := statusError("graph", next, r)
			if r.status == http.StatusForbidden || r.status == http.StatusUnauthorized {
				se.Detail += " (the access token must be for Microsoft Graph, with a permission that reads the user's memberships, e.g. GroupMember.Read.All with admin consent)"
			}
			return nil, se
		}
		var page struct {
			Value []struct {
				ID string `json:"id"`
			} `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		err = decodePage(r.body, &page)
		if err == nil && page.Value == nil {
			// Graph always sends value, [] for no group.
			err = errors.New(`the answer has no "value", not a page`)
		}
		if err != nil {
			return nil, fmt.Errorf("directory: graph %s: %v", redact(next), err)
		}
		for _, v := range page.Value {
			if err := out.add(v.ID); err != nil {
				return nil, err
			}
		}
		if page.NextLink != "" && !sameOrigin(g.base, page.NextLink) {
			return nil, fmt.Errorf("directory: graph: next page %q is not on %s", redact(page.NextLink), g.base.Host)
		}
		next = page.NextLink
	}
	return out.list, nil
}
