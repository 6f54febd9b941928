package charts

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// selects reports whether a label selector selects a set of pod labels.
func selects(t *testing.T, sel metav1.LabelSelector, podLabels map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(&sel)
	if err != nil {
		t.Fatal(err)
	}
	return !s.Empty() && s.Matches(labels.Set(podLabels))
}

// TestNetworkPolicies: off by default; on, the gateway's policy admits
// everyone to the gateway port and only networkPolicy.opsFrom to the ops port
// (which answers without authentication), the app's policy admits only the
// Portcullis pods to the app (which trusts the identity headers), and the
// chart's Redis admits only the Portcullis pods.
func TestNetworkPolicies(t *testing.T) {
	if r := render(t, nil, exampleSets...); len(r.all("NetworkPolicy")) != 0 {
		t.Fatalf("NetworkPolicies rendered by default: %v", r.kinds())
	}
	sets := append(slices.Clone(exampleSets),
		"networkPolicy.enabled=true",
		"networkPolicy.opsFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring",
		"networkPolicy.app.podSelector.matchLabels.app=grafana",
		"networkPolicy.app.namespace=apps",
		"networkPolicy.app.ports[0].port=3000",
		"secrets.redisPassword=fbc6f157938c57f29ca4d2213a53288f09c1f182")
	r := render(t, []string{"portcullis/examples/redis.yaml"}, sets...)
	gw := r.get(t, "Deployment", fullname).(*appsv1.Deployment).Spec.Template.Labels
	rd := r.get(t, "Deployment", fullname+"-redis").(*appsv1.Deployment).Spec.Template.Labels

	p := r.get(t, "NetworkPolicy", fullname).(*networkingv1.NetworkPolicy)
	if !selects(t, p.Spec.PodSelector, gw) || selects(t, p.Spec.PodSelector, rd) {
		t.Errorf("gateway policy selector %v: must select the gateway pods %v only", p.Spec.PodSelector, gw)
	}
	if len(p.Spec.Ingress) != 2 {
		t.Fatalf("gateway policy ingress %+v, want the http and ops rules", p.Spec.Ingress)
	}
	for _, rule := range p.Spec.Ingress {
		if len(rule.Ports) != 1 {
			t.Fatalf("rule %+v names %d ports", rule, len(rule.Ports))
		}
		switch port := rule.Ports[0].Port.String(); port {
		case "http":
			if len(rule.From) != 0 {
				t.Errorf("gateway port admits only %+v, want everyone by default", rule.From)
			}
		case "ops":
			if len(rule.From) != 1 || rule.From[0].NamespaceSelector == nil ||
				rule.From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "monitoring" {
				t.Errorf("ops port admits %+v, want the monitoring namespace only", rule.From)
			}
		default:
			t.Errorf("unexpected port %s", port)
		}
	}

	app := r.get(t, "NetworkPolicy", fullname+"-app").(*networkingv1.NetworkPolicy)
	if app.Namespace != "apps" || app.Spec.PodSelector.MatchLabels["app"] != "grafana" {
		t.Errorf("app policy in %s selects %v", app.Namespace, app.Spec.PodSelector)
	}
	if len(app.Spec.Ingress) != 1 || len(app.Spec.Ingress[0].From) != 1 ||
		len(app.Spec.Ingress[0].Ports) != 1 || app.Spec.Ingress[0].Ports[0].Port.IntValue() != 3000 {
		t.Fatalf("app policy ingress %+v", app.Spec.Ingress)
	}
	from := app.Spec.Ingress[0].From[0]
	if from.NamespaceSelector == nil || from.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != namespace ||
		from.PodSelector == nil || !selects(t, *from.PodSelector, gw) || selects(t, *from.PodSelector, rd) {
		t.Errorf("app policy admits %+v, want the gateway pods of namespace %s only", from, namespace)
	}

	redis := r.get(t, "NetworkPolicy", fullname+"-redis").(*networkingv1.NetworkPolicy)
	if !selects(t, redis.Spec.PodSelector, rd) || selects(t, redis.Spec.PodSelector, gw) {
		t.Errorf("redis policy selector %v", redis.Spec.PodSelector)
	}
	if len(redis.Spec.Ingress) != 1 || len(redis.Spec.Ingress[0].From) != 1 ||
		redis.Spec.Ingress[0].From[0].PodSelector == nil || !selects(t, *redis.Spec.Ingress[0].From[0].PodSelector, gw) ||
		len(redis.Spec.Ingress[0].Ports) != 1 || redis.Spec.Ingress[0].Ports[0].Port.IntValue() != 6379 {
		t.Errorf("redis policy ingress %+v, want the gateway pods on 6379 only", redis.Spec.Ingress)
	}

	// Without an app selector no app policy: an empty selector would select
	// every pod of the namespace and cut them all off.
	r = render(t, nil, append(slices.Clone(exampleSets), "networkPolicy.enabled=true")...)
	if got := r.kinds(); slices.Contains(got, "NetworkPolicy/"+fullname+"-app") || !slices.Contains(got, "NetworkPolicy/"+fullname) {
		t.Errorf("rendered %v", got)
	}
	// Without opsFrom nobody but the kubelet reaches the ops port.
	p = r.get(t, "NetworkPolicy", fullname).(*networkingv1.NetworkPolicy)
	if len(p.Spec.Ingress) != 1 || len(p.Spec.Ingress[0].Ports) != 1 || p.Spec.Ingress[0].Ports[0].Port.String() != "http" {
		t.Errorf("gateway policy ingress %+v, want the http port only", p.Spec.Ingress)
	}
}
