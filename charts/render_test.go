package charts

import (
	"os"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
)

const fullname = "portcullis" // release "portcullis" + chart "portcullis"

// exampleSets are given with every render: the examples leave the client secret
// to the command line, as a real install would, and `helm template` cannot keep
// generated secrets, so the session secret and the assertion key are given too.
var exampleSets = []string{
	"secrets.clientSecret=test-client-secret",
	"secrets.sessionSecrets[0]=" + testSessionSecret,
	"secrets.assertionKey=@testdata/assertion-key.pem",
}

// testSessionSecret is a fixed session secret for renders (base64 of 32 bytes).
const testSessionSecret = "GdVsvrLbVOkGZjX/w2QoVCo72OOlmB46/rfRov+MlMY="

type renderCase struct {
	name      string
	values    []string
	sets      []string
	wantKinds []string // exactly these kinds/names, sorted
	check     func(t *testing.T, r rendered)
}

func renderCases() []renderCase {
	gateway := []string{
		"ConfigMap/" + fullname, "Deployment/" + fullname, "Pod/" + fullname + "-test-check", "PodDisruptionBudget/" + fullname,
		"Secret/" + fullname, "Service/" + fullname, "Service/" + fullname + "-ops", "ServiceAccount/" + fullname,
	}
	return []renderCase{
		{name: "default", wantKinds: gateway, check: checkDefault},
		{
			name: "sidecar", values: []string{"portcullis/examples/sidecar.yaml"},
			wantKinds: []string{"ConfigMap/myapp-portcullis", "NetworkPolicy/myapp-portcullis", "Pod/myapp-portcullis-test-check", "Secret/myapp-portcullis"},
			check:     checkSidecarValues,
		},
		{
			name: "redis", values: []string{"portcullis/examples/redis.yaml"},
			sets: []string{"secrets.redisPassword=fbc6f157938c57f29ca4d2213a53288f09c1f182"},
			wantKinds: sorted(append(slices.Clone(gateway), "Deployment/"+fullname+"-redis",
				"Service/"+fullname+"-redis", "HorizontalPodAutoscaler/"+fullname)),
			check: checkRedis,
		},
		{
			name: "ingress", values: []string{"portcullis/examples/ingress.yaml"},
			wantKinds: sorted(append(slices.Clone(gateway), "Ingress/"+fullname, "NetworkPolicy/"+fullname,
				"NetworkPolicy/"+fullname+"-app", "ServiceMonitor/"+fullname, "PrometheusRule/"+fullname, "ConfigMap/"+fullname+"-dashboard")),
			check: checkIngress,
		},
		{
			// The connection bounds of [server] reach config.toml and pass
			// check (upgrade_idle_timeout: review IY).
			name:      "server bounds",
			sets:      []string{"config.server.max_connections=2000", "config.server.upgrade_idle_timeout=90s"},
			wantKinds: gateway,
			check: func(t *testing.T, r rendered) {
				toml := r.get(t, "ConfigMap", fullname).(*corev1.ConfigMap).Data["config.toml"]
				for _, want := range []string{"max_connections = 2000", `upgrade_idle_timeout = "90s"`} {
					if !strings.Contains(toml, want) {
						t.Errorf("config.toml lacks %s:\n%s", want, toml)
					}
				}
			},
		},
		{
			// Every provider kind the gateway knows, and a provider key the
			// chart names nowhere, reach config.toml and pass check.
			name: "google provider",
			sets: []string{"config.provider.kind=google", "config.provider.hosted_domain=example.com",
				"config.provider.revoke_on_sign_out=false", "config.session.store=redis",
				"config.session.redis_url=redis://redis.default.svc:6379/0"},
			wantKinds: gateway,
			check: func(t *testing.T, r rendered) {
				cfg := configTOML(t, r, fullname)
				for _, want := range []string{`kind = "google"`, `revoke_on_sign_out = false`} {
					if !strings.Contains(cfg, want) {
						t.Errorf("config.toml lacks %s:\n%s", want, cfg)
					}
				}
			},
		},
		{
			// Helm merges maps: a user who overrides only the issuer with
			// another provider's keeps no kind google from the chart's
			// values, whose Google issuer alone gets it (review JS).
			name: "another provider's issuer", sets: []string{"config.provider.issuer=https://dev-1.okta.com"},
			wantKinds: gateway,
			check: func(t *testing.T, r rendered) {
				if cfg := configTOML(t, r, fullname); strings.Contains(cfg, "kind =") {
					t.Errorf("config.toml names a kind for Okta's issuer:\n%s", cfg)
				}
			},
		},
		{
			name: "kind given with Google's issuer", sets: []string{"config.provider.kind=oidc"},
			wantKinds: gateway,
			check: func(t *testing.T, r rendered) {
				if cfg := configTOML(t, r, fullname); !strings.Contains(cfg, `kind = "oidc"`) {
					t.Errorf("config.toml lacks the kind given:\n%s", cfg)
				}
			},
		},
	}
}

