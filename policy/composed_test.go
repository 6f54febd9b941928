package policy

import (
	"strings"
	"testing"
)

// TestComposedPath: a path whose text NFKC changes was matched as it was
// spelt only, so "/u%CC%88ber/x" ("u" and a combining diaeresis) missed a
// route on "/über/**" that an application normalising paths served it as.
// ComposedPath names the form to decide it at too, and a route pattern not
// so composed, which composed requests never match, is a configuration
// error; composed text of any script has no other form.
func TestComposedPath(t *testing.T) {
	for p, want := range map[string]string{
		"/u%CC%88ber/x":          "/%C3%BCber/x",  // "ü" decomposed (NFD)
		"/%E2%84%AB/x":           "/%C3%85/x",     // the Angstrom sign, NFC "Å"
		"/%EF%BD%B1/x":           "/%E3%82%A2/x",  // halfwidth katakana "ｱ", NFKC "ア"
		"/%C2%B5m/":              "/%CE%BCm/",     // the micro sign, NFKC "μ"
		"/x/%E1%84%80%E1%85%A1y": "/x/%EA%B0%80y", // Hangul jamo, NFC "가"
	} {
		n, err := Normalize(p)
		if err != nil {
			t.Fatalf("Normalize(%q): %v", p, err)
		}
		if got, differs, err := ComposedPath(n); got != want || !differs || err != nil {
			t.Errorf("ComposedPath(%q) = %q, %v, %v; want %q", n, got, differs, err, want)
		}
	}
	for _, p := range []string{"/%C3%BCber/x", "/%E6%97%A5%E6%9C%AC", "/%ED%95%9C/%CE%BC", "/caf%C3%A9/a%20b", "/admin/x"} {
		if got, differs, err := ComposedPath(p); got != p || differs || err != nil {
			t.Errorf("ComposedPath(%q) = %q, %v, %v; want it unchanged", p, got, differs, err)
		}
	}
	_, err := Compile([]RouteConfig{{Path: "/u\u0308ber/**", Deny: true}})
	if err == nil || !strings.Contains(err.Error(), `write "/über/**"`) {
		t.Errorf("a route path spelt decomposed: %v, want an error naming the composed form", err)
	}
}

// TestComposedPathMatchesTheComposedRoute: the composed form is the one
// the route written as text is typed matches, a wildcard's included.
func TestComposedPathMatchesTheComposedRoute(t *testing.T) {
	table, err := Compile([]RouteConfig{
		{Path: "/über/**", AllowGroups: []string{"admins"}},
		{Path: "/files/*/ア", Deny: true},
		{Path: "/**"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]int{"/u%CC%88ber/plan": 0, "/files/x/%EF%BD%B1": 1} {
		c, _, _ := ComposedPath(p)
		if got := table.Match("GET", "", p); got.Index != 2 {
			t.Errorf("%s as spelt: routes[%d], want routes[2]", p, got.Index)
		}
		if got := table.Match("GET", "", c); got.Index != want {
			t.Errorf("%s composed (%s): routes[%d], want routes[%d]", p, c, got.Index, want)
		}
	}
}
