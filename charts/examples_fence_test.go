package charts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

// gatewayPortFenced reports whether a policy selecting pods admits the gateway
// port (by name or number) only from named peers, and no port it does not know.
func gatewayPortFenced(t *testing.T, p *networkingv1.NetworkPolicy, known map[string]bool, gatewayPort ...string) bool {
	t.Helper()
	fenced := false
	for port, from := range admittedPorts(t, p) {
		if !known[port] {
			t.Errorf("policy %s admits port %s too", p.Name, port)
		}
		for _, g := range gatewayPort {
			if port == g {
				fenced = from != ""
			}
		}
	}
	return fenced
}

// TestExamplesFenceTrustedProxies: an example that trusts a pod CIDR in
// server.trusted_proxies (the ingress controller's pods, in a CIDR that holds
// every pod of the cluster) must also keep the other pods off the gateway port,
// as docs/kubernetes.md says: otherwise any pod claims any client address and
// host and asks /oauth2/auth about any request. The values examples do it with
// networkPolicy.httpFrom; the sidecar manifest with a policy of its own.
func TestExamplesFenceTrustedProxies(t *testing.T) {
	files, err := filepath.Glob("portcullis/examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "\nkind: ") {
			checkManifestFenced(t, f, data)
			continue
		}
		var v struct {
			Mode   string
			Config struct {
				Server struct {
					TrustedProxies []string `json:"trusted_proxies"`
				}
			}
		}
		if err := yaml.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(v.Config.Server.TrustedProxies) == 0 {
			continue
		}
		r := render(t, []string{f}, exampleSets...)
		fenced := false
		for _, o := range r.all("NetworkPolicy") {
			p := o.(*networkingv1.NetworkPolicy)
			if p.Name == fullname || p.Name == "myapp-portcullis" {
				known := map[string]bool{"http": true, "ops": true, "4180": true, "9180": true}
				fenced = gatewayPortFenced(t, p, known, "http", "4180")
			}
		}
		if !fenced {
			t.Errorf("%s trusts %v but no NetworkPolicy admits only named peers to the gateway port (networkPolicy.httpFrom)", f, v.Config.Server.TrustedProxies)
		}
	}
}

// checkManifestFenced checks a manifest example (sidecar-deployment.yaml): when
// its config.toml trusts proxies, a NetworkPolicy selects its Deployment's pods
// and admits only named peers to Portcullis's port, and nobody to the app's.
func checkManifestFenced(t *testing.T, f string, data []byte) {
	objs, err := decodeAll(data)
	if err != nil {
		t.Fatalf("%s: %v", f, err)
	}
	trusts := false
	for _, o := range objs.all("ConfigMap") {
		trusts = trusts || strings.Contains(o.(*corev1.ConfigMap).Data["config.toml"], "trusted_proxies")
	}
	deployments := objs.all("Deployment")
	if !trusts || len(deployments) != 1 {
		return
	}
	pod := deployments[0].(*appsv1.Deployment).Spec.Template.Labels
	fenced := false
	for _, o := range objs.all("NetworkPolicy") {
		p := o.(*networkingv1.NetworkPolicy)
		if selects(t, p.Spec.PodSelector, pod) {
			fenced = gatewayPortFenced(t, p, map[string]bool{"4180": true, "9180": true}, "4180")
		}
	}
	if !fenced {
		t.Errorf("%s trusts proxies but no NetworkPolicy on its pods %v admits only named peers to port 4180", f, pod)
	}
}