func sorted(s []string) []string { slices.Sort(s); return s }

func TestHelmLint(t *testing.T) {
	for _, tc := range renderCases() {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"lint", "--strict", chartDir}
			for _, f := range tc.values {
				args = append(args, "--values", f)
			}
			args = append(args, setArgs(append(slices.Clone(exampleSets), tc.sets...))...)
			if out, err := helm(t, args...); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

func TestHelmTemplate(t *testing.T) {
	for _, tc := range renderCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := render(t, tc.values, append(slices.Clone(exampleSets), tc.sets...)...)
			if got := sorted(r.kinds()); !slices.Equal(got, tc.wantKinds) {
				t.Fatalf("rendered objects:\n got %v\nwant %v", got, tc.wantKinds)
			}
			for _, d := range r.all("Deployment") {
				checkPodSecurity(t, d.(*appsv1.Deployment))
			}
			tc.check(t, r)
		})
	}
}

func checkDefault(t *testing.T, r rendered) {
	d := r.get(t, "Deployment", fullname).(*appsv1.Deployment)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas = %v, want 2", d.Spec.Replicas)
	}
	checkGatewayContainer(t, d, fullname)
	for name, port := range map[string]string{fullname: "http", fullname + "-ops": "ops"} {
		svc := r.get(t, "Service", name).(*corev1.Service)
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != port || svc.Spec.Ports[0].TargetPort.StrVal != port {
			t.Errorf("service %s ports %+v, want only %s", name, svc.Spec.Ports, port)
		}
	}
	pdb := r.get(t, "PodDisruptionBudget", fullname).(*policyv1.PodDisruptionBudget)
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("pdb maxUnavailable = %v, want 1", pdb.Spec.MaxUnavailable)
	}
	cfg := configTOML(t, r, fullname)
	for _, want := range []string{
		`listen = ":4180"`, `ops_listen = ":9180"`,
		`client_secret_file = "/etc/portcullis/secrets/client-secret"`,
		`secrets_file = "/etc/portcullis/secrets/session-secrets"`,
		`assertion_key_file = "/etc/portcullis/secrets/assertion-key.pem"`,
		`kind = "google"`,
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config.toml lacks %s:\n%s", want, cfg)
		}
	}
	sec := r.get(t, "Secret", fullname).(*corev1.Secret)
	for _, k := range []string{"client-secret", "session-secrets", "assertion-key.pem"} {
		if len(sec.Data[k]) == 0 {
			t.Errorf("secret lacks %s", k)
		}
	}
	if string(sec.Data["client-secret"]) != "test-client-secret" {
		t.Errorf("client-secret = %q", sec.Data["client-secret"])
	}
}

// checkGatewayContainer asserts the chart's Portcullis container: ports,
// probes on the ops port, mounts of every secret file the config names.
func checkGatewayContainer(t *testing.T, d *appsv1.Deployment, cm string) {
	t.Helper()
	c := container(t, d, "portcullis")
	if !slices.Equal(c.Args, []string{"serve", "--config", "/etc/portcullis/config.toml"}) {
		t.Errorf("args = %v", c.Args)
	}
	ann := d.Spec.Template.Annotations
	for _, k := range []string{"checksum/config", "checksum/secret"} {
		if len(ann[k]) != 64 {
			t.Errorf("pod annotation %s = %q, want a sha256", k, ann[k])
		}
	}
	var cmName string
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil {
			cmName = v.ConfigMap.Name
		}
	}
	if cmName != cm {
		t.Errorf("config volume uses ConfigMap %q, want %q", cmName, cm)
	}
}

func container(t *testing.T, d *appsv1.Deployment, name string) corev1.Container {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("deployment %s has no container %q", d.Name, name)
	return corev1.Container{}
}

