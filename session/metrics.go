package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/portcullis/portcullis/internal/metricsreg"

	"github.com/prometheus/client_golang/prometheus"
)

// StoreOptions are the optional collaborators of a store. The zero value
// means no metrics, a discarding logger and the default cache size.
type StoreOptions struct {
	Metrics   prometheus.Registerer // nil = no metrics
	Logger    *slog.Logger          // nil = discard
	CacheSize int                   // opened-session cache entries; 0 = 16384
	// KeepAccessToken keeps sessions' access tokens in the opened-session
	// cache (set it when the access token is sent upstream on every
	// request); without it the cache keeps no token at all.
	KeepAccessToken bool
	// KeepClaims, when not nil, are the only claim paths ("org.id",
	// "https://example.com/roles") the opened-session cache keeps of a
	// session's claims: those a request's decision or headers read. nil
	// keeps every claim. The others are read again with Store.Full.
	KeepClaims []string
	// NoActiveGauge leaves portcullis_active_sessions to the caller (a
	// gateway that rebuilds stores on reload registers one gauge that counts
	// through its live store: a gauge bound to the first store would count
	// through a connection closed by a later reload).
	NoActiveGauge bool
}

func (o StoreOptions) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func firstOptions(opts []StoreOptions) StoreOptions {
	if len(opts) > 0 {
		return opts[0]
	}
	return StoreOptions{}
}

// Store operations, as metric label values. Every Redis call a serving
// gateway makes counts as one of them, so that the alert on
// portcullis_session_store_errors_total sees a Redis that refuses writes
// (full, a read-only replica) or the gateway's password: load also covers
// Full and the login state's replay check, save the refresh lock and the
// single-use markers, delete the back-channel logout's deletions.
const (
	opLoad = iota
	opSave
	opDelete
	numOps
)

var opNames = [numOps]string{"load", "save", "delete"}

// storeMetrics records portcullis_session_store_duration_seconds{op} and
// portcullis_session_store_errors_total{op}. A nil *storeMetrics records
// nothing.
type storeMetrics struct {
	duration [numOps]prometheus.Observer
	errors   [numOps]prometheus.Counter
}

func newStoreMetrics(reg prometheus.Registerer) (*storeMetrics, error) {
	if reg == nil {
		return nil, nil
	}
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "portcullis",
		Name:      "session_store_duration_seconds",
		Help:      "Time taken by session store operations.",
		Buckets:   []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"op"})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "portcullis",
		Name:      "session_store_errors_total",
		Help:      "Session store operations that failed for another reason than a missing or invalid session.",
	}, []string{"op"})
	var err error
	if dur, err = register(reg, dur); err != nil {
		return nil, err
	}
	if errs, err = register(reg, errs); err != nil {
		return nil, err
	}
	m := &storeMetrics{}
	for op, name := range opNames {
		m.duration[op] = dur.WithLabelValues(name)
		m.errors[op] = errs.WithLabelValues(name)
	}
	return m, nil
}

// register registers c on reg, reusing a collector registered before (a
// component rebuilt on reload keeps counting on the same series).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	c, err := metricsreg.Register(reg, c)
	if err != nil {
		return c, fmt.Errorf("session: registering metrics: %w", err)
	}
	return c, nil
}

// observe records one operation that started at start. ErrNoSession and
// ErrLoggedOut are answers, not store errors, and context.Canceled is the
// request's client gone (or the gateway stopping), not Redis failing: the
// alert on the counter would fire for every browser that hangs up.
// A deadline still counts: the gateway's own bound on a slow Redis.
func (m *storeMetrics) observe(op int, start time.Time, err error) {
	if m == nil {
		return
	}
	m.duration[op].Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, ErrNoSession) && !errors.Is(err, ErrLoggedOut) && !errors.Is(err, context.Canceled) {
		m.errors[op].Inc()
	}
}
