package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// exportOneSpan builds the exporter env asks for, as serve does, and
// exports one span with it.
func exportOneSpan(t *testing.T, env func(string) (string, bool)) error {
	t.Helper()
	exp, _, err := tracingSetup(context.Background(), env)
	if err != nil || exp == nil {
		t.Fatalf("tracingSetup: %v, %v", exp, err)
	}
	defer exp.Shutdown(context.Background())
	return exp.ExportSpans(context.Background(), []sdktrace.ReadOnlySpan{tracetest.SpanStub{Name: "x"}.Snapshot()})
}

// TestExportNeverFollowedToAnotherOrigin: the http/protobuf exporter
// followed a collector's redirect, and Go's client keeps every header but
// Authorization and Cookie on another host: the API key of
// OTEL_EXPORTER_OTLP_HEADERS went to wherever Location pointed. Whatever
// answers for the collector (a load balancer, a captive proxy) now gets
// the spans and the headers and nobody else does, and the error the
// gateway logs does not quote the Location, which may carry anything.
func TestExportNeverFollowedToAnotherOrigin(t *testing.T) {
	const key, marker = "k3yV4lue0123456789abcdef", "L0cati0nM4rker"
	for _, status := range []int{301, 302, 303, 307, 308} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var reached atomic.Int32
			b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached.Add(1)
				if strings.Contains(r.Header.Get("X-Api-Key"), key) {
					t.Errorf("the other origin got the API key (%s %s)", r.Method, r.URL.Path)
				}
			}))
			defer b.Close()
			a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, b.URL+"/"+marker+"/v1/traces?echo="+marker, status)
			}))
			defer a.Close()
			env := setOTELEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": a.URL,
				"OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=" + key})
			err := exportOneSpan(t, env)
			if n := reached.Load(); n != 0 {
				t.Errorf("the other origin got %d requests, want none", n)
			}
			if err == nil {
				t.Fatal("the export succeeded")
			}
			for _, s := range []string{marker, strings.TrimPrefix(b.URL, "http://"), key[:8]} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("the error quotes %q: %v", s, err)
				}
			}
			if !strings.Contains(err.Error(), "redirect") || !strings.Contains(err.Error(), http.StatusText(status)) {
				t.Errorf("the error does not say a redirect was refused: %v", err)
			}
		})
	}
}

// TestExportFollowedOnTheSameOrigin: a redirect on the collector's own
// origin reaches the party that already holds the headers, and is followed.
func TestExportFollowedOnTheSameOrigin(t *testing.T) {
	var got atomic.Value
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" {
			http.Redirect(w, r, "/otlp/v1/traces", http.StatusPermanentRedirect)
			return
		}
		got.Store(r.Method + " " + r.URL.Path + " " + r.Header.Get("X-Api-Key"))
	}))
	defer a.Close()
	env := setOTELEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": a.URL, "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=k"})
	if err := exportOneSpan(t, env); err != nil {
		t.Fatalf("export: %v", err)
	}
	if g, _ := got.Load().(string); g != "POST /otlp/v1/traces k" {
		t.Errorf("the collector got %q, want the export at its new path", g)
	}
}

// TestExportOverMutualTLSKeepsTheSDKSettings: the exporter keeps the SDK's
// own transport, so the collector's private CA
// (OTEL_EXPORTER_OTLP_CERTIFICATE) and the client certificate it requires
// (_CLIENT_CERTIFICATE, _CLIENT_KEY) still apply; over HTTP/2 a redirect
// to another origin is refused as over HTTP/1.1, and one on the
// collector's origin, on the connection already open, is followed.
func TestExportOverMutualTLSKeepsTheSDKSettings(t *testing.T) {
	dir := t.TempDir()
	clientCert, clientKey := testPair(t, "gateway")
	clients := x509.NewCertPool()
	clients.AppendCertsFromPEM(clientCert)
	var reachedB atomic.Int32
	b := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reachedB.Add(1) }))
	defer b.Close()
	var got atomic.Value
	a := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/traces":
			http.Redirect(w, r, "/otlp/v1/traces", http.StatusTemporaryRedirect)
		case "/otlp/v1/traces":
			http.Redirect(w, r, b.URL+"/v1/traces", http.StatusTemporaryRedirect)
		default:
			got.Store(fmt.Sprintf("%s %s HTTP/%d %s", r.Method, r.URL.Path, r.ProtoMajor, r.TLS.PeerCertificates[0].Subject.CommonName))
		}
	}))
	a.EnableHTTP2 = true
	a.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clients}
	a.StartTLS()
	defer a.Close()
	files := map[string][]byte{"ca.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Certificate().Raw}),
		"client.pem": clientCert, "client.key": clientKey}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": a.URL, "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=k",
		"OTEL_EXPORTER_OTLP_CERTIFICATE": filepath.Join(dir, "ca.pem"), "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": filepath.Join(dir, "client.pem"),
		"OTEL_EXPORTER_OTLP_CLIENT_KEY": filepath.Join(dir, "client.key")}

	err := exportOneSpan(t, setOTELEnv(t, env))
	if err == nil || !strings.Contains(err.Error(), "redirect to another origin: refused") || reachedB.Load() != 0 {
		t.Errorf("the redirect to another origin over HTTP/2: %v, the other origin reached %d times", err, reachedB.Load())
	}
	env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = a.URL + "/v1/traces/final"
	if err := exportOneSpan(t, setOTELEnv(t, env)); err != nil {
		t.Fatalf("export: %v", err)
	}
	if g, _ := got.Load().(string); g != "POST /v1/traces/final HTTP/2 gateway" {
		t.Errorf("the collector got %q, want the export over HTTP/2 with the client certificate", g)
	}
	delete(env, "OTEL_EXPORTER_OTLP_CERTIFICATE")
	if err := exportOneSpan(t, setOTELEnv(t, env)); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the collector's CA: %v, want a certificate error", err)
	}
}

