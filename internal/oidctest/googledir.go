package oidctest

// The two directory APIs of GoogleServer (google.go says what is faithful and
// what is simplified).

import (
	"net/http"
	"strconv"
	"strings"
)

const discussionForumLabel = "cloudidentity.googleapis.com/groups.discussion_forum"

// directoryGroups is Admin SDK Directory groups.list with userKey: the groups
// the user (or group) is a DIRECT member of, paged by maxResults (default and
// maximum 200) and pageToken.
// https://developers.google.com/admin-sdk/directory/reference/rest/v1/groups/list
func (g *GoogleServer) directoryGroups(w http.ResponseWriter, r *http.Request) {
	if !g.authorizeCall(w, r, []string{googleScopeGroupReadonly, googleScopeGroup},
		g.isAdmin, "Not Authorized to access this resource/api") {
		return // the service account's own token, or delegation to a non-admin
	}
	q := r.URL.Query()
	key := strings.ToLower(q.Get("userKey"))
	if key == "" {
		googleAPIError(w, http.StatusBadRequest, "Bad Request", "badRequest", "INVALID_ARGUMENT")
		return
	}
	size, ok := pageSize(q.Get("maxResults"), 200, 200)
	off, ok2 := parsePageToken(q.Get("pageToken"), "dir|"+key)
	if !ok || !ok2 {
		googleAPIError(w, http.StatusBadRequest, "Invalid Input", "invalid", "INVALID_ARGUMENT")
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.graph.known(key) && !strings.HasSuffix(key, "@"+g.opts.Domain) {
		googleAPIError(w, http.StatusNotFound, "Resource Not Found: userKey", "notFound", "NOT_FOUND")
		return
	}
	writeJSON(w, http.StatusOK, g.directoryGroupsPage(key, off, size))
}

// authorizeCall answers 401 unless r bears a live token, 403 unless the token
// has one of scopes, and 403 with message denied unless mayCall(token) (called
// with g.mu held). It reports whether the call may go on.
func (g *GoogleServer) authorizeCall(w http.ResponseWriter, r *http.Request, scopes []string,
	mayCall func(*googleToken) bool, denied string) bool {
	t := g.bearer(r)
	if t == nil {
		unauthenticated(w)
		return false
	}
	if !t.hasScope(scopes...) {
		googleAPIError(w, http.StatusForbidden, "Request had insufficient authentication scopes.",
			"insufficientPermissions", "PERMISSION_DENIED")
		return false
	}
	g.mu.Lock()
	allowed := mayCall(t)
	g.mu.Unlock()
	if !allowed {
		googleAPIError(w, http.StatusForbidden, denied, "forbidden", "PERMISSION_DENIED")
	}
	return allowed
}

// isAdmin reports whether t was delegated to a directory admin (g.mu held).
func (g *GoogleServer) isAdmin(t *googleToken) bool { return g.admins[strings.ToLower(t.sub)] }

// mayReadGroups reports whether t may search memberships: an admin's, or the
// service account's own unless GoogleNoGroupsReader (g.mu held).
func (g *GoogleServer) mayReadGroups(t *googleToken) bool {
	return g.isAdmin(t) || (t.sub == "" && g.faults&GoogleNoGroupsReader == 0)
}

// directoryGroupsPage is the groups.list answer for key from offset off
// (g.mu held).
func (g *GoogleServer) directoryGroupsPage(key string, off, size int) map[string]any {
	direct := g.graph.directOf(key)
	from, to := pageBounds(off, size, len(direct))
	resp := map[string]any{"kind": "admin#directory#groups", "etag": `"` + randomString() + `"`}
	var groups []map[string]any
	for _, email := range direct[from:to] {
		groups = append(groups, map[string]any{
			"kind": "admin#directory#group", "id": groupID(email), "etag": `"` + groupID(email) + `"`,
			"email": email, "name": g.groupName(email), "description": "",
			"directMembersCount": strconv.Itoa(g.directMembers(email)), "adminCreated": true,
		})
	}
	if len(groups) > 0 { // Google omits empty lists
		resp["groups"] = groups
	}
	if to < len(direct) {
		resp["nextPageToken"] = pageToken("dir|"+key, to)
	}
	return resp
}

// directMembers counts the direct members of group (g.mu held).
func (g *GoogleServer) directMembers(group string) int {
	n := 0
	for _, groups := range g.graph.direct {
		for _, x := range groups {
			if x == group {
				n++
				break
			}
		}
	}
	return n
}

// searchTransitiveGroups is Cloud Identity groups.memberships
// .searchTransitiveGroups on parent "groups/-": every group the member
// belongs to, directly or through nested groups, paged by pageSize (default
// 200, maximum 1000) and pageToken.
// https://cloud.google.com/identity/docs/reference/rest/v1/groups.memberships/searchTransitiveGroups
func (g *GoogleServer) searchTransitiveGroups(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("method") != "memberships:searchTransitiveGroups" {
		http.NotFound(w, r)
		return
	}
	if !g.authorizeCall(w, r, []string{googleScopeCIReadonly, googleScopeCI, googleScopeCloudPlatform},
		g.mayReadGroups, "The caller does not have permission") {
		return
	}
	q := r.URL.Query()
	member, okQuery := transitiveQueryMember(q.Get("query"))
	size, okSize := pageSize(q.Get("pageSize"), 200, 1000)
	off, okTok := parsePageToken(q.Get("pageToken"), "ci|"+member)
	if r.PathValue("parent") != "-" || !okQuery || !okSize || !okTok {
		googleAPIError(w, http.StatusBadRequest, "Request contains an invalid argument.", "badRequest", "INVALID_ARGUMENT")
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	writeJSON(w, http.StatusOK, g.transitiveGroupsPage(member, off, size))
}

// transitiveGroupsPage is the searchTransitiveGroups answer for member from
// offset off (g.mu held).
func (g *GoogleServer) transitiveGroupsPage(member string, off, size int) map[string]any {
	groups, rel := g.graph.transitive(member)
	from, to := pageBounds(off, size, len(groups))
	var list []map[string]any
	for _, email := range groups[from:to] {
		list = append(list, map[string]any{
			"group": "groups/" + groupID(email), "groupKey": map[string]string{"id": email},
			"displayName": g.groupName(email), "roles": []map[string]string{{"role": "MEMBER"}},
			"relationType": rel[email], "labels": map[string]string{discussionForumLabel: ""},
		})
	}
	resp := map[string]any{}
	if len(list) > 0 {
		resp["memberships"] = list
	}
	if to < len(groups) {
		resp["nextPageToken"] = pageToken("ci|"+member, to)
	}
	return resp
}

// transitiveQueryMember parses the documented query, "member_key_id ==
// 'EMAIL' && 'cloudidentity.googleapis.com/groups.discussion_forum' in
// labels", in either order, optionally with "&& parent == 'customers/ID'".
func transitiveQueryMember(query string) (string, bool) {
	var member string
	label := false
	for _, part := range strings.Split(query, "&&") {
		part = strings.TrimSpace(part)
		if v, ok := strings.CutPrefix(part, "member_key_id"); ok {
			v = strings.TrimSpace(v)
			v, ok = strings.CutPrefix(v, "==")
			v = strings.TrimSpace(v)
			lit, ok2 := celString(v)
			if !ok || !ok2 || lit == "" {
				return "", false
			}
			member = strings.ToLower(lit)
			continue
		}
		if f := strings.Fields(part); len(f) == 3 && f[1] == "in" && f[2] == "labels" && f[0] == "'"+discussionForumLabel+"'" {
			label = true
			continue
		}
		if strings.HasPrefix(part, "parent") {
			continue
		}
		return "", false
	}
	return member, member != "" && label
}

// celString reads v as exactly one single-quoted CEL string literal: \\ and
// \' are its escapes (an address may hold an apostrophe), an unescaped quote
// ends it; anything after it, another escape or no closing quote is refused.
func celString(v string) (string, bool) {
	if len(v) < 2 || v[0] != '\'' {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch c := v[i]; c {
		case '\'':
			return b.String(), i == len(v)-1
		case '\\':
			if i+1 >= len(v) || (v[i+1] != '\'' && v[i+1] != '\\') {
				return "", false
			}
			i++
			b.WriteByte(v[i])
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

// pageSize parses a page size parameter: "" = def, above max = max.
func pageSize(s string, def, max int) (int, bool) {
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, false
	}
	if n > max {
		n = max
	}
	return n, true
}
