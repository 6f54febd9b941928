package charts

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	chartDir = "portcullis"
	// kubeVersion is passed to helm: a helm built with `go install` reports
	// Kubernetes v1.20 by default, older than the chart's kubeVersion.
	kubeVersion = "1.33.0"
	namespace   = "portcullis-test"
	release     = "portcullis"
)

// requireTools reports whether a missing program fails the test instead of
// skipping it (PORTCULLIS_REQUIRE_TOOLS=1, set by the README's test command).
func requireTools() bool { return os.Getenv("PORTCULLIS_REQUIRE_TOOLS") == "1" }

// lookTool finds a program on PATH, then in the directory `go install` puts
// programs in (GOBIN, else GOPATH/bin), or ends the test.
func lookTool(tb testing.TB, name string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, env := range []string{"GOBIN", "GOPATH"} {
		out, err := exec.Command("go", "env", env).Output()
		dir := strings.TrimSpace(string(out))
		if err != nil || dir == "" {
			continue
		}
		if env == "GOPATH" {
			dir = filepath.Join(strings.Split(dir, string(os.PathListSeparator))[0], "bin")
		}
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	if requireTools() {
		tb.Fatalf("charts: %s not found and PORTCULLIS_REQUIRE_TOOLS=1", name)
	}
	tb.Skipf("charts: %s not found (set PORTCULLIS_REQUIRE_TOOLS=1 to fail instead)", name)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// helm runs helm with args and returns its stdout, or the error with stderr.
func helm(tb testing.TB, args ...string) ([]byte, error) {
	tb.Helper()
	cmd := exec.Command(lookTool(tb, "helm"), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// templateArgs builds `helm template` arguments for values files and --set pairs.
func templateArgs(valuesFiles []string, sets []string) []string {
	args := []string{"template", release, chartDir, "--namespace", namespace, "--kube-version", kubeVersion}
	for _, f := range valuesFiles {
		args = append(args, "--values", f)
	}
	return append(args, setArgs(sets)...)
}

// setArgs turns KEY=VALUE pairs into --set flags, and KEY=@FILE pairs into
// --set-file flags.
func setArgs(sets []string) []string {
	var args []string
	for _, s := range sets {
		if k, file, ok := strings.Cut(s, "=@"); ok {
			args = append(args, "--set-file", k+"="+file)
			continue
		}
		args = append(args, "--set", s)
	}
	return args
}

// object is one rendered Kubernetes object, decoded strictly into its Go type.
type object struct {
	Kind string
	Name string
	Obj  any
	Raw  []byte
}

// rendered is the output of one `helm template`, indexed by kind and name.
type rendered []object

func (r rendered) get(tb testing.TB, kind, name string) any {
	tb.Helper()
	for _, o := range r {
		if o.Kind == kind && o.Name == name {
			return o.Obj
		}
	}
	tb.Fatalf("no %s %q rendered; have %v", kind, name, r.kinds())
	return nil
}

func (r rendered) all(kind string) []any {
	var out []any
	for _, o := range r {
		if o.Kind == kind {
			out = append(out, o.Obj)
		}
	}
	return out
}

func (r rendered) kinds() []string {
	var out []string
	for _, o := range r {
		out = append(out, o.Kind+"/"+o.Name)
	}
	return out
}

// render runs `helm template` and decodes every document strictly.
func render(tb testing.TB, valuesFiles []string, sets ...string) rendered {
	tb.Helper()
	out, err := helm(tb, templateArgs(valuesFiles, sets)...)
	if err != nil {
		tb.Fatal(err)
	}
	objs, err := decodeAll(out)
	if err != nil {
		tb.Fatal(err)
	}
	return objs
}

// newObject returns an empty Go value of the API type for apiVersion and kind.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + " " + kind {
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1 Pod":
		return &corev1.Pod{}, nil
	case "v1 Secret":
		return &corev1.Secret{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "networking.k8s.io/v1 Ingress":
		return &networkingv1.Ingress{}, nil
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, nil
	case "monitoring.coreos.com/v1 PrometheusRule":
		return &monitoringv1.PrometheusRule{}, nil
	}
	return nil, fmt.Errorf("charts: no Go type for apiVersion %q kind %q", apiVersion, kind)
}

// decodeAll splits a multi-document YAML stream and decodes each non-empty
// document strictly: unknown or duplicate fields are errors.
func decodeAll(stream []byte) (rendered, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	var out rendered
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("charts: splitting YAML: %v", err)
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("charts: reading kind: %v\n%s", err, doc)
		}
		if tm.Kind == "" && tm.APIVersion == "" {
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue // an empty document (a template that rendered nothing)
			}
			return nil, fmt.Errorf("charts: document without apiVersion/kind:\n%s", doc)
		}
		obj, err := newObject(tm.APIVersion, tm.Kind)
		if err != nil {
			return nil, err
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("charts: strict decoding of %s: %v\n%s", tm.Kind, err, doc)
		}
		name := obj.(metav1.Object).GetName()
		out = append(out, object{Kind: tm.Kind, Name: name, Obj: obj, Raw: doc})
	}
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range strings.Split(string(doc), "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.Bytes()
}

func TestDecodeAllIsStrict(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{"valid", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n", ""},
		{"unknown field", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndatta:\n  k: v\n", "unknown field"},
		{"misplaced field", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        readinesProbe: {}\n", "unknown field"},
		{"duplicate field", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n", "already set"},
		{"unknown kind", "apiVersion: v1\nkind: Widget\nmetadata:\n  name: a\n", "no Go type"},
		{"comment only", "# Source: x.yaml\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAll([]byte(tt.doc))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
