package e2e

import (
	"net/url"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
	"golang.org/x/text/unicode/norm"
)

// An operator writes a route's path as text is typed, composed: "/über/**".
// The same path spelt decomposed ("u" and a combining diaeresis, as macOS's
// Finder spells file names), with the Angstrom sign for "Å" or with
// halfwidth katakana missed that route and was forwarded under "/**", while
// an application that normalises paths (Nextcloud composes every path;
// NFKC frameworks) served it as the admins' path. Such a path is now
// decided at its composed form too, and refused as that is; one that no
// stricter route covers is forwarded as it was spelt.
func TestDecomposedPathNeverPassesItsComposedRoute(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{User: &oidctest.User{Subject: "bob", Claims: map[string]any{
		"email": "bob@example.org", "email_verified": true, "groups": []string{"staff"}}}})
	up := newUpstream(t)
	routes := ""
	for _, path := range []string{"/über/**", "/Å/**", "/ア/**"} {
		routes += "\n[[routes]]\npath = \"" + path + "\"\nallow_groups = [\"admins\"]\n"
	}
	gw := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream: up.URL, Routes: routes + "\n[[routes]]\npath = \"/**\"\n"}.String())
	c := browser(t)
	if status, body, _ := get(t, c, gw.URL+"/hello"); status != 200 {
		t.Fatalf("sign-in: %d %s", status, body)
	}
	for _, path := range []string{"/%C3%BCber/plan", "/u%CC%88ber/plan", "/%E2%84%AB/plan", "/%EF%BD%B1/plan"} {
		before := up.count()
		status, body, _ := get(t, c, gw.URL+path)
		if status == 403 && up.count() == before {
			continue
		}
		got := ""
		if status == 200 {
			got, _ = url.PathUnescape(decodeSeen(t, body).Path)
		}
		t.Errorf("bob's %s: %d, the app read %q (normalised: %q); want 403 and the app not contacted",
			path, status, got, norm.NFKC.String(got))
	}
	const finder = "/files/cafe%CC%81.txt"
	if status, body, _ := get(t, c, gw.URL+finder); status != 200 || decodeSeen(t, body).Path != finder {
		t.Errorf("bob's %s: %d %s, want 200 and the path forwarded as it was spelt", finder, status, body)
	}
}
