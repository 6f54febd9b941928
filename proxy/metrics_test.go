package proxy

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	f := newFixture(t, func(c *Config) { c.Metrics = reg })
	cookies := f.cookies(t, f.session())
	f.do(t, "GET", "/app/x", nil, withCookies(cookies))
	f.do(t, "POST", "/app/x", nil)
	f.do(t, "GET", "/app/x", nil, browser())
	f.do(t, "GET", "/public/x", nil)
	f.do(t, "GET", "/nothing", nil)
	f.do(t, "GET", "/denied/x", nil, withCookies(cookies))
	tests := []struct {
		route, class, outcome string
	}{
		{"4", "read", "allowed"},
		{"4", "write", "unauthenticated"},
		{"4", "read", "login_redirect"},
		{"0", "read", "public"},
		{"none", "read", "no_route"},
		{"deny-all", "read", "denied"}, // a named route is labelled by its name
	}
	for _, tt := range tests {
		c := f.h.metrics.requests.WithLabelValues(tt.route, tt.class, tt.outcome)
		if got := counterValue(t, c); got != 1 {
			t.Errorf("requests_total{%s,%s,%s} = %v, want 1", tt.route, tt.class, tt.outcome, got)
		}
	}
	if got := counterValue(t, f.h.metrics.logins.WithLabelValues("started", "")); got != 1 {
		t.Errorf("logins started = %v", got)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range families {
		if mf.GetName() == "portcullis_upstream_duration_seconds" {
			found = len(mf.GetMetric()) == 1 && mf.GetMetric()[0].GetHistogram().GetSampleCount() == 2
		}
	}
	if !found {
		t.Error("portcullis_upstream_duration_seconds{upstream=\"app\"} did not record the 2 forwarded requests")
	}
	// A handler rebuilt on reload registers again and counts on the same series.
	h2, err := New(f.cfg)
	if err != nil {
		t.Fatalf("second New on the same registry: %v", err)
	}
	if h2.metrics.requests != f.h.metrics.requests {
		t.Error("the rebuilt handler did not reuse the registered requests_total")
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
