package charts

import (
	"path/filepath"
	"strings"
	"testing"
)

// plantableCookie is the start of the warning `portcullis check` gives for
// a session cookie name without the __Host- or __Secure- prefix on an
// https public_url: any plain-http answer for a host of the site (which a
// network attacker on the user's path can forge) may set such a cookie and
// sign the browser in as the attacker (docs/security.md, threat model).
const plantableCookie = `has no "__Host-" or "__Secure-" prefix`

// TestChartExamplesKeepTheCookieUnplantable: what the chart's examples
// render is what operators deploy, and an example is read as the way to do
// it. The ingress example shares the session over its parent domain
// (cookie_domain) on https, and with the default name that left the cookie
// "portcullis", which a forged plain-http answer can plant: `check`
// warned about the chart's own example. Every example must render a
// config whose session cookie no plain-http answer can set.
func TestChartExamplesKeepTheCookieUnplantable(t *testing.T) {
	lookTool(t, "helm")
	bin := buildPortcullis(t)
	files, err := filepath.Glob("portcullis/examples/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("examples: %v %v", files, err)
	}
	outputs := map[string]func(t *testing.T) string{
		// Plain manifests, not values.
		"portcullis/examples/sidecar-deployment.yaml": func(t *testing.T) string { return checkSidecarDeployment(t, bin) },
	}
	for _, tc := range renderCases() {
		if len(tc.values) == 1 && outputs[tc.values[0]] == nil {
			outputs[tc.values[0]] = func(t *testing.T) string { return checkRendered(t, bin, tc.values, tc.sets) }
		}
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			check := outputs[f]
			if check == nil {
				t.Fatalf("no render case renders %s: add one to renderCases", f)
			}
			for line := range strings.Lines(check(t)) {
				if strings.Contains(line, plantableCookie) {
					t.Errorf("%s renders a session cookie a plain-http answer can plant:\n%s", f, line)
				}
			}
		})
	}
}
