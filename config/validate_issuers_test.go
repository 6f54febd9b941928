package config

import (
	"strings"
	"testing"
)

// TestOwnIssuerRefused: the gateway signs the assertion every upstream
// receives with iss = public_url, and publishes its keys at
// {prefix}/jwks.json. An extra issuer (or the provider's issuer) that is
// public_url, however it is spelt, would let any upstream, or anyone who
// reads one assertion in its logs, present that assertion to the gateway
// as a bearer token for every route its audiences reach. It is a problem
// naming the line, compared with scheme and host case, the default port
// and a trailing slash folded.
func TestOwnIssuerRefused(t *testing.T) {
	extra := func(pub, iss string) string {
		doc := strings.Replace(base, `public_url = "https://dash.example.com"`, `public_url = "`+pub+`"`, 1)
		return doc + "\n[[provider.extra_issuers]]\nissuer = \"" + iss + "\"\naudiences = [\"dash.example.com\"]\n"
	}
	own := func(iss string) string {
		return `cfg.toml:19: provider.extra_issuers[0].issuer: "` + iss + `" is the gateway's own issuer (server.public_url, line 2): it signs the assertion every upstream receives with it, so any upstream could replay that assertion to the gateway as a bearer token; remove this entry`
	}
	runProblemCases(t, t.TempDir(), []problemCase{
		{name: "exact", doc: extra("https://dash.example.com", "https://dash.example.com"), want: []string{own("https://dash.example.com")}},
		{name: "trailing slash", doc: extra("https://dash.example.com", "https://dash.example.com/"), want: []string{own("https://dash.example.com/")}},
		{name: "case and default port", doc: extra("https://dash.example.com/", "HTTPS://Dash.Example.COM:443"), want: []string{own("HTTPS://Dash.Example.COM:443")}},
		{name: "public_url with the default port", doc: extra("http://Dash.example.com:80", "http://dash.example.com/"), want: []string{own("http://dash.example.com/")}},
		{name: "host with a final dot", doc: extra("https://dash.example.com", "https://dash.example.com./"), want: []string{own("https://dash.example.com./")}},
		{name: "provider issuer", doc: strings.Replace(base, `issuer = "https://accounts.google.com"`, `issuer = "https://DASH.example.com/"`, 1), want: []string{
			`cfg.toml:5: provider.issuer: "https://DASH.example.com/" is the gateway's own issuer (server.public_url, line 2): it signs the assertion every upstream receives with it, so any upstream could replay that assertion to the gateway as a bearer token; set the identity provider's issuer`}},
	})
	for _, iss := range []string{"https://dash.example.com:8443", "http://dash.example.com", "https://dash.example.com/k8s", "https://k8s.dash.example.com"} {
		if cfg, problems := parseDoc(t, t.TempDir(), extra("https://dash.example.com", iss), nil); cfg == nil {
			t.Errorf("%s refused: %q", iss, problems)
		}
	}
}
