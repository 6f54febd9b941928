package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/portcullis/portcullis/session"
)

// sessionsSecret is 32 random bytes in base64.
const sessionsSecret = "Zb3Hn0Kq8YtV2xWm5cRj1LpA7sDfG9hJ4kQeT6uIoPw="

// sessionsRedis starts a throw-away redis-server and returns its redis:// URL.
func sessionsRedis(tb testing.TB) string {
	tb.Helper()
	addr, _ := testenv.StartRedis(tb)
	return "redis://" + addr + "/0"
}

// sessionsConfigFile writes a configuration with the given [session] keys.
func sessionsConfigFile(tb testing.TB, sessionKeys string) string {
	tb.Helper()
	doc := `[server]
public_url = "https://dash.example.com"

[provider]
issuer = "https://accounts.example.com"
client_id = "client"
client_secret = "secret"

[session]
secrets = ["` + sessionsSecret + `"]
` + sessionKeys + `

[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"

[[routes]]
path = "/**"
`
	return writeConfig(tb, "portcullis.toml", doc)
}

// sessionsRun runs `portcullis sessions ARGS...` and returns stdout, stderr
// and the exit code main would use.
func sessionsRun(tb testing.TB, args ...string) (string, string, int) {
	tb.Helper()
	var out, errOut bytes.Buffer
	env := func(string) (string, bool) { return "", false }
	err := run(context.Background(), append([]string{"sessions"}, args...), env, &out, &errOut)
	code := exitCode(err, &errOut)
	return out.String(), errOut.String(), code
}

// seedSessions saves sessions through the Redis store the config
// describes, as logins through the gateway would, and returns their tokens.
func seedSessions(tb testing.TB, path string, subs ...string) []string {
	tb.Helper()
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		tb.Fatal(err)
	}
	store, err := session.NewRedisStore(cfg.Redis, cfg.Cookie)
	if err != nil {
		tb.Fatal(err)
	}
	defer store.Close()
	var tokens []string
	now := time.Now()
	for i, sub := range subs {
		s := &session.Session{
			Identity: portcullis.Identity{Subject: sub, Issuer: cfg.Provider.Issuer, ProviderSubject: sub,
				Email: sub + "@example.com", SessionID: fmt.Sprintf("sid-%d", i)},
			AccessToken: fmt.Sprintf("at-secret-%d", i), RefreshToken: fmt.Sprintf("rt-secret-%d", i),
			IDToken:   fmt.Sprintf("idt-secret-%d", i),
			CreatedAt: now.Add(time.Duration(i) * time.Second), ExpiresAt: now.Add(time.Hour),
		}
		if err := store.Save(discardWriter{}, nil, s); err != nil {
			tb.Fatalf("Save: %v", err)
		}
		tokens = append(tokens, s.AccessToken, s.RefreshToken, s.IDToken)
	}
	return tokens
}

// discardWriter is a ResponseWriter for Save calls outside a request.
type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}

// listedIDs returns the ID column of `sessions list` output.
func listedIDs(tb testing.TB, out string) map[string]string {
	tb.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "ID") {
		tb.Fatalf("list output has no header:\n%s", out)
	}
	ids := map[string]string{} // id -> subject
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 6 {
			tb.Fatalf("list line %q has %d fields, want 6", l, len(f))
		}
		ids[f[0]] = f[1]
	}
	return ids
}

