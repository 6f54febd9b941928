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

// TestConnBodySlots: one connection holds at most bigBodiesPerConn bodies
// past smallBodySize at once (ConnContext). A further one waits for a slot
// and gets 408 when none frees within the pre-read time; another
// connection is not held up by it; once the first ones are answered, the
// same connection's next body is served.
func TestConnBodySlots(t *testing.T) {
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
	f.h.single.bodies.timeout = 500 * time.Millisecond
	srv := httptest.NewUnstartedServer(f.h)
	srv.EnableHTTP2 = true
	srv.Config.ConnContext = ConnContext
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client := func() *http.Client { // one connection each
		return &http.Client{Timeout: 10 * time.Second,
			Transport: &http2.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	}
	post := func(c *http.Client, path string) int {
		resp, err := c.Post(srv.URL+path, "application/octet-stream", strings.NewReader(strings.Repeat("b", 10000)))
		if err != nil {
			t.Error(err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	one := client()
	var wg sync.WaitGroup
	slow := make([]int, bigBodiesPerConn)
	for i := range slow {
		wg.Add(1)
		go func() { defer wg.Done(); slow[i] = post(one, "/public/slow") }()
	}
	time.Sleep(200 * time.Millisecond) // each holds a slot, waiting on the upstream
	if code := post(one, "/public/x"); code != http.StatusRequestTimeout {
		t.Errorf("a body past the connection's slots: status %d, want 408", code)
	}
	if code := post(client(), "/public/x"); code != http.StatusOK {
		t.Errorf("another connection's body: status %d, want 200", code)
	}
	unblock()
	wg.Wait()
	for i, code := range slow {
		if code != http.StatusOK {
			t.Errorf("slow body %d: status %d, want 200", i, code)
		}
	}
	if code := post(one, "/public/x"); code != http.StatusOK {
		t.Errorf("a body once the slots are free: status %d, want 200", code)
	}
}
