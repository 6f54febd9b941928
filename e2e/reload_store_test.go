package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestReloadChangesTheStoreUnderLoad moves a gateway under steady load from
// the cookie store to Redis and back, as the docs promise: no request
// fails or gets a 5xx meanwhile; a session of the store replaced is
// refused (401) and its user signs in again, into the new store; and the
// connection to the Redis left behind is closed once shutdown_timeout and
// a second have passed.
func TestReloadChangesTheStoreUnderLoad(t *testing.T) {
	t.Parallel()
	rs := startRedis(t, false)
	rc := rs.Client()
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	cfg := func(session string) string {
		return tomlConfig{Server: "shutdown_timeout = \"1s\"\n", Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
			Session: session, Upstream: up.URL, Routes: demoRoutes + "\n[[routes]]\npath = \"/**\"\n"}.String()
	}
	gw := startGateway(t, a, cfg(""))
	c := browser(t)
	loginThrough(t, c, gw, "alice")
	cookieSession := sessionCookie(t, c, gw)

	client := &http.Client{Timeout: 5 * time.Second, Transport: clientTransport}
	load := startSteadyLoad(t, 4, func(worker, _ int) string {
		path := []string{"/public/x", "/app/x"}[worker%2]
		req, _ := http.NewRequest("GET", gw.URL+path, nil)
		req.Header.Set("Accept", "application/json")
		req.AddCookie(cookieSession)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		if err != nil || resp.StatusCode >= 500 || (path == "/public/x" && resp.StatusCode != 200) {
			return fmt.Sprintf("%s: %v %v", path, resp, err)
		}
		return ""
	})
	load.requests(t, 20, 20*time.Second)

	gw.rewrite(t, a, cfg(redisSession(rs.URL())))
	gw.signal(t, syscall.SIGHUP)
	gw.waitOutput(t, "store_changed=true", 1)
	load.requests(t, 20, 20*time.Second)
	if status, _, _ := withCookie(t, "GET", gw.URL+"/app/x", cookieSession, false); status != http.StatusUnauthorized {
		t.Errorf("a cookie-store session after the move to Redis: %d, want 401", status)
	}
	c = browser(t)
	loginThrough(t, c, gw, "alice")
	redisSessionCookie := sessionCookie(t, c, gw)
	if n, err := rc.DBSize(context.Background()).Result(); err != nil || n == 0 {
		t.Errorf("Redis holds %d keys (%v) after a sign-in into the Redis store", n, err)
	}

	gw.rewrite(t, a, cfg(""))
	gw.signal(t, syscall.SIGHUP)
	gw.waitOutput(t, "store_changed=true", 2)
	load.requests(t, 20, 20*time.Second)
	if status, _, _ := withCookie(t, "GET", gw.URL+"/app/x", redisSessionCookie, false); status != http.StatusUnauthorized {
		t.Errorf("a Redis session after the move back to cookies: %d, want 401", status)
	}
	if sent, failures := load.finish(); len(failures) > 0 {
		t.Errorf("%d of %d requests failed across the store changes: %q", len(failures), sent, failures[:min(3, len(failures))])
	}
	// The inspecting client is the one connection left.
	for deadline := time.Now().Add(6 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		n, err := connectedClients(rc)
		if err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway still holds %d connection(s) (%v) to the Redis it left, 6 s after", n-1, err)
		}
	}
}

// connectedClients is redis-server's connected_clients (INFO clients).
func connectedClients(rc *redis.Client) (int, error) {
	info, err := rc.Info(context.Background(), "clients").Result()
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "connected_clients:"); ok {
			var n int
			_, err := fmt.Sscan(v, &n)
			return n, err
		}
	}
	return 0, fmt.Errorf("no connected_clients in INFO")
}
