package charts

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestExistingSecret renders with a Secret the user manages: the chart renders
// no Secret of its own, and the pod mounts the user's Secret's documented keys
// as the files the configuration names.
func TestExistingSecret(t *testing.T) {
	const name = "my-portcullis-secrets"
	for _, tc := range []struct {
		name      string
		values    []string
		sets      []string
		wantItems map[string]string // file -> key of the user's Secret
	}{
		{name: "default keys", wantItems: map[string]string{
			"client-secret": "client-secret", "session-secrets": "session-secrets", "assertion-key.pem": "assertion-key.pem",
		}},
		{name: "renamed keys, no assertion key, one replica", sets: []string{
			"existingSecretKeys.clientSecret=oidc", "existingSecretKeys.sessionSecrets=cookie",
			"existingSecretKeys.assertionKey=", "replicaCount=1",
		}, wantItems: map[string]string{"client-secret": "oidc", "session-secrets": "cookie"}},
		{name: "with the chart's redis", values: []string{"portcullis/examples/redis.yaml"},
			sets: []string{"existingSecretKeys.redisPassword=redis"}, wantItems: map[string]string{
				"client-secret": "client-secret", "session-secrets": "session-secrets",
				"assertion-key.pem": "assertion-key.pem", "redis-password": "redis",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// No secrets.* values at all: nothing is generated, so `helm
			// template` renders (an Argo CD sync works).
			r := render(t, tc.values, append([]string{"existingSecret=" + name}, tc.sets...)...)
			if s := r.all("Secret"); len(s) != 0 {
				t.Fatalf("rendered %d Secret(s) with existingSecret: %v", len(s), r.kinds())
			}
			d := r.get(t, "Deployment", fullname).(*appsv1.Deployment)
			var vol *corev1.Volume
			for i, v := range d.Spec.Template.Spec.Volumes {
				if v.Name == "portcullis-secrets" {
					vol = &d.Spec.Template.Spec.Volumes[i]
				}
			}
			if vol == nil || vol.Secret == nil || vol.Secret.SecretName != name {
				t.Fatalf("secrets volume %+v, want secret %s", vol, name)
			}
			got := map[string]string{}
			for _, it := range vol.Secret.Items {
				got[it.Path] = it.Key
			}
			if !mapsEqual(got, tc.wantItems) {
				t.Errorf("mounted files (file -> key) %v, want %v", got, tc.wantItems)
			}
			cfg := configTOML(t, r, fullname)
			for file := range tc.wantItems {
				if !strings.Contains(cfg, `"/etc/portcullis/secrets/`+file+`"`) {
					t.Errorf("config.toml does not reference %s:\n%s", file, cfg)
				}
			}
			if _, ok := tc.wantItems["assertion-key.pem"]; !ok && strings.Contains(cfg, "assertion_key_file") {
				t.Errorf("config.toml names an assertion key that is not mounted:\n%s", cfg)
			}
			if rd, ok := find(r, "Deployment", fullname+"-redis"); ok {
				env := container(t, rd.(*appsv1.Deployment), "redis").Env
				if len(env) != 1 || env[0].ValueFrom.SecretKeyRef.Name != name || env[0].ValueFrom.SecretKeyRef.Key != "redis" {
					t.Errorf("redis password from %+v, want %s/redis", env, name)
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func find(r rendered, kind, name string) (any, bool) {
	for _, o := range r {
		if o.Kind == kind && o.Name == name {
			return o.Obj, true
		}
	}
	return nil, false
}

// TestTemplateNeverInventsSecrets: `helm template` (how Argo CD renders) cannot
// read the cluster, so it cannot keep a generated secret. Rendering twice
// without the values must fail both times with a message that says what to
// set, instead of producing two different random secrets.
func TestTemplateNeverInventsSecrets(t *testing.T) {
	tests := []struct {
		name        string
		values      []string
		sets        []string
		wantMissing string
	}{
		{name: "nothing given", sets: []string{"secrets.clientSecret=x"},
			wantMissing: "(session-secrets, assertion-key.pem)"},
		{name: "no session secret", sets: []string{"secrets.assertionKey=@testdata/assertion-key.pem"},
			wantMissing: "(session-secrets)"},
		{name: "no assertion key", sets: []string{"secrets.sessionSecrets[0]=" + testSessionSecret},
			wantMissing: "(assertion-key.pem)"},
		{name: "sidecar example", values: []string{"portcullis/examples/sidecar.yaml"},
			wantMissing: "(session-secrets, assertion-key.pem)"},
		{name: "chart's redis without a password", values: []string{"portcullis/examples/redis.yaml"},
			sets:        []string{"secrets.sessionSecrets[0]=" + testSessionSecret, "secrets.assertionKey=@testdata/assertion-key.pem"},
			wantMissing: "(redis-password)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range 2 {
				args := templateArgs(tt.values, tt.sets)
				out, err := helm(t, args...)
				if err == nil {
					t.Fatalf("render %d succeeded; it must not invent secrets:\n%s", i+1, secretsOf(t, out))
				}
				msg := err.Error()
				for _, want := range []string{"cannot read the cluster", tt.wantMissing, "existingSecret",
					"secrets.sessionSecrets", "secrets.assertionKey"} {
					if !strings.Contains(msg, want) {
						t.Errorf("render %d: error does not mention %q:\n%s", i+1, want, msg)
					}
				}
			}
		})
	}
	// Letting each pod generate its own assertion key is an explicit choice,
	// open to a gateway of one pod only (TestAssertionKeySharedByReplicas).
	r := render(t, nil, "secrets.sessionSecrets[0]="+testSessionSecret, "secrets.generateAssertionKey=false", "replicaCount=1")
	sec := r.get(t, "Secret", fullname).(*corev1.Secret)
	if _, ok := sec.Data["assertion-key.pem"]; ok {
		t.Error("generateAssertionKey=false still rendered an assertion key")
	}
}

// secretsOf returns the Secret documents of a render, for a failure message.
func secretsOf(t *testing.T, out []byte) string {
	r, err := decodeAll(out)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, s := range r.all("Secret") {
		y, _ := yaml.Marshal(s)
		b.Write(y)
	}
	return b.String()
}

// TestExplicitSecretsRenderDeterministically: with every secret given, two
// renders are byte for byte the same (nothing random; checksums stable), and
// the Secret holds exactly the given values.
func TestExplicitSecretsRenderDeterministically(t *testing.T) {
	key, err := os.ReadFile("testdata/assertion-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	const redisPassword = "0c5d2f6a9b8e7d1c3f4a5b6c7d8e9f0a1b2c3d4e"
	sets := append(slices.Clone(exampleSets), "secrets.redisPassword="+redisPassword)
	values := []string{"portcullis/examples/redis.yaml"}
	first, err := helm(t, templateArgs(values, sets)...)
	if err != nil {
		t.Fatal(err)
	}
	second, err := helm(t, templateArgs(values, sets)...)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Fatal("two renders with the same values differ")
	}
	r, err := decodeAll(first)
	if err != nil {
		t.Fatal(err)
	}
	sec := r.get(t, "Secret", fullname).(*corev1.Secret)
	for k, want := range map[string]string{
		"client-secret": "test-client-secret", "session-secrets": testSessionSecret,
		"assertion-key.pem": string(key), "redis-password": redisPassword,
	} {
		if got := string(sec.Data[k]); got != want {
			t.Errorf("Secret %s = %q, want the given value %q", k, got, want)
		}
	}
}

// TestSecretsNeverInTheConfigMap renders a secret written into `config`:
// the chart puts `config` into a ConfigMap, which Kubernetes' `view` role
// and `kubectl describe` show to whoever may read the namespace, so a
// secret there is refused whether or not the chart's Secret holds one of
// its kind (a public client, an existingSecret without that key), and the
// refusal never quotes it. A ${NAME} reference (an environment variable
// from a Secret, extraEnv) is no secret and renders.
func TestSecretsNeverInTheConfigMap(t *testing.T) {
	const value = "hunter2-in-the-configmap"
	existing := []string{"existingSecret=mine", "existingSecretKeys.clientSecret=", "existingSecretKeys.sessionSecrets=",
		"existingSecretKeys.assertionKey=", "replicaCount=1"}
	for _, tc := range []struct {
		name string
		sets []string
		key  string
	}{
		{"public client's client_secret", []string{"config.provider.client_secret=" + value}, "client_secret"},
		{"session secrets without the chart's", append(existing, "config.session.secrets[0]="+value), "secrets"},
		{"redis_password", []string{"config.session.redis_password=" + value}, "redis_password"},
		{"password in redis_url", []string{"config.session.redis_url=redis://:" + value + "@redis:6379/0"}, "redis_url"},
		{"user and password in redis_url", []string{"config.session.redis_url=rediss://app:" + value + "@redis:6379/0"}, "redis_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sets := append([]string{"secrets.sessionSecrets[0]=" + testSessionSecret,
				"secrets.assertionKey=@testdata/assertion-key.pem"}, tc.sets...)
			out, err := helm(t, templateArgs(nil, sets)...)
			if err == nil {
				t.Fatalf("rendered; the ConfigMap holds the secret: %v", strings.Contains(string(out), value))
			}
			// helm's error starts with its own command line (the --set holds the value); what the
			// chart said follows it.
			_, said, _ := strings.Cut(err.Error(), "\n")
			if !strings.Contains(said, "config.") || !strings.Contains(said, tc.key) || strings.Contains(said, value) {
				t.Errorf("refusal %q, want one naming %s without the value", said, tc.key)
			}
		})
	}
	// An empty value (a public client's client_secret = "") holds no secret either.
	for _, tc := range []struct{ set, want string }{
		{"config.provider.client_secret=${CLIENT_SECRET}", "${CLIENT_SECRET}"},
		{"config.session.redis_url=redis://:${REDIS_PASSWORD}@redis:6379/0", "redis://:${REDIS_PASSWORD}@redis:6379/0"},
		{"config.session.redis_url=redis://app@redis:6379/0", "redis://app@redis:6379/0"},
		{"config.provider.client_secret=", `client_secret = ""`},
		{"config.session.redis_password=", `redis_password = ""`},
	} {
		r := render(t, nil, append(slices.Clone(exampleSets[1:]), tc.set)...)
		if cfg := configTOML(t, r, fullname); !strings.Contains(cfg, tc.want) {
			t.Errorf("%s: config.toml lacks %s:\n%s", tc.set, tc.want, cfg)
		}
	}
}