// TestExportKeepsTheSDKTimeout: OTEL_EXPORTER_OTLP_TIMEOUT still bounds
// each attempt to export to a collector that does not answer (the SDK
// retries after 5 s, past this test's deadline).
func TestExportKeepsTheSDKTimeout(t *testing.T) {
	gaveUp := make(chan time.Duration, 1)
	a := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		start := time.Now()
		_, _ = io.Copy(io.Discard, r.Body) // the server notices a closed connection only after the body
		select {
		case <-r.Context().Done():
			gaveUp <- time.Since(start)
		case <-time.After(10 * time.Second):
		}
	}))
	defer a.Close()
	exp, _, err := tracingSetup(context.Background(), setOTELEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": a.URL, "OTEL_EXPORTER_OTLP_TIMEOUT": "300"}))
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = exp.ExportSpans(ctx, []sdktrace.ReadOnlySpan{tracetest.SpanStub{Name: "x"}.Snapshot()})
	select {
	case d := <-gaveUp:
		if d > 1500*time.Millisecond {
			t.Errorf("the exporter gave up after %v, want about 300 ms", d)
		}
	case <-time.After(5 * time.Second):
		t.Error("the exporter never gave up on the silent collector")
	}
}

// TestExportThroughTheEnvironmentProxy: the exporter's proxy function
// still sends the export through HTTP_PROXY, as the SDK's default did, and
// a redirect to another origin is refused before the proxy is asked for
// it. Go reads the proxy variables once per process, so the export runs
// in a child process of this test binary.
func TestExportThroughTheEnvironmentProxy(t *testing.T) {
	if os.Getenv("PORTCULLIS_TEST_EXPORT_CHILD") == "1" {
		if err := exportOneSpan(t, setOTELEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")})); err != nil {
			fmt.Println("export error:", err)
		}
		return
	}
	for _, tc := range []struct{ name, answer, want string }{
		{"export", "", "POST http://collector.invalid:4318/v1/traces"},
		{"redirect", "http://elsewhere.invalid/v1/traces", "POST http://collector.invalid:4318/v1/traces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seen []string
			var mu sync.Mutex
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, r.Method+" "+r.URL.String())
				mu.Unlock()
				if tc.answer != "" {
					http.Redirect(w, r, tc.answer, http.StatusTemporaryRedirect)
				}
			}))
			defer proxy.Close()
			cmd := exec.Command(os.Args[0], "-test.run=^TestExportThroughTheEnvironmentProxy$", "-test.count=1")
			cmd.Env = append(os.Environ(), "PORTCULLIS_TEST_EXPORT_CHILD=1", "HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL,
				"NO_PROXY=", "no_proxy=", "OTEL_EXPORTER_OTLP_ENDPOINT=http://collector.invalid:4318")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(seen, "; ") != tc.want {
				t.Errorf("the proxy got %q, want %q", seen, tc.want)
			}
			refused := strings.Contains(string(out), "redirect to another origin: refused")
			if refused != (tc.answer != "") || strings.Contains(string(out), "elsewhere") {
				t.Errorf("the child said:\n%s", out)
			}
		})
	}
}

// TestGRPCExportNeverRedirected: gRPC has no redirects; the grpc exporter
// takes a 3xx answer for a failed call and reaches nobody else, and its
// error does not quote the Location.
func TestGRPCExportNeverRedirected(t *testing.T) {
	const marker = "L0cati0nM4rker"
	var reachedB atomic.Int32
	b := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reachedB.Add(1) }))
	defer b.Close()
	a := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, b.URL+"/"+marker, http.StatusPermanentRedirect)
	}))
	a.Config.Protocols = new(http.Protocols)
	a.Config.Protocols.SetUnencryptedHTTP2(true)
	a.Start()
	defer a.Close()
	err := exportOneSpan(t, setOTELEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": a.URL, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}))
	if err == nil || !strings.Contains(err.Error(), "308") || strings.Contains(err.Error(), marker) || reachedB.Load() != 0 {
		t.Errorf("export: %v; the other server reached %d times", err, reachedB.Load())
	}
}
