package charts

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"
)

// documentedAlerts are the alerts of docs/operations.md ("What to alert on").
var documentedAlerts = []string{
	"PortcullisDown", "PortcullisConfigReloadFailed", "PortcullisErrors", "PortcullisLoginsFailing",
	"PortcullisSignInsNotReturning", "PortcullisRefreshesFailing", "PortcullisSessionStoreErrors", "PortcullisDirectoryErrors",
	"PortcullisDirectoryThrottled",
}

// renderRules renders the chart's PrometheusRule and writes its groups as a
// Prometheus rules file, with or without the annotations.
func renderRules(t *testing.T, withAnnotations bool, sets ...string) (*monitoringv1.PrometheusRule, string) {
	t.Helper()
	r := render(t, nil, append(slices.Clone(exampleSets), append([]string{"prometheusRule.enabled=true"}, sets...)...)...)
	pr := r.get(t, "PrometheusRule", fullname).(*monitoringv1.PrometheusRule)
	spec := pr.Spec.DeepCopy()
	if !withAnnotations {
		for g := range spec.Groups {
			for i := range spec.Groups[g].Rules {
				spec.Groups[g].Rules[i].Annotations = nil
			}
		}
	}
	raw, err := yaml.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "rules.yaml")
	writeFile(t, file, raw)
	return pr, file
}

// TestPrometheusRuleParses: the chart's alerts are those docs/operations.md
// lists, promtool accepts them (expressions and annotation templates), and
// alertLabels reach every alert.
func TestPrometheusRuleParses(t *testing.T) {
	promtool := lookTool(t, "promtool")
	pr, file := renderRules(t, true, "prometheusRule.labels.release=kube-prometheus-stack", "prometheusRule.alertLabels.team=platform")
	if pr.Labels["release"] != "kube-prometheus-stack" {
		t.Errorf("PrometheusRule labels %v lack prometheusRule.labels", pr.Labels)
	}
	var names []string
	for _, g := range pr.Spec.Groups {
		for _, rule := range g.Rules {
			names = append(names, rule.Alert)
			if rule.Labels["team"] != "platform" || rule.Labels["severity"] == "" {
				t.Errorf("alert %s labels %v, want severity and team=platform", rule.Alert, rule.Labels)
			}
			if expr := rule.Expr.String(); !strings.Contains(expr, `job="portcullis-ops", namespace="portcullis-test"`) {
				t.Errorf("alert %s does not select this release's pods: %s", rule.Alert, expr)
			}
		}
	}
	if !slices.Equal(names, documentedAlerts) {
		t.Errorf("alerts %v, want %v", names, documentedAlerts)
	}
	if out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if r := render(t, nil, exampleSets...); len(r.all("PrometheusRule")) != 0 {
		t.Errorf("PrometheusRule rendered by default")
	}
}

