package e2e

import (
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// steadyLoad keeps a gateway busy while a test reloads or stops it: each
// of its workers sends one request after another until finish, and a
// test waits for a number of requests rather than a time, since a loaded
// machine sends fewer in a given time and the test needs the load, not
// the rate.
type steadyLoad struct {
	sent     atomic.Int64
	mu       sync.Mutex
	failures []string
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// startSteadyLoad starts workers goroutines, stopped when t ends if not
// before; each calls send(worker, n) for its n-th request, which sends it
// and returns what went wrong ("" if nothing).
func startSteadyLoad(t *testing.T, workers int, send func(worker, n int) string) *steadyLoad {
	l := &steadyLoad{stop: make(chan struct{})}
	t.Cleanup(func() { l.finish() })
	for i := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for n := 0; ; n++ {
				select {
				case <-l.stop:
					return
				default:
				}
				failure := send(i, n)
				l.sent.Add(1)
				if failure != "" {
					l.mu.Lock()
					l.failures = append(l.failures, failure)
					l.mu.Unlock()
				}
			}
		}()
	}
	return l
}

// requests waits until n more requests have been sent, for at most
// within.
func (l *steadyLoad) requests(t *testing.T, n int64, within time.Duration) {
	t.Helper()
	for want, deadline := l.sent.Load()+n, time.Now().Add(within); l.sent.Load() < want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests in %v, want %d", l.sent.Load(), within, want)
		}
	}
}

// finish stops the workers and returns how many requests they sent and
// what went wrong.
func (l *steadyLoad) finish() (sent int64, failures []string) {
	l.stopOnce.Do(func() { close(l.stop) })
	l.wg.Wait()
	return l.sent.Load(), l.failures
}

// answer is what a request sent in the background got.
type answer struct {
	status int
	body   string
	err    error
}

// getInBackground GETs url with token as its bearer token in a goroutine;
// the answer arrives on the channel.
func getInBackground(url, token string) <-chan answer {
	res := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := plainClient.Do(req)
		if err != nil {
			res <- answer{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- answer{resp.StatusCode, string(b), nil}
	}()
	return res
}
