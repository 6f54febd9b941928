package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"golang.org/x/net/http/httpguts"

	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/internal/redact"
)

// Tracing is off unless the environment asks for it: OTEL_TRACES_EXPORTER
// names an exporter other than "none", or an OTLP endpoint is set
// (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); and
// OTEL_SDK_DISABLED is not "true". Everything else is the OpenTelemetry SDK
// reading the standard variables itself: the exporter and its protocol
// (spanExporter: otlp over http/protobuf or grpc, console), endpoints,
// headers, timeouts and compression (the OTLP exporters), the sampler
// (OTEL_TRACES_SAMPLER, _ARG), batching (OTEL_BSP_*) and the resource
// (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES; service.name defaults to
// "portcullis").
//
// env decides whether tracing is on; the SDK reads the process environment
// (os.Getenv), which env is in production.

// tracingEnabled reports whether env asks for tracing.
func tracingEnabled(env func(string) (string, bool)) bool {
	get := func(k string) string { v, _ := env(k); return strings.TrimSpace(v) }
	if strings.EqualFold(get("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	if exp := get("OTEL_TRACES_EXPORTER"); exp != "" {
		return exp != "none"
	}
	return get("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// tracingSetup builds the span exporter and resource the environment asks
// for, or nils when tracing is off. Building them dials nothing: the OTLP
// exporters connect on their first export. serve and check both reach it
// through buildGateway, so that check refuses exactly the environments
// serve refuses.
func tracingSetup(ctx context.Context, env func(string) (string, bool)) (sdktrace.SpanExporter, *resource.Resource, error) {
	if !tracingEnabled(env) {
		return nil, nil, nil
	}
	if err := checkOTLPEnv(env); err != nil {
		return nil, nil, err
	}
	// The SDK passes the batch sizes to make(): a negative one panics. The
	// delays are milliseconds, 0 meaning none.
	for k, least := range map[string]int{"OTEL_BSP_MAX_QUEUE_SIZE": 1, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": 1,
		"OTEL_BSP_SCHEDULE_DELAY": 0, "OTEL_BSP_EXPORT_TIMEOUT": 0} {
		if v, _ := env(k); strings.TrimSpace(v) != "" {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < least {
				return nil, nil, fmt.Errorf("tracing: %s must be an integer of at least %d, got %q", k, least, v)
			}
		}
	}
	exp, err := spanExporter(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "portcullis"), attribute.String("service.version", version)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		_ = exp.Shutdown(ctx)
		return nil, nil, fmt.Errorf("tracing: resource from OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	return exp, res, nil
}

// checkOTLPEnv refuses the endpoints and headers the SDK would log and
// then do without. An endpoint it cannot parse is logged whole and
// replaced by localhost: spans would go somewhere unintended. A header
// entry it cannot read (no "=", a name that is no HTTP token, a value
// with a broken %-escape: "Authorization: Bearer …" is one) is logged
// whole to standard error, an API key or bearer token with it, and the
// export goes without it. The errors quote an endpoint without its user
// information, query or fragment (shownOTLPEndpoint), and a header entry
// by its position only.
func checkOTLPEnv(env func(string) (string, bool)) error {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		if v, _ := env(k); v != "" {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
				return fmt.Errorf("tracing: %s must be an http(s) URL, got %q", k, shownOTLPEndpoint(v))
			}
		}
	}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		v, _ := env(k)
		if strings.TrimSpace(v) == "" {
			continue
		}
		for i, kv := range strings.Split(v, ",") {
			name, value, ok := strings.Cut(kv, "=")
			if _, err := url.PathUnescape(value); strings.TrimSpace(kv) != "" &&
				(!ok || !httpguts.ValidHeaderFieldName(strings.TrimSpace(name)) || err != nil) {
				return fmt.Errorf("tracing: %s: entry %d is not NAME=VALUE with an HTTP header name and a URL-encoded value "+
					"(not quoted here: it may hold a secret)", k, i+1)
			}
		}
	}
	return nil
}

// shownOTLPEndpoint is an OTLP endpoint as a message may quote it: without
// its user information (the exporters send none), query or fragment, parsed
// or not. Everything up to the last "@" after the scheme goes: a password
// may hold "/", "?", "#" or "@" as written, which no parser agrees on.
// When a "?" or "#" comes before that "@", what follows it may be the rest
// of a query or fragment ("?email=a@b&key=…") as well as the host, and
// nothing after the scheme is shown.
func shownOTLPEndpoint(v string) string {
	scheme, rest := "", v
	if i := strings.Index(v, "://"); i > 0 && !strings.ContainsAny(v[:i], "@:/?#") {
		scheme, rest = v[:i+3], v[i+3:]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 && strings.ContainsAny(rest[:at], "?#") {
		rest = "…"
	} else if at >= 0 {
		rest = "…@" + rest[at+1:]
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	return logattr.Value(strings.ToValidUTF8(scheme+rest, "?"), 200)
}

// spanExporter builds the exporter OTEL_TRACES_EXPORTER names (default
// otlp) over the protocol OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or
// OTEL_EXPORTER_OTLP_PROTOCOL names (default http/protobuf). Only span
// exporters are linked in: Portcullis exports no OpenTelemetry metrics or
// logs, and every exporter package linked is resident in every gateway.
func spanExporter(ctx context.Context, env func(string) (string, bool)) (sdktrace.SpanExporter, error) {
	name, _ := env("OTEL_TRACES_EXPORTER")
	proto, _ := env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto, _ = env("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch {
	case name == "console":
		exp, err = stdouttrace.New()
	case name != "" && name != "otlp":
		err = errors.New("unknown exporter")
	case proto == "" || proto == "http/protobuf":
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithProxy(exportOrigin))
	case proto == "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		err = errors.New("invalid OTLP protocol")
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: OTEL_TRACES_EXPORTER=%q, OTLP protocol %q: %w (exporters: otlp, console, none; protocols: http/protobuf, grpc)",
			name, proto, err)
	}
	return withoutHeaderValues(exp, env), nil
}

// newTracerProvider builds the tracer provider the environment asks for, or
// returns nil when tracing is off (the default; then no exporter and no
// batching goroutine exist).
func newTracerProvider(env func(string) (string, bool)) (*sdktrace.TracerProvider, error) {
	exp, res, err := tracingSetup(context.Background(), env)
	if exp == nil || err != nil {
		return nil, err
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// tracedProviderClient is the HTTP client for provider calls when tracing is
// on: a client span per call, W3C trace context sent along. otelhttp
// records url.full, query included, so it sees each request without its
// query (hideQuery), which is put back before the request goes out
// (restoreQuery): a directory call's query names the user.
func tracedProviderClient(tp *sdktrace.TracerProvider) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: hideQuery{otelhttp.NewTransport(restoreQuery{idp.BackChannelTransport()},
			otelhttp.WithTracerProvider(tp),
			otelhttp.WithPropagators(propagation.TraceContext{}),
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
				return "provider " + r.Method + " " + r.URL.Path
			}))},
	}
}

