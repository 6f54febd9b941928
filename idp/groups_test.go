package idp

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp/directory"
	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// stubDirectory is a directory.Source whose answer the test sets.
type stubDirectory struct {
	mu     sync.Mutex
	groups []string
	err    error
	asked  []directory.User
}

func (s *stubDirectory) Groups(_ context.Context, u directory.User) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, u)
	return slices.Clone(s.groups), s.err
}

func (s *stubDirectory) set(groups []string, err error) {
	s.mu.Lock()
	s.groups, s.err = groups, err
	s.mu.Unlock()
}

func googleUser(hd string) *oidctest.User {
	claims := map[string]any{"email": "ann@acme.com", "email_verified": true}
	if hd != "" {
		claims["hd"] = hd
	}
	return &oidctest.User{Subject: "1077", Claims: claims}
}

func TestGoogleKind(t *testing.T) {
	dir := &stubDirectory{groups: []string{"sre@acme.com", "eng@acme.com"}}
	reg := prometheus.NewRegistry()
	p, c, clk := setup(t, oidctest.Options{User: googleUser("acme.com")}, func(cfg *Config) {
		cfg.Kind, cfg.HostedDomain, cfg.Directory, cfg.Metrics = "google", "acme.com", dir, reg
	})
	toks, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	q := p.LastAuthorize()
	if q.Get("access_type") != "offline" || q.Get("prompt") != "consent" || q.Get("hd") != "acme.com" {
		t.Errorf("authorization request %v lacks access_type=offline, prompt=consent, hd", q)
	}
	if !slices.Equal(id.Groups, []string{"sre@acme.com", "eng@acme.com"}) || !toks.GroupsReadAt.Equal(clk.Now()) {
		t.Errorf("groups %v read at %v", id.Groups, toks.GroupsReadAt)
	}
	if len(dir.asked) != 1 || dir.asked[0].Email != "ann@acme.com" {
		t.Errorf("directory asked %+v", dir.asked)
	}
	// A token refresh keeps the groups without asking the directory.
	dir.set([]string{"eng@acme.com"}, nil)
	_, id2, err := c.Refresh(context.Background(), toks.RefreshToken, id)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(id2.Groups, id.Groups) || len(dir.asked) != 1 {
		t.Errorf("after refresh: groups %v, directory asked %d times", id2.Groups, len(dir.asked))
	}
	// The groups_refresh read sees the change.
	if g, err := c.DirectoryGroups(context.Background(), id2, toks.AccessToken); err != nil || !slices.Equal(g, []string{"eng@acme.com"}) {
		t.Errorf("re-read: %v %v", g, err)
	}
	// A directory that is down fails the login and is counted.
	dir.set(nil, errors.New("connection refused"))
	if _, _, err := login(t, c); !errors.Is(err, ErrDirectory) {
		t.Errorf("login with the directory down: %v", err)
	}
	var m dto.Metric
	_ = c.dir.errors.WithLabelValues("google").Write(&m)
	if n := m.GetCounter().GetValue(); n != 1 {
		t.Errorf("directory_errors_total{source=google} = %v", n)
	}
}

