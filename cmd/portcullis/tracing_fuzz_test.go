package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/stdr"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
)

// sdkComplaints is a logr sink that keeps what the OpenTelemetry SDK logs
// as an error: the SDK's header parser reports an entry it drops there,
// printing it (standard error, by default).
type sdkComplaints struct {
	mu   sync.Mutex
	errs [][]any // each error's message and key/value pairs
}

func (s *sdkComplaints) Init(logr.RuntimeInfo)          {}
func (s *sdkComplaints) Enabled(int) bool               { return false }
func (s *sdkComplaints) Info(int, string, ...any)       {}
func (s *sdkComplaints) WithValues(...any) logr.LogSink { return s }
func (s *sdkComplaints) WithName(string) logr.LogSink   { return s }
func (s *sdkComplaints) Error(_ error, msg string, kv ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, append([]any{msg}, kv...))
}

// take returns the complaints since the last call and forgets them.
func (s *sdkComplaints) take() [][]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.errs
	s.errs = nil
	return e
}

// aboutAnEntry reports whether a complaint is about a header entry that
// is not blank: the SDK also complains that an empty or blank entry
// ("a=b,,c=d", a trailing ",") has no "=", which quotes no secret and
// which the gateway takes, as it always did. Its other header complaints
// (a bad name, a bad escape) are about entries with an "=". A complaint
// about another setting (a timeout, a certificate file) is none of this
// target's matter: counted, it made every input fail.
func aboutAnEntry(c []any) bool {
	switch c[0] {
	case "escape header value":
		return true
	case "parse headers":
		if len(c) == 3 && c[1] == "input" {
			v, _ := c[2].(string)
			return strings.TrimSpace(v) != ""
		}
		return true
	}
	return false
}

// emptyInheritedOTELEnv empties, for f, every OTEL_ variable the process
// inherited, which the SDK reads as unset: an OTEL_EXPORTER_OTLP_TIMEOUT
// or _CERTIFICATE in a developer's or runner's environment is not among
// the variables setOTELEnv sets, and the SDK's exporters complained of it
// on every input.
func emptyInheritedOTELEnv(f *testing.F) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OTEL_") {
			f.Setenv(k, "")
		}
	}
}

// FuzzOTLPHeadersAsTheSDK: the gateway refuses OTEL_EXPORTER_OTLP_HEADERS
// and OTEL_EXPORTER_OTLP_TRACES_HEADERS exactly when the SDK's exporters
// themselves (otlptracehttp and otlptracegrpc, built from the same
// environment) would complain about an entry that is not blank: the SDK
// is the reference, observed through the errors it logs, so the gateway
// neither lets an entry through to be printed nor refuses one the SDK
// reads.
func FuzzOTLPHeadersAsTheSDK(f *testing.F) {
	for _, s := range [][2]string{
		{"api-key=abc", ""}, {" api-key = a%20b ,, x=y,", ""}, {"Authorization: Bearer x", ""}, {"", "k=%zz"},
		{"k=%", ""}, {"k=%4", ""}, {"k=%41", ""}, {"=v", ""}, {" =v", ""}, {"a b=c", ""}, {"a\u00e9=c", ""},
		{"\u0085k=v\u0085", ""}, {"k=v%\u0085", ""}, {"k=v,", "x"}, {",", ""}, {" , ", ""}, {"a==b", ""},
		{"a\"=b", ""}, {"a:b=c", ""}, {"\xff=b", ""}, {"k=\xff", ""}, {"a=b, c", ""},
	} {
		f.Add(s[0], s[1])
	}
	emptyInheritedOTELEnv(f)
	seen := &sdkComplaints{}
	otel.SetLogger(logr.New(seen))
	// The SDK's own default, for the tests that run after this one.
	f.Cleanup(func() { otel.SetLogger(stdr.New(log.New(os.Stderr, "", log.LstdFlags|log.Lshortfile))) })
	f.Fuzz(func(t *testing.T, headers, tracesHeaders string) {
		if strings.ContainsRune(headers+tracesHeaders, 0) {
			return // no environment variable holds a NUL
		}
		env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1",
			"OTEL_EXPORTER_OTLP_HEADERS": headers, "OTEL_EXPORTER_OTLP_TRACES_HEADERS": tracesHeaders}
		lookup := setOTELEnv(t, env)
		t.Setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", tracesHeaders)
		refused := checkOTLPEnv(lookup) != nil

		seen.take()
		ctx := context.Background()
		for _, build := range []func() error{
			func() error {
				e, err := otlptracehttp.New(ctx)
				if err == nil {
					_ = e.Shutdown(ctx)
				}
				return err
			},
			func() error {
				e, err := otlptracegrpc.New(ctx)
				if err == nil {
					_ = e.Shutdown(ctx)
				}
				return err
			},
		} {
			if err := build(); err != nil {
				t.Fatalf("the SDK's exporter: %v", err)
			}
		}
		complained := false
		for _, c := range seen.take() {
			complained = complained || aboutAnEntry(c)
		}
		if refused != complained {
			t.Fatalf("headers %q, traces headers %q: gateway refuses %v, the SDK complains about an entry %v",
				headers, tracesHeaders, refused, complained)
		}
	})
}

// FuzzShownOTLPEndpointHidesSecrets: whatever an OTLP endpoint is made of,
// its quoted form holds neither its password (anything before an "@"
// after the scheme) nor anything after a "?" or "#" (its query and
// fragment). The secrets are random on each run, so that no input can
// carry them but the places the oracle puts them.
func FuzzShownOTLPEndpointHidesSecrets(f *testing.F) {
	for _, s := range [][6]string{
		{"https", "user", "collector:4318", "/v1/traces", "api_key=", "x"},
		{"grpc", "u", "c", "", "", ""},
		{"http", "", "c/v1", "/p", "a=b@c&k=", "#f"},
		{"https", "u:p?q", "h/x?a=", "@b", "k=", "@c"},
		{"", "user", "collector", "", "key=", ""},
		{"a@b", "u", "c", "/", "", "@"},
		{"https", "u", "c", "/p@x", "q=@", "?#@"},
		{"ftp", "\xff", "c\u202e", "/\x7f", "k=", "\xff"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5], uint8(0xff))
	}
	f.Fuzz(func(t *testing.T, scheme, user, host, path, query, frag string, parts uint8) {
		pw, q, fr := markerSecret(t), markerSecret(t), markerSecret(t)
		v := ""
		if parts&1 != 0 {
			v = scheme + "://"
		}
		v += user
		if parts&2 != 0 {
			v += ":" + user + pw + query + "@"
		}
		v += host + path
		if parts&4 != 0 {
			v += "?" + query + q + frag
		}
		if parts&8 != 0 {
			v += "#" + frag + fr + path
		}
		shown := shownOTLPEndpoint(v)
		for name, s := range map[string]string{"password": pw, "query": q, "fragment": fr} {
			// A part of one is as bad: the quote is cut at 200 bytes.
			for i := 0; i+6 <= len(s); i++ {
				if strings.Contains(shown, s[i:i+6]) {
					t.Fatalf("shownOTLPEndpoint(%q) = %s: the %s (%s) shows", v, shown, name, s)
				}
			}
		}
	})
}

// markerSecret is 24 random hexadecimal digits, uppercase so that no
// escape the quote makes writes them.
func markerSecret(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return strings.ToUpper(hex.EncodeToString(b))
}
