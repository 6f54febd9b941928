package charts

import (
	"reflect"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestHelmTestPodChecksMountedConfig: `helm test` runs `portcullis check` with
// the gateway's image on the configuration and secret files exactly as the
// gateway's pods mount them, under the same security contexts, as a test hook
// that no Service or PodDisruptionBudget selects; helmTest.enabled=false
// renders none.
func TestHelmTestPodChecksMountedConfig(t *testing.T) {
	const name = fullname + "-test-check"
	for _, tc := range []struct {
		name string
		sets []string
	}{
		{"chart's Secret", nil},
		{"existingSecret", []string{"existingSecret=mine"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := render(t, nil, append(slices.Clone(exampleSets), tc.sets...)...)
			pod := r.get(t, "Pod", name).(*corev1.Pod)
			d := r.get(t, "Deployment", fullname).(*appsv1.Deployment)
			if pod.Annotations["helm.sh/hook"] != "test" {
				t.Errorf("annotations %v, want helm.sh/hook: test", pod.Annotations)
			}
			if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("restartPolicy %q, want Never", pod.Spec.RestartPolicy)
			}
			if len(pod.Spec.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(pod.Spec.Containers))
			}
			c, gw := pod.Spec.Containers[0], container(t, d, "portcullis")
			if want := []string{"check", "--config", "/etc/portcullis/config.toml"}; !slices.Equal(c.Args, want) || c.Image != gw.Image {
				t.Errorf("test runs %s %v, want %s %v", c.Image, c.Args, gw.Image, want)
			}
			if !reflect.DeepEqual(c.VolumeMounts, gw.VolumeMounts) || !reflect.DeepEqual(pod.Spec.Volumes, d.Spec.Template.Spec.Volumes) {
				t.Errorf("test mounts %+v of %+v, want the gateway's %+v of %+v",
					c.VolumeMounts, pod.Spec.Volumes, gw.VolumeMounts, d.Spec.Template.Spec.Volumes)
			}
			if !reflect.DeepEqual(c.SecurityContext, gw.SecurityContext) ||
				!reflect.DeepEqual(pod.Spec.SecurityContext, d.Spec.Template.Spec.SecurityContext) {
				t.Errorf("test security contexts differ from the gateway's")
			}
			if selects(t, *d.Spec.Selector, pod.Labels) {
				t.Errorf("test pod labels %v match the gateway's selector %v: its Service and PDB would count it", pod.Labels, d.Spec.Selector.MatchLabels)
			}
		})
	}
	t.Run("disabled", func(t *testing.T) {
		r := render(t, nil, append(slices.Clone(exampleSets), "helmTest.enabled=false")...)
		if p := r.all("Pod"); len(p) != 0 {
			t.Errorf("rendered %d test pods with helmTest.enabled=false", len(p))
		}
	})
}
