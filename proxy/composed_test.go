package proxy

import (
	"testing"

	"github.com/portcullis/portcullis/policy"
)

// TestComposedFormDecidesToo: a path spelt decomposed ("u" and a combining
// diaeresis) is decided at its composed form too, in proxy mode and
// forward-auth, with that form's aliases, its members and a Destination's
// composed form; a request both forms let through is forwarded as spelt.
func TestComposedFormDecidesToo(t *testing.T) {
	f, bob := staffFixture(t, []policy.RouteConfig{
		{Path: "/über/**", AllowGroups: []string{"admins"}},
		{Path: "/docs/geschäft/**", AllowGroups: []string{"admins"}},
		{Path: "/reports/café", AllowGroups: []string{"admins"}},
		{Path: "/**"},
	})
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/%C3%BCber/x", 403},
		{"GET", "/u%CC%88ber/x", 403},
		{"GET", "/reports/cafe%CC%81.json", 403}, // the composed form's alias "/reports/café"
		{"DELETE", "/docs/", 403},                // a member written composed
		{"PROPFIND", "/docs/gescha%CC%88ft/", 403},
		{"GET", "/docs/cafe%CC%81.txt", 200},
	} {
		f.decidedBothWays(t, "", c.method, c.path, c.want, bob)
	}
	if resp := f.do(t, "PROPFIND", "/docs/", nil, bob, withHeader("Depth", "infinity")); resp.StatusCode != 403 {
		t.Errorf("PROPFIND /docs/ with Depth infinity: %d, want 403", resp.StatusCode)
	}
	before := f.up.count()
	resp := f.do(t, "MOVE", "/docs/x", nil, bob, withHeader("Destination", "/u%CC%88ber/x"))
	if resp.StatusCode != 403 || f.up.count() != before {
		t.Errorf("MOVE into /u%%CC%%88ber/x: %d (upstream reached %v), want 403", resp.StatusCode, f.up.count() != before)
	}
}