// checkPodSecurity asserts the restricted security context on the pod and on
// every container, and the probes of every Portcullis container.
func checkPodSecurity(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	ps := d.Spec.Template.Spec.SecurityContext
	if ps == nil || !isTrue(ps.RunAsNonRoot) || ps.RunAsUser == nil || *ps.RunAsUser == 0 ||
		ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod securityContext %+v", d.Name, ps)
	}
	if d.Spec.Template.Spec.AutomountServiceAccountToken == nil || *d.Spec.Template.Spec.AutomountServiceAccountToken {
		t.Errorf("%s: automountServiceAccountToken not false", d.Name)
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Errorf("%s/%s: no securityContext", d.Name, c.Name)
			continue
		case !isTrue(sc.RunAsNonRoot), sc.RunAsUser == nil, *sc.RunAsUser == 0:
			t.Errorf("%s/%s: not non-root: %+v", d.Name, c.Name, sc)
		case !isTrue(sc.ReadOnlyRootFilesystem):
			t.Errorf("%s/%s: root filesystem writable", d.Name, c.Name)
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Errorf("%s/%s: privilege escalation allowed", d.Name, c.Name)
		case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0:
			t.Errorf("%s/%s: capabilities %+v", d.Name, c.Name, sc.Capabilities)
		case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
			t.Errorf("%s/%s: seccomp %+v", d.Name, c.Name, sc.SeccompProfile)
		}
		if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s/%s: no memory request/limit", d.Name, c.Name)
		}
		if c.Name == "portcullis" {
			if *sc.RunAsUser != 65532 {
				t.Errorf("%s/%s: runAsUser %d, want 65532", d.Name, c.Name, *sc.RunAsUser)
			}
			checkProbes(t, d.Name, c)
		}
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

// checkProbes: liveness /healthz and readiness /readyz on the named ops port,
// which is container port 9180; the gateway listens on http = 4180.
func checkProbes(t *testing.T, where string, c corev1.Container) {
	t.Helper()
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["http"] != 4180 || ports["ops"] != 9180 {
		t.Errorf("%s/%s: ports %v, want http 4180 and ops 9180", where, c.Name, ports)
	}
	for _, p := range []struct {
		kind  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s/%s: no %s httpGet probe", where, c.Name, p.kind)
			continue
		}
		g := p.probe.HTTPGet
		port := g.Port.IntVal
		if g.Port.StrVal != "" {
			port = ports[g.Port.StrVal]
		}
		if g.Path != p.path || port != 9180 {
			t.Errorf("%s/%s: %s probe %s on port %s (%d), want %s on 9180", where, c.Name, p.kind, g.Path, g.Port.String(), port, p.path)
		}
	}
}

func configTOML(t *testing.T, r rendered, name string) string {
	t.Helper()
	cm := r.get(t, "ConfigMap", name).(*corev1.ConfigMap)
	cfg, ok := cm.Data["config.toml"]
	if !ok {
		t.Fatalf("ConfigMap %s has no config.toml", name)
	}
	return cfg
}

func checkSidecarValues(t *testing.T, r rendered) {
	cfg := configTOML(t, r, "myapp-portcullis")
	if !strings.Contains(cfg, `url = "http://127.0.0.1:8080"`) {
		t.Errorf("sidecar upstream is not the pod's loopback:\n%s", cfg)
	}
}

func checkRedis(t *testing.T, r rendered) {
	d := r.get(t, "Deployment", fullname).(*appsv1.Deployment)
	checkGatewayContainer(t, d, fullname)
	if d.Spec.Replicas != nil {
		t.Errorf("replicas = %d with autoscaling on, want unset (the HPA owns it)", *d.Spec.Replicas)
	}
	hpa := r.get(t, "HorizontalPodAutoscaler", fullname).(*autoscalingv2.HorizontalPodAutoscaler)
	if hpa.Spec.ScaleTargetRef.Name != fullname || hpa.Spec.ScaleTargetRef.Kind != "Deployment" ||
		hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != 3 || hpa.Spec.MaxReplicas != 12 {
		t.Errorf("hpa spec %+v", hpa.Spec)
	}
	pdb := r.get(t, "PodDisruptionBudget", fullname).(*policyv1.PodDisruptionBudget)
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 2 || pdb.Spec.MaxUnavailable != nil {
		t.Errorf("pdb spec %+v", pdb.Spec)
	}
	rd := r.get(t, "Deployment", fullname+"-redis").(*appsv1.Deployment)
	rs := r.get(t, "Service", fullname+"-redis").(*corev1.Service)
	if rs.Spec.Ports[0].Port != 6379 {
		t.Errorf("redis service port %d", rs.Spec.Ports[0].Port)
	}
	for k, v := range rs.Spec.Selector {
		if rd.Spec.Template.Labels[k] != v {
			t.Errorf("redis service selector %s=%s does not select the redis pod %v", k, v, rd.Spec.Template.Labels)
		}
	}
	cfg := configTOML(t, r, fullname)
	for _, want := range []string{
		`store = "redis"`, `redis_url = "redis://` + fullname + `-redis:6379/0"`,
		`redis_password_file = "/etc/portcullis/secrets/redis-password"`,
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config.toml lacks %s:\n%s", want, cfg)
		}
	}
	// Redis and Portcullis read the same password from the same Secret key.
	rc := container(t, rd, "redis")
	if len(rc.Env) != 1 || rc.Env[0].ValueFrom == nil || rc.Env[0].ValueFrom.SecretKeyRef == nil ||
		rc.Env[0].ValueFrom.SecretKeyRef.Name != fullname || rc.Env[0].ValueFrom.SecretKeyRef.Key != "redis-password" {
		t.Errorf("redis password env %+v", rc.Env)
	}
	if !slices.Contains(rc.Args, "--requirepass") {
		t.Errorf("redis runs without a password: %v", rc.Args)
	}
	sec := r.get(t, "Secret", fullname).(*corev1.Secret)
	if len(sec.Data["redis-password"]) < 32 {
		t.Errorf("redis password too short: %d bytes", len(sec.Data["redis-password"]))
	}
}

