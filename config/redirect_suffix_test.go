package config

import (
	"strings"
	"testing"
)

// TestRedirectHostOverPublicSuffixRefused: an allowed_redirect_hosts
// wildcard over a public suffix ("*.github.io", "*.com") admits every site
// anyone registers under it, so the gateway's own origin answered
// `GET /oauth2/sign_out?rd=https://evil.github.io/phish` with a 302 there,
// no sign-in needed: an open redirect, while check said "OK". It is now
// refused, as such a cookie_domain is; a wildcard over one's own domain, a
// site under a shared suffix, or a private zone (an unlisted top-level
// name such as "internal" or "local") is not.
func TestRedirectHostOverPublicSuffixRefused(t *testing.T) {
	doc := func(pat string) string {
		return strings.Replace(base, "public_url = \"https://dash.example.com\"\n",
			"public_url = \"https://dash.example.com\"\nallowed_redirect_hosts = [\""+pat+"\"]\n", 1)
	}
	var cases []problemCase
	for _, c := range [][2]string{{"*.com", "com"}, {"*.github.io", "github.io"}, {"*.CO.uk", "co.uk"}, {"*.herokuapp.com:8443", "herokuapp.com"},
		// A trailing dot names the same hosts: the redirect policy drops it (policy.HostKey).
		{"*.github.io.", "github.io"}, {"*.com.:443", "com"}} {
		cases = append(cases, problemCase{name: c[0], doc: doc(c[0]), want: []string{
			`cfg.toml:3: server.allowed_redirect_hosts[0]: "` + c[0] + `" covers every site registered under the public suffix "` + c[1] +
				`": anyone can own a host there and receive your users after a sign-in or sign-out (an open redirect); list your own hosts`}})
	}
	for _, pat := range []string{"*.example.com", "*.alice.github.io", "*.internal", "*.svc.cluster.local", "*.local", "github.io"} {
		cases = append(cases, problemCase{name: pat, doc: doc(pat)})
	}
	runProblemCases(t, t.TempDir(), cases)
}
