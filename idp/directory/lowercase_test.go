package directory

import (
	"context"
	"slices"
	"testing"
)

// TestDirectoryNamesLowercasedAsASCII: groups are lowercased because
// logins, slugs and addresses are ASCII and case-insensitive, but
// strings.ToLower folds the Kelvin sign (U+212A) to the ASCII "k": an
// organisation, team or group a directory spells with it (a name GitHub or
// Google never gives their own way) became a name allow_groups lists.
func TestDirectoryNamesLowercasedAsASCII(t *testing.T) {
	const kelvin = "\u212a"
	gh := githubSource(t, &fakeGitHubAPI{orgs: []string{kelvin + "ube"}, teams: [][2]string{{"acme", kelvin + "eys"}}})
	got, err := gh.Groups(context.Background(), User{AccessToken: "gho_user"})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(got, "kube") || slices.Contains(got, "acme/keys") {
		t.Errorf("github groups = %q: a name with the Kelvin sign read as an ASCII one", got)
	}

	f := newFakeGoogle(t)
	f.groups["ann@acme.com"] = []string{kelvin + "eys@acme.com"}
	for _, admin := range []string{"admin@acme.com", ""} {
		g, err := NewGoogle(GoogleConfig{CredentialsJSON: serviceAccountKey(t, f.srv.URL+"/token"), AdminEmail: admin, BaseURL: f.srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		got, err := g.Groups(context.Background(), User{Email: "ann@acme.com"})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(got, "keys@acme.com") {
			t.Errorf("google (admin %q) groups = %q: a name with the Kelvin sign read as an ASCII one", admin, got)
		}
	}
}
