package e2e

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// resettingUpstream accepts connections, reads the request and resets the
// connection (SO_LINGER 0), until the test ends.
func resettingUpstream(tb testing.TB) string {
	tb.Helper()
	return testenv.ServeConns(tb, func(c net.Conn) {
		c.(*net.TCPConn).SetLinger(0)
		c.Read(make([]byte, 4096))
		c.Close()
	})
}

// TestUpstreamFailures puts three upstreams behind public routes: one down
// (nothing listens), one slower than its timeout, one that resets every
// connection. Each request gets the documented 502 in about the time its
// failure takes, counts as an error of its route, and its `proxy: request
// refused` line names the upstream, which an address (or a timeout, no
// peer at all) does not, and which the request line, not next to it under
// load, names only through the route.
func TestUpstreamFailures(t *testing.T) {
	t.Parallel()
	gw := failingUpstreamsGateway(t)
	// The upper bounds are generous: a loaded machine or the race detector
	// can hold a request a second or more. Which failure ended each request
	// is its log line's cause; the bounds catch a failure answered only at
	// another timer (the default timeout, 30 s) or after retries.
	cases := []struct {
		path, route, upstream, cause string
		min, max                     time.Duration
	}{
		{"/down/x", "down", "app", "connection refused", 0, 10 * time.Second},
		{"/slow/x", "slow", "slow", "timeout awaiting response headers", time.Second, 10 * time.Second},
		{"/reset/x", "reset", "reset", "connection reset by peer", 0, 10 * time.Second},
	}
	for _, tc := range cases {
		start := time.Now()
		status, body, _ := withCookie(t, "GET", gw.URL+tc.path, nil, false)
		d := time.Since(start)
		if status != http.StatusBadGateway || !strings.Contains(body, `"error":"bad_gateway"`) {
			t.Errorf("%s: %d %s, want 502 bad_gateway", tc.path, status, body)
		}
		if d < tc.min || d > tc.max {
			t.Errorf("%s: answered in %v, want within [%v, %v]", tc.path, d, tc.min, tc.max)
		}
	}
	for _, tc := range cases {
		line := logLine(t, gw, tc.cause)
		if !strings.Contains(line, `msg="proxy: request refused" code=bad_gateway status=502`) || !strings.Contains(line, "upstream="+tc.upstream) {
			t.Errorf("%s: the refused line does not name upstream %q:\n%s", tc.path, tc.upstream, line)
		}
		series := `portcullis_requests_total{method_class="read",outcome="error",route="` + tc.route + `"} 1`
		if !strings.Contains(opsMetrics(t, gw), series) {
			t.Errorf("%s: no %s on /metrics", tc.path, series)
		}
	}
}

// failingUpstreamsGateway is TestUpstreamFailures' gateway: routes /down,
// /slow and /reset on an upstream that is down, one that answers past its
// 1 s timeout, and one that resets every connection.
func failingUpstreamsGateway(t *testing.T) *gateway {
	t.Helper()
	p := oidctest.New(t, oidctest.Options{})
	// The slow upstream answers only when the gateway gave up (or 30 s,
	// the default timeout, passed).
	slow := newUpstreamFunc(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	})
	down := "http://" + testenv.Addr(testenv.FreePort(t))
	cfg := tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: down, Extra: `
[[upstreams]]
name = "slow"
url = "` + slow.URL + `"
timeout = "1s"

[[upstreams]]
name = "reset"
url = "` + resettingUpstream(t) + `"
`, Routes: `
[[routes]]
name = "down"
path = "/down/**"
public = true
upstream = "app"

[[routes]]
name = "slow"
path = "/slow/**"
public = true
upstream = "slow"

[[routes]]
name = "reset"
path = "/reset/**"
public = true
upstream = "reset"
`}.String()
	return startGateway(t, pickAddrs(t), cfg)
}

// lineWith is the first complete line of text containing s, or "": the
// gateway's output is read through a pipe in pieces, and its last line may
// not have reached its end yet.
func lineWith(text, s string) string {
	for line := range strings.Lines(text) {
		if strings.HasSuffix(line, "\n") && strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

// logLine waits for a complete line of gw's output containing s (the log
// is flushed every 200 ms and read through a pipe) and returns it.
func logLine(tb testing.TB, gw *gateway, s string) string {
	tb.Helper()
	var line string
	waitFor(tb, "a log line with "+s, func() bool {
		line = lineWith(gw.Proc.Output(), s)
		return line != ""
	})
	return line
}
