package proxy

import (
	"testing"

	"github.com/portcullis/portcullis/policy"
)

// TestCollectionRuleOnRESTTables pins what the collection rule does to
// route tables written for a REST API, where a DELETE removes one
// resource: the gateway cannot tell it from a WebDAV collection's, so the
// routes listed ahead of the DELETE's own that may decide a path beneath
// it decide it too. A stricter route for members ahead of a broad route
// refuses the DELETE; a route for the DELETE listed ahead of it, or a
// route listed after the DELETE's own (a last "/**" deny included), does
// not. docs/requests.md states each of these.
func TestCollectionRuleOnRESTTables(t *testing.T) {
	cases := []struct {
		name   string
		routes []policy.RouteConfig
		path   string
		want   int
	}{
		{"settings beneath, broad route", []policy.RouteConfig{
			{Path: "/api/projects/*/settings/**", AllowGroups: []string{"admins"}},
			{Path: "/api/**"},
		}, "/api/projects/7", 403},
		{"settings beneath, the DELETE's own route ahead", []policy.RouteConfig{
			{Path: "/api/projects/*", Methods: []string{"DELETE"}},
			{Path: "/api/projects/*/settings/**", AllowGroups: []string{"admins"}},
			{Path: "/api/**"},
		}, "/api/projects/7", 200},
		{"settings beneath for other methods only", []policy.RouteConfig{
			{Path: "/api/projects/*/settings/**", Methods: []string{"GET", "PUT", "PATCH", "POST"}, AllowGroups: []string{"admins"}},
			{Path: "/api/**"},
		}, "/api/projects/7", 200},
		{"explicit deny of the rest", []policy.RouteConfig{
			{Path: "/api/items/*", Methods: []string{"GET", "DELETE"}},
			{Path: "/**", Deny: true},
		}, "/api/items/7", 200},
		{"a stricter route for members after a route without **", []policy.RouteConfig{
			{Path: "/api/items/*", Methods: []string{"GET", "DELETE"}},
			{Path: "/api/items/*/audit/**", AllowGroups: []string{"admins"}},
		}, "/api/items/7", 200},
		{"the rest left to the default", []policy.RouteConfig{
			{Path: "/api/items/*", Methods: []string{"GET", "DELETE"}},
		}, "/api/items/7", 200},
		{"explicit deny of the rest, the route ending in **", []policy.RouteConfig{
			{Path: "/api/items/**", Methods: []string{"GET", "DELETE"}},
			{Path: "/**", Deny: true},
		}, "/api/items/7", 200},
		{"a WebDAV share: public files ahead of the editors' members", []policy.RouteConfig{
			{Path: "/files/*", Public: true},
			{Path: "/files/**", AllowGroups: []string{"editors"}},
		}, "/files/x", 200},
		{"a WebDAV share: the DELETE of the whole share ahead of both", []policy.RouteConfig{
			{Path: "/files/**", Methods: []string{"DELETE"}, AllowGroups: []string{"editors"}},
			{Path: "/files/*", Public: true},
			{Path: "/files/**", AllowGroups: []string{"editors"}},
		}, "/files/x", 403},
		{"a stricter sibling", []policy.RouteConfig{
			{Path: "/api/admin/**", AllowGroups: []string{"admins"}},
			{Path: "/api/**"},
		}, "/api/users/7", 200},
	}
	for _, c := range cases {
		f, bob := staffFixture(t, c.routes)
		if resp := f.do(t, "DELETE", c.path, nil, bob); resp.StatusCode != c.want {
			t.Errorf("%s: DELETE %s: %d, want %d", c.name, c.path, resp.StatusCode, c.want)
		}
	}
}