func TestGoogleHostedDomain(t *testing.T) {
	for _, tc := range []struct {
		name string
		user *oidctest.User
		want string
	}{
		{"other domain", googleUser("evil.com"), `belongs to "evil.com"`},
		{"consumer account", googleUser(""), "no hd claim"},
		{"hd only at userinfo", &oidctest.User{Subject: "1", Claims: map[string]any{"email": "ann@acme.com", "email_verified": true},
			UserinfoClaims: map[string]any{"hd": "acme.com"}}, "no hd claim"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c, _ := setup(t, oidctest.Options{User: tc.user}, func(cfg *Config) {
				cfg.Kind, cfg.HostedDomain = "google", "acme.com"
			})
			if _, _, err := login(t, c); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("login: %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := New(Config{Kind: "google", ClientID: "x"}); err != nil {
		t.Errorf("kind google without issuer: %v", err)
	} else if c, _ := New(Config{Kind: "google", ClientID: "x"}); c.Issuer() != GoogleIssuer {
		t.Errorf("issuer = %q", c.Issuer())
	}
	if _, err := New(Config{Kind: "oidc", Issuer: "https://x", ClientID: "x", HostedDomain: "acme.com"}); err == nil {
		t.Error("hosted_domain accepted for kind oidc")
	}
}

// TestGoogleEmailAuthority: a consumer Google account may carry any
// address, verified once when it was made; only a Gmail address or a
// Workspace account's (hd) is Google's to vouch for today.
func TestGoogleEmailAuthority(t *testing.T) {
	for _, tc := range []struct {
		name, email, hd string
		verified        bool
	}{
		{"workspace account", "ann@acme.com", "acme.com", true},
		{"gmail", "Ann.Lee@Gmail.com", "", true},
		{"googlemail", "ann@googlemail.com", "", true},
		{"consumer account with another address", "ann@acme.com", "", false},
		{"look-alike of gmail", "ann@gmail.com.evil.test", "", false},
		{"service account", "ci@proj.iam.gserviceaccount.com", "", true},
		{"look-alike of a service account", "ci@evilgserviceaccount.com", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := &stubDirectory{groups: []string{"sre@acme.com"}}
			claims := map[string]any{"email": tc.email, "email_verified": true}
			if tc.hd != "" {
				claims["hd"] = tc.hd
			}
			_, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "1077", Claims: claims}},
				func(cfg *Config) { cfg.Kind = "google" })
			_, id, err := login(t, c)
			if err != nil {
				t.Fatal(err)
			}
			if id.EmailVerified != tc.verified {
				t.Fatalf("EmailVerified = %v, want %v", id.EmailVerified, tc.verified)
			}
			// With a directory, an address Google does not answer for is
			// never looked up: the sign-in fails instead.
			_, c, _ = setup(t, oidctest.Options{User: &oidctest.User{Subject: "1077", Claims: claims}},
				func(cfg *Config) { cfg.Kind, cfg.Directory = "google", dir })
			_, _, err = login(t, c)
			if tc.verified != (err == nil) || (!tc.verified && len(dir.asked) != 0) {
				t.Fatalf("login with a directory: %v, directory asked %+v", err, dir.asked)
			}
		})
	}
	t.Run("oidc kind with Google's issuer", func(t *testing.T) {
		// The README's minimal configuration: kind "oidc", Google's issuer,
		// allow_email_domains. The rule follows the issuer, in either
		// spelling Google's ID tokens use.
		_, c, _ := setup(t, oidctest.Options{}, nil)
		for _, iss := range []string{"https://accounts.google.com", "accounts.google.com"} {
			id, err := c.identity(map[string]any{"sub": "1077", "email": "ann@acme.com", "email_verified": true}, iss)
			if err != nil || id.EmailVerified {
				t.Errorf("issuer %s, consumer account with another address: %v verified=%v", iss, err, id != nil && id.EmailVerified)
			}
			id, err = c.identity(map[string]any{"sub": "1077", "email": "ann@acme.com", "email_verified": true, "hd": "acme.com"}, iss)
			if err != nil || !id.EmailVerified {
				t.Errorf("issuer %s, Workspace account: %v verified=%v", iss, err, id != nil && id.EmailVerified)
			}
		}
	})
	t.Run("oidc kind keeps email_verified", func(t *testing.T) {
		_, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "1", Claims: map[string]any{"email": "ann@acme.com", "email_verified": true}}}, nil)
		if _, id, err := login(t, c); err != nil || !id.EmailVerified {
			t.Fatalf("kind oidc: %v verified=%v", err, id != nil && id.EmailVerified)
		}
	})
}

