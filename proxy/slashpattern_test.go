package proxy

import (
	"testing"

	"github.com/portcullis/portcullis/policy"
)

// TestSlashPatternDecidesItsPathWithoutSlash: a route written with a
// trailing slash ("/admin/") decided "/admin/" alone, and "/admin" went to
// a later route, while Rails, Express, Laravel and ASP.NET Core serve
// "/admin" by the route they were given as "/admin/". A path without the
// slash is now decided with it too (as "/admin/" is decided without it),
// its aliases included, in proxy mode and forward-auth; a later such route
// does not count, and a request both allow keeps its own route.
func TestSlashPatternDecidesItsPathWithoutSlash(t *testing.T) {
	f, bob := staffFixture(t, []policy.RouteConfig{
		{Path: "/admin/", AllowGroups: []string{"admins"}},
		{Path: "/users/*/", Methods: []string{"GET"}, AllowGroups: []string{"admins"}},
		{Path: "/staff/", AllowGroups: []string{"staff"}},
		{Path: "/docs/**"},
		{Path: "/docs/", AllowGroups: []string{"admins"}},
		{Path: "/**"},
	})
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/admin/", 403},
		{"GET", "/admin", 403},
		{"GET", "/admin.json", 403},
		{"GET", "/users/42", 403},
		{"GET", "/staff", 200},
		{"GET", "/docs", 200}, // "/docs/**" decides it first
		{"GET", "/other", 200},
	} {
		f.decidedBothWays(t, "", c.method, c.path, c.want, bob)
	}
}
