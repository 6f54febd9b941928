package e2e

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// expectContinueJava sends, with Java's HttpClient over HTTP/1.1 and
// expectContinue(true) ("Expect: 100-continue", which Java, curl and .NET
// send for large bodies), each "METHOD path size kind" named after the base
// URL and token: a JSON body of size bytes streamed from an InputStream
// (chunked, no Content-Length), or with its length ("bytes"), or a
// multipart form around a file of that size, with its length. It prints each call and its status.
const expectContinueJava = `import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Arrays;

public class ExpectContinue {
    public static void main(String[] args) throws Exception {
        HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        for (int i = 2; i < args.length; i++) {
            String[] f = args[i].split(" ");
            byte[] body = new byte[Integer.parseInt(f[2])];
            Arrays.fill(body, (byte) 'a');
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(args[0] + f[1]))
                .header("Authorization", "Bearer " + args[1]).expectContinue(true);
            if (f[3].equals("bytes")) {
                b.header("Content-Type", "application/json").method(f[0], HttpRequest.BodyPublishers.ofByteArray(body));
            } else if (f[3].equals("stream")) {
                b.header("Content-Type", "application/json")
                    .method(f[0], HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body)));
            } else {
                byte[] head = "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\r\n".getBytes();
                byte[] tail = "\r\n--b--\r\n".getBytes();
                byte[] all = new byte[head.length + body.length + tail.length];
                System.arraycopy(head, 0, all, 0, head.length);
                System.arraycopy(body, 0, all, head.length, body.length);
                System.arraycopy(tail, 0, all, head.length + body.length, tail.length);
                b.header("Content-Type", "multipart/form-data; boundary=b")
                    .method(f[0], HttpRequest.BodyPublishers.ofByteArray(all));
            }
            System.out.println(args[i] + "=" + c.send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode());
        }
    }
}
`

// readingApp is an app that reads each request's body, as one that takes
// an upload does (Go's server answers its client's "Expect: 100-continue"
// with a 100 when it reads), and records the size and SHA-256 of each.
func readingApp(t *testing.T) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var got []string
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/slow/") {
			time.Sleep(1500 * time.Millisecond) // past the gateway's wait for the app's 100
		}
		b, err := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, fmt.Sprintf("%s %d %x %v", r.URL.Path, len(b), sha256.Sum256(b), err))
		mu.Unlock()
	}))
	t.Cleanup(app.Close)
	return app, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }
}

// TestExpectContinueAnsweredOnce: a body past the gateway's 64 KiB
// pre-read sent with "Expect: 100-continue" got two 100 Continue answers,
// the gateway's server's when the gateway read the body and the app's,
// forwarded with the Expect the gateway had already answered. Java's
// HttpClient takes the second for the final answer: its PUT or upload
// ended with status 100, the app's 200 unread. Each call now gets one
// 100 and the app's answer, and the app the body as sent.
func TestExpectContinueAnsweredOnce(t *testing.T) {
	t.Parallel()
	java := testenv.LookPath(t, "java")
	src := filepath.Join(t.TempDir(), "ExpectContinue.java")
	if err := os.WriteFile(src, []byte(expectContinueJava), 0o644); err != nil {
		t.Fatal(err)
	}
	app, received := readingApp(t)
	p := oidctest.New(t, oidctest.Options{AccessTokenAudience: "portcullis-api"})
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, app.URL, "audiences = [\"portcullis-api\"]\n",
		"[[routes]]\npath = \"/api/**\"\nrequire_scopes = [\"api:write\"]\n"))
	tok := p.AccessToken("alice", map[string]any{"scope": "api:write"})
	calls := []string{"PUT /api/a 1000 stream", "PUT /api/b 200000 stream", "POST /api/c 200000 form",
		"PATCH /api/d 70000 stream", "POST /api/e 1000 form", "PUT /api/slow/f 200000 bytes"}
	out, err := exec.Command(java, append([]string{src, gw.URL, tok}, calls...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("java: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasSuffix(line, "=200") {
			t.Errorf("Java's HttpClient with Expect: 100-continue: %s, want 200", line)
		}
	}
	if got := received(); len(got) != len(calls) {
		t.Fatalf("the app received %d requests, want %d: %q", len(got), len(calls), got)
	}
	for i, r := range received() {
		f := strings.Fields(calls[i])
		size, _ := strconv.Atoi(f[2])
		if f[3] == "form" {
			size += len("--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\r\n\r\n--b--\r\n")
		}
		want := fmt.Sprintf("%s %d %x <nil>", f[1], size, sha256.Sum256(sentBody(f[3], size)))
		if r != want {
			t.Errorf("%s: the app read %s, want %s", calls[i], r, want)
		}
	}
}

// sentBody is the body ExpectContinue sends for a call of that kind and
// total size.
func sentBody(kind string, size int) []byte {
	if kind != "form" {
		return []byte(strings.Repeat("a", size))
	}
	head := "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\r\n"
	const tail = "\r\n--b--\r\n"
	return []byte(head + strings.Repeat("a", size-len(head)-len(tail)) + tail)
}
