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
// user's access token: GET /v1.0/me/transitiveMemberOf ($select=id), nested
// memberships included, following @odata.nextLink, keeping the objects whose
// @odata.type is a group (the list also holds directory roles and
// administrative units). Groups are object IDs, as Entra ID puts them in its
// groups claim. Graph throttles with 429 (or 503) and Retry-After, which is
// honoured a bounded number of times within a read; beyond that the user is
// not read again until then (at most MaxBackoff).
//
// The OData cast /transitiveMemberOf/microsoft.graph.group is not used:
// Graph documents it as an advanced query, which needs ConsistencyLevel:
// eventual and $count, and advanced queries read an index that "might not
// be up-to-date with recent changes to the object" — a user removed from a
// group could keep it for as long as the index lags.
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
	key, err := g.f.userTurn(u)
	if err != nil {
		return nil, err
	}
	var out groupSet
	next := g.base.String() + "/v1.0/me/transitiveMemberOf?$select=id&$top=999"
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
			if d, ok := throttleWait(r, g.f.bo.now()); ok {
				return nil, g.f.bo.hold(g.f.source, key, d, se)
			}
			if r.status == http.StatusForbidden || r.status == http.StatusUnauthorized {
				se.Detail += " (the access token must be for Microsoft Graph, with a permission that reads the user's memberships, e.g. GroupMember.Read.All with admin consent)"
			}
			return nil, se
		}
		var page graphPage
		ids, err := page.decode(r.body)
		if err != nil {
			return nil, fmt.Errorf("directory: graph %s: %v", redactURL(next), err)
		}
		for _, id := range ids {
			if err := out.add(id); err != nil {
				return nil, err
			}
		}
		if page.NextLink != "" && !sameOrigin(g.base, page.NextLink) {
			return nil, fmt.Errorf("directory: graph: next page %q is not on %s", redactURL(page.NextLink), g.base.Host)
		}
		next = page.NextLink
	}
	return out.list, nil
}

// graphGroupType is the @odata.type of a group in a directoryObject
// collection.
const graphGroupType = "#microsoft.graph.group"

// graphPage is one page of transitiveMemberOf.
type graphPage struct {
	Value []struct {
		Type string `json:"@odata.type"`
		ID   string `json:"id"`
	} `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

// decode decodes body into p and returns the IDs of its groups. Graph
// names every object's type in a directoryObject collection: an object
// without one is refused rather than guessed (a directory role's ID is no
// group).
func (p *graphPage) decode(body []byte) ([]string, error) {
	if err := decodePage(body, p); err != nil {
		return nil, err
	}
	if p.Value == nil {
		// Graph always sends value, [] for no membership.
		return nil, errors.New(`the answer has no "value", not a page`)
	}
	var ids []string
	for _, v := range p.Value {
		switch v.Type {
		case graphGroupType:
			ids = append(ids, v.ID)
		case "":
			return nil, errors.New(`an object without "@odata.type"`)
		}
	}
	return ids, nil
}
