package e2e

import (
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestPublicSuffixReturnHostRefused: with allowed_redirect_hosts =
// ["*.github.io"], the gateway's own origin sent anyone, without a session,
// to any github.io site a sign-out's rd named (302, Location
// https://evil.github.io/phish): every site registered under a public
// suffix was a return target. serve now refuses the file (exit 2), naming
// its line, and never listens; so it does when the entry is spelt with a
// trailing dot ("*.github.io."), which the redirect policy drops and the
// check did not (serve took it, and answered that 302).
func TestPublicSuffixReturnHostRefused(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	for _, pat := range []string{"*.github.io", "*.github.io."} {
		t.Run(pat, func(t *testing.T) { servesNoPublicSuffixReturn(t, p, pat) })
	}
}

// servesNoPublicSuffixReturn starts serve with allowed_redirect_hosts =
// [pat] and wants it to exit 2 naming the entry, never listening.
func servesNoPublicSuffixReturn(t *testing.T, p *oidctest.Provider, pat string) {
	a := pickAddrs(t)
	cfg := strings.NewReplacer("{{LISTEN}}", a.Listen, "{{OPS}}", a.Ops).Replace(tomlConfig{
		Server:   `allowed_redirect_hosts = ["` + pat + `"]` + "\n",
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: newUpstream(t).URL,
		Routes: "[[routes]]\npath = \"/**\"\nallow_groups = [\"admins\"]\n"}.String())
	path := filepath.Join(t.TempDir(), "portcullis.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	proc := testenv.Start(t, exec.Command(binary, "serve", "--config", path))
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-proc.Exited():
			var exit *exec.ExitError
			ok := errors.As(proc.ExitErr(), &exit) && exit.ExitCode() == 2
			if want := `portcullis.toml:6: server.allowed_redirect_hosts[0]: "` + pat + `" covers every site registered under the public suffix "github.io"`; !ok || !strings.Contains(proc.Output(), want) {
				t.Errorf("serve exited with %v, output:\n%s\nwant exit 2 and %q", proc.ExitErr(), proc.Output(), want)
			}
			return
		default:
		}
		if c, err := net.DialTimeout("tcp", a.Listen, 200*time.Millisecond); err == nil {
			c.Close()
			resp := navigate(t, "GET", "http://"+a.Listen+"/oauth2/sign_out?rd="+url.QueryEscape("https://evil.github.io/phish"), "", nil)
			t.Fatalf("serve took the file: a sign-out without a session answered %d, Location %q",
				resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	t.Fatalf("serve neither exited nor listened; output:\n%s", proc.Output())
}
