package charts

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestChartCheckScript runs scripts/chart-check.sh, the CI check the docs
// give, with the real helm and gateway: the rendered config.toml names secret
// files CI does not have, which check alone refuses, and the script must
// judge the configuration all the same: 0 for the chart's examples, with the
// chart's Secret or an existingSecret, and 2 with check's problem for a
// configuration the gateway would refuse; with --strict (before the chart, as
// the CI recipe of docs/configuration.md runs check) 2 for a warning too.
func TestChartCheckScript(t *testing.T) {
	helmBin := lookTool(t, "helm")
	lookTool(t, "openssl")
	bin := buildPortcullis(t)
	run := func(t *testing.T, strict bool, args ...string) (int, string) {
		t.Helper()
		args = append([]string{chartDir, "--kube-version", kubeVersion}, args...)
		if strict {
			args = append([]string{"--strict"}, args...)
		}
		cmd := exec.Command("../scripts/chart-check.sh", args...)
		cmd.Env = append(os.Environ(), "PORTCULLIS="+bin, "HELM="+helmBin, "PORTCULLIS_CONFIG=")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("running chart-check.sh: %v", err)
		}
		return cmd.ProcessState.ExitCode(), string(out)
	}
	// A route that the catch-all before it always decides: a warning.
	shadowed := []string{"--set", "existingSecret=portcullis-secrets",
		"--set", "config.routes[0].path=/**", "--set", "config.routes[0].allow_email_domains[0]=example.com",
		"--set", "config.routes[1].path=/admin/**", "--set", "config.routes[1].allow_groups[0]=admins"}
	tests := []struct {
		name    string
		strict  bool
		args    []string
		want    int
		wantOut string
	}{
		{"default values", false, []string{"--set", "secrets.sessionSecrets[0]=" + testSessionSecret,
			"--set-file", "secrets.assertionKey=testdata/assertion-key.pem"}, 0, ": OK"},
		{"redis example, existingSecret", false, []string{"-f", "portcullis/examples/redis.yaml",
			"--set", "existingSecret=portcullis-secrets", "--set", "existingSecretKeys.redisPassword=redis"}, 0, ": OK"},
		{"a key the gateway refuses", false, []string{"--set", "existingSecret=portcullis-secrets",
			"--set", "config.routes[0].path=/**", "--set", "config.routes[0].allow_groupz[0]=admins"}, 2, "routes[0].allow_groupz: unknown key"},
		{"a warning", false, shadowed, 0, "routes[1]: warning: unreachable"},
		{"a warning with --strict", true, shadowed, 2, "routes[1]: warning: unreachable"},
		{"--strict, no warning", true, []string{"--set", "existingSecret=portcullis-secrets"}, 0, ": OK"},
		{"--strict, another provider's issuer", true, []string{"--set", "existingSecret=portcullis-secrets",
			"--set", "config.provider.issuer=https://dev-1.okta.com"}, 0, ": OK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := run(t, tt.strict, tt.args...)
			if code != tt.want || !strings.Contains(out, tt.wantOut) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, tt.want, tt.wantOut, out)
			}
		})
	}
}
