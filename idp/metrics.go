package idp

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/portcullis/portcullis/internal/metricsreg"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the idp collectors listed under Operations in README.md,
// registered on the Registerer of Config (or on nothing).
type metrics struct {
	providerDuration *prometheus.HistogramVec
	bearer           *prometheus.CounterVec
	// Pre-resolved children: the cached bearer path does no label lookup.
	bearerCacheValid prometheus.Counter
	bearerInvalid    map[string]prometheus.Counter
	bearerValid      map[string]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		providerDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "portcullis", Name: "provider_request_duration_seconds",
			Help:    "Duration of requests to the identity provider by endpoint.",
			Buckets: prometheus.DefBuckets,
		}, []string{"endpoint"}),
		bearer: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "portcullis", Name: "bearer_verifications_total",
			Help: "Bearer token verifications by result and source.",
		}, []string{"result", "source"}),
		bearerInvalid: map[string]prometheus.Counter{},
		bearerValid:   map[string]prometheus.Counter{},
	}
	if reg != nil {
		// A client rebuilt on reload reuses the collectors already registered.
		var err error
		if m.providerDuration, err = register(reg, m.providerDuration); err != nil {
			return nil, err
		}
		if m.bearer, err = register(reg, m.bearer); err != nil {
			return nil, err
		}
	}
	for _, src := range []string{"cache", "jwt", "introspection"} {
		m.bearerValid[src] = m.bearer.WithLabelValues("valid", src)
		m.bearerInvalid[src] = m.bearer.WithLabelValues("invalid", src)
	}
	m.bearerCacheValid = m.bearerValid["cache"]
	return m, nil
}

// register registers c on reg, reusing a collector registered before (a
// component rebuilt on reload keeps counting on the same series).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	c, err := metricsreg.Register(reg, c)
	if err != nil {
		return c, fmt.Errorf("idp: registering metrics: %w", err)
	}
	return c, nil
}

type endpointKey struct{}

// withEndpoint labels the provider requests made with ctx.
func withEndpoint(ctx context.Context, endpoint string) context.Context {
	return context.WithValue(ctx, endpointKey{}, endpoint)
}

// timedTransport records provider_request_duration_seconds for every
// request, labelled by the endpoint set with withEndpoint.
type timedTransport struct {
	base http.RoundTripper
	hist *prometheus.HistogramVec
}

func (t *timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ep, _ := r.Context().Value(endpointKey{}).(string)
	if ep == "" {
		ep = "other"
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	t.hist.WithLabelValues(ep).Observe(time.Since(start).Seconds())
	return resp, err
}

// instrumentedClient copies hc with a transport that records durations;
// everything else of hc (its redirect rule, its timeout) stays.
func instrumentedClient(hc *http.Client, hist *prometheus.HistogramVec) *http.Client {
	c := *hc
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = &timedTransport{base: base, hist: hist}
	return &c
}
