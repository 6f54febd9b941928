package charts

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// dashboardMetrics are the gateway's metric families the dashboard must draw
// (histograms through their _bucket series).
var dashboardMetrics = []string{
	"portcullis_requests_total",
	"portcullis_request_duration_seconds_bucket",
	"portcullis_upstream_duration_seconds_bucket",
	"portcullis_logins_total",
	"portcullis_logouts_total",
	"portcullis_refreshes_total",
	"portcullis_build_info",
	"portcullis_provider_request_duration_seconds_bucket",
	"portcullis_bearer_verifications_total",
	"portcullis_session_store_duration_seconds_bucket",
	"portcullis_session_store_errors_total",
	"portcullis_active_sessions",
}

type dashboard struct {
	UID    string `json:"uid"`
	Title  string `json:"title"`
	Panels []struct {
		Title   string `json:"title"`
		Type    string `json:"type"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func dashboardExprs(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("portcullis/dashboards/portcullis.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard has no uid/title")
	}
	var exprs []string
	for _, p := range d.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	return exprs
}

func TestDashboardDrawsEveryMetric(t *testing.T) {
	all := strings.Join(dashboardExprs(t), "\n")
	for _, m := range dashboardMetrics {
		if !strings.Contains(all, m) {
			t.Errorf("no panel queries %s", m)
		}
	}
}

// TestDashboardQueriesParse has promtool parse every query (Grafana's
// variables replaced by what they expand to).
func TestDashboardQueriesParse(t *testing.T) {
	promtool := lookTool(t, "promtool")
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: portcullis-dashboard\n    rules:\n")
	for i, e := range dashboardExprs(t) {
		e = strings.NewReplacer("$__rate_interval", "5m", "$job", ".*").Replace(e)
		q, _ := json.Marshal(e)
		fmt.Fprintf(&rules, "      - record: dashboard:query_%d\n        expr: %s\n", i, q)
	}
	file := filepath.Join(t.TempDir(), "rules.yaml")
	writeFile(t, file, []byte(rules.String()))
	if out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}
