package proxy

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/policy"
)

// The routes of the recipes in docs/requests.md ("Recipes"), as served:
// cmd/portcullis's TestDocsRecipes loads the documented blocks themselves
// and checks their decisions; these tests show what a client and the
// application see.
var recipeRoutes = []policy.RouteConfig{
	{Name: "preflight", Path: "/api/**", Methods: []string{"OPTIONS"}, Public: true},
	{Name: "api", Path: "/api/**", RequireScopes: []string{"api"}},
	{Name: "health", Path: "/healthz", Methods: []string{"GET"}, Public: true},
	{Name: "assets", Path: "/static/**", Methods: []string{"GET"}, Public: true},
	{Name: "github-hook", Path: "/hooks/github", Methods: []string{"POST"}, Public: true},
	{Name: "app", Path: "/**", AllowGroups: []string{"staff"}},
}

// corsPreflight is the application's answer to a preflight, as CORS
// middleware gives it.
func corsPreflight(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	_, _ = w.Write([]byte("upstream ok"))
}

func preflight(r *http.Request) {
	r.Header.Set("Origin", "https://spa.example.com")
	r.Header.Set("Access-Control-Request-Method", "GET")
	r.Header.Set("Access-Control-Request-Headers", "authorization")
}

// TestRecipeCORSPreflight: a browser's preflight carries no cookie and no
// Authorization header. Without the public OPTIONS route it is a 401 (never
// a login redirect: OPTIONS is no navigation), which the browser reports
// as a CORS failure; with it, the preflight reaches the application with
// its CORS headers and no identity, and the application's answer reaches
// the browser. Every other method on the same paths still needs a token.
func TestRecipeCORSPreflight(t *testing.T) {
	without := newFixtureWith(t, corsPreflight, withRoutes(t, recipeRoutes[1:]))
	resp := without.do(t, "OPTIONS", "/api/reports", nil, preflight, browser())
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != "Bearer" ||
		resp.Header.Get("Access-Control-Allow-Origin") != "" || without.up.count() != 0 {
		t.Errorf("preflight without the recipe: %d %v, upstream saw %d", resp.StatusCode, resp.Header, without.up.count())
	}

	f := newFixtureWith(t, corsPreflight, withRoutes(t, recipeRoutes))
	resp = f.do(t, "OPTIONS", "/api/reports", nil, preflight,
		withHeader("X-Forwarded-User", "admin"), withHeader("X-Forwarded-Groups", "admins"))
	got := f.up.last(t)
	if resp.StatusCode != http.StatusNoContent ||
		resp.Header.Get("Access-Control-Allow-Origin") != "https://spa.example.com" ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("preflight with the recipe: %d %v", resp.StatusCode, resp.Header)
	}
	if got.Method != "OPTIONS" || got.Header.Get("Origin") != "https://spa.example.com" ||
		got.Header.Get("Access-Control-Request-Method") != "GET" ||
		got.Header.Get("X-Forwarded-User") != "" || got.Header.Get("X-Forwarded-Groups") != "" ||
		got.Header.Get("X-Portcullis-Jwt-Assertion") != "" {
		t.Errorf("the application received %s %v", got.Method, got.Header)
	}

	n := f.up.count()
	for _, rq := range []struct{ method, target string }{
		{"GET", "/api/reports"}, {"HEAD", "/api/reports"}, {"DELETE", "/api/reports"},
		{"POST", "/api/reports?_method=OPTIONS"}, {"OPTIONS", "/other"},
	} {
		resp := f.do(t, rq.method, rq.target, nil, preflight)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: %d, want 401", rq.method, rq.target, resp.StatusCode)
		}
	}
	if f.up.count() != n {
		t.Errorf("the application received %d refused requests", f.up.count()-n)
	}
}

// TestRecipePreflightRouteServesWhatTheAppAnswers: the public OPTIONS route
// forwards every OPTIONS request, a preflight or not; an application that
// answers OPTIONS as it answers GET (a handler that ignores the method)
// hands its data to anyone. The recipe's caveat, shown.
func TestRecipePreflightRouteServesWhatTheAppAnswers(t *testing.T) {
	f := newFixtureWith(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"reports":["q3-revenue"]}`))
	}, withRoutes(t, recipeRoutes))
	resp := f.do(t, "OPTIONS", "/api/reports", nil)
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, "q3-revenue") {
		t.Errorf("OPTIONS to a method-blind application: %d %q", resp.StatusCode, body)
	}
}

// TestRecipeHealthAssetsAndWebhook: the application's /healthz, its static
// files and a webhook are public for exactly their paths and methods; dot
// segments and encoded slashes cannot borrow the public routes; the
// webhook's body and signature reach the application untouched.
func TestRecipeHealthAssetsAndWebhook(t *testing.T) {
	f := newFixture(t, withRoutes(t, recipeRoutes))
	cases := []struct {
		method, target string
		status         int
		upstreamPath   string // "" when the application must not see it
	}{
		{"GET", "/healthz", http.StatusOK, "/healthz"},
		{"HEAD", "/healthz", http.StatusOK, "/healthz"},
		{"GET", "/healthz/", http.StatusUnauthorized, ""},
		{"POST", "/healthz", http.StatusUnauthorized, ""},
		{"GET", "/static/app.js", http.StatusOK, "/static/app.js"},
		{"GET", "/static/../admin", http.StatusUnauthorized, ""},
		{"GET", "/static/%2e%2e/admin", http.StatusUnauthorized, ""},
		{"GET", "/static/..%2Fadmin", http.StatusBadRequest, ""},
		{"GET", "/static%2Fapp.js", http.StatusBadRequest, ""},
		{"GET", "/Static/app.js", http.StatusUnauthorized, ""},
		{"PUT", "/static/app.js", http.StatusUnauthorized, ""},
		{"GET", "/hooks/github", http.StatusUnauthorized, ""},
		{"POST", "/hooks/github/", http.StatusUnauthorized, ""},
		{"POST", "/hooks/github/../../admin", http.StatusUnauthorized, ""},
	}
	for _, tc := range cases {
		n := f.up.count()
		resp := f.do(t, tc.method, tc.target, nil)
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.target, resp.StatusCode, tc.status)
		}
		switch {
		case tc.upstreamPath == "" && f.up.count() != n:
			t.Errorf("%s %s reached the application", tc.method, tc.target)
		case tc.upstreamPath != "" && f.up.last(t).Path != tc.upstreamPath:
			t.Errorf("%s %s reached the application as %s", tc.method, tc.target, f.up.last(t).Path)
		}
	}

	payload := `{"action":"opened","number":7}`
	sig := "sha256=0123456789abcdef"
	resp := f.do(t, "POST", "/hooks/github", strings.NewReader(payload),
		withHeader("Content-Type", "application/json"), withHeader("X-Hub-Signature-256", sig),
		withHeader("X-Forwarded-User", "admin"))
	got := f.up.last(t)
	if resp.StatusCode != http.StatusOK || got.Body != payload || got.Header.Get("X-Hub-Signature-256") != sig ||
		got.Header.Get("X-Forwarded-User") != "" {
		t.Errorf("webhook: %d; the application received %q %v", resp.StatusCode, got.Body, got.Header)
	}
	// A payload that names another method at its top level is decided as
	// that method too, as Laravel would read it.
	resp = f.do(t, "POST", "/hooks/github", strings.NewReader(`{"_method":"DELETE"}`),
		withHeader("Content-Type", "application/json"))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("webhook payload with _method=DELETE: %d, want 401", resp.StatusCode)
	}
}