func TestEntraKind(t *testing.T) {
	roles := []any{"Dashboards.Admin"}
	t.Run("groups in the token", func(t *testing.T) {
		dir := &stubDirectory{}
		_, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "oid", Claims: map[string]any{
			"groups": []any{"0b1f9851-1bf0-433f-aec3-cb9272f093dc"}, "roles": roles}}},
			func(cfg *Config) { cfg.Kind, cfg.Directory = "entra", dir })
		toks, id, err := login(t, c)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(id.Groups, []string{"0b1f9851-1bf0-433f-aec3-cb9272f093dc", "Dashboards.Admin"}) ||
			!toks.GroupsReadAt.IsZero() || len(dir.asked) != 0 {
			t.Errorf("groups %v, read at %v, graph asked %d times", id.Groups, toks.GroupsReadAt, len(dir.asked))
		}
	})
	for name, claims := range map[string]map[string]any{
		"overage":   {"_claim_names": map[string]any{"groups": "src1"}, "_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://graph.windows.net/t/users/oid/getMemberObjects"}}, "roles": roles},
		"hasgroups": {"hasgroups": true, "roles": roles},
	} {
		t.Run(name, func(t *testing.T) {
			dir := &stubDirectory{groups: []string{"g1", "g2"}}
			_, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "oid", Claims: claims}},
				func(cfg *Config) { cfg.Kind, cfg.Directory = "entra", dir })
			toks, id, err := login(t, c)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(id.Groups, []string{"g1", "g2", "Dashboards.Admin"}) || toks.GroupsReadAt.IsZero() {
				t.Errorf("groups %v read at %v", id.Groups, toks.GroupsReadAt)
			}
			if len(dir.asked) != 1 || dir.asked[0].AccessToken != toks.AccessToken {
				t.Errorf("graph not asked with the user's access token: %+v", dir.asked)
			}
		})
	}
	if _, err := New(Config{Kind: "entra", ClientID: "x"}); err == nil {
		t.Error("kind entra without issuer accepted")
	}
}