func checkIngress(t *testing.T, r rendered) {
	ing := r.get(t, "Ingress", fullname).(*networkingv1.Ingress)
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
		t.Errorf("ingressClassName = %v", ing.Spec.IngressClassName)
	}
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != "auth.example.com" {
		t.Fatalf("rules %+v", ing.Spec.Rules)
	}
	b := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service
	if b == nil || b.Name != fullname || b.Port.Name != "http" {
		t.Errorf("ingress backend %+v, want service %s port http", b, fullname)
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "auth-example-com-tls" {
		t.Errorf("tls %+v", ing.Spec.TLS)
	}
	sm := r.get(t, "ServiceMonitor", fullname).(*monitoringv1.ServiceMonitor)
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "ops" || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("servicemonitor endpoints %+v", sm.Spec.Endpoints)
	}
	if sm.Labels["release"] != "kube-prometheus-stack" {
		t.Errorf("servicemonitor labels %v", sm.Labels)
	}
	svc := r.get(t, "Service", fullname+"-ops").(*corev1.Service)
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("servicemonitor selector %s=%s does not select the ops service %v", k, v, svc.Labels)
		}
	}
	dash := r.get(t, "ConfigMap", fullname+"-dashboard").(*corev1.ConfigMap)
	if dash.Labels["grafana_dashboard"] != "1" {
		t.Errorf("dashboard labels %v", dash.Labels)
	}
	want, err := os.ReadFile("portcullis/dashboards/portcullis.json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(dash.Data["portcullis.json"]) != strings.TrimSpace(string(want)) {
		t.Errorf("dashboard ConfigMap does not carry dashboards/portcullis.json")
	}
}

// TestChecksumsRollPods: a config change changes checksum/config only, a
// secret change changes checksum/secret only, and the same values give the
// same checksums (nothing random in them when secrets are given).
func TestChecksumsRollPods(t *testing.T) {
	base := []string{
		"secrets.clientSecret=one", "secrets.sessionSecrets[0]=c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0=",
		"secrets.assertionKey=@testdata/assertion-key.pem",
	}
	sums := func(extra ...string) (string, string) {
		d := render(t, nil, append(slices.Clone(base), extra...)...).get(t, "Deployment", fullname).(*appsv1.Deployment)
		return d.Spec.Template.Annotations["checksum/config"], d.Spec.Template.Annotations["checksum/secret"]
	}
	cfg0, sec0 := sums()
	tests := []struct {
		name                   string
		set                    string
		configSame, secretSame bool
	}{
		{"same values", "replicaCount=2", true, true},
		{"config change", "config.log.level=debug", false, true},
		{"secret change", "secrets.clientSecret=two", true, false},
		{"replicas are not config", "replicaCount=5", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, sec := sums(tt.set)
			if (cfg == cfg0) != tt.configSame {
				t.Errorf("checksum/config same = %v, want %v", cfg == cfg0, tt.configSame)
			}
			if (sec == sec0) != tt.secretSame {
				t.Errorf("checksum/secret same = %v, want %v", sec == sec0, tt.secretSame)
			}
		})
	}
}

