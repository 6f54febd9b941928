package proxy

import (
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/policy"
)

// An answer to a request without an identity (a public route) was never
// decided again: only identities were watched. A reload that made the route
// need a sign-in, or removed it, left an event stream, a long download or
// an upload that had begun before it going on for as long as the
// application or the client kept it, where an anonymous WebSocket of the
// same route was closed within the recheck interval.

// withoutPublic is testRoutes without /public/**: its requests need a sign-in.
func withoutPublic() []policy.RouteConfig {
	return append([]policy.RouteConfig(nil), testRoutes[1:]...)
}

func TestAnonymousStreamEndsWhenReloadDeniesIt(t *testing.T) {
	var live atomic.Pointer[Handler]
	f := newFixtureWith(t, eventStream(nil), func(c *Config) { c.Live = live.Load })
	br := openStream(t, f, "/public/events", "Accept", "text/event-stream")
	endsWhenReloadDenies(t, f, &live, br, withoutPublic(),
		"the anonymous event stream outlived a reload that made its public route need a sign-in")
}

func TestAnonymousUploadEndsWhenReloadDeniesIt(t *testing.T) {
	var got atomic.Int64
	up := httptest.NewServer(countingUpstream(&got))
	t.Cleanup(up.Close)
	var live atomic.Pointer[Handler]
	f := newFixture(t, func(c *Config) {
		c.Upstreams = []Upstream{{Name: "app", URL: mustURL(t, up.URL)}}
		c.Live = live.Load
	})
	srv := serveGateway(t, f)
	send, done := streamUpload(t, srv.URL+"/public/upload", "")
	send(6) // 96 KiB: past preReadLimit, the rest streams
	waitUntil(t, "the first 96 KiB at the upstream", func() bool { return got.Load() >= 96<<10 })
	live.Store(reloaded(t, f, withoutPublic()))
	f.clock.Advance(11 * time.Second)
	send(64) // another MiB, after the reload
	select {
	case resp := <-done:
		if resp != nil {
			resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Errorf("upload after the reload: %d, want a refusal", resp.StatusCode)
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the anonymous upload went on after a reload made its route need a sign-in: the upstream got %d bytes", got.Load())
	}
	if n := got.Load(); n > 96<<10+64<<10 {
		t.Errorf("the upstream got %d bytes, %d after the reload", n, n-96<<10)
	}
}
