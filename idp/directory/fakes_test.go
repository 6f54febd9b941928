package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// These tests run the sources against the faithful fakes of internal/oidctest.

func TestGoogleAgainstFake(t *testing.T) {
	g := oidctest.NewGoogle(t, oidctest.GoogleOptions{})
	g.SetMemberships("ann@acme.com", "sre@acme.com")
	g.SetMemberships("sre@acme.com", "eng@acme.com")
	g.SetMemberships("eng@acme.com", "all@acme.com", "sre@acme.com") // a cycle
	want := []string{"sre@acme.com", "eng@acme.com", "all@acme.com"}
	for _, admin := range []string{"admin@acme.com", ""} {
		name := map[bool]string{true: "Admin SDK", false: "Cloud Identity"}[admin != ""]
		t.Run(name, func(t *testing.T) {
			src, err := NewGoogle(GoogleConfig{CredentialsJSON: g.ServiceAccountKey(), AdminEmail: admin, BaseURL: g.URL})
			if err != nil {
				t.Fatal(err)
			}
			got, err := src.Groups(context.Background(), User{Email: "ann@acme.com"})
			slices.Sort(got)
			w := slices.Sorted(slices.Values(want))
			if err != nil || !slices.Equal(got, w) {
				t.Errorf("groups = %v, %v; want %v", got, err, w)
			}
		})
	}
	t.Run("an address with an apostrophe", func(t *testing.T) {
		// Google lets usernames hold apostrophes; the Cloud Identity query
		// quotes the address as a CEL string rather than refusing it.
		g.SetMemberships("o'brien@acme.com", "eng@acme.com")
		defer g.SetMemberships("o'brien@acme.com")
		want := []string{"all@acme.com", "eng@acme.com", "sre@acme.com"}
		for _, admin := range []string{"admin@acme.com", ""} {
			src, _ := NewGoogle(GoogleConfig{CredentialsJSON: g.ServiceAccountKey(), AdminEmail: admin, BaseURL: g.URL})
			got, err := src.Groups(context.Background(), User{Email: "o'brien@acme.com"})
			slices.Sort(got)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("admin %q: groups = %v, %v; want %v", admin, got, err, want)
			}
		}
	})
	t.Run("delegation missing", func(t *testing.T) {
		g.SetFaults(oidctest.GoogleErrorOnDelegation)
		defer g.SetFaults(0)
		src, _ := NewGoogle(GoogleConfig{CredentialsJSON: g.ServiceAccountKey(), AdminEmail: "admin@acme.com", BaseURL: g.URL})
		_, err := src.Groups(context.Background(), User{Email: "ann@acme.com"})
		if err == nil || !strings.Contains(err.Error(), "unauthorized_client") || !strings.Contains(err.Error(), g.ServiceAccountClientID) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("impersonating a non-admin", func(t *testing.T) {
		src, _ := NewGoogle(GoogleConfig{CredentialsJSON: g.ServiceAccountKey(), AdminEmail: "bob@acme.com", BaseURL: g.URL})
		_, err := src.Groups(context.Background(), User{Email: "ann@acme.com"})
		var se *StatusError
		if !errors.As(err, &se) || se.Status != 403 || !strings.Contains(se.Detail, "must be a Workspace admin") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("no Groups Reader role", func(t *testing.T) {
		g.SetFaults(oidctest.GoogleNoGroupsReader)
		defer g.SetFaults(0)
		src, _ := NewGoogle(GoogleConfig{CredentialsJSON: g.ServiceAccountKey(), BaseURL: g.URL})
		_, err := src.Groups(context.Background(), User{Email: "ann@acme.com"})
		var se *StatusError
		if !errors.As(err, &se) || se.Status != 403 || !strings.Contains(se.Detail, "Groups Reader") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestGitHubAgainstFake(t *testing.T) {
	gh := oidctest.NewGitHub(t, oidctest.GitHubUser{ID: 1, Login: "octocat"})
	var orgs []oidctest.GitHubOrg
	for i := range 130 {
		orgs = append(orgs, oidctest.GitHubOrg{Login: fmt.Sprintf("Org%03d", i)})
	}
	orgs[0].Teams = []string{"sre", "web"}
	gh.SetOrgs(orgs...)
	src, err := NewGitHub(gh.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := src.Groups(context.Background(), User{AccessToken: gh.IssueToken("read:org")})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 132 || got[0] != "org000" || got[129] != "org129" || !slices.Contains(got, "org000/sre") {
		t.Errorf("%d groups: %v ... %v", len(got), got[:3], got[len(got)-3:])
	}
	if n := len(gh.Calls("/user/orgs")); n != 2 {
		t.Errorf("%d pages of /user/orgs, want 2", n)
	}
	if _, err := src.Groups(context.Background(), User{AccessToken: gh.IssueToken("read:user")}); err == nil ||
		!strings.Contains(err.Error(), "read:org") {
		t.Errorf("without read:org: %v", err)
	}
	// A rate limit is a 403 too, and no missing scope.
	gh.SetFaults(oidctest.FaultGitHubRateLimited)
	_, err = src.Groups(context.Background(), User{AccessToken: gh.IssueToken("read:org")})
	if err == nil || strings.Contains(err.Error(), "read:org") ||
		!strings.Contains(err.Error(), "rate limit for this user, until 2100-01-01T00:00:00Z") {
		t.Errorf("rate limited: %v", err)
	}
	gh.SetFaults(0)
	orgs[5].SAMLEnforced = true
	gh.SetOrgs(orgs...)
	var sso *SSORequiredError
	if _, err := src.Groups(context.Background(), User{AccessToken: gh.IssueToken("read:org")}); !errors.As(err, &sso) {
		t.Errorf("an organisation enforcing SAML SSO left out silently: %v", err)
	}
	gh.SetFaults(oidctest.FaultGitHubSSOTeams403)
	if _, err := src.Groups(context.Background(), User{AccessToken: gh.IssueToken("read:org")}); !errors.As(err, &sso) {
		t.Errorf("SSO 403 on /user/teams: %v", err)
	}
}

func TestGraphAgainstFake(t *testing.T) {
	var groups []string
	for i := range 250 {
		groups = append(groups, fmt.Sprintf("00000000-0000-0000-0000-%012d", i))
	}
	e := oidctest.NewEntra(t, oidctest.EntraOptions{PageSize: 100}, oidctest.EntraUser{Groups: groups[:249],
		DirectoryRoles: []string{"62e90394-69f5-4237-9190-012177145e10"}}) // no group
	e.SetGroupParents(groups[0], groups[249]) // nested
	src, err := NewGraph(e.GraphURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	src.f.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	e.ThrottleNext(2, 3*time.Second)
	tok := e.AccessToken("00000000-0000-0000-0000-00000000a11c", "User.Read")
	got, err := src.Groups(context.Background(), User{AccessToken: tok})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, groups) {
		t.Errorf("%d groups, want %d", len(got), len(groups))
	}
	if !slices.Equal(waits, []time.Duration{3 * time.Second, 3 * time.Second}) {
		t.Errorf("waits %v", waits)
	}
	e.SetFaults(oidctest.FaultEntraGraphUnavailable)
	if _, err := src.Groups(context.Background(), User{AccessToken: tok}); err == nil {
		t.Error("Graph down: no error")
	}
}
