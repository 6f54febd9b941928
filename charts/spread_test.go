package charts

import (
	"path/filepath"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestTopologySpread: by default the gateway's pods are spread over nodes and
// zones (softly: ScheduleAnyway), so that two replicas do not share the node
// whose loss takes the gateway down; a constraint without a labelSelector
// selects the release's gateway pods, one with a labelSelector keeps it, and
// [] turns spreading off.
func TestTopologySpread(t *testing.T) {
	spread := func(t *testing.T, values []string) []corev1.TopologySpreadConstraint {
		d := render(t, values, exampleSets...).get(t, "Deployment", fullname).(*appsv1.Deployment)
		return d.Spec.Template.Spec.TopologySpreadConstraints
	}
	t.Run("default", func(t *testing.T) {
		d := render(t, nil, exampleSets...).get(t, "Deployment", fullname).(*appsv1.Deployment)
		var keys []string
		for _, c := range d.Spec.Template.Spec.TopologySpreadConstraints {
			keys = append(keys, c.TopologyKey)
			if c.WhenUnsatisfiable != corev1.ScheduleAnyway || c.MaxSkew != 1 {
				t.Errorf("%s: whenUnsatisfiable %s maxSkew %d, want ScheduleAnyway 1", c.TopologyKey, c.WhenUnsatisfiable, c.MaxSkew)
			}
			if c.LabelSelector == nil || !mapsEqual(c.LabelSelector.MatchLabels, d.Spec.Selector.MatchLabels) {
				t.Errorf("%s: labelSelector %v, want the Deployment's selector %v", c.TopologyKey, c.LabelSelector, d.Spec.Selector.MatchLabels)
			}
		}
		if want := []string{"kubernetes.io/hostname", "topology.kubernetes.io/zone"}; !slices.Equal(keys, want) {
			t.Errorf("spread over %v, want %v", keys, want)
		}
	})
	t.Run("own labelSelector kept", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "values.yaml")
		writeFile(t, file, []byte(`topologySpreadConstraints:
  - maxSkew: 2
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: DoNotSchedule
    labelSelector: {matchLabels: {tier: auth}}
`))
		c := spread(t, []string{file})
		if len(c) != 1 || c[0].MaxSkew != 2 || c[0].WhenUnsatisfiable != corev1.DoNotSchedule ||
			!mapsEqual(c[0].LabelSelector.MatchLabels, map[string]string{"tier": "auth"}) {
			t.Errorf("constraints %+v, want the given one as it is", c)
		}
	})
	t.Run("off", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "values.yaml")
		writeFile(t, file, []byte("topologySpreadConstraints: []\n"))
		if c := spread(t, []string{file}); len(c) != 0 {
			t.Errorf("constraints %+v with [], want none", c)
		}
	})
}
