package proxy

import (
	"fmt"
	"sync"
	"time"

	"github.com/portcullis/portcullis/internal/metricsreg"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the proxy's Prometheus metrics (namespace "portcullis"). A nil
// *metrics records nothing.
type metrics struct {
	requests         *prometheus.CounterVec   // route, method_class, outcome
	duration         *prometheus.HistogramVec // route, outcome
	upstreamDuration *prometheus.HistogramVec // upstream
	logins           *prometheus.CounterVec   // result, reason
	logouts          *prometheus.CounterVec   // kind
	refreshes        *prometheus.CounterVec   // result

	// series caches the request series resolved per (route, method class,
	// outcome), so that a request costs one lock-free lookup instead of
	// hashing and validating labels twice.
	series sync.Map // seriesKey -> *requestSeries
	// upstreams caches the upstream-duration series per upstream name.
	upstreams sync.Map // string -> prometheus.Observer
}

type seriesKey struct{ route, class, outcome string }

// requestSeries are the two series one request observes.
type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	const ns = "portcullis"
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "requests_total",
			Help: "Requests by route, method class and outcome."}, []string{"route", "method_class", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "request_duration_seconds",
			Help: "Time to answer a request, by route and outcome.", Buckets: prometheus.DefBuckets},
			[]string{"route", "outcome"}),
		upstreamDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns,
			Name: "upstream_duration_seconds", Help: "Time spent forwarding to an upstream.",
			Buckets: prometheus.DefBuckets}, []string{"upstream"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "logins_total",
			Help: "Logins by result and reason."}, []string{"result", "reason"}),
		logouts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "logouts_total",
			Help: "Sessions ended, by kind and result."}, []string{"kind", "result"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "refreshes_total",
			Help: "Access-token refreshes by result."}, []string{"result"}),
	}
	var err error
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.upstreamDuration, err = register(reg, m.upstreamDuration); err != nil {
		return nil, err
	}
	if m.logins, err = register(reg, m.logins); err != nil {
		return nil, err
	}
	if m.logouts, err = register(reg, m.logouts); err != nil {
		return nil, err
	}
	if m.refreshes, err = register(reg, m.refreshes); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c on reg, reusing a collector registered before (a
// component rebuilt on reload keeps counting on the same series).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	c, err := metricsreg.Register(reg, c)
	if err != nil {
		return c, fmt.Errorf("proxy: registering metrics: %w", err)
	}
	return c, nil
}

// methodClass is "read" for GET, HEAD and OPTIONS and "write" otherwise.
func methodClass(method string) string {
	switch method {
	case "GET", "HEAD", "OPTIONS":
		return "read"
	}
	return "write"
}

func (m *metrics) request(route, method, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	s := m.requestSeries(seriesKey{route, methodClass(method), outcome})
	s.count.Inc()
	s.duration.Observe(d.Seconds())
}

// requestSeries returns the cached series for k, resolving them on first
// use. The label values are the gateway's own (route keys, outcomes), never
// client input, so the cache is bounded by the configuration.
func (m *metrics) requestSeries(k seriesKey) *requestSeries {
	if s, ok := m.series.Load(k); ok {
		return s.(*requestSeries)
	}
	s := &requestSeries{count: m.requests.WithLabelValues(k.route, k.class, k.outcome),
		duration: m.duration.WithLabelValues(k.route, k.outcome)}
	actual, _ := m.series.LoadOrStore(k, s)
	return actual.(*requestSeries)
}

func (m *metrics) upstream(name string, d time.Duration) {
	if m == nil {
		return
	}
	o, ok := m.upstreams.Load(name)
	if !ok {
		o, _ = m.upstreams.LoadOrStore(name, m.upstreamDuration.WithLabelValues(name))
	}
	o.(prometheus.Observer).Observe(d.Seconds())
}

func (m *metrics) login(result, reason string) {
	if m == nil {
		return
	}
	m.logins.WithLabelValues(result, reason).Inc()
}

// logout counts a session ended by kind (sign_out, backchannel, replaced)
// with its result: "ended", or "store_failed" when the session store could
// not end it (the browser's cookie is cleared all the same).
func (m *metrics) logout(kind, result string) {
	if m == nil {
		return
	}
	m.logouts.WithLabelValues(kind, result).Inc()
}

func (m *metrics) refresh(result string) {
	if m == nil {
		return
	}
	m.refreshes.WithLabelValues(result).Inc()
}