// TestValuesRejected: the schema and the chart's own checks refuse bad values.
func TestValuesRejected(t *testing.T) {
	tests := []struct {
		name    string
		sets    []string
		wantErr string
	}{
		{"unknown top-level key", []string{"replicas=3"}, "additional properties"},
		{"bad mode", []string{"mode=daemonset"}, "mode"},
		{"bad store", []string{"config.session.store=memcached"}, "store"},
		{"listen set in config", []string{"config.server.listen=:8080"}, "listen"},
		{"secret in config", []string{"secrets.clientSecret=x", "config.provider.client_secret=y"}, "client_secret"},
		{"relative secretsDir", []string{"secretsDir=secrets"}, "secretsDir"},
		{"bad port", []string{"ports.ops=70000"}, "ops"},
		{"unknown log section key", []string{"config.log.colour=true"}, "colour"},
		{"public_url without a host", []string{"config.server.public_url=https://"}, "public_url"},
		{"public_url with a space", []string{"config.server.public_url=https://auth example.com"}, "public_url"},
		{"issuer without a scheme", []string{"config.provider.issuer=accounts.google.com"}, "issuer"},
		{"upstream url without a host", []string{"config.upstreams[0].name=app", "config.upstreams[0].url=http:///app"}, "url"},
		{"upgrade_idle_timeout not a duration", []string{"config.server.upgrade_idle_timeout=five minutes"}, "upgrade_idle_timeout"},
		{"error ratio not a share", []string{"prometheusRule.errorRatio=5"}, "errorRatio"},
		{"redis_url without a host", []string{"config.session.store=redis", "config.session.redis_url=redis://"}, "redis_url"},
		// An HPA without metrics scales on 80% CPU, a target nobody set.
		{"autoscaling without a target", []string{"autoscaling.enabled=true", "autoscaling.targetCPUUtilizationPercentage=null"}, "targetCPUUtilizationPercentage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := helm(t, templateArgs(nil, append(slices.Clone(exampleSets), tt.sets...))...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}

// TestSidecarDeploymentExample decodes examples/sidecar-deployment.yaml
// strictly: the app and Portcullis share a pod, the app listens on loopback
// only, Portcullis proxies to it, and the Service targets Portcullis.
func TestSidecarDeploymentExample(t *testing.T) {
	raw, err := os.ReadFile("portcullis/examples/sidecar-deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeAll(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sorted(r.kinds()), []string{"ConfigMap/myapp-portcullis", "Deployment/myapp", "NetworkPolicy/myapp-portcullis", "Service/myapp", "Service/myapp-ops"}; !slices.Equal(got, want) {
		t.Fatalf("objects %v, want %v", got, want)
	}
	d := r.get(t, "Deployment", "myapp").(*appsv1.Deployment)
	var names []string
	for _, c := range d.Spec.Template.Spec.Containers {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"app", "portcullis"}) {
		t.Errorf("containers %v, want [app portcullis]", names)
	}
	checkPodSecurity(t, d)
	app := container(t, d, "app")
	if !slices.Contains(app.Args, "-listen=127.0.0.1:8080") || len(app.Ports) != 0 {
		t.Errorf("app must listen on loopback only and expose no port: args %v ports %v", app.Args, app.Ports)
	}
	cfg := configTOML(t, r, "myapp-portcullis")
	if !strings.Contains(cfg, `url = "http://127.0.0.1:8080"`) {
		t.Errorf("upstream is not the app on loopback:\n%s", cfg)
	}
	svc := r.get(t, "Service", "myapp").(*corev1.Service)
	// The app's Service is what users publish (LoadBalancer, NodePort, an
	// Ingress): it carries Portcullis's gateway port only, never the ops
	// port, which answers without authentication.
	for _, p := range svc.Spec.Ports {
		if p.TargetPort.StrVal != "http" {
			t.Errorf("service port %s targets %s, want Portcullis's http port only", p.Name, p.TargetPort.String())
		}
	}
	if ops := r.get(t, "Service", "myapp-ops").(*corev1.Service); ops.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("Service myapp-ops is %q, want ClusterIP", ops.Spec.Type)
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("service selector %s=%s misses the pod", k, v)
		}
	}
}

// TestOpsPortNeverPublished: the ops listener answers without
// authentication; whatever service.type exposes the gateway, only a
// ClusterIP Service carries the ops port.
func TestOpsPortNeverPublished(t *testing.T) {
	for _, typ := range []string{"ClusterIP", "LoadBalancer", "NodePort"} {
		r := render(t, nil, append(slices.Clone(exampleSets), "service.type="+typ)...)
		found := false
		for _, o := range r.all("Service") {
			svc := o.(*corev1.Service)
			for _, p := range svc.Spec.Ports {
				if p.Name != "ops" && p.TargetPort.String() != "ops" {
					continue
				}
				found = true
				if svc.Spec.Type != corev1.ServiceTypeClusterIP {
					t.Errorf("service.type=%s: Service %s (type %s) publishes the ops port", typ, svc.Name, svc.Spec.Type)
				}
			}
		}
		if !found {
			t.Errorf("service.type=%s: no Service carries the ops port (the ServiceMonitor needs one)", typ)
		}
	}
}
