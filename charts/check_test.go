package charts

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// buildPortcullis is the gateway built from the parent module (the chart
// module never imports it), once for the package's tests: a build links
// anew every time, seconds a test.
func buildPortcullis(t *testing.T) string {
	t.Helper()
	bin, err := builtPortcullis()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// portcullisDir holds the gateway builtPortcullis built; TestMain removes it.
var portcullisDir string

var builtPortcullis = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "portcullis-charts-")
	if err != nil {
		return "", err
	}
	portcullisDir = dir
	bin := filepath.Join(dir, "portcullis")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/portcullis")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building portcullis: %v\n%s", err, out)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if portcullisDir != "" {
		os.RemoveAll(portcullisDir)
	}
	os.Exit(code)
}

// portcullisCheck runs `portcullis check --config FILE` and returns what it
// printed; docs/operations.md: exit 0 means the file is valid (its warnings
// are in the output), 2 lists every problem as FILE:LINE: key: message.
func portcullisCheck(t *testing.T, bin, file string) string {
	t.Helper()
	cmd := exec.Command(bin, "check", "--config", file)
	cmd.Env = append(os.Environ(), "PORTCULLIS_CONFIG=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		cfg, _ := os.ReadFile(file)
		t.Fatalf("portcullis check --config %s exited %d:\n%s\nconfig:\n%s", file, ee.ExitCode(), out.String(), cfg)
	default:
		t.Fatalf("running portcullis check: %v", err)
	}
	return out.String()
}

// TestRenderedConfigPassesCheck renders the chart with its secret files
// pointed at a temporary directory, writes the rendered Secret's values there,
// and has the real gateway validate the rendered config.toml.
func TestRenderedConfigPassesCheck(t *testing.T) {
	lookTool(t, "helm")
	bin := buildPortcullis(t)
	for _, tc := range renderCases() {
		t.Run(tc.name, func(t *testing.T) { checkRendered(t, bin, tc.values, tc.sets) })
	}
	t.Run("sidecar-deployment example", func(t *testing.T) { checkSidecarDeployment(t, bin) })
}

// checkRendered renders the chart with the values files and sets, writes
// the rendered Secret's values where its config.toml reads them, and
// returns what `portcullis check` says of that config.toml.
func checkRendered(t *testing.T, bin string, values, extra []string) string {
	t.Helper()
	dir := t.TempDir()
	secretsDir := filepath.Join(dir, "secrets")
	sets := append(slices.Clone(exampleSets), extra...)
	r := render(t, values, append(sets, "secretsDir="+secretsDir)...)
	cfg := ""
	var sec *corev1.Secret
	for _, o := range r {
		switch obj := o.Obj.(type) {
		case *corev1.ConfigMap:
			if c, ok := obj.Data["config.toml"]; ok {
				cfg = c
			}
		case *corev1.Secret:
			sec = obj
		}
	}
	if cfg == "" || sec == nil {
		t.Fatalf("no config.toml ConfigMap or no Secret in %v", r.kinds())
	}
	// The chart maps each Secret key to the file of the same name.
	writeFiles(t, secretsDir, sec.Data)
	file := filepath.Join(dir, "config.toml")
	writeFile(t, file, []byte(cfg))
	return portcullisCheck(t, bin, file)
}

// checkSidecarDeployment returns what `portcullis check` says of the
// config.toml of examples/sidecar-deployment.yaml (plain manifests, not
// values), with the files its `kubectl create secret` line makes.
func checkSidecarDeployment(t *testing.T, bin string) string {
	t.Helper()
	raw, err := os.ReadFile("portcullis/examples/sidecar-deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeAll(raw)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	secretsDir := filepath.Join(dir, "secrets")
	cfg := strings.ReplaceAll(configTOML(t, r, "myapp-portcullis"), "/etc/portcullis/secrets", secretsDir)
	writeFiles(t, secretsDir, map[string][]byte{
		"client-secret":   []byte("test-client-secret"),
		"session-secrets": []byte(randomSecret(t)),
	})
	file := filepath.Join(dir, "config.toml")
	writeFile(t, file, []byte(cfg))
	return portcullisCheck(t, bin, file)
}

func randomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		writeFile(t, filepath.Join(dir, name), data)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
