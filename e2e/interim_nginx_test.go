package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestEarlyHintsBehindNginxCache: nginx in front of the gateway in proxy
// mode with a proxy_cache. The application sends 103 Early Hints before
// alice's page, with the caching fields it had set (Go's server writes the
// whole header map on a 1xx). nginx 1.22 reads no 1xx from its upstream:
// it took the 103 for the answer, stored it with what followed (the
// gateway's real answer, "private" and "Vary: Cookie") as its body, and
// served alice's page to an anonymous client. That happened with its
// proxy_pass as most configurations leave it (HTTP/1.0 to the gateway,
// which must get no 1xx at all, RFC 9110 §15.2) and with
// proxy_http_version 1.1 (nginx then asks the gateway to close the
// connection, which ends the "body"), where the 103 now says no-store.
func TestEarlyHintsBehindNginxCache(t *testing.T) {
	t.Parallel() // its own gateway, provider, app and nginx
	var served atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("Cache-Control", "public, max-age=60")
		if !strings.HasPrefix(r.URL.Path, "/public/plain") {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
		}
		io.WriteString(w, "the page of "+r.Header.Get("X-Forwarded-User")+"\n")
	}))
	defer app.Close()
	p := oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	gw := startGateway(t, a, oidctestConfig(p, app.URL, "", publicAndSignedIn))
	alice := browser(t)
	if status, body, _ := get(t, alice, gw.URL+"/x"); status != 200 || !strings.Contains(body, "alice") {
		t.Fatalf("alice's login: %d %q", status, body)
	}
	u, _ := url.Parse(gw.URL)
	var cookies []string
	for _, ck := range alice.Jar.Cookies(u) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	for _, version := range []string{"", "proxy_http_version 1.1;"} {
		front := testenv.Addr(testenv.FreePort(t))
		runNginx(t, front, "proxy_cache_path "+t.TempDir()+" keys_zone=pages:1m;\nserver {\n  listen "+front+
			";\n  location / {\n    proxy_cache pages;\n    "+version+"\n    proxy_pass http://"+a.Listen+
			";\n    proxy_set_header Host $http_host;\n  }\n}\n")
		nginxCacheCase(t, "http://"+front, u.Host, strings.Join(cookies, "; "), version == "", &served)
	}
}

// nginxCacheCase checks that the cache at front stores a public page, then
// that alice's page, asked for by her and then by an anonymous client, is
// not served to the latter. whole: nginx reads the gateway's answer as it
// is (HTTP/1.0, no 1xx), its own status and headers.
func nginxCacheCase(t *testing.T, front, host, cookie string, whole bool, served *atomic.Int32) {
	t.Helper()
	before := served.Load()
	for range 2 {
		if status, body, _ := get(t, plainClient, front+"/public/plain"); status != 200 {
			t.Fatalf("the public page through nginx: %d %q", status, body)
		}
	}
	if n := served.Load() - before; n != 1 {
		t.Fatalf("the app answered the public page %d times, want once: nginx's cache stores nothing", n)
	}
	for _, who := range []string{"alice", "anonymous"} {
		req, _ := http.NewRequest("GET", front+"/report", nil)
		req.Host = host
		req.Header.Set("Accept", "application/json")
		if who == "alice" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := plainClient.Do(req)
		if err != nil {
			t.Fatalf("%s through nginx: %v", who, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Logf("%s through %s: %d %q", who, front, resp.StatusCode, b)
		if who == "anonymous" && (resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(b), "alice")) {
			t.Errorf("an anonymous client through nginx: %d %q, want the gateway's 401", resp.StatusCode, b)
		}
		if who == "alice" && whole && (resp.StatusCode != 200 || resp.Header.Get("Server") == "" ||
			resp.Header.Get("Cache-Control") != "private, max-age=60") {
			t.Errorf("alice through nginx: %d, Server %q, Cache-Control %q: want nginx's 200 with the gateway's private",
				resp.StatusCode, resp.Header.Get("Server"), resp.Header.Get("Cache-Control"))
		}
	}
}
