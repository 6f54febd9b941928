package charts

import (
	"slices"
	"strings"
	"testing"
)

// TestRenderRefusesConfigServeRefuses: values whose rendered configuration the
// gateway is sure to refuse at start, because of how the chart wires it (no
// session secrets mounted, a Redis store with no Redis), fail the render with a
// message that names the values to set, instead of rendering pods that
// crash-loop and an upgrade that stalls half-rolled. The ways to set them right
// render.
func TestRenderRefusesConfigServeRefuses(t *testing.T) {
	refused := []struct {
		name   string
		values []string
		sets   []string
		want   []string
	}{
		{"existingSecret without session secrets", nil,
			[]string{"existingSecret=mine", "existingSecretKeys.sessionSecrets="},
			[]string{"existingSecretKeys.sessionSecrets", "config.session.secrets_file", "refuse to start"}},
		{"sidecar, existingSecret without session secrets", []string{"portcullis/examples/sidecar.yaml"},
			[]string{"existingSecret=mine", "existingSecretKeys.sessionSecrets="},
			[]string{"existingSecretKeys.sessionSecrets", "config.session.secrets_file"}},
		{"redis store without a Redis", nil, []string{"config.session.store=redis"},
			[]string{`config.session.store is "redis"`, "redis.enabled", "config.session.redis_url", "refuse to start"}},
	}
	for _, tt := range refused {
		t.Run("refused/"+tt.name, func(t *testing.T) {
			_, err := helm(t, templateArgs(tt.values, append(slices.Clone(exampleSets), tt.sets...))...)
			if err == nil {
				t.Fatal("rendered a configuration the gateway refuses at start")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not mention %q:\n%v", want, err)
				}
			}
		})
	}
	accepted := []struct {
		name string
		sets []string
	}{
		{"existingSecret with a session secrets file of the user's", []string{"existingSecret=mine",
			"existingSecretKeys.sessionSecrets=", "config.session.secrets_file=/etc/cookie/secrets"}},
		{"redis store with the chart's Redis", []string{"config.session.store=redis", "redis.enabled=true",
			"secrets.redisPassword=fbc6f157938c57f29ca4d2213a53288f09c1f182"}},
		{"redis store with a redis_url", []string{"config.session.store=redis", "config.session.redis_url=rediss://redis.example.com:6380/0"}},
		{"redis store with Sentinel", []string{"config.session.store=redis", "config.session.redis_sentinel_addrs[0]=s1:26379",
			"config.session.redis_sentinel_master=mymaster"}},
		{"redis store with Cluster", []string{"config.session.store=redis", "config.session.redis_cluster_addrs[0]=c1:6379"}},
		// The chart cannot see a ConfigMap of the user's.
		{"existingConfigMap", []string{"existingConfigMap=mine", "existingSecret=mine", "existingSecretKeys.sessionSecrets="}},
	}
	for _, tt := range accepted {
		t.Run("accepted/"+tt.name, func(t *testing.T) {
			render(t, nil, append(slices.Clone(exampleSets), tt.sets...)...)
		})
	}
}
