package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestHelp: --help and -h exit 0 for every command and subcommand and print
// the flags as --flag, the way the documentation writes them.
func TestHelp(t *testing.T) {
	commands := [][]string{{}, {"serve"}, {"demo"}, {"check"}, {"sessions"}, {"sessions", "list"}, {"sessions", "revoke"}, {"groups"}, {"version"}}
	oneDash := regexp.MustCompile(`(^|\s)-[a-z]{2,}`)
	for _, c := range commands {
		for _, h := range []string{"--help", "-h"} {
			args := append(append([]string{}, c...), h)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				r := invoke(t, nil, args...)
				if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: portcullis") || r.stderr != "" {
					t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and usage on stdout", r.code, r.stdout, r.stderr)
				}
				for i, line := range strings.Split(r.stdout, "\n") {
					if strings.TrimRight(line, " \t") != line {
						t.Errorf("help line %d ends in white space: %q", i+1, line)
					}
				}
				if m := oneDash.FindString(r.stdout); m != "" {
					t.Errorf("help writes a flag as %q:\n%s", m, r.stdout)
				}
				if len(c) > 0 && c[0] != "version" && c[0] != "demo" && !strings.Contains(r.stdout, "--config FILE") {
					t.Errorf("help does not show --config FILE:\n%s", r.stdout)
				}
			})
		}
	}
	// flag.UnquoteUsage takes a backquoted word as the value's name; the
	// revoke help once read "--id sessions list".
	r := invoke(t, nil, "sessions", "revoke", "--help")
	for _, want := range []string{"--id ID\n", `the one session ID that "portcullis sessions list" shows`, "--all\n", "--sub SUB\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("sessions revoke --help lacks %q:\n%s", want, r.stdout)
		}
	}
	r = invoke(t, nil, "demo", "--help")
	if !strings.Contains(r.stdout, `--listen ADDRESS`) || !strings.Contains(r.stdout, `(default "127.0.0.1:0")`) {
		t.Errorf("demo --help:\n%s", r.stdout)
	}
}

// TestUsageErrors: stray arguments, unknown flags and --identity without
// --request are usage errors (exit 2) that say what is wrong.
func TestUsageErrors(t *testing.T) {
	path := writeConfig(t, "good.toml", checkGood)
	cases := []struct {
		args   []string
		stderr string
	}{
		{[]string{"check", "--config", path, "extra"}, `portcullis check: unexpected argument "extra"`},
		{[]string{"serve", "--config", path, "extra"}, `portcullis serve: unexpected argument "extra"`},
		{[]string{"demo", "now"}, `portcullis demo: unexpected argument "now"`},
		{[]string{"version", "x"}, `portcullis version: unexpected argument "x"`},
		{[]string{"sessions", "list", "--config", path, "x"}, `portcullis sessions list: unexpected argument "x"`},
		{[]string{"check", "--nope"}, "flag provided but not defined: --nope"},
		{[]string{"check", "--config"}, "flag needs an argument: --config"},
		{[]string{"check", "--config", path, "--identity", "sub=a"}, "--identity and --header describe a --request"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := invoke(t, nil, tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.stderr) || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and %q", r.code, r.stdout, r.stderr, tc.stderr)
			}
		})
	}
}

// TestCheckUnreachableRoutes: check warns about a route that an earlier
// route always decides, at its line, and --strict makes that exit 2.
func TestCheckUnreachableRoutes(t *testing.T) {
	doc := strings.Replace(checkGood, `[[routes]]
path = "/admin/**"`, `[[routes]]
name = "everything"
path = "/**"

[[routes]]
path = "/admin/**"`, 1)
	path := writeConfig(t, "shadow.toml", doc)
	want := path + `:32: routes[3]: warning: unreachable: routes[2] ("everything") at line 28 always matches first`
	r := invoke(t, nil, "check", "--config", path)
	if r.code != 0 || !strings.Contains(r.stderr, want+"\n") || r.stdout != path+": OK\n" {
		t.Errorf("check: exit %d, stdout %q, stderr %q; want 0 and %q", r.code, r.stdout, r.stderr, want)
	}
	r = invoke(t, nil, "check", "--strict", "--config", path)
	if r.code != 2 || !strings.Contains(r.stderr, want+"\n") || !strings.Contains(r.stderr, "1 warning(s) and --strict") {
		t.Errorf("check --strict: exit %d, stdout %q, stderr %q; want 2", r.code, r.stdout, r.stderr)
	}
}

// TestCheckStrictExample: the example configuration has no warning.
func TestCheckStrictExample(t *testing.T) {
	env := map[string]string{
		"GOOGLE_CLIENT_ID":         "1234-abc.apps.googleusercontent.com",
		"GOOGLE_CLIENT_SECRET":     "GOCSPX-not-a-real-secret",
		"PORTCULLIS_COOKIE_SECRET": secretB,
	}
	path := filepath.Join("..", "..", "config.example.toml")
	if r := invoke(t, env, "check", "--strict", "--config", path); r.code != 0 || r.stderr != "" {
		t.Errorf("check --strict config.example.toml: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}
