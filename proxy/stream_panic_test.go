package proxy

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
)

// The watch of a forwarded stream looks its identity up again from
// goroutines no server recovers: the quiet watch's timer (an event stream
// that went quiet) and the transport's writer of an upload's body. A panic
// in that lookup (here the provider's, a library's bug on a hostile
// answer) ended the process, every user's requests with it, where the
// same panic in an upgraded connection's watch ends that connection
// alone (TestUpgradeWatchPanicEndsTheConnection).

// panicOnVerify makes f's provider panic on every bearer lookup once armed.
func panicOnVerify(f *fixture, armed *atomic.Bool) {
	f.prov.mu.Lock()
	defer f.prov.mu.Unlock()
	f.prov.onVerify = func() {
		if armed.Load() {
			panic("a library's bug on the provider's answer")
		}
	}
}

func TestQuietStreamWatchPanicEndsTheStream(t *testing.T) {
	logs := &syncBuffer{}
	ended := make(chan struct{}, 4)
	f := newFixtureWith(t, silentStream(ended), func(c *Config) { c.UpgradeRecheck = 50 * time.Millisecond }, withDebugLog(logs))
	f.prov.bearers["sse"] = &portcullis.Identity{Subject: "svc", Expiry: f.clock.Now().Add(time.Hour)}
	armed := new(atomic.Bool)
	panicOnVerify(f, armed)
	br, _, _ := openSilentStreamHTTP2(t, f, "Authorization", "Bearer sse")
	armed.Store(true)
	f.clock.Advance(11 * time.Second) // a lookup is due: the timer makes it
	if !streamEndsWithin(br, 5*time.Second) {
		t.Fatal("the quiet event stream stayed open after its watch failed")
	}
	if !waitEnded(ended, 5*time.Second) {
		t.Fatal("the application's request went on after the stream's watch failed")
	}
	if !strings.Contains(logs.String(), "panic") {
		t.Errorf("no log line names the watch's panic:\n%s", logs.String())
	}
}

func TestUploadWatchPanicEndsTheUpload(t *testing.T) {
	logs := &syncBuffer{}
	var got atomic.Int64
	up := httptest.NewServer(countingUpstream(&got))
	t.Cleanup(up.Close)
	f := newFixture(t, func(c *Config) { c.Upstreams = []Upstream{{Name: "app", URL: mustURL(t, up.URL)}} }, withDebugLog(logs))
	f.prov.bearers["up"] = &portcullis.Identity{Subject: "svc", Expiry: f.clock.Now().Add(time.Hour)}
	armed := new(atomic.Bool)
	panicOnVerify(f, armed)
	srv := serveGateway(t, f)
	send, done := streamUpload(t, srv.URL+"/app/upload", "Bearer up")
	send(6) // 96 KiB: past preReadLimit, the rest streams
	for deadline := time.Now().Add(5 * time.Second); got.Load() < 96<<10; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the upstream got %d bytes of the upload", got.Load())
		}
	}
	armed.Store(true)
	f.clock.Advance(11 * time.Second) // the next chunk's read makes a lookup
	send(64)
	select {
	case resp := <-done:
		if resp != nil {
			resp.Body.Close()
			if resp.StatusCode < http.StatusBadRequest {
				t.Errorf("the upload whose watch failed was answered %d, want a refusal (502)", resp.StatusCode)
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the upload went on after its watch failed: the upstream got %d bytes", got.Load())
	}
	if !strings.Contains(logs.String(), "panic") {
		t.Errorf("no log line names the watch's panic:\n%s", logs.String())
	}
}
