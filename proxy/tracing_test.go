package proxy

import (
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/portcullis/portcullis/policy"
)

func spanAttrs(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value.String()
	}
	return m
}

func TestTracing(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	f := newFixture(t, func(c *Config) { c.Tracer = tp })
	cookies := f.cookies(t, f.session())

	const clientParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	tests := []struct {
		name, target, remote string
		opts                 []reqOption
		wantSpans            []string // names, in end order
		wantOutcome          string
		wantParent           bool // the client's trace is continued
	}{
		{name: "allowed from a client", target: "/app/x?code=secret-code", remote: "192.0.2.7:5555",
			opts:      []reqOption{withCookies(cookies)},
			wantSpans: []string{"policy.evaluate", "upstream app", "GET /app/**"}, wantOutcome: "allowed"},
		{name: "trusted proxy continues the trace", target: "/app/y", remote: "10.1.2.3:4444",
			opts:      []reqOption{withCookies(cookies)},
			wantSpans: []string{"policy.evaluate", "upstream app", "GET /app/**"}, wantOutcome: "allowed", wantParent: true},
		{name: "denied", target: "/denied/x", remote: "192.0.2.7:5555",
			opts:      []reqOption{withCookies(cookies)},
			wantSpans: []string{"policy.evaluate", "GET /denied/**"}, wantOutcome: "denied"},
		{name: "no route", target: "/nothing", remote: "192.0.2.7:5555",
			wantSpans: []string{"GET"}, wantOutcome: "no_route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.Reset()
			before := f.up.count()
			opts := append([]reqOption{func(r *http.Request) {
				r.RemoteAddr = tt.remote
				r.Header.Set("Traceparent", clientParent)
				r.Header.Set("Tracestate", "client=1")
			}}, tt.opts...)
			f.do(t, "GET", tt.target, nil, opts...)
			spans := rec.Ended()
			var names []string
			for _, s := range spans {
				names = append(names, s.Name())
			}
			if strings.Join(names, ",") != strings.Join(tt.wantSpans, ",") {
				t.Fatalf("spans = %q, want %q", names, tt.wantSpans)
			}
			server := spans[len(spans)-1]
			if server.SpanKind() != trace.SpanKindServer {
				t.Errorf("last span kind = %v, want server", server.SpanKind())
			}
			a := spanAttrs(server)
			if a["portcullis.outcome"] != tt.wantOutcome {
				t.Errorf("outcome attribute = %q, want %q", a["portcullis.outcome"], tt.wantOutcome)
			}
			for _, s := range spans {
				for k, v := range spanAttrs(s) {
					if strings.Contains(v, "secret-code") || strings.Contains(v, "at-0") {
						t.Errorf("span %s attribute %s leaks %q", s.Name(), k, v)
					}
				}
				if s.SpanContext().TraceID() != server.SpanContext().TraceID() {
					t.Errorf("span %s is in another trace", s.Name())
				}
			}
			continued := server.Parent().TraceID().String() == "0af7651916cd43dd8448eb211c80319c"
			if continued != tt.wantParent {
				t.Errorf("client trace continued = %v, want %v", continued, tt.wantParent)
			}
			if f.up.count() == before {
				return
			}
			got := f.up.last(t).Header
			up := spans[len(spans)-2]
			want := "00-" + up.SpanContext().TraceID().String() + "-" + up.SpanContext().SpanID().String() + "-01"
			if got.Get("Traceparent") != want {
				t.Errorf("upstream traceparent = %q, want %q", got.Get("Traceparent"), want)
			}
			if got.Get("Tracestate") != "" && !tt.wantParent {
				t.Errorf("a client's tracestate was forwarded: %q", got.Get("Tracestate"))
			}
		})
	}
}

// TestNoTracing checks that without a TracerProvider the client's trace
// headers pass through untouched and nothing is added.
func TestNoTracing(t *testing.T) {
	f := newFixture(t)
	f.do(t, "GET", "/app/x", nil, withCookies(f.cookies(t, f.session())), func(r *http.Request) {
		r.Header.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	})
	if got := f.up.last(t).Header.Get("Traceparent"); got != "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" {
		t.Errorf("traceparent = %q", got)
	}
}

