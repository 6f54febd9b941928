package e2e

import (
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestShutdownKeepAlivePosts: clients that keep their connections open
// between requests (a load balancer's pool, a browser) send POSTs, which no
// client may retry on its own, for half of shutdown_delay after SIGTERM,
// as a load balancer that learns late that the pod left: every one is
// answered 200, and the process exits 0 once the kept-alive connections,
// idle by then, are closed.
func TestShutdownKeepAlivePosts(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	// The clients stop sending half the delay after SIGTERM: a POST sent
	// when the delay has ended may find its idle connection closed, and
	// on a loaded machine a client can be held between its look at the
	// clock and its write for hundreds of milliseconds (300 ms were left
	// with a delay of 1 s and clients stopping at 700 ms).
	const delay = 2 * time.Second
	gw := startGateway(t, pickAddrs(t), tomlConfig{Server: "shutdown_delay = \"2s\"\nshutdown_timeout = \"2s\"\n",
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: up.URL,
		Routes: "[[routes]]\npath = \"/public/**\"\npublic = true\n"}.String())
	lb := &keepAlivePosts{url: gw.URL + "/public/post", stopAfter: delay / 2}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { lb.client(t) })
	}
	for deadline := time.Now().Add(10 * time.Second); lb.answered.Load() < 40; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d POSTs answered in 10 s", lb.answered.Load())
		}
	}
	before := lb.answered.Load()
	lb.sent.Store(time.Now().UnixNano())
	gw.signal(t, syscall.SIGTERM)
	wg.Wait()
	t.Logf("%d POSTs answered, %d of them after SIGTERM", lb.answered.Load(), lb.answered.Load()-before)
	if len(lb.lost) > 0 {
		t.Errorf("%d POSTs failed during the shutdown delay: %q", len(lb.lost), lb.lost[:min(3, len(lb.lost))])
	}
	if err := gw.waitExit(t, 10*time.Second); err != nil {
		t.Errorf("exit: %v, want 0", err)
	}
}

// keepAlivePosts is a load balancer's pool of clients that POST to url,
// each on its kept-alive connections, until stopAfter past sent.
type keepAlivePosts struct {
	url       string
	stopAfter time.Duration
	sent      atomic.Int64 // when SIGTERM was sent, in Unix nanoseconds
	answered  atomic.Int64
	mu        sync.Mutex
	lost      []string
}

// client POSTs until stopAfter past sent, or until a POST fails.
func (lb *keepAlivePosts) client(t *testing.T) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
	defer client.CloseIdleConnections()
	for {
		if at := lb.sent.Load(); at != 0 && time.Since(time.Unix(0, at)) > lb.stopAfter {
			return // the load balancer learned: it sends elsewhere
		}
		resp, err := client.Post(lb.url, "text/plain", strings.NewReader("x"))
		if err != nil {
			lb.mu.Lock()
			lb.lost = append(lb.lost, err.Error())
			lb.mu.Unlock()
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("POST: %d", resp.StatusCode)
		}
		lb.answered.Add(1)
		// An idle pause, as between a user's clicks.
		time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
	}
}
