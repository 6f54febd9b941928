package idp

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	if resp != nil && resp.Body != nil {
		limit := int64(maxProviderBody)
		if ep == "directory" {
			limit = maxDirectoryBody
		}
		resp.Body = &boundedBody{rc: resp.Body, left: limit}
	}
	return resp, err
}

// Bounds of a provider answer's body, for every reader: go-oidc reads a
// discovery answer whole, and quotes a failed one in its error.
const (
	maxProviderBody  = 1 << 20
	maxDirectoryBody = 4 << 20 // the directory package's own bound on a page
)

// errBodyTooLarge ends the read of a provider answer beyond its bound.
var errBodyTooLarge = errors.New("idp: the provider's answer is larger than the gateway reads")

// boundedBody reads at most left bytes of rc, then fails.
type boundedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// At the bound: one byte more is too large; the end, or an error
		// of the read itself, is passed on as it is.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, errBodyTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *boundedBody) Close() error { return b.rc.Close() }

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
