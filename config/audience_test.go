package config

import (
	"strings"
	"testing"
)

// TestWarnSharedAudience: two applications behind one gateway, routed by
// path alone (or by paths of one host), get assertions with the same aud
// unless each sets assertion_audience. The app at /wiki (or whoever reads
// its requests) can then replay the assertion of every user who visits it
// to /grafana, whose aud check accepts it. The configuration says so.
func TestWarnSharedAudience(t *testing.T) {
	two := strings.Replace(base, "[[routes]]\npath = \"/**\"\n", "", 1) + `
[[upstreams]]
name = "grafana"
url = "http://127.0.0.1:3001"
`
	route := func(path, host, up string) string {
		r := "\n[[routes]]\npath = \"" + path + "\"\nupstream = \"" + up + "\"\n"
		if host != "" {
			r += "host = \"" + host + "\"\n"
		}
		return r
	}
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"no host", two + route("/wiki/**", "", "app") + route("/grafana/**", "", "grafana"),
			[]string{`routes[1].upstream: warning: upstreams "app" and "grafana" both get assertions whose aud is public_url's host: either app can replay them to the other; set assertion_audience on each`}},
		{"one host", two + route("/wiki/**", "Apps.example.com", "app") + route("/grafana/**", "apps.example.com.", "grafana") + route("/g2/**", "apps.example.com", "grafana"),
			[]string{`routes[1].upstream: warning: upstreams "app" and "grafana" both get assertions whose aud is the host "apps.example.com": either app can replay them to the other; set assertion_audience on each`}},
		{"host under a wildcard", two + route("/**", "*.example.com", "app") + route("/**", "grafana.example.com", "grafana"),
			[]string{`routes[1].upstream: warning: upstreams "app" and "grafana" both get assertions whose aud is the host "grafana.example.com": either app can replay them to the other; set assertion_audience on each`}},
		{"nested wildcards", two + route("/**", "*.apps.example.com", "grafana") + route("/x/**", "*.example.com", "app"),
			[]string{`routes[1].upstream: warning: upstreams "grafana" and "app" both get assertions whose aud is the host "*.apps.example.com": either app can replay them to the other; set assertion_audience on each`}},
		// A host-less route's aud is public_url's host (dash.example.com),
		// which a route of that host, or a wildcard over it, derives too.
		{"no host and public_url's host", two + route("/wiki/**", "", "app") + route("/**", "Dash.Example.com.", "grafana"),
			[]string{`routes[1].upstream: warning: upstreams "app" and "grafana" both get assertions whose aud is public_url's host: either app can replay them to the other; set assertion_audience on each`}},
		{"public_url's host and no host", two + route("/**", "dash.example.com", "grafana") + route("/wiki/**", "", "app"),
			[]string{`routes[1].upstream: warning: upstreams "grafana" and "app" both get assertions whose aud is public_url's host: either app can replay them to the other; set assertion_audience on each`}},
		{"no host and a wildcard over public_url's host", two + route("/wiki/**", "", "app") + route("/**", "*.example.com", "grafana"),
			[]string{`routes[1].upstream: warning: upstreams "app" and "grafana" both get assertions whose aud is public_url's host: either app can replay them to the other; set assertion_audience on each`}},
		{"no host and another host", two + route("/wiki/**", "", "app") + route("/**", "grafana.example.com", "grafana"), nil},
		{"distinct hosts", two + route("/**", "wiki.example.com", "app") + route("/**", "grafana.example.com", "grafana"), nil},
		{"one upstream twice", two + route("/a/**", "", "app") + route("/b/**", "", "app"), nil},
		{"audience set", strings.Replace(two, "url = \"http://127.0.0.1:3001\"\n", "url = \"http://127.0.0.1:3001\"\nassertion_audience = \"urn:grafana\"\n", 1) +
			route("/wiki/**", "", "app") + route("/grafana/**", "", "grafana"), nil},
		{"public route", two + route("/wiki/**", "", "app") + "\n[[routes]]\npath = \"/grafana/public/**\"\nupstream = \"grafana\"\npublic = true\n", nil},
		{"no assertion", "[headers]\nassertion = \"\"\n" + two + route("/wiki/**", "", "app") + route("/grafana/**", "", "grafana"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, t.TempDir(), tc.doc, nil)
			var got []string
			for _, w := range cfg.Warnings {
				if strings.Contains(w, "assertions whose aud") {
					got = append(got, w[strings.Index(w, "routes["):])
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("warnings %q, want %q", got, tc.want)
			}
		})
	}
}
