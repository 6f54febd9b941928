package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestBadBatchSizeRefused: the SDK hands OTEL_BSP_* sizes to make(), so a
// negative one panicked check and serve; both now exit 2 naming it.
func TestBadBatchSizeRefused(t *testing.T) {
	path := writeConfig(t, "good.toml", checkGood)
	path0 := writeConfig(t, "zero.toml", checkGood)
	t.Run("export timeout 0 (none)", func(t *testing.T) {
		env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_BSP_EXPORT_TIMEOUT": "0"}
		setOTELEnv(t, env)
		t.Setenv("OTEL_BSP_EXPORT_TIMEOUT", "0")
		if r := invoke(t, env, "check", "--config", path0); r.code != 0 {
			t.Errorf("OTEL_BSP_EXPORT_TIMEOUT=0: exit %d\n%s", r.code, r.stderr)
		}
	})
	for _, k := range []string{"OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_BSP_SCHEDULE_DELAY"} {
		t.Run(k, func(t *testing.T) {
			env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", k: "-1"}
			setOTELEnv(t, env)
			t.Setenv(k, "-1")
			r := invoke(t, env, "check", "--config", path)
			if r.code != 2 || !strings.Contains(r.stderr, k) {
				t.Errorf("%s=-1: exit %d, want 2 naming it\n%s", k, r.code, r.stderr)
			}
		})
	}
}

// TestProviderSpansHideTheQuery: a provider or directory call's span
// carries its URL without the query, as the gateway's own spans and its
// error messages do: otelhttp records url.full whole, and a directory
// call's query names the user (Google's userKey, Cloud Identity's
// member_key_id), as a configured endpoint's may carry a key. The call
// itself still goes out with its query.
func TestProviderSpansHideTheQuery(t *testing.T) {
	const secret = "alice@example.com-s3cr3t"
	var gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery = r.URL.Query().Get("userKey")
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer srv.Close()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	hc := tracedProviderClient(tp)
	resp, err := hc.Get(srv.URL + "/groups?userKey=" + url.QueryEscape(secret))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// A failed call: the span's status carries the transport's error.
	if _, err := hc.Get("http://127.0.0.1:1/groups?userKey=" + url.QueryEscape(secret)); err == nil {
		t.Fatal("a call to port 1 succeeded")
	}
	if gotQuery != secret {
		t.Errorf("the provider got userKey %q, want %q", gotQuery, secret)
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	for _, s := range spans {
		text := s.Name() + " " + s.Status().Description
		for _, a := range s.Attributes() {
			text += " " + string(a.Key) + "=" + a.Value.String()
		}
		for _, e := range s.Events() {
			text += " " + e.Name
			for _, a := range e.Attributes {
				text += " " + string(a.Key) + "=" + a.Value.String()
			}
		}
		if strings.Contains(text, "userKey") || strings.Contains(text, url.QueryEscape(secret)) || strings.Contains(text, secret) {
			t.Errorf("span %q records the query: %s", s.Name(), text)
		}
		if !strings.Contains(text, "/groups") {
			t.Errorf("span %q does not name the endpoint: %s", s.Name(), text)
		}
	}
}

// TestTracedProviderClientClosesIdleConnections: with tracing on, closing
// the provider client's idle connections reaches the shared back-channel
// transport under otelhttp's (which does not pass the call on), so the
// second try of a call whose kept-alive connection the provider closed
// unanswered dials anew there too. Before: the connection stayed open.
func TestTracedProviderClientClosesIdleConnections(t *testing.T) {
	closed := make(chan struct{}, 1)
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closed <- struct{}{}
		}
	}
	s.Start()
	defer s.Close()
	c := tracedProviderClient(sdktrace.NewTracerProvider())
	resp, err := c.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() // the connection goes back to the pool, idle
	c.CloseIdleConnections()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the idle connection to the provider was not closed")
	}
}