// ruleTests are promtool unit tests of the alerts: each fires on the series it
// is about, and only for this release's pods.
const ruleTests = `
rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="portcullis-ops",namespace="portcullis-test",pod="a"}'
        values: '0x20'
      - series: 'portcullis_config_last_reload_successful{job="portcullis-ops",namespace="portcullis-test",pod="a"}'
        values: '1 1 0x20'
      - series: 'portcullis_requests_total{job="portcullis-ops",namespace="portcullis-test",pod="a",outcome="error"}'
        values: '0+10x30'
      - series: 'portcullis_requests_total{job="portcullis-ops",namespace="portcullis-test",pod="a",outcome="allowed"}'
        values: '0+90x30'
      - series: 'portcullis_logins_total{job="portcullis-ops",namespace="portcullis-test",pod="a",result="failed",reason="provider_unavailable"}'
        values: '0+3x40'
      - series: 'portcullis_logins_total{job="portcullis-ops",namespace="portcullis-test",pod="a",result="succeeded",reason=""}'
        values: '0+1x40'
      - series: 'portcullis_session_store_errors_total{job="portcullis-ops",namespace="portcullis-test",pod="a",op="load"}'
        values: '0+1x20'
      - series: 'portcullis_directory_throttled_total{job="portcullis-ops",namespace="portcullis-test",pod="a",source="google"}'
        values: '0 0 1x20'
    alert_rule_test:
      - eval_time: 20m
        alertname: PortcullisDown
        exp_alerts:
          - exp_labels: {severity: critical, job: portcullis-ops, namespace: portcullis-test, pod: a}
      - eval_time: 20m
        alertname: PortcullisConfigReloadFailed
        exp_alerts:
          - exp_labels: {severity: warning, job: portcullis-ops, namespace: portcullis-test, pod: a}
      - eval_time: 20m
        alertname: PortcullisErrors
        exp_alerts:
          - exp_labels: {severity: warning}
      - eval_time: 35m
        alertname: PortcullisLoginsFailing
        exp_alerts:
          - exp_labels: {severity: warning}
      - eval_time: 15m
        alertname: PortcullisSessionStoreErrors
        exp_alerts:
          - exp_labels: {severity: critical}
      - eval_time: 5m
        alertname: PortcullisDirectoryThrottled
        exp_alerts:
          - exp_labels: {severity: warning}
  # Another release's failures, a low error share, and a single failed sign-in
  # fire nothing.
  - interval: 1m
    input_series:
      - series: 'up{job="other-ops",namespace="portcullis-test",pod="b"}'
        values: '0x20'
      - series: 'portcullis_requests_total{job="other-ops",namespace="portcullis-test",pod="b",outcome="error"}'
        values: '0+100x30'
      - series: 'portcullis_requests_total{job="portcullis-ops",namespace="portcullis-test",pod="a",outcome="error"}'
        values: '0+1x30'
      - series: 'portcullis_requests_total{job="portcullis-ops",namespace="portcullis-test",pod="a",outcome="allowed"}'
        values: '0+99x30'
      - series: 'portcullis_logins_total{job="portcullis-ops",namespace="portcullis-test",pod="a",result="failed",reason="bad_state"}'
        values: '0 1x40'
      - series: 'portcullis_session_store_errors_total{job="other-ops",namespace="portcullis-test",pod="b",op="load"}'
        values: '0+1x20'
      - series: 'portcullis_directory_throttled_total{job="portcullis-ops",namespace="portcullis-test",pod="a",source="github"}'
        values: '0+1x20'
    alert_rule_test:
      - eval_time: 20m
        alertname: PortcullisDown
      - eval_time: 20m
        alertname: PortcullisErrors
      - eval_time: 35m
        alertname: PortcullisLoginsFailing
      - eval_time: 15m
        alertname: PortcullisSessionStoreErrors
      - eval_time: 15m
        alertname: PortcullisDirectoryThrottled
  # Sign-ins start and none comes back (the provider down for browsers):
  # only this release's.
  - interval: 1m
    input_series:
      - series: 'portcullis_logins_total{job="portcullis-ops",namespace="portcullis-test",pod="a",result="started",reason=""}'
        values: '0+1x40'
      - series: 'portcullis_logins_total{job="other-ops",namespace="portcullis-test",pod="b",result="succeeded",reason=""}'
        values: '0+1x40'
    alert_rule_test:
      - eval_time: 35m
        alertname: PortcullisSignInsNotReturning
        exp_alerts:
          - exp_labels: {severity: warning}
  # Sign-ins that come back, and another release's that do not, fire nothing.
  - interval: 1m
    input_series:
      - series: 'portcullis_logins_total{job="portcullis-ops",namespace="portcullis-test",pod="a",result="started",reason=""}'
        values: '0+2x40'
      - series: 'portcullis_logins_total{job="portcullis-ops",namespace="portcullis-test",pod="a",result="succeeded",reason=""}'
        values: '0+1x40'
      - series: 'portcullis_logins_total{job="other-ops",namespace="portcullis-test",pod="b",result="started",reason=""}'
        values: '0+5x40'
    alert_rule_test:
      - eval_time: 35m
        alertname: PortcullisSignInsNotReturning
`

// TestPrometheusRuleFires runs ruleTests with promtool on the rendered alerts
// (without their annotations, which TestPrometheusRuleParses checks).
func TestPrometheusRuleFires(t *testing.T) {
	promtool := lookTool(t, "promtool")
	_, file := renderRules(t, false)
	tests := filepath.Join(filepath.Dir(file), "tests.yaml")
	writeFile(t, tests, []byte(ruleTests))
	if out, err := exec.Command(promtool, "test", "rules", tests).CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}