func TestSessionsListAndRevoke(t *testing.T) {
	path := sessionsConfigFile(t, "store = \"redis\"\nredis_url = \""+sessionsRedis(t)+"\"\n")
	tokens := seedSessions(t, path, "alice", "alice", "bob", "carol")

	out, errOut, code := sessionsRun(t, "list", "--config", path)
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, errOut)
	}
	for _, tok := range tokens {
		if strings.Contains(out, tok) {
			t.Fatalf("list shows a token:\n%s", out)
		}
	}
	ids := listedIDs(t, out)
	if len(ids) != 4 || !strings.Contains(out, "bob@example.com") {
		t.Fatalf("list shows %d sessions, want 4:\n%s", len(ids), out)
	}
	for id := range ids {
		if len(id) != 64 {
			t.Errorf("listed id %q is not 64 hex digits", id)
		}
	}
	if out, _, _ := sessionsRun(t, "list", "--config", path, "--sub", "alice"); len(listedIDs(t, out)) != 2 {
		t.Errorf("list --sub alice:\n%s", out)
	}

	// --sub, then --id, then --all, each checked with list.
	steps := []struct {
		name  string
		args  []string
		want  string // revoke's stdout
		left  int
		check func(map[string]string) bool
	}{
		{"sub", []string{"--sub", "alice"}, "revoked 2 session(s)", 2,
			func(m map[string]string) bool { return !containsValue(m, "alice") }},
		{"id", []string{"--id", idOf(ids, "bob")}, "revoked 1 session(s)", 1,
			func(m map[string]string) bool { return containsValue(m, "carol") }},
		{"all", []string{"--all"}, "revoked 1 session(s)", 0, func(map[string]string) bool { return true }},
	}
	for _, st := range steps {
		out, errOut, code := sessionsRun(t, append([]string{"revoke", "--config", path}, st.args...)...)
		if code != 0 || strings.TrimSpace(out) != st.want {
			t.Fatalf("revoke --%s: exit %d, %q (want %q) %s", st.name, code, out, st.want, errOut)
		}
		out, _, _ = sessionsRun(t, "list", "--config", path)
		if m := listedIDs(t, out); len(m) != st.left || !st.check(m) {
			t.Errorf("after revoke --%s:\n%s", st.name, out)
		}
	}
	// An id that was revoked already is an error, not a silent success.
	// It says so on stderr, and stdout has no "revoked" line to misread.
	if out, errOut, code := sessionsRun(t, "revoke", "--config", path, "--id", idOf(ids, "bob")); code != 1 || out != "" ||
		!strings.Contains(errOut, "sessions revoke: no session has the id "+idOf(ids, "bob")) {
		t.Errorf("revoke of a gone id: exit %d, stdout %q, stderr %q; want 1 and the id on stderr", code, out, errOut)
	}
	// --sub and --all count what they ended, none included: exit 0.
	if out, errOut, code := sessionsRun(t, "revoke", "--config", path, "--sub", "nobody"); code != 0 || strings.TrimSpace(out) != "revoked 0 session(s)" {
		t.Errorf("revoke --sub of nobody: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func idOf(ids map[string]string, sub string) string {
	for id, s := range ids {
		if s == sub {
			return id
		}
	}
	return ""
}

func containsValue(m map[string]string, v string) bool {
	for _, x := range m {
		if x == v {
			return true
		}
	}
	return false
}

func TestSessionsUsage(t *testing.T) {
	redisPath := sessionsConfigFile(t, "store = \"redis\"\nredis_url = \"redis://127.0.0.1:1/0\"\n")
	cookiePath := sessionsConfigFile(t, "store = \"cookie\"\n")
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no verb", nil, 2, "usage: portcullis sessions"},
		{"unknown verb", []string{"purge"}, 2, "usage: portcullis sessions"},
		{"no config", []string{"list"}, 2, "--config FILE"},
		{"revoke without a selector", []string{"revoke", "--config", redisPath}, 2, "exactly one of --sub, --id, --all"},
		{"revoke with two selectors", []string{"revoke", "--config", redisPath, "--sub", "a", "--all"}, 2, "exactly one of --sub, --id, --all"},
		{"revoke with --id and --sub", []string{"revoke", "--config", redisPath, "--id", strings.Repeat("a", 64), "--sub", "a"}, 2, "exactly one"},
		{"list --all", []string{"list", "--config", redisPath, "--all"}, 2, "flag provided but not defined"},
		{"list --id", []string{"list", "--config", redisPath, "--id", "x"}, 2, "flag provided but not defined"},
		{"cookie store list", []string{"list", "--config", cookiePath}, 2, `session.store is "cookie"`},
		{"cookie store revoke", []string{"revoke", "--config", cookiePath, "--all"}, 2, "rotate session.secrets"},
		{"malformed id", []string{"revoke", "--config", redisPath, "--id", "not-hex"}, 2, `"not-hex"`},
		{"redis unreachable", []string{"list", "--config", redisPath}, 1, "session: redis"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := sessionsRun(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d with %q (stdout %q)", code, errOut, tc.code, tc.stderr, out)
			}
		})
	}
}

