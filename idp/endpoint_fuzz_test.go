package idp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzDiscoveredEndpoint: an endpoint a discovery document gives is used
// only when Go's client sends a request to the host it names, with no user
// information and no fragment, over https under an https issuer; and the
// endpoint as logged is valid UTF-8, bounded, free of unprintable
// characters past ASCII (the JSON handler escapes only ASCII controls) and
// never shows the user information url.Parse finds in it.
func FuzzDiscoveredEndpoint(f *testing.F) {
	for _, s := range []string{"https://op.example/%zz", "/end_session", "javascript:alert(1)", "https://op.example/end_session#x",
		"http://accounts.google.com/end_session", "https://user:hunter2@op.example/%zz", "//user:hunter2@op.example/x",
		"https:///user:hunter2@op.example", "HTTPS://OP.example/a?b#", "https://op.example\u009b[2J/", "https://[::1]:443/x", "http://:", "https://:443/x",
		"https://op.example/" + strings.Repeat("é", 150)} {
		f.Add("https://op.example", s)
		f.Add("http://127.0.0.1:8080", s)
	}
	f.Fuzz(func(t *testing.T, issuer, raw string) {
		if endpointProblem(issuer, raw) == "" {
			usable(t, issuer, raw)
		}
		shown := shownEndpoint(raw)
		if !utf8.ValidString(shown) || len(shown) > 200+len("…") {
			t.Fatalf("%.80q shown as %d bytes, valid UTF-8 %v", raw, len(shown), utf8.ValidString(shown))
		}
		for _, r := range shown {
			if r >= utf8.RuneSelf && !unicode.IsPrint(r) {
				t.Fatalf("%.80q shown with %U", raw, r)
			}
		}
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok && len(p) >= 4 && strings.Count(shown, p) > strings.Count(strings.Replace(raw, p, "", 1), p) {
				t.Fatalf("%.80q shown with its password: %q", raw, shown)
			}
		}
	})
}

// usable fails t unless a request built from raw goes to its host as the
// endpoint rule promises.
func usable(t *testing.T, issuer, raw string) {
	req, err := http.NewRequest("POST", raw, nil)
	if err != nil {
		t.Fatalf("%q under %q accepted, yet no request: %v", raw, issuer, err)
	}
	u := req.URL
	if u.Host == "" || u.User != nil || u.Fragment != "" || (u.Scheme != "https" && u.Scheme != "http") ||
		u.Scheme == "http" && strings.HasPrefix(strings.ToLower(issuer), "https:") {
		t.Fatalf("%q under %q accepted: scheme %q, host %q, user %v, fragment %q", raw, issuer, u.Scheme, u.Host, u.User, u.Fragment)
	}
}
