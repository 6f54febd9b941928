package oidctest

// EntraServer is a Microsoft Entra ID-like OpenID Provider (the Provider of
// provider.go, issuer https://HOST/TENANT/v2.0) together with a fake of the
// Microsoft Graph endpoint that lists a user's groups.
//
// Faithful:
//   - ID tokens carry oid, tid, name, preferred_username, email, the roles
//     claim (app roles) and the groups claim (group object IDs, transitive,
//     as Entra emits them). Above the threshold (200 for JWTs, per
//     https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/how-to-connect-fed-group-claims)
//     the groups claim is left out and replaced by the overage indication of
//     https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference:
//     "_claim_names": {"groups": "src1"} and "_claim_sources": {"src1":
//     {"endpoint": "https://graph.windows.net/TENANT/users/OID/getMemberObjects"}}
//     (an endpoint of the retired Azure AD Graph: a client must call
//     Microsoft Graph instead, and this fake does not serve it), or with
//     EntraOptions.ImplicitOverage the implicit flow's "hasgroups": true.
//   - Access tokens are JWTs for Microsoft Graph (aud
//     00000003-0000-0000-c000-000000000000) that Graph verifies.
//   - GET /v1.0/me/transitiveMemberOf and its cast
//     /v1.0/me/transitiveMemberOf/microsoft.graph.group, per
//     https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof:
//     direct and nested groups; the uncast form also lists directory roles
//     (each object has "@odata.type"); the cast is an advanced query (its
//     "ConsistencyLevel" row: "This header and $count are required when
//     using the $search, $filter, $orderby, or OData cast query
//     parameters"), so without ConsistencyLevel: eventual and $count=true
//     it answers 400 Request_UnsupportedQuery (the message text is the
//     fake's own), and with them adds "@odata.count"; $select, $top
//     (default 100, maximum 999) and paging by "@odata.nextLink" carrying
//     $skiptoken; 401
//     InvalidAuthenticationToken for a missing, malformed, expired or
//     foreign token; 403 Authorization_RequestDenied without a Graph
//     permission (User.Read is the least one, and with it alone objects come
//     with limited information: properties other than id are null); 429 TooManyRequests with
//     Retry-After (https://learn.microsoft.com/en-us/graph/throttling) on
//     demand (ThrottleNext).
//
// Simplified: one tenant; the Graph token must carry a Graph permission in
// its scope (real Entra adds User.Read to a bare OIDC sign-in itself); the
// sub of the access token identifies the user (Graph uses oid); no
// administrative units; $filter and $search are ignored.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// EntraGraphAudience is the audience of access tokens for Microsoft Graph.
const EntraGraphAudience = "00000003-0000-0000-c000-000000000000"

// EntraFault is a misbehaviour of EntraServer's Graph; faults combine with |.
type EntraFault uint32

// The faults EntraServer.SetFaults can switch on.
const (
	// FaultEntraGraphUnavailable: Graph answers 503 serviceNotAvailable.
	FaultEntraGraphUnavailable EntraFault = 1 << iota
)

// EntraOptions configure an EntraServer; zero values are documented.
type EntraOptions struct {
	// Tenant is the directory (tenant) ID in the issuer (default
	// "9188040d-6c67-4c5b-b112-36a304b66dad").
	Tenant string
	// GroupsThreshold is the most groups an ID token carries before the
	// overage form replaces them (default 200).
	GroupsThreshold int
	// ImplicitOverage marks overage with "hasgroups": true (the implicit
	// flow's form) instead of _claim_names/_claim_sources.
	ImplicitOverage bool
	// PageSize is Graph's page size when the request has no $top (default
	// 100, Graph's).
	PageSize int
	// GroupNames makes the groups claim carry group names instead of
	// object IDs, as an app registration emits them whose groups claim
	// format is sAMAccountName (groups synced from Active Directory) or
	// cloud-only group display names (how-to-connect-fed-group-claims):
	// each group's SetGroupName name, its object ID when it has none.
	// Graph lists object IDs either way.
	GroupNames bool
	// Provider configures the OpenID Provider; NewEntra sets its User,
	// IssuerPath, JWTAccessTokens and AccessTokenAudience.
	Provider Options
}

