package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestBrokenFileNamesLineColumnAndKey: a file with a TOML syntax error as a
// person makes it (a string or an array left open, a Latin-1 byte, the
// client secret's closing quote missing) makes check and serve exit 2 and
// a SIGHUP reload be refused while the previous configuration serves on;
// each names the file, the line, the column, the key and what is likely
// wrong, and none prints the secret on the broken line. They named the line and the
// key "toml" only.
func TestBrokenFileNamesLineColumnAndKey(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	good := opsConfig(p, up.URL, []string{secret}, "")
	gw := startGateway(t, a, good)
	client := &http.Client{Timeout: 5 * time.Second, Transport: clientTransport}
	// The broken line holds a secret of its own: the provider's is a word
	// that problems name anyway ("secret").
	const shown = "Sx9-never-shown-7Qe"
	secretLine := `client_secret = "` + p.ClientSecret + `"`
	openArray := good + "allow_groups = [\"a\",\n  \"b\"\nallow_emails = [\"x@example.com\"]\n"
	for i, tc := range []struct {
		name, file, at, want string
	}{
		{"string left open", good + "allow_groups = [\"admins]\n", `allow_groups = ["admins`,
			`routes[3].allow_groups: basic strings cannot have new lines: the string's closing " is missing (column 25)`},
		{"array left open", openArray, "allow_emails", fmt.Sprintf("routes[3].allow_groups: expected ',' or ']' after "+
			"array value (column 1; the value opens on line %d)", lineOf(openArray, `allow_groups = ["a"`))},
		{"Latin-1 comment", strings.Replace(good, "[[routes]]", "# caf\xe9\n[[routes]]", 1), "# caf",
			`toml: invalid UTF-8 character in comment: save the file as UTF-8 (column 6)`},
		{"client secret left open", strings.Replace(good, secretLine, `client_secret = "`+shown, 1), "client_secret",
			fmt.Sprintf(`provider.client_secret: basic strings cannot have new lines: the string's closing " is missing (column %d)`,
				len(`client_secret = "`+shown)+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := gw.configPath() + fmt.Sprintf(":%d: ", lineOf(tc.file, tc.at)) + tc.want
			for _, cmd := range []string{"check", "serve"} {
				out := runBroken(t, cmd, tc.file)
				if !strings.Contains(out, strings.Replace(want, gw.configPath(), "broken.toml", 1)) || strings.Contains(out, shown) {
					t.Errorf("%s: want exit 2 naming %q without the secret:\n%s", cmd, want, out)
				}
			}
			gw.rewrite(t, a, tc.file)
			gw.signal(t, syscall.SIGHUP)
			gw.waitOutput(t, "config reload rejected", i+1)
			// The text log quotes its message: a " in it is \".
			logged := strings.ReplaceAll(want, `"`, `\"`)
			if out := gw.Proc.Output(); !strings.Contains(out, logged) || strings.Contains(out, shown) {
				t.Errorf("the reload's log does not name %q, or shows the secret:\n%s", logged, tail(out, 4))
			}
			if status, _ := apiGet(client, gw.URL+"/public/x", ""); status != 200 {
				t.Errorf("/public/x after a refused reload = %d, want 200 (the previous configuration)", status)
			}
		})
	}
}

// runBroken writes cfg as broken.toml in a new directory, runs the
// binary's cmd on it from there and returns its output; it fails the test
// unless cmd exits 2 within 20 s.
func runBroken(t *testing.T, cmd, cfg string) string {
	t.Helper()
	return runWithConfig(t, []string{cmd}, strings.ReplaceAll(cfg, "{{LISTEN}}", "127.0.0.1:0"), 2)
}

// runWithConfig writes cfg as broken.toml in a new directory, runs the
// binary with args and --config on it from there and returns its output;
// it fails the test unless the binary exits with code within 20 s.
func runWithConfig(t *testing.T, args []string, cfg string, code int) string {
	t.Helper()
	dir := t.TempDir()
	// Nothing binds it: check never listens, serve stops at the problems.
	cfg = strings.NewReplacer("{{LISTEN}}", "127.0.0.1:4180", "{{OPS}}", "").Replace(cfg)
	if err := os.WriteFile(filepath.Join(dir, "broken.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, binary, append(args, "--config", "broken.toml")...)
	c.Dir = dir
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	got := 0
	var ee *exec.ExitError
	if err := c.Run(); errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if got != code {
		t.Errorf("%v: exit %d, want %d:\n%s", args, got, code, out.String())
	}
	return out.String()
}
