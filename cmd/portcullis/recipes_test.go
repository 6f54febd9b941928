package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The recipes of docs/requests.md ("Recipes", and the AND of a route's
// rules) are loaded from the document itself and decided by check, so a
// recipe that stops doing what its text says fails here. What a client
// and the application see is in proxy's TestRecipe* tests.

// recipeBase completes a recipe into a whole file, its secrets in files
// under ${SECRETS_DIR} as the CI recipe of docs/configuration.md has them.
const recipeBase = `[server]
public_url = "https://dash.example.com"

[provider]
issuer = "https://idp.example.com"
client_id = "client"
client_secret_file = "${SECRETS_DIR}/client-secret"

[session]
secrets_file = "${SECRETS_DIR}/session-secrets"

[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"

`

// docTOMLAfter returns the first toml block after the heading of md.
func docTOMLAfter(tb testing.TB, md, heading string) string {
	tb.Helper()
	i := strings.Index(md, "\n"+heading+"\n")
	if i < 0 {
		tb.Fatalf("no heading %q", heading)
	}
	rest := md[i:]
	start := strings.Index(rest, "\n```toml\n")
	if start < 0 {
		tb.Fatalf("no toml block after %q", heading)
	}
	rest = rest[start+len("\n```toml\n"):]
	return rest[:strings.Index(rest, "```\n")]
}

func readDoc(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// recipeConfig writes the base and the blocks as one file, with stand-in
// secrets, and returns its path and the environment that names them.
func recipeConfig(tb testing.TB, blocks ...string) (string, map[string]string) {
	tb.Helper()
	dir := tb.TempDir()
	for name, v := range map[string]string{
		"client-secret":   "ci-stand-in\n",
		"session-secrets": "/Via1yk4hN8fhwPfb4G1emWUh89OaWAFP4jJ09w2Mb8=\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return writeConfig(tb, "portcullis.toml", recipeBase+strings.Join(blocks, "\n")),
		map[string]string{"SECRETS_DIR": dir}
}

type recipeCase struct {
	request  string
	identity []string
	code     int
	route    string // the deciding route's name; "" for a 400 before any route
}

func runRecipeCases(t *testing.T, path string, env map[string]string, cases []recipeCase) {
	t.Helper()
	for _, tc := range cases {
		args := []string{"check", "--config", path, "--request", tc.request}
		for _, id := range tc.identity {
			args = append(args, "--identity", id)
		}
		r := invoke(t, env, args...)
		route := "decision: refused (400)"
		if tc.route != "" {
			route = `("` + tc.route + `")`
		}
		if r.code != tc.code || !strings.Contains(r.stdout, route) {
			t.Errorf("%s %q: exit %d, want %d with %s\n%s%s", tc.request, tc.identity, r.code, tc.code, route, r.stdout, r.stderr)
		}
	}
}

func TestDocsRecipes(t *testing.T) {
	md := readDoc(t, "requests.md")
	preflight := docTOMLAfter(t, md, "### CORS preflight for an API")
	health := docTOMLAfter(t, md, "### The application's health check")
	assets := docTOMLAfter(t, md, "### Static files and a webhook")
	path, env := recipeConfig(t, preflight, health, assets)
	if r := invoke(t, env, "check", "--config", path, "--strict"); r.code != 0 {
		t.Fatalf("the recipes together: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	api := "https://api.example.com/v1/reports"
	scope := []string{"scope=reports:read"}
	runRecipeCases(t, path, env, []recipeCase{
		{"OPTIONS " + api, nil, 0, "api-preflight"},
		{"GET " + api, nil, 3, "api"},
		{"HEAD " + api, nil, 3, "api"},
		{"DELETE " + api, nil, 3, "api"},
		{"POST " + api + "?_method=OPTIONS", nil, 3, "api"},
		{"GET " + api, scope, 0, "api"},
		{"OPTIONS https://dash.example.com/v1/reports", nil, 3, "app"},
		{"GET https://10.1.2.3:4180/healthz", nil, 0, "app-health"},
		{"HEAD https://dash.example.com/healthz", nil, 0, "app-health"},
		{"GET https://dash.example.com/healthz/", nil, 3, "app"},
		{"GET https://dash.example.com/healthz/deep", nil, 3, "app"},
		{"POST https://dash.example.com/healthz", nil, 3, "app"},
		{"GET https://dash.example.com/static/app.js", nil, 0, "assets"},
		{"GET https://dash.example.com/static/../admin", nil, 3, "app"},
		{"GET https://dash.example.com/static/%2e%2e/admin", nil, 3, "app"},
		{"GET https://dash.example.com/static/..%2Fadmin", nil, 3, ""},
		{"GET https://dash.example.com/Static/app.js", nil, 3, "app"},
		{"PUT https://dash.example.com/static/app.js", nil, 3, "app"},
		{"POST https://dash.example.com/hooks/github", nil, 0, "github-hook"},
		{"GET https://dash.example.com/hooks/github", nil, 3, "app"},
		{"POST https://dash.example.com/hooks/github/", nil, 3, "app"},
		{"GET https://dash.example.com/admin", []string{"email=ann@example.com"}, 0, "app"},
	})
}

// TestDocsRecipeRulesAreANDed: a route's rules are required together, the
// entries of one list are alternatives, as docs/requests.md ("Rules") says.
func TestDocsRecipeRulesAreANDed(t *testing.T) {
	block := docTOMLAfter(t, readDoc(t, "requests.md"), "## Rules")
	path, env := recipeConfig(t, block)
	u := "GET https://dash.example.com/x"
	runRecipeCases(t, path, env, []recipeCase{
		{u, []string{"groups=staff", "email=ann@example.com"}, 0, "staff-at-example"},
		{u, []string{"groups=contractors", "email=bo@example.com"}, 0, "staff-at-example"},
		{u, []string{"groups=staff", "email=ann@other.example"}, 3, "staff-at-example"},
		{u, []string{"groups=staff", "email=ann@example.com", "email_verified=false"}, 3, "staff-at-example"},
		{u, []string{"groups=sales", "email=cy@example.com"}, 3, "staff-at-example"},
	})
}

var expectLine = regexp.MustCompile(`(?m)^expect (\d) "([^"]+)"((?: --identity \S+)*)$`)

// TestDocsCIRecipe: the expectations of the CI script in
// docs/configuration.md ("In CI") hold for the recipes they name.
func TestDocsCIRecipe(t *testing.T) {
	md := readDoc(t, "requests.md")
	path, env := recipeConfig(t, docTOMLAfter(t, md, "### CORS preflight for an API"),
		docTOMLAfter(t, md, "### Static files and a webhook"))
	conf := readDoc(t, "configuration.md")
	script := conf[strings.Index(conf, "\n### In CI\n"):]
	lines := expectLine.FindAllStringSubmatch(script[:strings.Index(script, "\n## ")], -1)
	if len(lines) < 4 {
		t.Fatalf("found %d expect lines in the CI recipe", len(lines))
	}
	for _, l := range lines {
		want, _ := strconv.Atoi(l[1])
		args := []string{"check", "--config", path, "--request", l[2]}
		for _, id := range strings.Fields(l[3]) {
			if id != "--identity" {
				args = append(args, "--identity", id)
			}
		}
		if r := invoke(t, env, args...); r.code != want {
			t.Errorf("%s: exit %d, want %d\n%s%s", l[0], r.code, want, r.stdout, r.stderr)
		}
	}
}
