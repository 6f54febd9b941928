package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestNginxSnippetTestsClean: `nginx -t` on docs/forward-auth/nginx.conf,
// copied once per host as "several apps on several hosts" says, succeeds
// without a warning. The snippet sets over a hundred request headers, past
// the size of nginx's default proxy_headers_hash, and nginx warned about it
// for each server block at every start and reload.
func TestNginxSnippetTestsClean(t *testing.T) {
	var servers []string
	for i, host := range []string{"wiki.example.com", "grafana.example.com"} {
		servers = append(servers, snippet(t, "nginx.conf",
			"listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", 1080+i),
			"server_name dash.example.com;", "server_name "+host+";"))
	}
	nginxTestsClean(t, strings.Join(servers, "\n"))
}

// TestIngressNginxSnippetTestsClean: the same for the configuration
// ingress-nginx generates for docs/forward-auth/ingress-nginx.yaml. Its
// auth-response-headers list is as long, and with the controller's default
// proxy-headers-hash-max-size (512) the controller's nginx warned at every
// reload, which it does on each change of any Ingress.
func TestIngressNginxSnippetTestsClean(t *testing.T) {
	nginxTestsClean(t, ingressNginxServer(t, "127.0.0.1:1080", "127.0.0.1:4180", "127.0.0.1:3000"))
}

// nginxTestsClean runs `nginx -t` on the http block's contents given and
// fails on an error or a warning.
func nginxTestsClean(t *testing.T, http string) {
	t.Helper()
	bin := testenv.LookPath(t, "nginx")
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxMain, dir, http)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-t", "-p", dir, "-c", conf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "test is successful") {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "[warn]") {
		t.Errorf("nginx -t warns about the documented snippet:\n%s", out)
	}
}
