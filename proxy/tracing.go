package proxy

import (
	"io"
	"net/http"
	"strconv"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/policy"
)

// tracerName is the instrumentation scope of the proxy's spans.
const tracerName = "github.com/portcullis/portcullis/proxy"

// tracing holds what the handler needs to record OpenTelemetry spans. A nil
// *tracing (Config.Tracer nil) means no span is started and no OTel code
// runs per request.
type tracing struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	// methods are the methods spans name: the standard ones and those the
	// routes name (policy.Table.Methods, without its stand-in).
	methods map[string]bool
}

func newTracing(tp trace.TracerProvider, routes *policy.Table) *tracing {
	if tp == nil {
		return nil
	}
	t := &tracing{tracer: tp.Tracer(tracerName), prop: propagation.TraceContext{}, methods: map[string]bool{}}
	ms := routes.Methods()
	for _, m := range ms[:len(ms)-1] {
		t.methods[m] = true
	}
	return t
}

// maxMethodOriginal bounds http.request.method_original.
const maxMethodOriginal = 64

// method returns the span name's method and the method attributes of m. A
// span's name is indexed by trace back ends and is a label of the span
// metrics made from spans, so it must not be a value the client chose: a
// method neither standard nor named by a route is "HTTP" in the name and
// "_OTHER" in http.request.method (OpenTelemetry's HTTP conventions), with
// the original, cut, in http.request.method_original.
func (t *tracing) method(m string) (string, []attribute.KeyValue) {
	if t.methods[m] {
		return m, []attribute.KeyValue{attribute.String("http.request.method", m)}
	}
	if len(m) > maxMethodOriginal {
		m = m[:maxMethodOriginal]
	}
	return "HTTP", []attribute.KeyValue{attribute.String("http.request.method", "_OTHER"),
		attribute.String("http.request.method_original", m)}
}

// serveTraced runs one request inside a server span. The W3C trace context
// of the incoming request is continued only when the peer is a trusted
// proxy; anyone else starts a new trace, so clients cannot attach the
// gateway's spans to traces of their choosing. The span carries the method,
// the route and the outcome, never the query string, tokens or cookies; its
// path is cut as the request log's is (maxLoggedPath).
func (h *Handler) serveTraced(ex *exchange, r *http.Request) {
	ctx := r.Context()
	name, attrs := h.tracing.method(r.Method)
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(append(attrs, attribute.String("network.peer.address", ex.peer.String()))...)}
	if ex.trusted {
		ctx = h.tracing.prop.Extract(ctx, propagation.HeaderCarrier(r.Header))
	} else {
		opts = append(opts, trace.WithNewRoot())
	}
	ctx, span := h.tracing.tracer.Start(ctx, name, opts...)
	// Deferred, like finish: an answer the client aborted ends in a panic.
	defer h.endSpan(ex, span, name)
	h.serve(ex, r.WithContext(ctx))
	ex.returned = true
}

// endSpan records the decision and the answer on the server span and ends it.
func (h *Handler) endSpan(ex *exchange, span trace.Span, name string) {
	status := ex.sentStatus()
	attrs := []attribute.KeyValue{
		attribute.Int("http.response.status_code", status),
		attribute.String("portcullis.route", ex.label),
		attribute.String("portcullis.outcome", ex.outcome().String()),
	}
	if ex.path != "" {
		attrs = append(attrs, attribute.String("url.path", logattr.Value(ex.path, maxLoggedPath)))
	}
	if ex.host.Name != "" { // parsed: never the client's raw Host
		attrs = append(attrs, attribute.String("server.address", ex.host.Name))
	}
	if route := ex.dec.route; route != nil {
		attrs = append(attrs, attribute.String("http.route", route.Path))
		span.SetName(name + " " + route.Path)
	}
	span.SetAttributes(attrs...)
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}

// evaluate applies the route's rules to the identity, in a span of its own
// when tracing is on.
func (h *Handler) evaluate(ex *exchange, r *http.Request, route *policy.Route) portcullis.Decision {
	if h.tracing == nil || ex.explain != nil { // an explained request is not traced
		return route.Evaluate(ex.id)
	}
	_, span := h.tracing.tracer.Start(r.Context(), "policy.evaluate",
		trace.WithAttributes(attribute.String("portcullis.route", route.Key())))
	d := route.Evaluate(ex.id)
	span.SetAttributes(attribute.String("portcullis.decision", d.Outcome.String()))
	if d.Reason != "" {
		span.SetAttributes(attribute.String("portcullis.reason", d.Reason))
	}
	span.End()
	return d
}

// tracedTransport wraps an upstream transport: every upstream call gets a
// client span, and the W3C traceparent header carries its context upstream.
// It is written here rather than taken from otelhttp because otelhttp
// records the full URL, query string included.
type tracedTransport struct {
	base     http.RoundTripper
	tracing  *tracing
	upstream string
}

func (t *tracedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	_, method := t.tracing.method(req.Method)
	ctx, span := t.tracing.tracer.Start(req.Context(), "upstream "+t.upstream,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(method...),
		trace.WithAttributes(
			attribute.String("server.address", req.URL.Host),
			// Escaped, as the server span's and the log's: the decoded path
			// carries what a client escaped (U+202E, which reorders what a
			// trace viewer shows).
			attribute.String("url.path", logattr.Value(req.URL.EscapedPath(), maxLoggedPath)),
			attribute.String("portcullis.upstream", t.upstream),
		))
	// A RoundTripper must not modify the request it is given.
	out := req.Clone(ctx)
	out.Header.Del("Traceparent")
	out.Header.Del("Tracestate")
	t.tracing.prop.Inject(ctx, propagation.HeaderCarrier(out.Header))
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		// As the log line shows it: without what the request carried, cut
		// and printable (the text quotes the peer's bytes).
		span.SetStatus(codes.Error, logattr.Value(sentRedacted(out, err).Error(), logattr.MaxCause))
		span.End()
		return nil, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(resp.StatusCode))
	}
	if resp.StatusCode == http.StatusSwitchingProtocols || resp.Body == nil || resp.Body == http.NoBody {
		// An upgraded connection's body must stay an io.ReadWriteCloser
		// for the reverse proxy: the span ends at the upgrade.
		span.End()
		return resp, nil
	}
	resp.Body = &spanBody{ReadCloser: resp.Body, span: span}
	return resp, nil
}

// spanBody ends the upstream span when the response body is closed, so the
// span covers streamed responses.
type spanBody struct {
	io.ReadCloser
	span trace.Span
	once sync.Once
}

func (b *spanBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { b.span.End() })
	return err
}
