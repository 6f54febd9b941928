package proxy

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestSharedConnBodiesIndependent: the requests of one HTTP/2 connection
// (a CDN's or front proxy's, carrying many users' requests) do not wait on
// one another's bodies. A per-connection bound of 4 bodies past 4 KiB let
// one user stall 4 uploads (or make 4 slow ones to a slow application) and
// so give every other body on that connection 408 after the pre-read time.
func TestSharedConnBodiesIndependent(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock()
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/slow") {
			<-release
		}
		_, _ = io.Copy(io.Discard, r.Body)
	})
	f.h.single.bodies.timeout = 3 * time.Second
	srv := httptest.NewUnstartedServer(f.h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	shared := &http.Client{Timeout: 10 * time.Second, // one connection, as a front proxy's
		Transport: &http2.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	post := func(path string, body io.Reader) int {
		resp, err := shared.Post(srv.URL+path, "application/octet-stream", body)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var wg sync.WaitGroup
	for i := range 8 { // 4 bodies that stall past 4 KiB, 4 complete ones to a slow application
		pr, pw := io.Pipe()
		defer pw.Close()
		wg.Add(1)
		go func() { defer wg.Done(); post("/public/slow", pr) }()
		go func() {
			_, _ = pw.Write([]byte(strings.Repeat("s", 4<<10+1)))
			if i%2 == 0 {
				_ = pw.Close()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // each is being pre-read or waits on the application
	start := time.Now()
	code := post("/public/x", strings.NewReader(strings.Repeat("b", 10000)))
	if took := time.Since(start); code != http.StatusOK || took > time.Second {
		t.Errorf("another user's body on the shared connection: status %d after %v, want 200 at once", code, took.Round(time.Millisecond))
	}
	unblock()
}
