package main

import (
	"context"
	"net/url"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/internal/redact"
)

// maxExportError is how much of an export error's text is kept before it
// is redacted: the http/protobuf exporter quotes up to 4 MiB of the
// collector's answer, and the log keeps logattr.MaxCause bytes anyway.
const maxExportError = 4 * logattr.MaxCause

// headerRedacted is a span exporter whose errors quote no value of the
// headers OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_TRACES_HEADERS
// send, whole or any run of redact.MinRun bytes of one: the exporters put
// a refused export's answer in their error (the body, the gRPC status
// message) and the SDK logs it, so a collector, or a proxy before it,
// that echoes the request put its API key or bearer token in the log. A
// redirect to another origin, refused (exportOrigin), is reported without
// the url.Error around it, which quotes the Location.
type headerRedacted struct {
	sdktrace.SpanExporter
	values []string
}

// withoutHeaderValues wraps exp: with the values env's OTLP headers
// send, none when it sets none.
func withoutHeaderValues(exp sdktrace.SpanExporter, env func(string) (string, bool)) sdktrace.SpanExporter {
	var values []string
	for _, k := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		list, _ := env(k)
		for _, kv := range strings.Split(list, ",") {
			_, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			// As sent (the SDK decodes the value) and as written.
			if d, err := url.PathUnescape(strings.TrimSpace(v)); err == nil {
				values = append(values, d)
			}
			values = append(values, strings.TrimSpace(v))
		}
	}
	return headerRedacted{exp, values}
}

func (e headerRedacted) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err == nil {
		return nil
	}
	err = asRedirectRefused(err)
	return &exportError{text: redact.Secrets(logattr.Truncate(err.Error(), maxExportError), e.values...), err: err}
}

// exportError is an export error with the headers' values taken out of
// its text; it unwraps to the exporter's.
type exportError struct {
	text string
	err  error
}

func (e *exportError) Error() string { return e.text }
func (e *exportError) Unwrap() error { return e.err }