func TestGitHubKindGroups(t *testing.T) {
	g := oidctest.NewGitHub(t, oidctest.GitHubUser{ID: 1, Login: "octocat", Email: "o@example.com"})
	dir := &stubDirectory{err: &directory.SSORequiredError{Organizations: []string{"acme"}}}
	c, err := New(Config{Kind: "github", ClientID: g.ClientID, ClientSecret: g.ClientSecret, RedirectURL: redirectURL,
		AuthorizationURL: g.AuthorizationURL(), TokenURL: g.TokenURL(), UserinfoURL: g.UserURL(), Directory: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(c.cfg.Scopes, "read:org") {
		t.Errorf("scopes %v lack read:org", c.cfg.Scopes)
	}
	code := authorize(t, c, "st", "", testVerifier)
	_, _, err = c.Exchange(context.Background(), code, testVerifier, "", time.Time{})
	var de *DirectoryError
	if !errors.As(err, &de) || !errors.Is(err, ErrDirectory) || !strings.Contains(de.Hint, "SAML single sign-on") {
		t.Errorf("SSO refusal: %v", err)
	}
	dir.set([]string{"acme", "acme/sre"}, nil)
	code = authorize(t, c, "st", "", testVerifier)
	toks, id, err := c.Exchange(context.Background(), code, testVerifier, "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(id.Groups, []string{"acme", "acme/sre"}) || dir.asked[1].AccessToken != toks.AccessToken {
		t.Errorf("groups %v, asked %+v", id.Groups, dir.asked)
	}
}

func TestGitHubEnterpriseEndpoints(t *testing.T) {
	c, err := New(Config{Kind: "github", ClientID: "x", GitHubAPIURL: "https://ghe.example.com/api/v3/"})
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.AuthorizationURL != "https://ghe.example.com/login/oauth/authorize" ||
		c.cfg.TokenURL != "https://ghe.example.com/login/oauth/access_token" ||
		c.cfg.UserinfoURL != "https://ghe.example.com/api/v3/user" {
		t.Errorf("endpoints %q %q %q", c.cfg.AuthorizationURL, c.cfg.TokenURL, c.cfg.UserinfoURL)
	}
}

func TestDirectoryTokenRefused(t *testing.T) {
	refused := &directory.StatusError{Source: "x", URL: "https://api/user/orgs", Status: 401}
	for kind, want := range map[string]bool{"github": true, "google": false} {
		dir := &stubDirectory{err: refused}
		c, err := New(Config{Kind: kind, ClientID: "c", Directory: dir})
		if err != nil {
			t.Fatal(err)
		}
		id := &portcullis.Identity{Subject: "1", Email: "ann@acme.com", EmailVerified: true}
		_, err = c.DirectoryGroups(context.Background(), id, "tok")
		if !errors.Is(err, ErrDirectory) || errors.Is(err, ErrInvalidGrant) != want {
			t.Errorf("kind %s: %v; ErrInvalidGrant %v, want %v", kind, err, errors.Is(err, ErrInvalidGrant), want)
		}
	}
}

// TestDirectoryThrottleIsVisible: a directory's rate-limit answer is
// counted in portcullis_directory_throttled_total and logged once with the
// source and the time reads resume, never the token; the reads skipped
// while it lasts are errors, not more throttles.
func TestDirectoryThrottleIsVisible(t *testing.T) {
	until := time.Date(2026, 12, 4, 19, 0, 0, 0, time.UTC)
	answer := &directory.ThrottledError{Source: "github", Until: until,
		Err: &directory.StatusError{Source: "github", URL: "https://api.github.com/user/orgs", Status: 403, Detail: "API rate limit exceeded"}}
	dir := &stubDirectory{err: answer}
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	c, err := New(Config{Kind: "github", ClientID: "c", Directory: dir, Metrics: reg,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	id := &portcullis.Identity{Subject: "583231"}
	if _, err := c.DirectoryGroups(context.Background(), id, "gho_secret_token"); !errors.Is(err, ErrDirectory) || errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("err = %v", err)
	}
	dir.set(nil, &directory.ThrottledError{Source: "github", Until: until})
	_, _ = c.DirectoryGroups(context.Background(), id, "gho_secret_token")

	if n := gathered(t, reg, "portcullis_directory_throttled_total", map[string]string{"source": "github"}); n != 1 {
		t.Errorf("directory_throttled_total = %v, want 1", n)
	}
	if n := gathered(t, reg, "portcullis_directory_errors_total", map[string]string{"source": "github"}); n != 2 {
		t.Errorf("directory_errors_total = %v, want 2", n)
	}
	out := logs.String()
	if strings.Count(out, "throttles group reads") != 1 || !strings.Contains(out, "source=github") ||
		!strings.Contains(out, "until=2026-12-04T19:00:00Z") || !strings.Contains(out, "sub=583231") {
		t.Errorf("log:\n%s", out)
	}
	if strings.Contains(out, "gho_secret_token") {
		t.Errorf("the token was logged:\n%s", out)
	}
}

// TestDirectoryThrottleKeysTheProviderSubject: a throttle holds the user
// at the provider (sub), not the user_claim value, which may be a GitHub
// login or an address that another account takes over: one user's rate
// limit must not stop another's reads.
func TestDirectoryThrottleKeysTheProviderSubject(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer gho_limited" {
			w.Header().Set("Retry-After", "600")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"message":"API rate limit exceeded"}`))
			return
		}
		_, _ = w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	gh, err := directory.NewGitHub(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Kind: "github", ClientID: "c", Directory: gh, UserClaim: "preferred_username"})
	if err != nil {
		t.Fatal(err)
	}
	old := &portcullis.Identity{Subject: "octo", ProviderSubject: "1"}
	if _, err := c.DirectoryGroups(context.Background(), old, "gho_limited"); !errors.Is(err, ErrDirectory) {
		t.Fatalf("throttled read: err = %v", err)
	}
	// The login renamed and taken by another account: same user_claim.
	other := &portcullis.Identity{Subject: "octo", ProviderSubject: "2"}
	if _, err := c.DirectoryGroups(context.Background(), other, "gho_fine"); err != nil {
		t.Errorf("another user with the same login: %v", err)
	}
	if _, err := c.DirectoryGroups(context.Background(), old, "gho_other_session"); err == nil {
		t.Error("the throttled user was read again before the time named")
	}
}
