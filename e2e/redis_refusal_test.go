package e2e

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRedisRefusalsAreCounted makes Redis answer the gateway with an error
// instead of falling silent: full under maxmemory with noeviction, turned
// into a read-only replica, and its password rotated. A new sign-in then
// gets a 503 at the callback each time; the documented alert on
// portcullis_session_store_errors_total must see it (the sign-in's
// single-use state is the Redis write that fails), and /readyz must name a
// refused password as such, not as an unreachable Redis.
func TestRedisRefusalsAreCounted(t *testing.T) {
	t.Parallel()
	rs, _, _, gw, _, ck := redisLoggedIn(t, false)
	rc := rs.Client()
	ctx := t.Context()
	signIn := func(name string) {
		t.Helper()
		before := storeErrors(t, gw)
		status, _, resp := get(t, browser(t), gw.URL+"/app/new")
		if status != http.StatusServiceUnavailable || resp.Request.URL.Path != "/oauth2/callback" {
			t.Errorf("%s: sign-in %d at %s, want 503 at the callback", name, status, resp.Request.URL.Path)
		}
		if after := storeErrors(t, gw); after <= before {
			t.Errorf("%s: portcullis_session_store_errors_total %v -> %v: the failed sign-in is not counted", name, before, after)
		}
	}

	rc.ConfigSet(ctx, "maxmemory-policy", "noeviction")
	rc.ConfigSet(ctx, "maxmemory", "1")
	signIn("Redis full")
	// Signed-in users are still served: Redis answers reads when full.
	if status, _, _ := withCookie(t, "GET", gw.URL+"/app/full", ck, false); status != 200 {
		t.Errorf("signed in, Redis full: %d, want 200", status)
	}
	rc.ConfigSet(ctx, "maxmemory", "0")

	other := startRedis(t, false)
	if err := rc.Do(ctx, "REPLICAOF", "127.0.0.1", other.Port).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replica to be read-only", func() bool { return rc.Set(ctx, "probe", "1", 0).Err() != nil })
	signIn("read-only replica")
	rc.Do(ctx, "REPLICAOF", "NO", "ONE")

	rc.ConfigSet(ctx, "requirepass", "rotated")
	rc.Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
	signIn("wrong password")
	status, body := readyz(t, gw)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "NOAUTH") || strings.Contains(body, "unreachable") {
		t.Errorf("/readyz with a rotated password: %d %q, want 503 naming NOAUTH", status, body)
	}
	if strings.Contains(settledOutput(t, gw), "rotated") {
		t.Errorf("the log shows the password")
	}
}

// storeErrors is the sum of portcullis_session_store_errors_total over op.
func storeErrors(tb testing.TB, gw *gateway) float64 {
	tb.Helper()
	return sumSeries(tb, gw, "portcullis_session_store_errors_total{", "")
}

// sumSeries sums the series on gw's /metrics that start with prefix (a
// name and "{") and whose labels contain sel.
func sumSeries(tb testing.TB, gw *gateway, prefix, sel string) float64 {
	tb.Helper()
	var sum float64
	for line := range strings.Lines(opsMetrics(tb, gw)) {
		rest, ok := strings.CutPrefix(line, prefix)
		labels, v, _ := strings.Cut(rest, "} ")
		if !ok || !strings.Contains(labels, sel) {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			tb.Fatal(err)
		}
		sum += f
	}
	return sum
}

func readyz(tb testing.TB, gw *gateway) (int, string) {
	tb.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second, Transport: clientTransport}).Get(gw.OpsURL + "/readyz")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	tb.Fatalf("waited 5 s for %s", what)
}