// TestSessionsListCell: provider values never break the table or reach the
// terminal as control characters.
func TestSessionsListCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "-",
		"alice":             "alice",
		"a b":               `"a b"`,
		"x\x1b[2Jy":         `"x\x1b[2Jy"`,
		"tab\there":         `"tab\there"`,
		"jürgen@example.de": `"j\u00fcrgen@example.de"`,
	} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestSessionsBySubWithEmailUserClaim: a session whose user is an email
// (user_claim = "email") is listed and revoked by the provider's sub; the
// email names nothing.
func TestSessionsBySubWithEmailUserClaim(t *testing.T) {
	path := sessionsConfigFile(t, "store = \"redis\"\nredis_url = \""+sessionsRedis(t)+"\"\n")
	cfg, err := config.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	store, err := session.NewRedisStore(cfg.Redis, cfg.Cookie)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now()
	s := &session.Session{
		Identity: portcullis.Identity{Subject: "dora@example.com", Issuer: cfg.Provider.Issuer, ProviderSubject: "00u4dora",
			Email: "dora@example.com", SessionID: "sid-d"},
		AccessToken: "at", CreatedAt: now, ExpiresAt: now.Add(time.Hour),
	}
	if err := store.Save(discardWriter{}, nil, s); err != nil {
		t.Fatal(err)
	}
	if out, _, _ := sessionsRun(t, "list", "--config", path, "--sub", "dora@example.com"); len(listedIDs(t, out)) != 0 {
		t.Errorf("list --sub EMAIL found sessions:\n%s", out)
	}
	out, _, _ := sessionsRun(t, "list", "--config", path, "--sub", "00u4dora")
	if ids := listedIDs(t, out); len(ids) != 1 || !strings.Contains(out, "dora@example.com") {
		t.Fatalf("list --sub 00u4dora:\n%s", out)
	}
	if out, errOut, code := sessionsRun(t, "revoke", "--config", path, "--sub", "00u4dora"); code != 0 || strings.TrimSpace(out) != "revoked 1 session(s)" {
		t.Fatalf("revoke --sub: exit %d %q %s", code, out, errOut)
	}
}

// TestSessionsEmptySelector: a --sub or --id given with an empty value
// (a script's unset variable: --sub "$SUB") is a usage error. It used to
// count as not given, so `list --sub ""` printed every user's sessions and
// emails, and `revoke --sub "" --all` ended every session.
func TestSessionsEmptySelector(t *testing.T) {
	redisPath := sessionsConfigFile(t, "store = \"redis\"\nredis_url = \"redis://127.0.0.1:1/0\"\n")
	for _, args := range [][]string{
		{"list", "--config", redisPath, "--sub", ""},
		{"list", "--config", redisPath, "--sub="},
		{"revoke", "--config", redisPath, "--sub", "", "--all"},
		{"revoke", "--config", redisPath, "--id", "", "--all"},
		{"revoke", "--config", redisPath, "--sub", ""},
	} {
		out, errOut, code := sessionsRun(t, args...)
		if code != 2 || !strings.Contains(errOut, "empty") {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want exit 2 naming the empty flag", args, code, errOut, out)
		}
	}
}
