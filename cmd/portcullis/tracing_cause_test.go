package main

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestProviderSpanStatusKeepsTheQueryOut: otelhttp makes a failed call's
// span status of the transport's error as it comes, and Go's transport
// quotes an echoing peer's first line, the request line: the status of a
// directory read's span was "malformed HTTP status code
// \"/groups?userKey=alice%40example.com...\"", the query the span's
// url.full leaves out. It keeps the cause without the query or the token,
// and the caller's error still unwraps to the transport's.
func TestProviderSpanStatusKeepsTheQueryOut(t *testing.T) {
	const user, token = "alice@example.com", "ya29.directory-token-0123456789"
	rec := tracetest.NewSpanRecorder()
	hc := tracedProviderClient(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	req, _ := http.NewRequest("GET", testenv.LineEcho(t)+"/groups?userKey="+url.QueryEscape(user), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	_, err := hc.Do(req)
	var ue *url.Error
	if err == nil || !errors.As(err, &ue) {
		t.Fatalf("a call to an echo: %v, want a *url.Error", err)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	status := spans[0].Status().Description
	for _, s := range []string{"userKey", url.QueryEscape(user), user, "directory-token"} {
		// The client's *url.Error names the URL whole: its callers show
		// it without the query (the directory's redactURL).
		if strings.Contains(status, s) || strings.Contains(ue.Err.Error(), s) {
			t.Errorf("the span's status or the transport's error names %q: %q; %q", s, status, ue.Err)
		}
	}
	if !strings.Contains(status, `malformed HTTP status code "/groups?[redacted]"`) {
		t.Errorf("the span's status lost the cause: %q", status)
	}
}

// TestSentCauseIsPrintableAndCut: the status is shown as the log's err
// is, a peer's bidirectional override and C1 controls replaced and its
// length bounded; an error quoting nothing is returned as it is.
func TestSentCauseIsPrintableAndCut(t *testing.T) {
	out, _ := http.NewRequest("GET", "http://dir.example/groups", nil)
	got := sentCause(out, errors.New("malformed HTTP status code \"\u202efdp.exe\u009b31m"+strings.Repeat("x", 4096)+"\""))
	if s := got.Error(); strings.ContainsAny(s, "\u202e\u009b") || len(s) > 1100 {
		t.Errorf("sentCause = %d bytes, %.80q", len(s), s)
	}
	plain := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	if sentCause(out, plain) != plain {
		t.Errorf("an error quoting nothing sent is wrapped: %v", sentCause(out, plain))
	}
}
