package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// javaDefaultClient sends, with the HttpClient Java 11+ builds by default
// (HTTP_2: over http:// each request asks to upgrade to h2c, "Connection:
// Upgrade, HTTP2-Settings", "Upgrade: h2c"), each "METHOD path" named
// after the base URL, with a small JSON body for a method that carries
// one, and prints the method, path, status and the version it was
// answered in.
const javaDefaultClient = `import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

public class DefaultClient {
    public static void main(String[] args) throws Exception {
        HttpClient c = HttpClient.newHttpClient();
        for (int i = 1; i < args.length; i++) {
            String[] mp = args[i].split(" ", 2);
            HttpRequest.BodyPublisher body = mp[0].equals("GET") || mp[0].equals("DELETE")
                ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString("{\"n\":1}");
            HttpRequest r = HttpRequest.newBuilder(URI.create(args[0] + mp[1]))
                .header("Content-Type", "application/json").header("Accept", "application/json")
                .method(mp[0], body).build();
            HttpResponse<Void> resp = c.send(r, HttpResponse.BodyHandlers.discarding());
            System.out.println(args[i] + " " + resp.statusCode() + " " + resp.version());
        }
    }
}
`

// javaCalls are the calls TestJavaDefaultClientBehindFront makes, on
// public paths.
var javaCalls = []string{"GET /public/x", "POST /public/x", "PUT /public/y", "DELETE /public/z"}

// TestJavaDefaultClientBehindFront: Java's HttpClient, left at its
// default, asks on every http:// request to upgrade to h2c. The request
// itself is an ordinary one that a server may answer in HTTP/1.1, as
// proxy mode does (it removes the upgrade); behind the Caddy snippet it
// was the gateway's 400 and behind the Traefik snippet a 404 (its router
// matched no such request), so no app there could be called by a Java
// client built with HttpClient.newHttpClient(). Each front now removes
// the upgrade as proxy mode does, and the app never sees it.
func TestJavaDefaultClientBehindFront(t *testing.T) {
	t.Parallel()
	java := testenv.LookPath(t, "java")
	src := filepath.Join(t.TempDir(), "DefaultClient.java")
	if err := os.WriteFile(src, []byte(javaDefaultClient), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("proxy mode", func(t *testing.T) {
		t.Parallel()
		up := newUpstream(t)
		gw := startGateway(t, pickAddrs(t), oidctestConfig(oidctest.New(t, oidctest.Options{}), up.URL, "", demoRoutes))
		javaCallsReachApp(t, java, src, gw.URL, up)
	})
	for _, front := range frontProxies {
		if front.name == "ingress-nginx" {
			continue // passes the upgrade to the app: docs/forward-auth.md
		}
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, front.trusted, front.start)
			javaCallsReachApp(t, java, src, "http://"+s.front, s.up)
		})
	}
}

// javaCallsReachApp makes javaCalls with Java's default HttpClient at
// base and asserts that each is answered 200 in HTTP/1.1 and reaches up
// without its Upgrade (nginx passes HTTP2-Settings on, which alone asks
// nothing).
func javaCallsReachApp(t *testing.T, java, src, base string, up *upstream) {
	t.Helper()
	before := up.count()
	out, err := exec.Command(java, append([]string{src, base}, javaCalls...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("java: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasSuffix(line, " 200 HTTP_1_1") {
			t.Errorf("Java's default HttpClient: %s, want 200 in HTTP/1.1", line)
		}
	}
	if n := up.count() - before; n != len(javaCalls) {
		t.Fatalf("the app received %d of the %d requests", n, len(javaCalls))
	}
	if got := up.last().Headers.Values("Upgrade"); len(got) != 0 {
		t.Errorf("the app received Upgrade: %q", got)
	}
}
