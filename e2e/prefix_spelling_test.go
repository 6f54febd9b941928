package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestPrefixSpelledAsRequestsAre: every path under server.prefix is the
// gateway's own, but the prefix was compared with the request's normalised
// path, in which the gateway percent-encodes "{", "|", non-ASCII letters
// and the like, and keeps an escaped "@" or "+" that routes read decoded.
// With prefix "/{gw}" no request ever reached an endpoint: sign-out and the
// callback (its code and state in the query) went to the application,
// while check called a route there unreachable; with "/@gw",
// "/%40gw/sign_out" did. Such a prefix is now an error, and an escaped
// spelling of a prefix's character names the endpoint.
func TestPrefixSpelledAsRequestsAre(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	p := oidctest.New(t, oidctest.Options{})
	up := newUpstream(t)
	for _, prefix := range []string{"/{gw}", "/gw|x", "/über", "/gw^"} {
		cfg := tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: up.URL,
			Server: "prefix = \"" + prefix + "\"\n", Routes: "[[routes]]\npath = \"/**\"\npublic = true\n"}
		path := filepath.Join(t.TempDir(), "portcullis.toml")
		text := strings.NewReplacer("{{LISTEN}}", "127.0.0.1:1", "{{OPS}}", "127.0.0.1:2").Replace(cfg.String())
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(binary, "check", "--config", path).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "server.prefix") {
			t.Errorf("check with prefix %q: %v\n%s", prefix, err, out)
		}
	}
	gw := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream: up.URL, Server: "prefix = \"/@gw\"\n", Routes: "[[routes]]\npath = \"/**\"\npublic = true\n"}.String())
	addr := strings.TrimPrefix(gw.URL, "http://")
	for _, target := range []string{"/%40gw/sign_out", "/%40gw/callback?code=c0de&state=st4te", "/%40gw/start", "/%40gw/jwks.json"} {
		before := up.count()
		resp, body := rawResponse(t, addr, "GET "+target+" HTTP/1.1\r\nHost: "+addr+"\r\nAccept: application/json\r\nConnection: close\r\n\r\n")
		if up.count() != before {
			t.Errorf("GET %s reached the application: %d %.200s", target, resp.StatusCode, body)
		}
	}
	if resp, body := rawResponse(t, addr, "GET /%40gw/jwks.json HTTP/1.1\r\nHost: "+addr+"\r\nConnection: close\r\n\r\n"); resp.StatusCode != 200 ||
		!strings.Contains(body, `"keys"`) {
		t.Errorf("GET /%%40gw/jwks.json: %d %.200s, want the key set", resp.StatusCode, body)
	}
}