// EntraUser is a user of the directory.
type EntraUser struct {
	OID                            string // object ID (default "00000000-0000-0000-0000-00000000a11c")
	Subject                        string // sub, pairwise per app in Entra (default OID)
	Name, PreferredUsername, Email string
	// Groups are the object IDs of the groups the user is a direct member
	// of; SetGroupParents nests groups.
	Groups []string
	// Roles are the app roles assigned (the roles claim).
	Roles []string
	// DirectoryRoles are object IDs of directory roles the user holds:
	// listed by the uncast transitiveMemberOf only.
	DirectoryRoles []string
}

// EntraServer is a running fake; its methods are safe for concurrent use.
type EntraServer struct {
	Provider *Provider // the issuer: Provider.Issuer, ClientID, ClientSecret
	Tenant   string
	GraphURL string // Microsoft Graph's base, e.g. GraphURL + "/v1.0/me/..."
	Graph    *httptest.Server

	opts  EntraOptions
	calls callLog

	mu       sync.Mutex
	users    map[string]EntraUser // by subject
	graph    memberGraph          // user OID or group ID -> groups
	names    map[string]string    // group ID -> name (SetGroupName)
	faults   EntraFault
	throttle int // the next throttle Graph calls answer 429
	retry    int // Retry-After seconds
}

// NewEntra starts the issuer and Graph with user (SetUser) logged in.
func NewEntra(tb testing.TB, o EntraOptions, user EntraUser) *EntraServer {
	tb.Helper()
	if o.Tenant == "" {
		o.Tenant = "9188040d-6c67-4c5b-b112-36a304b66dad"
	}
	if o.GroupsThreshold == 0 {
		o.GroupsThreshold = 200
	}
	if o.PageSize == 0 {
		o.PageSize = 100
	}
	po := o.Provider
	po.IssuerPath = "/" + o.Tenant + "/v2.0"
	po.JWTAccessTokens, po.AccessTokenAudience = true, EntraGraphAudience
	po.User = &User{Subject: "placeholder"}
	e := &EntraServer{Tenant: o.Tenant, opts: o, users: map[string]EntraUser{}}
	e.Provider = New(tb, po)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/me/transitiveMemberOf", e.transitiveMemberOf)
	mux.HandleFunc("GET /v1.0/me/transitiveMemberOf/microsoft.graph.group", e.transitiveMemberOf)
	e.Graph = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.calls.record(r)
		mux.ServeHTTP(w, r)
	}))
	e.GraphURL = e.Graph.URL
	tb.Cleanup(e.Graph.Close)
	e.SetUser(user)
	return e
}

// SetUser adds or replaces a user (by Subject) and makes them the one who
// logs in next; their claims follow later membership changes.
func (e *EntraServer) SetUser(u EntraUser) {
	if u.OID == "" {
		u.OID = "00000000-0000-0000-0000-00000000a11c"
	}
	if u.Subject == "" {
		u.Subject = u.OID
	}
	e.mu.Lock()
	e.users[u.Subject] = u
	e.graph.set(u.OID, u.Groups)
	claims := e.claimsLocked(u)
	e.mu.Unlock()
	e.Provider.SetUser(User{Subject: u.Subject, Claims: claims})
}

// SetGroupParents replaces the groups a group is a direct member of.
func (e *EntraServer) SetGroupParents(group string, parents ...string) {
	e.mu.Lock()
	e.graph.set(group, parents)
	e.mu.Unlock()
	e.refreshClaims()
}

// SetGroupName names a group (its displayName, or its sAMAccountName):
// names are not unique, and a cloud-only group's owners may change its
// display name to any text.
func (e *EntraServer) SetGroupName(group, name string) {
	e.mu.Lock()
	if e.names == nil {
		e.names = map[string]string{}
	}
	e.names[group] = name
	e.mu.Unlock()
	e.refreshClaims()
}

// SetFaults replaces the active faults (0 = honest).
func (e *EntraServer) SetFaults(f EntraFault) { e.mu.Lock(); e.faults = f; e.mu.Unlock() }

// ThrottleNext makes the next n Graph calls answer 429 with Retry-After.
func (e *EntraServer) ThrottleNext(n int, retryAfter time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.throttle, e.retry = n, int(retryAfter/time.Second)
}

// Calls are the Graph requests received at path ("" = all), in order.
func (e *EntraServer) Calls(path string) []Call { return e.calls.list(path) }

// AccessToken mints a Graph access token for the user with subject and
// the space-separated scope, as the token endpoint would.
func (e *EntraServer) AccessToken(subject, scope string) string {
	return e.Provider.AccessToken(subject, map[string]any{"aud": EntraGraphAudience, "scp": scope})
}

