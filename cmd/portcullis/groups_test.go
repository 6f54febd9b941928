package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// googleDirectory answers Google's service-account grant and the Admin SDK
// groups.list for ann@acme.com (in sre@, which is in eng@).
func googleDirectory(t *testing.T) *httptest.Server {
	t.Helper()
	return googleDirectoryOf(t, map[string][]string{"ann@acme.com": {"sre@acme.com"}, "sre@acme.com": {"eng@acme.com"}})
}

// googleDirectoryOf is googleDirectory with the groups of each member
// (a user's or a group's email) given.
func googleDirectoryOf(t *testing.T, member map[string][]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/token":
			_, _ = w.Write([]byte(`{"access_token":"sa","token_type":"Bearer","expires_in":3600}`))
		case "/admin/directory/v1/groups":
			if r.Header.Get("Authorization") != "Bearer sa" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			var gs []map[string]string
			for _, g := range member[r.URL.Query().Get("userKey")] {
				gs = append(gs, map[string]string{"email": g})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"groups": gs})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// googleGroupsConfig writes a kind = "google" configuration reading the
// directory srv plays, with a fresh service-account key.
func googleGroupsConfig(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	dir := t.TempDir()
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	key, _ := json.Marshal(map[string]string{"type": "service_account", "client_email": "gw@p.iam.gserviceaccount.com",
		"client_id": "42", "private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"token_uri": srv.URL + "/token"})
	if err := os.WriteFile(filepath.Join(dir, "sa.json"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	return writeConfig(t, "google.toml", withProvider(`kind = "google"
google_service_account_file = "`+filepath.Join(dir, "sa.json")+`"
google_admin_email = "admin@acme.com"
directory_url = "`+srv.URL+`"`))
}

// withProvider is checkGood with lines in place of its issuer.
func withProvider(lines string) string {
	return strings.Replace(checkGood, "issuer = \"https://accounts.example.com\"\n", lines+"\n", 1)
}

func TestGroupsCommand(t *testing.T) {
	google := googleGroupsConfig(t, googleDirectory(t))
	r := invoke(t, nil, "groups", "--config", google, "--user", "ann@acme.com")
	if r.code != 0 || r.stdout != "sre@acme.com\neng@acme.com\n" {
		t.Errorf("groups = %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := invoke(t, nil, "groups", "--config", google); r.code != 2 || !strings.Contains(r.stderr, "--user EMAIL is required") {
		t.Errorf("without --user: %d %q", r.code, r.stderr)
	}
	github := writeConfig(t, "github.toml", withProvider(`kind = "github"`))
	if r := invoke(t, nil, "groups", "--config", github, "--user", "ann@acme.com"); r.code != 2 ||
		!strings.Contains(r.stderr, "user's own access token: pass --token-file") {
		t.Errorf("github without a token: %d %q", r.code, r.stderr)
	}
	plain := writeConfig(t, "plain.toml", checkGood)
	if r := invoke(t, nil, "groups", "--config", plain, "--user", "ann@acme.com"); r.code != 2 || !strings.Contains(r.stderr, "reads no directory") {
		t.Errorf("oidc: %d %q", r.code, r.stderr)
	}
}

// TestCheckRequestWithDirectoryGroups: `check --request` explains decisions
// for a kind = "google" configuration from hypothetical groups, without
// asking any directory.
func TestCheckRequestWithDirectoryGroups(t *testing.T) {
	cfg := strings.Replace(checkGood, "issuer = \"https://accounts.example.com\"\n",
		"kind = \"google\"\nhosted_domain = \"acme.com\"\ngoogle_service_account_file = \"/nonexistent.json\"\n", 1) +
		"\n[[routes]]\npath = \"/sre/**\"\nallow_groups = [\"sre@acme.com\"]\n"
	path := writeConfig(t, "google.toml", cfg)
	r := invoke(t, nil, "check", "--config", path)
	if r.code != 2 || !strings.Contains(r.stderr, "provider.google_service_account_file: cannot read file") {
		t.Fatalf("missing key file: %d %q", r.code, r.stderr)
	}
	path = writeConfig(t, "google.toml", strings.Replace(cfg, "google_service_account_file = \"/nonexistent.json\"\n", "", 1))
	args := []string{"check", "--config", path, "--request", "GET https://dash.example.com/sre/x", "--identity", "email=ann@acme.com"}
	if r := invoke(t, nil, append(args, "--identity", "groups=sre@acme.com")...); r.code != 0 || !strings.Contains(r.stdout, "decision: allowed") {
		t.Errorf("with the group: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := invoke(t, nil, append(args, "--identity", "groups=staff")...); r.code != 3 {
		t.Errorf("without the group: %d %q", r.code, r.stdout)
	}
}

// TestGroupsCommandShowsHostileNamesEscaped: a group name is the
// directory's choice and reaches the operator's terminal. The controls
// (ESC, CR, LF, and the C1 controls such as the 8-bit CSI) fail the read
// as they fail a sign-in (a group the headers cannot carry), and so do the
// invisible characters (a bidirectional override, a zero-width space: an
// application would read the group as another), and the error shows none
// raw. A printable name (spaces and letters past ASCII included) is
// printed as it is, and one starting with a quote is quoted, so that a
// quoted line always means an escaped name.
func TestGroupsCommandShowsHostileNamesEscaped(t *testing.T) {
	names := []string{"eng@acme.com", "Domain Admins", "équipe@acme.com", "\"quoted\"@acme.com"}
	google := googleGroupsConfig(t, googleDirectoryOf(t, map[string][]string{"ann@acme.com": names,
		"bob@acme.com": {"ops\x1b]0;owned\x07@acme.com"}, "carol@acme.com": {"c1\u009b31m@acme.com"},
		"dave@acme.com": {"x\u202emoc.emca@nimda"}, "erin@acme.com": {"ad\u200bmins@acme.com"}}))
	r := invoke(t, nil, "groups", "--config", google, "--user", "ann@acme.com")
	want := `eng@acme.com
domain admins
équipe@acme.com
"\"quoted\"@acme.com"
`
	if r.code != 0 || r.stdout != want {
		t.Errorf("groups = %d\n%s\nwant\n%s\nstderr %q", r.code, r.stdout, want, r.stderr)
	}
	for user, why := range map[string]string{"bob@acme.com": "control character", "carol@acme.com": "control character",
		"dave@acme.com": "invisible character", "erin@acme.com": "invisible character"} {
		r = invoke(t, nil, "groups", "--config", google, "--user", user)
		if r.code != 1 || r.stdout != "" || strings.ContainsAny(r.stderr, "\x1b\x07\u009b\u202e\u200b") || !strings.Contains(r.stderr, why) {
			t.Errorf("%s, a name with a %s: %d %q %q", user, why, r.code, r.stdout, r.stderr)
		}
	}
}
