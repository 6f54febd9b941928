package policy

import (
	"errors"
	"testing"
)

// TestDecomposedPathRefused: a path whose text NFKC changes was matched as
// it was spelt, so "/u%CC%88ber/x" ("u" and a combining diaeresis) missed a
// route on "/über/**" that an application normalising paths served it as.
// Such a path is now a 400, and a route pattern so spelt a configuration
// error; composed text of any script is unchanged.
func TestDecomposedPathRefused(t *testing.T) {
	for _, p := range []string{
		"/u%CC%88ber/x",    // "ü" decomposed (NFD)
		"/%75%cc%88ber/",   // the same, every letter escaped
		"/%E2%84%AB/x",     // the Angstrom sign, NFC "Å"
		"/%EF%BD%B1/x",     // halfwidth katakana "ｱ", NFKC "ア"
		"/%C2%B5m",         // the micro sign, NFKC "μ"
		"/x/\u1100\u1161y", // Hangul jamo, NFC "가"
	} {
		if n, err := Normalize(p); !errors.Is(err, ErrBadPath) {
			t.Errorf("Normalize(%q) = %q, %v; want ErrBadPath", p, n, err)
		}
	}
	for p, want := range map[string]string{
		"/%C3%BCber/x":        "/%C3%BCber/x",
		"/über/x":             "/%C3%BCber/x",
		"/%E6%97%A5%E6%9C%AC": "/%E6%97%A5%E6%9C%AC",
		"/%ED%95%9C/%CE%BC":   "/%ED%95%9C/%CE%BC",
		"/caf%c3%a9/menu":     "/caf%C3%A9/menu",
	} {
		if n, err := Normalize(p); n != want || err != nil {
			t.Errorf("Normalize(%q) = %q, %v; want %q", p, n, err, want)
		}
	}
	if _, err := Compile([]RouteConfig{{Path: "/u\u0308ber/**", Deny: true}}); err == nil {
		t.Error("a route path spelt decomposed compiled: no request could name it")
	}
}
