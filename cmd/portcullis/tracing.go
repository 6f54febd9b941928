package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// newTracerProvider builds the OpenTelemetry tracer provider that the
// standard OTEL_* environment variables ask for, or returns nil when tracing
// is off (the default). Tracing is on when OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, unless OTEL_SDK_DISABLED=true
// or OTEL_TRACES_EXPORTER=none. Spans go to an OTLP/HTTP (protobuf)
// collector in batches. The variables are read through env so that tests
// need not touch the process environment.
func newTracerProvider(env func(string) (string, bool)) (*sdktrace.TracerProvider, error) {
	get := func(k string) string { v, _ := env(k); return strings.TrimSpace(v) }
	if strings.EqualFold(get("OTEL_SDK_DISABLED"), "true") {
		return nil, nil
	}
	switch exp := get("OTEL_TRACES_EXPORTER"); exp {
	case "", "otlp":
	case "none":
		return nil, nil
	default:
		return nil, fmt.Errorf("tracing: OTEL_TRACES_EXPORTER=%q is not supported (use otlp or none)", exp)
	}
	endpoint := get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if endpoint == "" {
		base := get("OTEL_EXPORTER_OTLP_ENDPOINT")
		if base == "" {
			return nil, nil
		}
		endpoint = strings.TrimSuffix(base, "/") + "/v1/traces"
	}
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tracing: OTLP endpoint must be an http(s) URL, got %q", endpoint)
	}
	opts, err := exporterOptions(get)
	if err != nil {
		return nil, err
	}
	exporter, err := otlptracehttp.New(context.Background(), append(opts, otlptracehttp.WithEndpointURL(endpoint))...)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	sampler, err := samplerFromEnv(get)
	if err != nil {
		return nil, err
	}
	batch, err := batchOptions(get)
	if err != nil {
		return nil, err
	}
	res, err := tracingResource(get)
	if err != nil {
		return nil, err
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter, batch...),
		sdktrace.WithSampler(sampler), sdktrace.WithResource(res)), nil
}

// exporterOptions reads the protocol, headers, timeout and compression of
// the OTLP exporter; the TRACES_ variants win over the general ones.
func exporterOptions(get func(string) string) ([]otlptracehttp.Option, error) {
	either := func(k string) string {
		if v := get("OTEL_EXPORTER_OTLP_TRACES_" + k); v != "" {
			return v
		}
		return get("OTEL_EXPORTER_OTLP_" + k)
	}
	if p := either("PROTOCOL"); p != "" && p != "http/protobuf" {
		return nil, fmt.Errorf("tracing: OTLP protocol %q is not supported (use http/protobuf)", p)
	}
	var opts []otlptracehttp.Option
	headers := map[string]string{}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		if err := parseKeyValues(get(k), headers); err != nil {
			return nil, fmt.Errorf("tracing: %s: %w", k, err)
		}
	}
	if len(headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(headers))
	}
	if v := either("TIMEOUT"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return nil, fmt.Errorf("tracing: OTLP timeout must be a positive number of milliseconds, got %q", v)
		}
		opts = append(opts, otlptracehttp.WithTimeout(time.Duration(ms)*time.Millisecond))
	}
	switch c := either("COMPRESSION"); c {
	case "", "none":
		opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.NoCompression))
	case "gzip":
		opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	default:
		return nil, fmt.Errorf("tracing: OTLP compression %q is not supported (use gzip or none)", c)
	}
	return opts, nil
}

// parseKeyValues adds the comma-separated, percent-encoded key=value pairs
// of s (the W3C Baggage form the OTEL_* variables use) to m.
func parseKeyValues(s string, m map[string]string) error {
	for _, pair := range strings.Split(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			return fmt.Errorf("%q is not key=value", strings.TrimSpace(k))
		}
		key, err1 := url.PathUnescape(strings.TrimSpace(k))
		val, err2 := url.PathUnescape(strings.TrimSpace(v))
		if err1 != nil || err2 != nil || key == "" {
			return fmt.Errorf("bad key=value pair for key %q", strings.TrimSpace(k))
		}
		m[key] = val
	}
	return nil
}

// samplerFromEnv reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG
// (default parentbased_always_on).
func samplerFromEnv(get func(string) string) (sdktrace.Sampler, error) {
	ratio := 1.0
	if arg := get("OTEL_TRACES_SAMPLER_ARG"); arg != "" {
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return nil, fmt.Errorf("tracing: OTEL_TRACES_SAMPLER_ARG must be a number in [0, 1], got %q", arg)
		}
		ratio = r
	}
	switch s := get("OTEL_TRACES_SAMPLER"); s {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	default:
		return nil, fmt.Errorf("tracing: OTEL_TRACES_SAMPLER=%q is not supported", s)
	}
}

// batchOptions reads the OTEL_BSP_* batch span processor settings.
func batchOptions(get func(string) string) ([]sdktrace.BatchSpanProcessorOption, error) {
	var opts []sdktrace.BatchSpanProcessorOption
	for _, s := range []struct {
		key string
		opt func(int) sdktrace.BatchSpanProcessorOption
	}{
		{"OTEL_BSP_SCHEDULE_DELAY", func(n int) sdktrace.BatchSpanProcessorOption {
			return sdktrace.WithBatchTimeout(time.Duration(n) * time.Millisecond)
		}},
		{"OTEL_BSP_EXPORT_TIMEOUT", func(n int) sdktrace.BatchSpanProcessorOption {
			return sdktrace.WithExportTimeout(time.Duration(n) * time.Millisecond)
		}},
		{"OTEL_BSP_MAX_QUEUE_SIZE", sdktrace.WithMaxQueueSize},
		{"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", sdktrace.WithMaxExportBatchSize},
	} {
		v := get(s.key)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("tracing: %s must be a positive integer, got %q", s.key, v)
		}
		opts = append(opts, s.opt(n))
	}
	return opts, nil
}

// tracingResource describes this process: OTEL_RESOURCE_ATTRIBUTES, with
// service.name from OTEL_SERVICE_NAME (default "portcullis") and
// service.version.
func tracingResource(get func(string) string) (*resource.Resource, error) {
	m := map[string]string{}
	if err := parseKeyValues(get("OTEL_RESOURCE_ATTRIBUTES"), m); err != nil {
		return nil, fmt.Errorf("tracing: OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	if name := get("OTEL_SERVICE_NAME"); name != "" {
		m["service.name"] = name
	}
	if m["service.name"] == "" {
		m["service.name"] = "portcullis"
	}
	m["service.version"] = version
	attrs := make([]attribute.KeyValue, 0, len(m))
	for k, v := range m {
		attrs = append(attrs, attribute.String(k, v))
	}
	return resource.NewSchemaless(attrs...), nil
}

// tracedProviderClient is the HTTP client for provider calls when tracing is
// on: a client span per call, W3C trace context sent along.
func tracedProviderClient(tp *sdktrace.TracerProvider) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: otelhttp.NewTransport(http.DefaultTransport,
			otelhttp.WithTracerProvider(tp),
			otelhttp.WithPropagators(propagation.TraceContext{}),
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
				return "provider " + r.Method + " " + r.URL.Path
			})),
	}
}
