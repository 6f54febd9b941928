package charts

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestIngressNginxAnnotationsMatchSnippet: the ingress-nginx annotations
// the chart's NOTES and README print are those of the tested snippet,
// docs/forward-auth/ingress-nginx.yaml: every identity header name the app
// may trust and every header naming another request cleared, the host
// nginx routed by sent to the gateway (auth-proxy-set-headers), and a
// refreshed cookie passed on. A shorter list lets a client's
// X-Forwarded-User reach the app, and without X-Forwarded-Host: $host the
// gateway decides an absolute-form request line ("GET
// http://admin.example.com/x" with "Host: public.example.com") by the
// Host header's routes.
func TestIngressNginxAnnotationsMatchSnippet(t *testing.T) {
	want := annotations(t, "../docs/forward-auth/ingress-nginx.yaml")
	for _, k := range []string{"auth-response-headers", "auth-always-set-cookie", "auth-proxy-set-headers", "proxy-buffer-size"} {
		if want[k] == "" {
			t.Fatalf("the snippet has no %s annotation", k)
		}
	}
	for _, file := range []string{"portcullis/templates/NOTES.txt", "portcullis/README.md"} {
		got := annotations(t, file)
		if got["auth-response-headers"] != want["auth-response-headers"] {
			t.Errorf("%s: auth-response-headers %q, want the snippet's %q", file, got["auth-response-headers"], want["auth-response-headers"])
		}
		if got["auth-always-set-cookie"] != "true" {
			t.Errorf("%s: no auth-always-set-cookie: \"true\"", file)
		}
		if got["auth-proxy-set-headers"] == "" {
			t.Errorf("%s: no auth-proxy-set-headers (X-Forwarded-Host: $host)", file)
		}
		if got["proxy-buffer-size"] != want["proxy-buffer-size"] {
			// The auth answers grow with the user's groups.
			t.Errorf("%s: proxy-buffer-size %q, want the snippet's %q", file, got["proxy-buffer-size"], want["proxy-buffer-size"])
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		// The ConfigMap's entries: X-Forwarded-Host: "$host", and the
		// client's Upgrade, without which the gateway never sees an
		// upgrade to h2c that the controller passes on to the app.
		for _, e := range setHeaders(t, "../docs/forward-auth/ingress-nginx.yaml") {
			if !strings.Contains(string(b), e) {
				t.Errorf("%s: the auth-proxy-set-headers ConfigMap lacks the snippet's %s", file, e)
			}
		}
	}
}

// setHeaders are the data entries (`Name: "value"`) of the ConfigMap in
// file.
func setHeaders(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, doc := range strings.Split(string(b), "\n---\n") {
		if _, data, ok := strings.Cut(doc, "kind: ConfigMap"); ok {
			_, data, _ = strings.Cut(data, "\ndata:\n")
			for _, m := range regexp.MustCompile(`(?m)^  ([A-Za-z0-9-]+: "[^"]*")$`).FindAllStringSubmatch(data, -1) {
				out = append(out, m[1])
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no ConfigMap data", file)
	}
	return out
}

// annotations reads the nginx.ingress.kubernetes.io annotations of file.
func annotations(t *testing.T, file string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	re := regexp.MustCompile(`nginx\.ingress\.kubernetes\.io/([a-z-]+): "([^"]*)"`)
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		// Two Ingresses (the app's and the gateway's endpoints') may
		// repeat an annotation, never with another value.
		if prev, dup := out[m[1]]; dup && prev != strings.TrimSpace(m[2]) {
			t.Fatalf("%s: %s twice, with different values", file, m[1])
		}
		out[m[1]] = strings.TrimSpace(m[2])
	}
	return out
}

// TestIngressNginxSignInReturnsOverPublicScheme: the auth-signin the chart
// prints builds rd with public_url's scheme, not the controller's $scheme:
// behind a load balancer that terminates TLS, $scheme is http, and an
// https gateway returns an http rd to "/" on its own host, not to the page
// asked for.
func TestIngressNginxSignInReturnsOverPublicScheme(t *testing.T) {
	for file, want := range map[string]string{
		"portcullis/templates/NOTES.txt": `/start?rd={{ (urlParse ($publicURL | default "https://PUBLIC_URL")).scheme }}://$host$escaped_request_uri"`,
		"portcullis/README.md":           `/start?rd=https://$host$escaped_request_uri"`,
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "auth-signin:") {
				n++
				if !strings.HasSuffix(line, want) {
					t.Errorf("%s: %s\nwant it to end %s", file, strings.TrimSpace(line), want)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: no auth-signin annotation", file)
		}
	}
}

// TestIngressNginxReadmeQuotesCentralSnippet: the chart README's
// ingress-nginx example is docs/forward-auth/ingress-nginx-central.yaml as
// the e2e tests run it, byte for byte, and names the same-host snippet as
// the other set-up, so that a reader can tell which to follow.
func TestIngressNginxReadmeQuotesCentralSnippet(t *testing.T) {
	want, err := os.ReadFile("../docs/forward-auth/ingress-nginx-central.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("portcullis/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "```yaml\n"+string(want)+"```\n") {
		t.Error("portcullis/README.md does not quote docs/forward-auth/ingress-nginx-central.yaml whole")
	}
	for _, link := range []string{"docs/forward-auth/ingress-nginx-central.yaml)", "docs/forward-auth/ingress-nginx.yaml)"} {
		if !strings.Contains(string(b), link) {
			t.Errorf("portcullis/README.md does not link %s", strings.TrimSuffix(link, ")"))
		}
	}
}
