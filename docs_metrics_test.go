package portcullis_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// A metric the docs, the dashboard or the alert rules name is one the
// gateway registers, with the labels they write; and the metrics table of
// docs/operations.md lists every metric the gateway registers, with its
// labels. A renamed metric or label leaves a dashboard panel or an alert
// silently empty, so it fails here instead.

func TestDocsMetricsAreRegistered(t *testing.T) {
	code := registeredMetrics(t, ".")
	if len(code) < 10 {
		t.Fatalf("found only %d metrics in the code; the parser no longer matches it: %v", len(code), code)
	}
	table := operationsMetricsTable(t)
	for name, labels := range code {
		doc, ok := table[name]
		switch {
		case !ok:
			t.Errorf("docs/operations.md#metrics does not list %s", name)
		case !slices.Equal(doc, labels):
			t.Errorf("docs/operations.md#metrics gives %s the labels %q; the code registers %q", name, doc, labels)
		}
	}
	for name := range table {
		if _, ok := code[name]; !ok {
			t.Errorf("docs/operations.md#metrics lists %s, which the gateway does not register", name)
		}
	}
	for _, file := range metricReaders(t) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range metricUseProblems(string(b), code) {
			t.Errorf("%s: %s", file, p)
		}
	}
}

// TestMetricUseProblems: the checker catches an unknown metric, an unknown
// label and a histogram suffix on a counter.
func TestMetricUseProblems(t *testing.T) {
	code := map[string][]string{"requests_total": {"outcome"}, "request_duration_seconds": {"route"}}
	text := `rate(portcullis_requests_total{outcome="error"}[5m]) portcullis_request_duration_seconds_bucket{job=~"$job"}
portcullis_request_duration_seconds portcullis_logins_total portcullis_requests_total{reason="x", job="j"}
portcullis_requests_total_bucket $upstream_http_x_portcullis_jwt_assertion portcullis_X.Y.Z_OS_ARCH.tar.gz`
	got := strings.Join(metricUseProblems(text, code), "\n")
	want := strings.Join([]string{
		"portcullis_logins_total: no such metric",
		`portcullis_requests_total: no label "reason"`,
		"portcullis_requests_total_bucket: no such metric",
	}, "\n")
	if got != want {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
}

// metricName is a metric in a document, with the label selector or
// grouping that follows it. A name that continues a longer identifier
// ($upstream_http_x_portcullis_...) is not one.
var metricName = regexp.MustCompile(`(^|[^A-Za-z0-9_$])portcullis_([a-z_]+[a-z])(\{[^}]*\})?`)

// metricLabel is a label name inside a selector: `name="`, `name=~`, `name!=`
// or a bare name (`{source}`).
var metricLabel = regexp.MustCompile(`([a-z_]+)\s*(?:=~|!~|!=|=|,|$)`)

// metricUseProblems lists the metric names and labels of text that the code
// does not register. Histograms are read through _bucket, _sum and _count;
// Prometheus's job and instance labels are the scraper's.
func metricUseProblems(text string, code map[string][]string) []string {
	var out []string
	for _, m := range metricName.FindAllStringSubmatch(text, -1) {
		name, sel := m[2], m[3]
		labels, ok := code[name]
		if !ok {
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				base := strings.TrimSuffix(name, suf)
				if l, found := code[base]; base != name && found && strings.HasSuffix(base, "_seconds") {
					labels, ok = l, true
				}
			}
		}
		if !ok {
			out = append(out, "portcullis_"+name+": no such metric")
			continue
		}
		if strings.Contains(sel, "{{") {
			continue // a Helm template builds the selector
		}
		for _, l := range metricLabel.FindAllStringSubmatch(strings.Trim(sel, "{}"), -1) {
			if l[1] != "job" && l[1] != "instance" && !slices.Contains(labels, l[1]) {
				out = append(out, "portcullis_"+name+": no label "+strconv.Quote(l[1]))
			}
		}
	}
	return out
}

