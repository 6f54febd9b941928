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
	// A counted line per 10 s window: a slow machine's requests may span
	// more than one.
	most := 1 + int(time.Since(start)/(10*time.Second))
	refused := `msg="proxy: request refused" code=unavailable`
	waitFor(t, "the refusals logged", func() bool { return strings.Count(gw.Proc.Output(), refused) >= n })
	// Copies left out are written, counted, when their 10 s window ends
	// (one more line if this test outlasts it): one line is uncounted.
	out := gw.Proc.Output()
	lines, uncounted := 0, 0
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, `msg="redis: connection pool: failed to dial`) {
			lines++
			if !strings.Contains(l, " repeated=") {
				uncounted++
			}
		}
	}
	if uncounted != 1 || lines > most+1 {
		t.Errorf("go-redis's dial failure logged %d times (%d uncounted) for %d requests, want one uncounted and at most %d in all\n%s", lines, uncounted, n, most+1, out)
	}
}