// refreshClaims recomputes the logged-in user's ID token claims.
func (e *EntraServer) refreshClaims() {
	e.Provider.mu.Lock()
	sub := e.Provider.user.Subject
	e.Provider.mu.Unlock()
	e.mu.Lock()
	u, ok := e.users[sub]
	var claims map[string]any
	if ok {
		claims = e.claimsLocked(u)
	}
	e.mu.Unlock()
	if ok {
		e.Provider.SetUser(User{Subject: sub, Claims: claims})
	}
}

// claimsLocked are u's ID token claims, with the groups overage (e.mu held).
func (e *EntraServer) claimsLocked(u EntraUser) map[string]any {
	c := map[string]any{"oid": u.OID, "tid": e.Tenant, "ver": "2.0"}
	for k, v := range map[string]string{"name": u.Name, "preferred_username": u.PreferredUsername, "email": u.Email} {
		if v != "" {
			c[k] = v
		}
	}
	if len(u.Roles) > 0 {
		c["roles"] = slices.Clone(u.Roles)
	}
	groups, _ := e.graph.transitive(u.OID)
	switch {
	case len(groups) <= e.opts.GroupsThreshold:
		if len(groups) > 0 {
			c["groups"] = e.claimGroupsLocked(groups)
		}
	case e.opts.ImplicitOverage:
		c["hasgroups"] = true
	default:
		c["_claim_names"] = map[string]string{"groups": "src1"}
		c["_claim_sources"] = map[string]any{"src1": map[string]string{
			"endpoint": "https://graph.windows.net/" + e.Tenant + "/users/" + u.OID + "/getMemberObjects"}}
	}
	return c
}

// claimGroupsLocked is the groups claim's values: object IDs, or names with
// EntraOptions.GroupNames (e.mu held).
func (e *EntraServer) claimGroupsLocked(ids []string) []string {
	if !e.opts.GroupNames {
		return ids
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = cmp.Or(e.names[id], id)
	}
	return out
}

// graphError writes Microsoft Graph's JSON error.
func graphError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": message,
		"innerError": map[string]string{"date": time.Now().UTC().Format("2006-01-02T15:04:05"),
			"request-id": randomString(), "client-request-id": randomString()}}})
}

// graphToken verifies a Graph access token and returns its user and scopes.
func (e *EntraServer) graphToken(r *http.Request) (EntraUser, []string, string) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return EntraUser{}, nil, "Access token is empty."
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return EntraUser{}, nil, "IDX14100: JWT is not well formed."
	}
	var c struct {
		Iss, Sub, Scp, Scope string
		Aud                  any
		Exp                  int64
	}
	payload, err := jws.Verify(e.Provider.Key().JWK().Key)
	if err != nil || json.Unmarshal(payload, &c) != nil {
		return EntraUser{}, nil, "Access token validation failure."
	}
	if c.Iss != e.Provider.Issuer || c.Aud != EntraGraphAudience {
		return EntraUser{}, nil, "Access token validation failure. Invalid audience."
	}
	if c.Exp <= e.Provider.opts.Now().Unix() {
		return EntraUser{}, nil, "Lifetime validation failed, the token is expired."
	}
	e.mu.Lock()
	u, known := e.users[c.Sub]
	e.mu.Unlock()
	if !known {
		return EntraUser{}, nil, "Access token validation failure."
	}
	return u, strings.Fields(c.Scp + " " + c.Scope), ""
}

// transitiveMemberOf serves both forms of /me/transitiveMemberOf.
func (e *EntraServer) transitiveMemberOf(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	throttled, retry, f := e.throttle > 0, e.retry, e.faults
	if throttled {
		e.throttle--
	}
	e.mu.Unlock()
	switch {
	case throttled:
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		graphError(w, http.StatusTooManyRequests, "TooManyRequests", "Too many requests from Identifier under category:throttle. Please try again later.")
		return
	case f&FaultEntraGraphUnavailable != 0:
		graphError(w, http.StatusServiceUnavailable, "serviceNotAvailable", "The service is temporarily unavailable.")
		return
	}
	u, scopes, problem := e.graphToken(r)
	if problem != "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="`+EntraGraphAudience+`"`)
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", problem)
		return
	}
	if !slices.ContainsFunc(scopes, func(s string) bool {
		return slices.Contains([]string{"User.Read", "User.Read.All", "GroupMember.Read.All", "Group.Read.All", "Directory.Read.All"}, s)
	}) {
		graphError(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return
	}
	// With User.Read alone Graph returns the objects with limited
	// information: @odata.type and id, other properties null.
	limited := !slices.ContainsFunc(scopes, func(s string) bool {
		return slices.Contains([]string{"GroupMember.Read.All", "Group.Read.All", "Directory.Read.All"}, s)
	})
	e.writeMemberOf(w, r, u, limited)
}

