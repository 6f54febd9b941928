package main

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// result is what one call of run printed and the exit code main would use.
type result struct {
	stdout, stderr string
	code           int
}

// invoke calls run as main does, with env as the environment.
func invoke(tb testing.TB, env map[string]string, args ...string) result {
	tb.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	err := run(context.Background(), args, getenv, &out, &errOut)
	code := exitCode(err, &errOut)
	return result{out.String(), errOut.String(), code}
}

func TestRunCommands(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		code     int
		stdout   string // substring
		stderr   string // substring
		noStdout bool
	}{
		{name: "version", args: []string{"version"}, code: 0,
			stdout: "portcullis " + version + " (commit "},
		{name: "version has the Go version", args: []string{"version"}, code: 0, stdout: runtime.Version() + ")"},
		{name: "no command", args: nil, code: 2, stderr: "usage: portcullis", noStdout: true},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`, noStdout: true},
		{name: "help", args: []string{"help"}, code: 0, stdout: "usage: portcullis"},
		{name: "check without config", args: []string{"check"}, code: 2, stderr: "--config FILE (or PORTCULLIS_CONFIG) is required"},
		{name: "check with a bad flag", args: []string{"check", "--nope"}, code: 2, stderr: "flag provided but not defined"},
		{name: "check of a missing file", args: []string{"check", "--config", "/nonexistent/portcullis.toml"}, code: 2,
			stderr: "/nonexistent/portcullis.toml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := invoke(t, nil, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tc.stdout) {
				t.Errorf("stdout %q does not contain %q", r.stdout, tc.stdout)
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.stderr)
			}
			if tc.noStdout && r.stdout != "" {
				t.Errorf("unexpected stdout %q", r.stdout)
			}
		})
	}
}

// TestExitCode maps errors to the exit codes of docs/operations.md.
func TestExitCode(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		code   int
		stderr string
	}{
		{"success", nil, 0, ""},
		{"runtime failure", errors.New("listen tcp: address in use"), 1, "portcullis: listen tcp: address in use\n"},
		{"usage", usageError("bad flag %q", "-x"), 2, "portcullis: bad flag \"-x\"\n"},
		{"denied prints nothing more", &exitError{code: 3}, 3, ""},
		{"wrapped exit error", errors.Join(&exitError{code: 2, err: errors.New("config")}), 2, "portcullis: config\n"},
		// A runtime failure may quote Redis, a Sentinel or a provider: an
		// ASCII control (ESC, BEL) reaches the terminal as it is, unlike a
		// log line's, which the handler escapes.
		{"a peer's terminal escape", errors.New("redis: ERR \x1b]0;x\x07\x1b[2J\r"), 1, "portcullis: redis: ERR \ufffd]0;x\ufffd\ufffd[2J\ufffd\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if got := exitCode(tc.err, &buf); got != tc.code || buf.String() != tc.stderr {
				t.Errorf("exitCode = %d, stderr %q; want %d, %q", got, buf.String(), tc.code, tc.stderr)
			}
		})
	}
}
