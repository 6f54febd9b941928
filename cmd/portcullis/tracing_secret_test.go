package main

import (
	"context"
	"strings"
	"testing"
)

// TestTracingEnvErrorsQuoteNoSecret: an OTLP endpoint with user
// information and a header entry the SDK cannot read are refused (exit 2,
// naming the variable) without the password or the header's value in the
// message. The endpoint was quoted whole; a header entry was accepted, and
// the SDK printed it whole to standard error ("Authorization: Bearer …",
// with ":" for "="), then exported without it.
func TestTracingEnvErrorsQuoteNoSecret(t *testing.T) {
	const secret = "s3cr3t-pw"
	path := writeConfig(t, "good.toml", checkGood)
	endpoint := func(v string) map[string]string { return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": v} }
	headers := func(k, v string) map[string]string {
		return map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces", k: v}
	}
	const h, th = "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"wrong scheme, password":        {endpoint("ftp://user:" + secret + "@collector:4318"), `"ftp://…@collector:4318"`},
		"no scheme, password":           {endpoint("user:" + secret + "@collector:4318"), "OTEL_EXPORTER_OTLP_ENDPOINT"},
		"password with a slash":         {endpoint("https://user:" + secret + "/x@collector"), `"https://…@collector"`},
		"password with a question mark": {endpoint("grpc://user:" + secret + "?@c"), `"grpc://…"`},
		"query with an at sign":         {endpoint("grpc://c/v1?email=a@b&key=" + secret), `"grpc://…"`},
		"fragment with an at sign":      {endpoint("grpc://c/v1#@" + secret), `"grpc://…"`},
		"traces endpoint":               {map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "tcp://u:" + secret + "@c/v1?k=" + secret}, `"tcp://…@c/v1"`},
		"query":                         {endpoint("c:4318/?api_key=" + secret), "OTEL_EXPORTER_OTLP_ENDPOINT"},
		"colon for equals":              {headers(h, "Authorization: Bearer "+secret), h + ": entry 1"},
		"colon, padded base64":          {headers(h, "x=y,Authorization: Basic "+secret+"=="), h + ": entry 2"},
		"broken escape":                 {headers(h, "api-key="+secret+"%zz"), h + ": entry 1"},
		"traces headers":                {headers(th, "x-api-key "+secret), th + ": entry 1"},
	} {
		t.Run(name, func(t *testing.T) {
			setOTELEnv(t, tc.env)
			t.Setenv(th, tc.env[th])
			r := invoke(t, tc.env, "check", "--config", path)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, want 2 saying %s\n%s", r.code, tc.want, r.stderr)
			}
			if strings.Contains(r.stderr+r.stdout, secret) {
				t.Errorf("the secret is in the output:\n%s%s", r.stdout, r.stderr)
			}
		})
	}
	// What the SDK reads is taken as before: blank entries, escapes.
	env := headers(h, " api-key = a%20b ,, x=y,")
	tp, err := newTracerProvider(setOTELEnv(t, env))
	if err != nil || tp == nil {
		t.Fatalf("headers %q: %v", env[h], err)
	}
	_ = tp.Shutdown(context.Background())
}
