package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fakeGitHubAPI serves /user/orgs and /user/teams one item per page with
// GitHub's Link header, for the token "gho_user".
type fakeGitHubAPI struct {
	orgs  []string
	teams [][2]string // org, slug
	sso   string      // X-GitHub-SSO value to send, with 403 when it is "required; ..."
	next  string      // overrides the next link's origin
}

func (f *fakeGitHubAPI) handler(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer gho_user" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Bad credentials"}`))
			return
		}
		if r.URL.Query().Get("per_page") != "100" {
			t.Errorf("%s asked without per_page=100", r.URL)
		}
		if f.sso != "" {
			w.Header().Set("X-GitHub-SSO", f.sso)
			if strings.HasPrefix(f.sso, "required") {
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`{"message":"Resource protected by organization SAML enforcement."}`))
				return
			}
		}
		var items []any
		switch r.URL.Path {
		case "/api/v3/user/orgs":
			for _, o := range f.orgs {
				items = append(items, map[string]any{"login": o, "id": 1})
			}
		case "/api/v3/user/teams":
			for _, tm := range f.teams {
				items = append(items, map[string]any{"slug": tm[1], "name": tm[1], "organization": map[string]string{"login": tm[0]}})
			}
		default:
			http.NotFound(w, r)
			return
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		if page < len(items) {
			origin := "http://" + r.Host
			if f.next != "" {
				origin = f.next
			}
			w.Header().Set("Link", fmt.Sprintf(`<%s%s?per_page=100&page=%d>; rel="next", <%s%s?per_page=100&page=%d>; rel="last"`,
				origin, r.URL.Path, page+1, origin, r.URL.Path, len(items)))
		}
		var out []any
		if page <= len(items) {
			out = items[page-1 : page]
		}
		_ = json.NewEncoder(w).Encode(append([]any{}, out...))
	})
}

func githubSource(t *testing.T, f *fakeGitHubAPI) *GitHub {
	t.Helper()
	srv := httptest.NewServer(f.handler(t))
	t.Cleanup(srv.Close)
	g, err := NewGitHub(srv.URL+"/api/v3", nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGitHubOrgsAndTeams(t *testing.T) {
	g := githubSource(t, &fakeGitHubAPI{orgs: []string{"Acme", "octo"}, teams: [][2]string{{"Acme", "sre"}, {"octo", "core"}, {"Acme", "web"}}})
	got, err := g.Groups(context.Background(), User{AccessToken: "gho_user"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"acme", "octo", "acme/sre", "octo/core", "acme/web"}
	if !slices.Equal(got, want) {
		t.Errorf("groups = %v, want %v", got, want)
	}
	if _, err := g.Groups(context.Background(), User{}); !errors.Is(err, ErrUserTokenNeeded) {
		t.Errorf("without a token: %v", err)
	}
}

func TestGitHubSSOIsAnError(t *testing.T) {
	for _, tc := range []struct{ name, header, org string }{
		{"required", "required; url=https://github.com/orgs/acme/sso?authorization_request=AZSCKtL4", "acme"},
		{"partial results", "partial-results; organizations=21955855,20582480", "21955855, 20582480"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := githubSource(t, &fakeGitHubAPI{orgs: []string{"acme"}, sso: tc.header})
			_, err := g.Groups(context.Background(), User{AccessToken: "gho_user"})
			var sso *SSORequiredError
			if !errors.As(err, &sso) || strings.Join(sso.Organizations, ", ") != tc.org {
				t.Fatalf("err = %v, want SSORequiredError naming %s", err, tc.org)
			}
			if strings.Contains(err.Error(), "authorization_request") {
				t.Errorf("error carries the SSO authorization request: %v", err)
			}
		})
	}
}

func TestGitHubRefusesForeignNextLink(t *testing.T) {
	hit := false
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hit = true }))
	defer other.Close()
	g := githubSource(t, &fakeGitHubAPI{orgs: []string{"a", "b"}, next: other.URL})
	if _, err := g.Groups(context.Background(), User{AccessToken: "gho_user"}); err == nil || hit {
		t.Errorf("err = %v, foreign server hit %v", err, hit)
	}
}

func TestNextLink(t *testing.T) {
	for in, want := range map[string]string{
		`<https://api.github.com/user/orgs?page=2>; rel="next", <https://api.github.com/user/orgs?page=5>; rel="last"`: "https://api.github.com/user/orgs?page=2",
		`<https://x/a?page=1>; rel="prev", <https://x/a?page=3>; rel="next"`:                                           "https://x/a?page=3",
		`<https://x/a?page=1>; rel="prev"`: "",
		``:                                 "",
	} {
		if got := nextLink([]string{in}); got != want {
			t.Errorf("nextLink(%q) = %q, want %q", in, got, want)
		}
	}
}

// A field a page leaves out or sets to null is not taken from the page
// before: a team of page 2 without its organisation is skipped, never read
// as a team of page 1's organisation ("acme/admins").
func TestGitHubPageDoesNotInheritThePreviousPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path + "?" + r.URL.Query().Get("page") {
		case "/user/orgs?":
			_, _ = w.Write([]byte(`[{"login":"acme"}]`))
		case "/user/teams?":
			w.Header().Set("Link", `<http://`+r.Host+`/user/teams?per_page=100&page=2>; rel="next"`)
			_, _ = w.Write([]byte(`[{"slug":"sre","organization":{"login":"acme"}}]`))
		case "/user/teams?2":
			w.Header().Set("Link", `<http://`+r.Host+`/user/teams?per_page=100&page=3>; rel="next"`)
			_, _ = w.Write([]byte(`[{"slug":"admins","organization":null}]`))
		case "/user/teams?3":
			_, _ = w.Write([]byte(`[{"organization":{"login":"evil"}}]`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	g, err := NewGitHub(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.Groups(context.Background(), User{AccessToken: "gho_user"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"acme", "acme/sre"}; !slices.Equal(got, want) {
		t.Errorf("groups = %v, want %v", got, want)
	}
}
