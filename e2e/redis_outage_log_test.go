package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestRedisOutageDoesNotFloodTheLog stops Redis under a signed-in user's
// traffic: each request is a 503 with its one `proxy: request refused`
// line, but go-redis's own complaint (`redis: connection pool: failed to
// dial ...`), the same text for every request, is written once, not four
// times per request: an outage must not multiply the log by the request
// rate.
func TestRedisOutageDoesNotFloodTheLog(t *testing.T) {
	t.Parallel()
	rs, _, _, gw, _, ck := redisLoggedIn(t, false)
	rs.Stop()
	const n = 20
	start := time.Now()
	for range n {
		if status, _, _ := withCookie(t, "GET", gw.URL+"/app/x", ck, false); status != 503 {
			t.Fatalf("Redis down: %d, want 503", status)
		}
	}
	// Once per 10 s window: on a slow machine the requests may span more.
	most := 1 + int(time.Since(start)/(10*time.Second))
	refused := `msg="proxy: request refused" code=unavailable`
	waitFor(t, "the refusals logged", func() bool { return strings.Count(gw.Proc.Output(), refused) >= n })
	out := gw.Proc.Output()
	if got := strings.Count(out, `msg="redis: connection pool: failed to dial`); got < 1 || got > most {
		t.Errorf("go-redis's dial failure logged %d times for %d requests, want 1 to %d\n%s", got, n, most, out)
	}
}
