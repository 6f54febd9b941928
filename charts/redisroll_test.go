package charts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestRedisRestartsOnlyForItsPassword: the chart's Redis keeps its sessions in
// memory only, so any change to its pod template restarts it (strategy
// Recreate) and signs everybody out. Rotating the session secrets, the client
// secret or the assertion key, changing the configuration, or upgrading the
// chart must leave the Redis pod template as it is; only a new Redis password
// (which Redis reads at start) may change it.
func TestRedisRestartsOnlyForItsPassword(t *testing.T) {
	base := []string{
		"secrets.clientSecret=one",
		"secrets.sessionSecrets[0]=" + testSessionSecret,
		"secrets.assertionKey=@testdata/assertion-key.pem",
		"secrets.redisPassword=fbc6f157938c57f29ca4d2213a53288f09c1f182",
	}
	pod := func(t *testing.T, chart string, extra ...string) corev1.PodTemplateSpec {
		t.Helper()
		r := renderRedisExample(t, chart, append(slices.Clone(base), extra...))
		return r.get(t, "Deployment", fullname+"-redis").(*appsv1.Deployment).Spec.Template
	}
	pod0 := pod(t, chartDir)
	tests := []struct {
		name  string
		chart string
		set   []string
		same  bool
	}{
		{"session secret rotated", chartDir, []string{"secrets.sessionSecrets[1]=" + testSessionSecret,
			"secrets.sessionSecrets[0]=c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0="}, true},
		{"client secret changed", chartDir, []string{"secrets.clientSecret=two"}, true},
		{"assertion key changed", chartDir, []string{"secrets.assertionKey=@" + newAssertionKey(t)}, true},
		{"config changed", chartDir, []string{"config.log.level=debug"}, true},
		{"chart upgraded", upgradedChart(t), nil, true},
		{"redis password changed", chartDir, []string{"secrets.redisPassword=0d3c5b0f4c7e4d1f9a0b8e2c6a1d3f5e7b9c0a2d"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pod(t, tt.chart, tt.set...)
			if same := reflect.DeepEqual(p, pod0); same != tt.same {
				t.Errorf("redis pod template unchanged = %v, want %v\nlabels %v -> %v\nannotations %v -> %v",
					same, tt.same, pod0.Labels, p.Labels, pod0.Annotations, p.Annotations)
			}
		})
	}
}

// newAssertionKey writes a fresh P-256 key as PEM and returns its path.
func newAssertionKey(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// upgradedChart copies the chart with a new version and appVersion, as the
// next release would carry, and returns its directory.
func upgradedChart(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "portcullis")
	if err := os.CopyFS(dir, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	meta, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := regexp.MustCompile(`(?m)^version: .*$`).ReplaceAllString(string(meta), "version: 9.9.9")
	s = regexp.MustCompile(`(?m)^appVersion: .*$`).ReplaceAllString(s, `appVersion: "9.9.9"`)
	if !strings.Contains(s, "version: 9.9.9") || !strings.Contains(s, `appVersion: "9.9.9"`) {
		t.Fatal("Chart.yaml: no version to change")
	}
	if err := os.WriteFile(filepath.Join(dir, "Chart.yaml"), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestGeneratedRedisPasswordChecksum: at install, where the chart generates the
// Redis password, the Redis pod's checksum must be of the password the Secret
// holds, not of another random one; otherwise the first `helm upgrade`, which
// reads the real one back, changes it and restarts Redis, signing everybody
// out. The render pretends to read the cluster (as helm install does, finding
// no Secret yet), since helm template never generates.
func TestGeneratedRedisPasswordChecksum(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "portcullis")
	if err := os.CopyFS(dir, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	helpers := filepath.Join(dir, "templates", "_helpers.tpl")
	src, err := os.ReadFile(helpers)
	if err != nil {
		t.Fatal(err)
	}
	readable := regexp.MustCompile(`(?s)(\{\{- define "portcullis.clusterReadable" -\}\}\n).*?(\{\{- end -\}\}\n)`)
	if !readable.Match(src) {
		t.Fatal("_helpers.tpl: no portcullis.clusterReadable")
	}
	src = readable.ReplaceAll(src, []byte("${1}true\n${2}"))
	if err := os.WriteFile(helpers, src, 0o644); err != nil {
		t.Fatal(err)
	}
	r := renderRedisExample(t, dir, []string{"secrets.clientSecret=one"})
	pw := r.get(t, "Secret", fullname).(*corev1.Secret).Data["redis-password"]
	sum := sha256.Sum256([]byte(base64.StdEncoding.EncodeToString(pw)))
	got := r.get(t, "Deployment", fullname+"-redis").(*appsv1.Deployment).Spec.Template.Annotations["checksum/redis-password"]
	if len(pw) < 32 || got != hex.EncodeToString(sum[:]) {
		t.Errorf("redis pod checksum %q, want the sha256 of the generated password's base64 %x", got, sum)
	}
}

// renderRedisExample renders the chart at dir with examples/redis.yaml and
// sets.
func renderRedisExample(t *testing.T, dir string, sets []string) rendered {
	t.Helper()
	args := templateArgs([]string{"portcullis/examples/redis.yaml"}, sets)
	args[2] = dir
	out, err := helm(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeAll(out)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
