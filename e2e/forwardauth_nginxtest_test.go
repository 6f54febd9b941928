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
	bin := testenv.LookPath(t, "nginx")
	dir := t.TempDir()
	var servers []string
	for i, host := range []string{"wiki.example.com", "grafana.example.com"} {
		servers = append(servers, snippet(t, "nginx.conf",
			"listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", 1080+i),
			"server_name dash.example.com;", "server_name "+host+";"))
	}
	conf := filepath.Join(dir, "nginx.conf")
	text := fmt.Sprintf(nginxMain, dir, strings.Join(servers, "\n"))
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
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
