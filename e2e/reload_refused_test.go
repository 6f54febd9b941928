package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestReloadRefusesABrokenFile: a reload of a file with a syntax error, an
// unknown key, a secrets_file that vanished or one that holds a short
// secret is refused with the file and line of the problem named in the
// log, portcullis_config_last_reload_successful turns 0, and the previous
// configuration serves on unchanged: its session, its deny rule; the next
// valid file is applied and the metric turns 1 again.
func TestReloadRefusesABrokenFile(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := func(extra string) string {
		return strings.Replace(opsConfig(p, up.URL, []string{}, "deny = true"+extra), "secrets = [\"\"]",
			"secrets_file = \""+secretFile+"\"", 1)
	}
	gw := startGateway(t, a, good(""))
	c := browser(t)
	if status, body, _ := get(t, c, gw.URL+"/app"); status != 200 {
		t.Fatalf("login: %d %s", status, body)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: clientTransport}
	applied, refused := 0, 0
	for _, tc := range []struct {
		name, file, key string
		before          func()
	}{
		{"syntax error", good("\nallow_groups = [\"x\" \"y\"]"), "allow_groups", nil},
		{"unknown key", good("\nallow_groupz = [\"x\"]"), "allow_groupz", nil},
		{"vanished secrets_file", good(""), "secrets_file", func() { os.Remove(secretFile) }},
		{"short secret", good(""), "secrets_file", func() { os.WriteFile(secretFile, []byte("c2hvcnQ=\n"), 0o600) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			gw.rewrite(t, a, tc.file)
			gw.signal(t, syscall.SIGHUP)
			refused++
			gw.waitOutput(t, "config reload rejected", refused)
			want := fmt.Sprintf("%s:%d:", gw.configPath(), lineOf(tc.file, tc.key))
			if out := gw.Proc.Output(); !strings.Contains(out, want) {
				t.Errorf("the log does not name %q:\n%s", want, tail(out, 4))
			}
			if v := metricValue(t, gw, "portcullis_config_last_reload_successful"); v != 0 {
				t.Errorf("config_last_reload_successful = %v, want 0", v)
			}
			if status, _, _ := get(t, c, gw.URL+"/app/x"); status != 200 {
				t.Errorf("the session after a refused reload: %d, want 200", status)
			}
			if status, _ := apiGet(client, gw.URL+"/admin/x", p.AccessToken("alice", nil)); status != 403 {
				t.Errorf("/admin/x after a refused reload = %d, want 403 (the previous rule)", status)
			}
			os.WriteFile(secretFile, []byte(secret+"\n"), 0o600)
			gw.rewrite(t, a, good(""))
			gw.signal(t, syscall.SIGHUP)
			applied++
			gw.waitOutput(t, `msg="config reloaded"`, applied)
			if v := metricValue(t, gw, "portcullis_config_last_reload_successful"); v != 1 {
				t.Errorf("after a valid file config_last_reload_successful = %v, want 1", v)
			}
		})
	}
}