// writeMemberOf answers one page of u's transitive memberships.
func (e *EntraServer) writeMemberOf(w http.ResponseWriter, r *http.Request, u EntraUser, limited bool) {
	cast := strings.HasSuffix(r.URL.Path, "/microsoft.graph.group")
	binding := fmt.Sprintf("graph|%s|%t", u.OID, cast)
	top, off, ok := e.memberOfPaging(w, r, cast, binding)
	if !ok {
		return
	}
	e.mu.Lock()
	groups, _ := e.graph.transitive(u.OID)
	names := maps.Clone(e.names)
	e.mu.Unlock()
	items, context := memberOfItems(groups, u.DirectoryRoles, cast)
	from, to := pageBounds(off, top, len(items))
	value := memberOfValues(items[from:to], names, r.URL.Query().Get("$select"), limited)
	resp := map[string]any{"@odata.context": context, "value": value}
	if cast {
		resp["@odata.count"] = len(items)
	}
	if to < len(items) {
		resp["@odata.nextLink"] = e.graphNextLink(r, binding, to)
	}
	writeJSON(w, http.StatusOK, resp)
}

// memberOfPaging returns a memberOf query's page size and offset, or answers
// 400: a cast without the advanced-query header and $count, or a bad $top or
// $skiptoken (one not bound to this user and cast).
func (e *EntraServer) memberOfPaging(w http.ResponseWriter, r *http.Request, cast bool, binding string) (top, off int, ok bool) {
	q := r.URL.Query()
	if cast && (r.Header.Get("ConsistencyLevel") != "eventual" || q.Get("$count") != "true") {
		graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery",
			"OData cast is supported only in advanced queries: send 'ConsistencyLevel: eventual' and $count=true.")
		return 0, 0, false
	}
	top, ok = pageSize(q.Get("$top"), e.opts.PageSize, 999)
	off, ok2 := parsePageToken(q.Get("$skiptoken"), binding)
	if !ok || !ok2 {
		graphError(w, http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'skiptoken' or '$top'.")
		return 0, 0, false
	}
	return top, off, true
}

// graphItem is one directory object of a memberOf answer.
type graphItem struct{ typ, id string }

// memberOfItems lists the groups and, unless the query casts to groups, the
// directory roles, with the @odata.context of that answer.
func memberOfItems(groups, roles []string, cast bool) ([]graphItem, string) {
	var items []graphItem
	for _, g := range groups {
		items = append(items, graphItem{"#microsoft.graph.group", g})
	}
	if cast {
		return items, "https://graph.microsoft.com/v1.0/$metadata#groups"
	}
	for _, d := range roles {
		items = append(items, graphItem{"#microsoft.graph.directoryRole", d})
	}
	return items, "https://graph.microsoft.com/v1.0/$metadata#directoryObjects"
}

// memberOfValues renders a page of items; displayName only if $select is
// absent or names it, and null for a limited caller.
func memberOfValues(items []graphItem, names map[string]string, selectParam string, limited bool) []map[string]any {
	sel := strings.Split(selectParam, ",")
	value := []map[string]any{}
	for _, it := range items {
		obj := map[string]any{"@odata.type": it.typ, "id": it.id}
		if selectParam == "" || slices.Contains(sel, "displayName") {
			obj["displayName"] = cmp.Or(names[it.id], "Group "+it.id)
			if limited {
				obj["displayName"] = nil
			}
		}
		value = append(value, obj)
	}
	return value
}

// graphNextLink is the request's own URL with $skiptoken replaced by the
// token for offset to.
func (e *EntraServer) graphNextLink(r *http.Request, binding string, to int) string {
	var keep []string
	for _, part := range strings.Split(r.URL.RawQuery, "&") {
		if part != "" && !strings.HasPrefix(part, "$skiptoken=") && !strings.HasPrefix(part, "%24skiptoken=") {
			keep = append(keep, part)
		}
	}
	keep = append(keep, "$skiptoken="+pageToken(binding, to))
	return e.GraphURL + r.URL.Path + "?" + strings.Join(keep, "&")
}
