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
// client may retry on its own, for most of shutdown_delay after SIGTERM,
// as a load balancer that learns late that the pod left: every one is
// answered 200, and the process exits 0 once the kept-alive connections,
// idle by then, are closed.
func TestShutdownKeepAlivePosts(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), tomlConfig{Server: "shutdown_delay = \"1s\"\nshutdown_timeout = \"2s\"\n",
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: up.URL,
		Routes: "[[routes]]\npath = \"/public/**\"\npublic = true\n"}.String())
	var answered atomic.Int64
	var mu sync.Mutex
	var lost []string
	var wg sync.WaitGroup
	var sent atomic.Int64 // when SIGTERM was sent, in Unix nanoseconds
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
			defer client.CloseIdleConnections()
			for {
				if at := sent.Load(); at != 0 && time.Since(time.Unix(0, at)) > 700*time.Millisecond {
					return // the load balancer learned: it sends elsewhere
				}
				resp, err := client.Post(gw.URL+"/public/post", "text/plain", strings.NewReader("x"))
				switch {
				case err == nil:
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						t.Errorf("POST: %d", resp.StatusCode)
					}
					answered.Add(1)
				default:
					mu.Lock()
					lost = append(lost, err.Error())
					mu.Unlock()
					return
				}
				// An idle pause, as between a user's clicks.
				time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
			}
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); answered.Load() < 40; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d POSTs answered in 10 s", answered.Load())
		}
	}
	before := answered.Load()
	sent.Store(time.Now().UnixNano())
	gw.signal(t, syscall.SIGTERM)
	wg.Wait()
	t.Logf("%d POSTs answered, %d of them after SIGTERM", answered.Load(), answered.Load()-before)
	if len(lost) > 0 {
		t.Errorf("%d POSTs failed during the shutdown delay: %q", len(lost), lost[:min(3, len(lost))])
	}
	if err := gw.waitExit(t, 10*time.Second); err != nil {
		t.Errorf("exit: %v, want 0", err)
	}
}