// metricReaders are the files that name metrics for a reader: the
// Markdown, the dashboard and the chart's alert rules.
func metricReaders(t *testing.T) []string {
	files := markdownFiles(t, ".")
	return append(files, "charts/portcullis/dashboards/portcullis.json",
		"charts/portcullis/templates/prometheusrule.yaml")
}

// operationsMetricsTable reads the table under "## Metrics" in
// docs/operations.md: metric name (without the namespace) to its labels.
func operationsMetricsTable(t *testing.T) map[string][]string {
	b, err := os.ReadFile(filepath.Join("docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Metrics\n")
	if !ok {
		t.Fatal("docs/operations.md has no ## Metrics section")
	}
	section, _, _ = strings.Cut(section, "\n#")
	code := regexp.MustCompile("`([a-z_]+)`")
	table := map[string][]string{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || strings.TrimSpace(cells[1]) == "metric" {
			continue
		}
		var labels []string
		for _, m := range code.FindAllStringSubmatch(cells[2], -1) {
			labels = append(labels, m[1])
		}
		for _, m := range code.FindAllStringSubmatch(cells[1], -1) {
			table[m[1]] = labels
		}
	}
	if len(table) == 0 {
		t.Fatal("docs/operations.md#metrics: no table rows found")
	}
	return table
}

// registeredMetrics finds, in the module's non-test Go files, every
// prometheus.New*(prometheus.*Opts{Namespace: "portcullis", Name: ...},
// []string{labels...}) call: metric name (without the namespace) to its
// labels. A Namespace that is an identifier is resolved through the
// file's string constants.
func registeredMetrics(t *testing.T, root string) map[string][]string {
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, 0)
		if err != nil {
			return err
		}
		consts := stringConsts(f)
		ast.Inspect(f, func(n ast.Node) bool {
			if name, labels, ok := metricCall(n, consts); ok {
				out[name] = labels
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// metricCall reads a prometheus.NewX(prometheus.XOpts{...}, ...) call.
func metricCall(n ast.Node, consts map[string]string) (string, []string, bool) {
	call, ok := n.(*ast.CallExpr)
	if !ok || len(call.Args) == 0 {
		return "", nil, false
	}
	lit, ok := call.Args[0].(*ast.CompositeLit)
	if !ok {
		return "", nil, false
	}
	sel, ok := lit.Type.(*ast.SelectorExpr)
	if !ok || !strings.HasSuffix(sel.Sel.Name, "Opts") {
		return "", nil, false
	}
	fields := map[string]string{}
	for _, e := range lit.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		key, _ := kv.Key.(*ast.Ident)
		if key != nil {
			fields[key.Name] = stringValue(kv.Value, consts)
		}
	}
	if fields["Namespace"] != "portcullis" || fields["Name"] == "" {
		return "", nil, false
	}
	var labels []string
	if len(call.Args) > 1 {
		if l, ok := call.Args[1].(*ast.CompositeLit); ok {
			for _, e := range l.Elts {
				labels = append(labels, stringValue(e, consts))
			}
		}
	}
	name := fields["Name"]
	if s := fields["Subsystem"]; s != "" {
		name = s + "_" + name
	}
	return name, labels, true
}

func stringValue(e ast.Expr, consts map[string]string) string {
	switch v := e.(type) {
	case *ast.BasicLit:
		s, err := strconv.Unquote(v.Value)
		if err == nil {
			return s
		}
	case *ast.Ident:
		return consts[v.Name]
	}
	return ""
}

// stringConsts are the file's constants of one string literal, at any
// scope (const ns = "portcullis" inside a function).
func stringConsts(f *ast.File) map[string]string {
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		gd, ok := n.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			return true
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if i < len(vs.Values) {
					out[name.Name] = stringValue(vs.Values[i], nil)
				}
			}
		}
		return true
	})
	return out
}
