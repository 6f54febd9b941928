package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestExportErrorsNeverQuoteTheHeaders: the OTLP exporters put a refused
// export's answer in their error (http/protobuf: the body, up to 4 MiB;
// grpc: the status message), and the SDK logs it. A collector, or a proxy
// in front of it, that echoes the request it refused put the headers of
// OTEL_EXPORTER_OTLP_HEADERS, an API key or a bearer token, in the log.
func TestExportErrorsNeverQuoteTheHeaders(t *testing.T) {
	const key, tok = "k3yV4lue0123456789abcdef", "Zq3vN8sLw0PbT1xYk5Hd/7Gm2Rc9Ue4Af"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("refused: x-api-key=" + r.Header.Get("X-Api-Key") + " authorization=" + r.Header.Get("Authorization")))
	}))
	defer srv.Close()
	env := setOTELEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL,
		"OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=" + key + ",authorization=Bearer%20" + strings.ReplaceAll(tok, "/", "%2F")})
	exp, _, err := tracingSetup(context.Background(), env)
	if err != nil || exp == nil {
		t.Fatalf("tracingSetup: %v, %v", exp, err)
	}
	defer exp.Shutdown(context.Background())
	err = exp.ExportSpans(context.Background(), []sdktrace.ReadOnlySpan{tracetest.SpanStub{Name: "x"}.Snapshot()})
	if err == nil {
		t.Fatal("no error")
	}
	for _, v := range []string{key[:8], key[16:], tok[:8], tok[24:]} {
		if strings.Contains(err.Error(), v) {
			t.Errorf("the error quotes a header's value (%s): %v", v, err)
		}
	}
	if !strings.Contains(err.Error(), "refused: x-api-key=") || !strings.Contains(err.Error(), "400") {
		t.Errorf("the rest of the answer is lost: %v", err)
	}
}
