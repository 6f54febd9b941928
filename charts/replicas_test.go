package charts

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// noKeySets gives the session secret but no assertion key, so that each case
// decides where the key comes from (--set-file would win over a later --set).
var noKeySets = []string{"secrets.clientSecret=x", "secrets.sessionSecrets[0]=" + testSessionSecret}

// TestAssertionKeySharedByReplicas: a gateway of several pods whose pods each
// generate their own assertion key is refused. The app fetches jwks.json
// through the Service from one pod and then refuses the assertions every other
// pod signs: with two replicas, about half of all requests. One pod, a shared
// key, a key file the config names, the assertion turned off, or sidecar mode
// (each pod's own app verifies its own pod) render.
func TestAssertionKeySharedByReplicas(t *testing.T) {
	refused := []struct {
		name string
		sets []string
	}{
		{"generateAssertionKey false, default replicas", []string{"secrets.generateAssertionKey=false"}},
		{"generateAssertionKey false, autoscaling", []string{"secrets.generateAssertionKey=false", "replicaCount=1", "autoscaling.enabled=true"}},
		{"existingSecret without an assertion key", []string{"existingSecret=mine", "existingSecretKeys.assertionKey=", "replicaCount=3"}},
	}
	for _, tt := range refused {
		t.Run("refused/"+tt.name, func(t *testing.T) {
			_, err := helm(t, templateArgs(nil, append(slices.Clone(noKeySets), tt.sets...))...)
			if err == nil {
				t.Fatal("rendered a multi-pod gateway whose pods sign with keys of their own")
			}
			for _, want := range []string{"several gateway pods", "secrets.assertionKey", "existingSecretKeys.assertionKey", "one replica"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not mention %q:\n%v", want, err)
				}
			}
		})
	}
	accepted := []struct {
		name   string
		values []string
		sets   []string
	}{
		{"one replica", nil, []string{"secrets.generateAssertionKey=false", "replicaCount=1"}},
		{"shared key", nil, []string{"secrets.assertionKey=@testdata/assertion-key.pem", "replicaCount=4"}},
		{"assertion off", nil, []string{"secrets.generateAssertionKey=false", "config.headers.assertion="}},
		{"key file named in config", nil, []string{"secrets.generateAssertionKey=false",
			"config.headers.assertion_key_file=/etc/keys/assertion.pem"}},
		{"sidecar", []string{"portcullis/examples/sidecar.yaml"}, []string{"secrets.generateAssertionKey=false"}},
		// The chart cannot see a ConfigMap of the user's: its config may name a key file.
		{"existingConfigMap", nil, []string{"secrets.generateAssertionKey=false", "existingConfigMap=mine"}},
	}
	for _, tt := range accepted {
		t.Run("accepted/"+tt.name, func(t *testing.T) {
			render(t, tt.values, append(slices.Clone(noKeySets), tt.sets...)...)
		})
	}
}

// TestGracePeriodCoversShutdown: terminationGracePeriodSeconds must be above
// config.server.shutdown_delay + shutdown_timeout (defaults 5s + 30s), or the
// kubelet's SIGKILL cuts off the requests the gateway is still draining. The
// chart reads Go durations as the gateway does.
func TestGracePeriodCoversShutdown(t *testing.T) {
	refused := []struct {
		name string
		sets []string
	}{
		{"longer shutdown_timeout", []string{"config.server.shutdown_timeout=60s"}},
		{"longer shutdown_delay in minutes", []string{"config.server.shutdown_delay=1m"}},
		{"compound durations", []string{"config.server.shutdown_delay=5s", "config.server.shutdown_timeout=1m30s", "terminationGracePeriodSeconds=90"}},
		{"equal is not above", []string{"terminationGracePeriodSeconds=35"}},
		{"defaults with a short grace period", []string{"config.server.shutdown_delay=null", "config.server.shutdown_timeout=null", "terminationGracePeriodSeconds=30"}},
	}
	for _, tt := range refused {
		t.Run("refused/"+tt.name, func(t *testing.T) {
			_, err := helm(t, templateArgs(nil, append(slices.Clone(exampleSets), tt.sets...))...)
			if err == nil || !strings.Contains(err.Error(), "terminationGracePeriodSeconds") ||
				!strings.Contains(err.Error(), "shutdown_delay + shutdown_timeout") {
				t.Fatalf("error = %v, want one naming terminationGracePeriodSeconds and the shutdown durations", err)
			}
		})
	}
	accepted := []struct {
		name string
		sets []string
		want int64
	}{
		{"defaults", nil, 40},
		{"fractions and milliseconds", []string{"config.server.shutdown_delay=500ms", "config.server.shutdown_timeout=39.4s"}, 40},
		{"no delay", []string{"config.server.shutdown_delay=0s", "config.server.shutdown_timeout=2m", "terminationGracePeriodSeconds=121"}, 121},
		{"hours", []string{"config.server.shutdown_timeout=1h", "terminationGracePeriodSeconds=3700"}, 3700},
		// The durations of a ConfigMap of the user's are not the chart's to read.
		{"existingConfigMap", []string{"existingConfigMap=mine", "terminationGracePeriodSeconds=15"}, 15},
	}
	for _, tt := range accepted {
		t.Run("accepted/"+tt.name, func(t *testing.T) {
			d := render(t, nil, append(slices.Clone(exampleSets), tt.sets...)...).get(t, "Deployment", fullname).(*appsv1.Deployment)
			if g := d.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g != tt.want {
				t.Errorf("terminationGracePeriodSeconds = %v, want %d", g, tt.want)
			}
		})
	}
}