// TestTracingMethodBounded: span names (which trace back ends index, and
// from which span metrics make a Prometheus label) and the method attribute
// were the request's method as sent, so a client could create a span name
// per request ("A1 /public/**", "A2 /public/**", ..., each up to the 64 KiB
// of a request line) and flood the operator's tracing store and the span
// metrics made from it. A method neither standard nor named by a route is
// "HTTP" in the name and "_OTHER" in http.request.method (OpenTelemetry's
// HTTP conventions), with the original, cut, in http.request.method_original.
func TestTracingMethodBounded(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	f := newFixture(t, func(c *Config) { c.Tracer = tp })
	long := strings.Repeat("Z", 4096)
	for i := 0; i < 50; i++ {
		m := "M" + strings.Repeat("X", i) + long
		f.do(t, m, "/public/x", nil)
		f.do(t, m, "/nothing", nil)
	}
	f.do(t, "PATCH", "/public/x", nil)
	names, methods := map[string]bool{}, map[string]bool{}
	for _, s := range rec.Ended() {
		names[s.Name()] = true
		a := spanAttrs(s)
		if m, ok := a["http.request.method"]; ok {
			methods[m] = true
		}
		if o := a["http.request.method_original"]; len(o) > 64 {
			t.Errorf("span %.40s: http.request.method_original of %d bytes", s.Name(), len(o))
		}
	}
	if len(names) > 6 || len(methods) > 2 {
		t.Errorf("100 requests with 50 made-up methods made %d span names and %d method values", len(names), len(methods))
	}
	for _, want := range []string{"HTTP /public/**", "HTTP", "upstream app", "PATCH /public/**"} {
		if !names[want] {
			t.Errorf("no span named %q", want)
		}
	}
	if !methods["_OTHER"] || !methods["PATCH"] {
		t.Errorf("http.request.method values = %v, want _OTHER and PATCH", methods)
	}
}

// TestTracingRouteMethodKept: a method a route names is bounded by the
// configuration and keeps its name. The route names GET too: a PROPFIND is
// decided as a GET as well (policy.Effects).
func TestTracingRouteMethodKept(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	f := newFixture(t, func(c *Config) {
		c.Tracer = tp
		table, err := policy.Compile(append([]policy.RouteConfig{{Path: "/dav/**", Public: true, Methods: []string{"PROPFIND", "GET"}}}, testRoutes...))
		if err != nil {
			t.Fatal(err)
		}
		c.Routes = table
	})
	f.do(t, "PROPFIND", "/dav/x", nil)
	spans := rec.Ended()
	server := spans[len(spans)-1]
	if server.Name() != "PROPFIND /dav/**" || spanAttrs(server)["http.request.method"] != "PROPFIND" {
		t.Errorf("span %q, method %q", server.Name(), spanAttrs(server)["http.request.method"])
	}
}

// TestTracingPathBounded: url.path, of the server span and of the upstream
// span, is cut as the request log's path is: a 40 KB path of raw UTF-8
// was a 120 KB attribute on each, three times what the client sent.
func TestTracingPathBounded(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	f := newFixture(t, func(c *Config) { c.Tracer = tp })
	f.do(t, "GET", "/public/"+strings.Repeat("é", 20000), nil)
	seen := map[string]bool{}
	for _, s := range rec.Ended() {
		p, ok := spanAttrs(s)["url.path"]
		if !ok {
			continue
		}
		seen[s.Name()] = true
		if len(p) > maxLoggedPath+len("…") || !strings.HasSuffix(p, "…") {
			t.Errorf("span %q: url.path of %d bytes: %.80s", s.Name(), len(p), p)
		}
	}
	if !seen["GET /public/**"] || !seen["upstream app"] {
		t.Errorf("spans with url.path: %v", seen)
	}
}

// TestTracingPathPrintable: the upstream span's url.path is the path as
// sent, escaped, as the server span's and the log's are: the decoded path
// put a client's bidirectional override (U+202E), which reorders what a
// trace viewer shows, into the span as it was.
func TestTracingPathPrintable(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	f := newFixture(t, func(c *Config) { c.Tracer = tp })
	f.do(t, "GET", "/public/%E2%80%AEfdp.exe", nil)
	seen := 0
	for _, s := range rec.Ended() {
		p, ok := spanAttrs(s)["url.path"]
		if !ok {
			continue
		}
		seen++
		if strings.ContainsRune(p, '\u202e') || !strings.Contains(p, "%E2%80%AEfdp.exe") {
			t.Errorf("span %q: url.path %q", s.Name(), p)
		}
	}
	if seen != 2 {
		t.Errorf("%d spans with url.path, want the server's and the upstream's", seen)
	}
}
