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
		if other, ok := otherUserinfo(raw); ok && shownEndpoint(other) != shown {
			t.Fatalf("%.80q shown as %q depends on its user information: %q shown as %q", raw, shown, other, shownEndpoint(other))
		}
	})
}

// otherUserinfo is raw with each byte of the user information url.Parse
// finds in it written as "x", false when it finds none. The user
// information is shown only if raw's text shown depends on it: a count of
// the password in the shown text would not do, for url.Parse gives the
// password decoded ("%41bcd" is "Abcd"), and the path may hold it too.
func otherUserinfo(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return "", false
	}
	// url.Parse's authority: after the scheme and "//", before the
	// first "/" once the fragment and the query are cut off.
	rest, _, _ := strings.Cut(raw, "#")
	rest, _, _ = strings.Cut(rest, "?")
	start := len(u.Scheme) + len(":")
	if u.Scheme == "" {
		start = 0
	}
	if !strings.HasPrefix(rest[start:], "//") {
		return "", false
	}
	start += len("//")
	authority := rest[start:]
	if i := strings.IndexByte(authority, '/'); i >= 0 {
		authority = authority[:i]
	}
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return "", false
	}
	return raw[:start] + strings.Repeat("x", at) + raw[start+at:], true
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
