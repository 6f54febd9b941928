package charts

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestConfigCommentCommandsWork: the rendered config.toml's comment tells a
// reader how to check it, and each command it names works. It said
// `portcullis check --config config.toml`, which refuses the file anywhere
// but in a pod (its secret files are not there): a new user's first command
// after `helm template` failed. The commands are the comment's lines indented
// by three spaces; the test runs the script on the chart as the comment
// writes it, from the repository's root, and finds the test pod `helm test`
// runs (TestHelmTestPodChecksMountedConfig pins what it checks).
func TestConfigCommentCommandsWork(t *testing.T) {
	helmBin := lookTool(t, "helm")
	lookTool(t, "openssl")
	bin := buildPortcullis(t)
	for _, helmTest := range []bool{true, false} {
		sets := append(slices.Clone(exampleSets), "helmTest.enabled="+strconv.FormatBool(helmTest))
		r := render(t, nil, sets...)
		cm := r.get(t, "ConfigMap", fullname).(*corev1.ConfigMap)
		cmds := commentCommands(cm.Data["config.toml"])
		if len(cmds) == 0 {
			t.Fatalf("helmTest.enabled=%v: the config.toml comment names no command:\n%s", helmTest, cm.Data["config.toml"])
		}
		sawHelmTest := false
		for _, c := range cmds {
			switch {
			case strings.HasPrefix(c, "scripts/chart-check.sh "):
				runCommentChartCheck(t, c, bin, helmBin, sets)
			case c == "helm test "+release+" -n "+namespace:
				sawHelmTest = true
				if len(r.all("Pod")) != 1 {
					t.Errorf("the comment names %q but the chart renders %d test pods", c, len(r.all("Pod")))
				}
			default:
				t.Errorf("the config.toml comment names %q, which this test does not know to work", c)
			}
		}
		if sawHelmTest != helmTest {
			t.Errorf("helmTest.enabled=%v, and the comment names helm test: %v", helmTest, sawHelmTest)
		}
	}
}

// commentCommands returns the commands of the leading comment of a rendered
// config.toml: its lines "#   command".
func commentCommands(cfg string) []string {
	var cmds []string
	for _, l := range strings.Split(cfg, "\n") {
		if !strings.HasPrefix(l, "#") {
			break
		}
		if c, ok := strings.CutPrefix(l, "#   "); ok {
			cmds = append(cmds, strings.TrimSpace(c))
		}
	}
	return cmds
}

// runCommentChartCheck runs the chart-check command of the comment from the
// repository's root, with the chart's directory for CHART and the test's
// values for the helm flags, and wants check's verdict: valid.
func runCommentChartCheck(t *testing.T, c, bin, helmBin string, sets []string) {
	t.Helper()
	const flags = " CHART [your helm flags]"
	script, ok := strings.CutSuffix(c, flags)
	if !ok {
		t.Fatalf("chart-check command %q does not end in %q", c, flags)
	}
	args := append(strings.Fields(script), filepath.Join("charts", chartDir), "--kube-version", kubeVersion)
	for _, a := range setArgs(sets) {
		// --set-file KEY=FILE: FILE is relative to this directory.
		if k, file, ok := strings.Cut(a, "="); ok && strings.HasPrefix(file, "testdata/") {
			abs, err := filepath.Abs(file)
			if err != nil {
				t.Fatal(err)
			}
			a = k + "=" + abs
		}
		args = append(args, a)
	}
	// A relative command path is taken from Dir: the repository's root.
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = ".."
	path := filepath.Dir(bin) + string(os.PathListSeparator) + filepath.Dir(helmBin) + string(os.PathListSeparator) + os.Getenv("PATH")
	cmd.Env = append(os.Environ(), "PATH="+path, "PORTCULLIS_CONFIG=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Errorf("%s (the comment's command): %v\n%s", strings.Join(args, " "), err, out)
	}
}
