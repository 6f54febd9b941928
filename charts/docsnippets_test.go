package charts

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

var yamlFence = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// docYAML returns the ```yaml snippets of docs/NAME, in order.
func docYAML(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range yamlFence.FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	return out
}

// snippetFile writes a snippet where helm can read it as a values file.
func snippetFile(t *testing.T, snippet string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "values.yaml")
	writeFile(t, p, []byte(snippet))
	return p
}

// TestKubernetesDocValuesRender: the values snippets of docs/kubernetes.md
// render as the page says. The minimal values.yaml mounts the existingSecret
// it names and writes its route; the networkPolicy snippet admits only the
// monitoring namespace to the ops port and only the Portcullis pods to the
// app, in the namespace it names, on its port; the sidecar one, with
// examples/sidecar.yaml, admits only Portcullis's two ports to the app's pods.
func TestKubernetesDocValuesRender(t *testing.T) {
	snippets := docYAML(t, "kubernetes.md")
	if len(snippets) != 3 {
		t.Fatalf("docs/kubernetes.md has %d yaml snippets, this test reads 3: the minimal values, networkPolicy and the sidecar's", len(snippets))
	}
	r := render(t, []string{snippetFile(t, snippets[0])})
	d := r.get(t, "Deployment", fullname).(*appsv1.Deployment)
	var secretName string
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "portcullis-secrets" && v.Secret != nil {
			secretName = v.Secret.SecretName
		}
	}
	if secretName != "portcullis-secrets" || len(r.all("Secret")) != 0 {
		t.Errorf("minimal values: secret volume from %q, %d Secrets rendered; want the existingSecret portcullis-secrets only", secretName, len(r.all("Secret")))
	}
	if cfg := configTOML(t, r, fullname); !strings.Contains(cfg, `allow_email_domains = ["example.com"]`) ||
		!strings.Contains(cfg, `url = "http://app.default.svc.cluster.local:8080"`) {
		t.Errorf("minimal values: config.toml lacks the route or upstream:\n%s", cfg)
	}

	r = render(t, []string{snippetFile(t, snippets[1])}, exampleSets...)
	app := r.get(t, "NetworkPolicy", fullname+"-app").(*networkingv1.NetworkPolicy)
	if app.Namespace != "monitoring" || app.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] != "grafana" ||
		len(app.Spec.Ingress) != 1 || len(app.Spec.Ingress[0].Ports) != 1 || app.Spec.Ingress[0].Ports[0].Port.IntValue() != 3000 {
		t.Errorf("networkPolicy snippet: app policy %s/%s %+v", app.Namespace, app.Name, app.Spec)
	}
	gw := r.get(t, "NetworkPolicy", fullname).(*networkingv1.NetworkPolicy)
	for _, rule := range gw.Spec.Ingress {
		if rule.Ports[0].Port.String() == "ops" && (len(rule.From) != 1 || rule.From[0].NamespaceSelector == nil ||
			rule.From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "monitoring") {
			t.Errorf("networkPolicy snippet: ops port admits %+v, want the monitoring namespace only", rule.From)
		}
	}

	r = render(t, []string{"portcullis/examples/sidecar.yaml", snippetFile(t, snippets[2])}, exampleSets...)
	sc := r.get(t, "NetworkPolicy", "myapp-portcullis").(*networkingv1.NetworkPolicy)
	want := map[string]string{"4180": "ingress-nginx", "9180": "monitoring"}
	if got := admittedPorts(t, sc); !selects(t, sc.Spec.PodSelector, sidecarPod) || !mapsEqual(got, want) {
		t.Errorf("sidecar networkPolicy snippet: selects %v, admits %v; want %v, %v", sc.Spec.PodSelector, got, sidecarPod, want)
	}
}

// TestRequestsDocProbes: the probes docs/requests.md shows for a gateway run
// without the chart are a container's probes (decoded strictly) and ask the
// ops port the chart uses for /healthz and /readyz.
func TestRequestsDocProbes(t *testing.T) {
	snippets := docYAML(t, "requests.md")
	if len(snippets) != 1 {
		t.Fatalf("docs/requests.md has %d yaml snippets, this test reads 1: the probes", len(snippets))
	}
	var c corev1.Container
	if err := yaml.UnmarshalStrict([]byte(snippets[0]), &c); err != nil {
		t.Fatal(err)
	}
	r := render(t, nil, exampleSets...)
	ops := container(t, r.get(t, "Deployment", fullname).(*appsv1.Deployment), "portcullis").Ports
	for _, p := range []struct {
		probe *corev1.Probe
		path  string
	}{{c.LivenessProbe, "/healthz"}, {c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path ||
			p.probe.HTTPGet.Port.IntValue() != int(ops[1].ContainerPort) || ops[1].Name != "ops" {
			t.Errorf("probe %+v: want GET %s on the ops port %+v", p.probe, p.path, ops[1])
		}
	}
}
