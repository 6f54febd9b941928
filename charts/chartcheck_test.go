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
// configuration the gateway would refuse.
func TestChartCheckScript(t *testing.T) {
	helmBin := lookTool(t, "helm")
	lookTool(t, "openssl")
	bin := buildPortcullis(t)
	run := func(t *testing.T, args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command("../scripts/chart-check.sh", append([]string{chartDir, "--kube-version", kubeVersion}, args...)...)
		cmd.Env = append(os.Environ(), "PORTCULLIS="+bin, "HELM="+helmBin, "PORTCULLIS_CONFIG=")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("running chart-check.sh: %v", err)
		}
		return cmd.ProcessState.ExitCode(), string(out)
	}
	tests := []struct {
		name    string
		args    []string
		want    int
		wantOut string
	}{
		{"default values", []string{"--set", "secrets.sessionSecrets[0]=" + testSessionSecret,
			"--set-file", "secrets.assertionKey=testdata/assertion-key.pem"}, 0, ": OK"},
		{"redis example, existingSecret", []string{"-f", "portcullis/examples/redis.yaml",
			"--set", "existingSecret=portcullis-secrets", "--set", "existingSecretKeys.redisPassword=redis"}, 0, ": OK"},
		{"a key the gateway refuses", []string{"--set", "existingSecret=portcullis-secrets",
			"--set", "config.routes[0].path=/**", "--set", "config.routes[0].allow_groupz[0]=admins"}, 2, "routes[0].allow_groupz: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := run(t, tt.args...)
			if code != tt.want || !strings.Contains(out, tt.wantOut) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, tt.want, tt.wantOut, out)
			}
		})
	}
}
