package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis/internal/ascii"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// Google's directory APIs and the OAuth scopes the service account asks for.
const (
	AdminSDKURL           = "https://admin.googleapis.com"
	CloudIdentityURL      = "https://cloudidentity.googleapis.com"
	AdminSDKScope         = "https://www.googleapis.com/auth/admin.directory.group.readonly"
	CloudIdentityScope    = "https://www.googleapis.com/auth/cloud-identity.groups.readonly"
	cloudIdentityLabel    = "cloudidentity.googleapis.com/groups.discussion_forum"
	adminSDKPageSize      = "200" // the API's maximum
	cloudIdentityPageSize = "500"
	// googleKey is the backoff key of the service account.
	googleKey = "service-account"
)

// GoogleConfig configures a Google source.
type GoogleConfig struct {
	// CredentialsJSON is the service account's JSON key ("type":
	// "service_account"). Its token_uri is where the service-account grant
	// (RFC 7523) is made.
	CredentialsJSON []byte
	// AdminEmail, when set, selects the Admin SDK Directory API with
	// domain-wide delegation: the service account acts as this admin.
	// Empty selects the Cloud Identity Groups API, called as the service
	// account itself (which needs the Groups Reader admin role).
	AdminEmail string
	// BaseURL overrides the API's public endpoint (tests, proxies).
	BaseURL string
	// HTTPClient is used for the token grant and the API (nil: 10 s timeout).
	HTTPClient *http.Client
}

// Google reads Google Workspace groups, nested ones included, with a
// service account. The Admin SDK's groups.list lists direct memberships
// only; Google expands nesting by listing, in turn, the groups each found
// group belongs to (groups.list accepts a group's address as userKey),
// breadth first, each group once, within the page bound. Cloud Identity's
// searchTransitiveGroups returns the transitive closure itself.
type Google struct {
	f      fetcher
	base   *url.URL
	admin  bool
	tokens *grantCache
	client string // the service account's client_id, for hints
	// parents caches the groups each group belongs to (Admin SDK).
	parents *parentCache
}

var _ Source = (*Google)(nil)

// NewGoogle parses the key and prepares the token source; it makes no call.
func NewGoogle(cfg GoogleConfig) (*Google, error) {
	scope, base := CloudIdentityScope, CloudIdentityURL
	if cfg.AdminEmail != "" {
		scope, base = AdminSDKScope, AdminSDKURL
	}
	if cfg.BaseURL != "" {
		base = cfg.BaseURL
	}
	b, err := parseBase(base)
	if err != nil {
		return nil, err
	}
	jc, err := google.JWTConfigFromJSON(cfg.CredentialsJSON, scope)
	if err != nil {
		return nil, fmt.Errorf("directory: google service account key: %v", err)
	}
	jc.Subject = cfg.AdminEmail
	var key struct {
		ClientID string `json:"client_id"`
	}
	_ = json.Unmarshal(cfg.CredentialsJSON, &key)
	g := &Google{f: newFetcher(cfg.HTTPClient, "google"), base: b, admin: cfg.AdminEmail != "", client: key.ClientID,
		parents: newParentCache()}
	// The token outlives any one read; each grant is made within the
	// context of the read that needs it (grant.go).
	g.tokens = &grantCache{conf: jc, hc: g.f.hc}
	return g, nil
}

// Groups returns the group addresses u.Email belongs to, directly or
// through other groups, lowercased (addresses are case-insensitive).
func (g *Google) Groups(ctx context.Context, u User) ([]string, error) {
	if u.Email == "" {
		return nil, errors.New("directory: google: the user has no email address to look up")
	}
	// The quota is the service account's (and the admin's it acts as):
	// a throttled read stops every user's until the time Google names.
	if err := g.f.bo.check(g.f.source, googleKey); err != nil {
		return nil, err
	}
	tok, err := g.tokens.token(ctx)
	if err != nil {
		return nil, g.tokenError(err)
	}
	authz := "Bearer " + tok.AccessToken
	if g.admin {
		return g.adminGroups(ctx, authz, u.Email)
	}
	return g.cloudIdentityGroups(ctx, authz, u.Email)
}

// tokenError explains a refused service-account grant.
func (g *Google) tokenError(err error) error {
	hint := "check google_service_account_file"
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := re.ErrorCode
		if code == "" {
			// x/oauth2/jwt does not parse the error body (RFC 6749 §5.2).
			var b struct {
				Error string `json:"error"`
			}
			_ = json.Unmarshal(re.Body, &b)
			code = b.Error
		}
		code = errorCode(code)
		hint = fmt.Sprintf("Google refused the service-account grant (%s)", code)
		if code == "" && re.Response != nil {
			hint = fmt.Sprintf("Google's token endpoint answered status %d", re.Response.StatusCode)
		}
		if g.admin && (code == "unauthorized_client" || code == "access_denied") {
			hint += fmt.Sprintf("; in the Admin console, Security > API controls > Domain-wide delegation must list client ID %s with scope %s", g.client, AdminSDKScope)
		}
		if code == "invalid_grant" {
			hint += "; the key may be deleted or disabled, the clock skewed, or google_admin_email not a user of the domain"
		}
		return fmt.Errorf("directory: google: service-account token: %s", hint)
	}
	return fmt.Errorf("directory: google: service-account token: %w", err)
}

// errorCode returns s when it has the shape of an OAuth error code (RFC
// 6749 §5.2; Google's are lower-case words joined by "_"), else "": the
// member is the endpoint's word, and one that echoed the refused request
// there (a proxy's page, a debug answer) would put the signed assertion,
// which buys a token for an hour, in the error and the log, at any length.
func errorCode(s string) string {
	if len(s) == 0 || len(s) > 64 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return ""
		}
	}
	return s
}