// fullURL is the context key of a request's URL while hideQuery has taken
// its query away.
type fullURL struct{}

// hideQuery hands base a copy of the request without its query, keeping
// the whole URL in the request's context for restoreQuery.
type hideQuery struct{ base http.RoundTripper }

func (t hideQuery) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.RawQuery == "" && !req.URL.ForceQuery {
		return t.base.RoundTrip(req)
	}
	out := req.Clone(context.WithValue(req.Context(), fullURL{}, req.URL))
	u := *req.URL
	u.RawQuery, u.ForceQuery = "", false
	out.URL = &u
	return t.base.RoundTrip(out)
}

// CloseIdleConnections closes the idle connections of the transport under
// otelhttp's, which does not pass the call on: idp's second try of a call
// whose kept-alive connection closed unanswered dials anew with it.
func (t hideQuery) CloseIdleConnections() { idp.BackChannelTransport().CloseIdleConnections() }

// restoreQuery sends the request with the URL hideQuery kept, and returns
// its failure as the log shows it (sentCause).
type restoreQuery struct{ base http.RoundTripper }

func (t restoreQuery) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req
	if u, ok := req.Context().Value(fullURL{}).(*url.URL); ok {
		out = req.Clone(req.Context())
		out.URL = u
	}
	resp, err := t.base.RoundTrip(out)
	return resp, sentCause(out, err)
}

// sentCause is err, the failure of a provider or directory call out, with
// what out carried taken out (redact.Sent), cut and printable as a log
// line's err: otelhttp makes the call's span status of its text as it
// comes. An echoing directory (or egress proxy) made that status Go's
// "malformed HTTP status code \"/admin/directory/v1/groups?userKey=ann%40acme.com\"",
// the query url.full leaves out, while the log line of the same read had
// it redacted. It still unwraps to err.
func sentCause(out *http.Request, err error) error {
	if err == nil {
		return nil
	}
	err = redact.Sent(out, err, nil)
	return redact.Error(err, logattr.Value(err.Error(), logattr.MaxCause))
}
