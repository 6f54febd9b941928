package charts

import (
	"slices"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
)

// sidecarPod is the pod labels of examples/sidecar-deployment.yaml, whose
// ConfigMap and Secret examples/sidecar.yaml renders.
var sidecarPod = map[string]string{"app.kubernetes.io/name": "myapp"}

// sidecarPolicySets render examples/sidecar.yaml with the NetworkPolicy asked
// for: the app's pods, the ingress controller's namespace on the gateway port
// and the monitoring namespace on the ops port.
var sidecarPolicySets = []string{
	"networkPolicy.enabled=true",
	"networkPolicy.app.podSelector.matchLabels.app\\.kubernetes\\.io/name=myapp",
	"networkPolicy.httpFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=ingress-nginx",
	"networkPolicy.opsFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring",
}

// admittedPorts returns the ports a policy's rules admit, each with the
// namespaces its peers name ("" for a rule that admits everyone).
func admittedPorts(t *testing.T, p *networkingv1.NetworkPolicy) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, rule := range p.Spec.Ingress {
		if len(rule.Ports) == 0 {
			t.Fatalf("policy %s admits every port: %+v", p.Name, rule)
		}
		var from []string
		for _, peer := range rule.From {
			if peer.NamespaceSelector != nil {
				from = append(from, peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"])
			}
		}
		for _, port := range rule.Ports {
			out[port.Port.String()] = strings.Join(from, ",")
		}
	}
	return out
}

// TestSidecarNetworkPolicy: in sidecar mode the app shares its pod with
// Portcullis, so anyone who reaches the app's own port on the pod IP (an app
// bound to 0.0.0.0, as most are by default) sends it forged identity headers.
// networkPolicy.enabled used to render nothing in sidecar mode, silently; now
// it renders a policy on the app's pods that admits the gateway and ops ports
// only (loopback from the sidecar is not subject to it), and a render that
// cannot name the pods fails instead of protecting nothing.
func TestSidecarNetworkPolicy(t *testing.T) {
	values := []string{"portcullis/examples/sidecar.yaml"}
	r := render(t, values, append(slices.Clone(exampleSets), sidecarPolicySets...)...)
	p := r.get(t, "NetworkPolicy", "myapp-portcullis").(*networkingv1.NetworkPolicy)
	if p.Namespace != namespace || !selects(t, p.Spec.PodSelector, sidecarPod) {
		t.Errorf("policy in %s selects %v, want the app's pods %v in %s", p.Namespace, p.Spec.PodSelector, sidecarPod, namespace)
	}
	want := map[string]string{"4180": "ingress-nginx", "9180": "monitoring"}
	if got := admittedPorts(t, p); !mapsEqual(got, want) {
		t.Errorf("policy admits %v, want %v (the app's 8080 never)", got, want)
	}

	// Values the sidecar policy cannot honour are refused, not ignored: no
	// app selector (nothing to put the policy on), another namespace (the
	// pods mount the chart's ConfigMap), app ports (the ones it closes).
	base := append(slices.Clone(exampleSets), "networkPolicy.enabled=true")
	sel := "networkPolicy.app.podSelector.matchLabels.app=myapp"
	for _, tt := range []struct{ set, want string }{
		{"networkPolicy.app.podSelector=null", "networkPolicy.app.podSelector"},
		{sel + ",networkPolicy.app.namespace=apps", "networkPolicy.app.namespace"},
		{sel + ",networkPolicy.app.ports[0].port=8080", "networkPolicy.app.ports"},
	} {
		_, err := helm(t, templateArgs(values, append(slices.Clone(base), tt.set))...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("sidecar networkPolicy with %s: error %v, want one naming %s", tt.set, err, tt.want)
		}
	}
}

// TestSidecarRedisNetworkPolicy: the chart's Redis admits the pods that run
// Portcullis, which in sidecar mode are the app's pods.
func TestSidecarRedisNetworkPolicy(t *testing.T) {
	sets := append(slices.Clone(exampleSets), sidecarPolicySets...)
	sets = append(sets, "redis.enabled=true", "secrets.redisPassword=fbc6f157938c57f29ca4d2213a53288f09c1f182")
	r := render(t, []string{"portcullis/examples/sidecar.yaml"}, sets...)
	p := r.get(t, "NetworkPolicy", "myapp-portcullis-redis").(*networkingv1.NetworkPolicy)
	if len(p.Spec.Ingress) != 1 || len(p.Spec.Ingress[0].From) != 1 || p.Spec.Ingress[0].From[0].PodSelector == nil ||
		!selects(t, *p.Spec.Ingress[0].From[0].PodSelector, sidecarPod) {
		t.Errorf("redis policy ingress %+v, want the app's pods %v", p.Spec.Ingress, sidecarPod)
	}
}