// adminGroups lists the groups of member and, breadth first, the groups
// those groups belong to (Admin SDK Directory API groups.list?userKey=).
// The member's own groups are always read; a group's own groups are taken
// from the parents cache when another read listed them within parentsTTL:
// every user of a group would otherwise list its parents again, a call per
// group per user per groups_refresh, against the service account's quota.
func (g *Google) adminGroups(ctx context.Context, authz, member string) ([]string, error) {
	var out groupSet
	queue := []string{ascii.ToLower(member)}
	pages := 0
	for i := 0; i < len(queue); i++ {
		key := queue[i]
		var parents []string
		cached := false
		if i > 0 { // the member's own groups are always read
			parents, cached = g.parents.get(key)
		}
		if !cached {
			var err error
			// Each group found costs a page (its own parents): those are
			// bounded by MaxGroups, the rest by maxPages.
			if parents, err = g.listGroups(ctx, authz, member, key, &pages, maxPages+len(out.list)); err != nil {
				return nil, err
			}
			if i > 0 {
				g.parents.put(key, parents)
			}
		}
		for _, email := range parents {
			if out.seen[email] {
				continue
			}
			if err := out.add(email); err != nil {
				return nil, err
			}
			queue = append(queue, email)
		}
	}
	return out.list, nil
}

// listGroups reads every page of groups.list?userKey=key, lowercased,
// counting pages against limit. The list is held whole (and cached), so it
// keeps each group once and fails at the first page that breaks the read's
// bounds (MaxGroups, maxGroupLen), not after every page limit allows.
func (g *Google) listGroups(ctx context.Context, authz, member, key string, pages *int, limit int) ([]string, error) {
	var groups groupSet
	token := ""
	for {
		if *pages++; *pages > limit {
			return nil, fmt.Errorf("directory: google: more than %d pages of groups for %s", maxPages, member)
		}
		q := url.Values{"userKey": {key}, "maxResults": {adminSDKPageSize}}
		if token != "" {
			q.Set("pageToken", token)
		}
		u := g.base.String() + "/admin/directory/v1/groups?" + q.Encode()
		var page struct {
			Groups []struct {
				Email string `json:"email"`
			} `json:"groups"`
			NextPageToken string `json:"nextPageToken"`
		}
		if err := g.getPage(ctx, u, authz, &page); err != nil {
			return nil, err
		}
		for _, gr := range page.Groups {
			if err := groups.add(ascii.ToLower(gr.Email)); err != nil {
				return nil, err
			}
		}
		if token = page.NextPageToken; token == "" {
			return groups.list, nil
		}
	}
}

// cloudIdentityGroups pages through Cloud Identity's
// groups.memberships.searchTransitiveGroups for member; the group address is
// each membership's groupKey.id.
func (g *Google) cloudIdentityGroups(ctx context.Context, authz, member string) ([]string, error) {
	// Google usernames may hold apostrophes (o'brien@acme.com): the address
	// is quoted as a CEL string, never refused and never left to end it.
	query := fmt.Sprintf("member_key_id == '%s' && '%s' in labels", celQuoted(member), cloudIdentityLabel)
	var out groupSet
	token := ""
	for pages := 1; ; pages++ {
		if pages > maxPages {
			return nil, fmt.Errorf("directory: google: more than %d pages of groups for %s", maxPages, member)
		}
		q := url.Values{"query": {query}, "pageSize": {cloudIdentityPageSize}}
		if token != "" {
			q.Set("pageToken", token)
		}
		u := g.base.String() + "/v1/groups/-/memberships:searchTransitiveGroups?" + q.Encode()
		var page struct {
			Memberships []struct {
				GroupKey struct {
					ID string `json:"id"`
				} `json:"groupKey"`
			} `json:"memberships"`
			NextPageToken string `json:"nextPageToken"`
		}
		if err := g.getPage(ctx, u, authz, &page); err != nil {
			return nil, err
		}
		for _, m := range page.Memberships {
			if err := out.add(ascii.ToLower(m.GroupKey.ID)); err != nil {
				return nil, err
			}
		}
		if token = page.NextPageToken; token == "" {
			return out.list, nil
		}
	}
}

// getPage GETs one page and decodes it (decodePage; both APIs leave the
// list out when it is empty); 403 carries a hint for the two set-ups.
func (g *Google) getPage(ctx context.Context, u, authz string, v any) error {
	r, err := g.f.get(ctx, u, authz, http.Header{"Accept": {"application/json"}})
	if err != nil {
		return err
	}
	if r.status != http.StatusOK {
		se := statusError("google", u, r)
		if d, ok := googleThrottleWait(r, g.f.bo.now()); ok {
			return g.f.bo.hold(g.f.source, googleKey, d, se)
		}
		if r.status == http.StatusForbidden || r.status == http.StatusUnauthorized {
			if g.admin {
				se.Detail += " (google_admin_email must be a Workspace admin allowed to read groups, and domain-wide delegation must grant " + AdminSDKScope + ")"
			} else {
				se.Detail += " (the service account needs the Groups Reader admin role; searchTransitiveGroups needs a Workspace Enterprise or Cloud Identity Premium account)"
			}
		}
		return se
	}
	if err := decodePage(r.body, v); err != nil {
		return fmt.Errorf("directory: google %s: %v", redactURL(u), err)
	}
	return nil
}

// celQuoted escapes s for a single-quoted string of the Cloud Identity
// query (a CEL expression): an address such as o'brien@acme.com must stay
// one string literal and never end the literal early.
func celQuoted(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}
