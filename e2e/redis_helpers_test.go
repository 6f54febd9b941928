package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// redisServer is a redis-server started by a test on a free loopback port.
// With persist, it keeps an append-only file in its own directory (fsynced
// on every write, never RDB snapshots), so a restart on the same port finds
// the sessions again.
type redisServer struct {
	Port    int
	Addr    string // 127.0.0.1:PORT
	dir     string
	persist bool
	extra   []string
	proc    *testenv.Process
	tb      testing.TB
}

// startRedis runs redis-server until the test ends. extra arguments are
// appended to the command line (e.g. "--replicaof", "127.0.0.1 6379").
func startRedis(tb testing.TB, persist bool, extra ...string) *redisServer {
	tb.Helper()
	port := testenv.FreePort(tb)
	r := &redisServer{Port: port, Addr: testenv.Addr(port), dir: tb.TempDir(), persist: persist, extra: extra, tb: tb}
	r.Start()
	return r
}

// Start (re)starts the server on its port, with its directory.
func (r *redisServer) Start() {
	r.tb.Helper()
	args := []string{"--dir", r.dir, "--appendonly", "no"}
	if r.persist {
		args = []string{"--dir", r.dir, "--appendonly", "yes", "--appendfsync", "always"}
	}
	r.proc = testenv.RunRedis(r.tb, r.Port, append(args, r.extra...)...)
}

// Stop kills the server by PID (SIGKILL to its process group), as a crash would.
func (r *redisServer) Stop() { r.proc.Stop() }

// URL is the redis:// URL of database 0.
func (r *redisServer) URL() string { return "redis://" + r.Addr + "/0" }

// Client returns a plain client for inspecting the server, closed at cleanup.
func (r *redisServer) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: r.Addr, DisableIdentity: true})
	r.tb.Cleanup(func() { c.Close() })
	return c
}

// commandCalls returns the calls per command from INFO commandstats
// (e.g. "get" -> 12).
func commandCalls(tb testing.TB, c *redis.Client) map[string]int {
	tb.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		tb.Fatalf("INFO commandstats: %v", err)
	}
	calls := map[string]int{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				n, _ := strconv.Atoi(v)
				calls[strings.TrimPrefix(name, "cmdstat_")] = n
			}
		}
	}
	return calls
}

// sentinelSetup is one master, one replica and one redis-sentinel watching
// them as "mymaster" (quorum 1, down after 1 s).
type sentinelSetup struct {
	Master, Replica *redisServer
	SentinelAddr    string
	sentinel        *testenv.Process
}

const sentinelMaster = "mymaster"

func startSentinel(tb testing.TB) *sentinelSetup {
	tb.Helper()
	bin := testenv.LookPath(tb, "redis-sentinel")
	s := &sentinelSetup{Master: startRedis(tb, false)}
	s.Replica = startRedis(tb, false, "--replicaof", "127.0.0.1", strconv.Itoa(s.Master.Port))
	port := testenv.FreePort(tb)
	s.SentinelAddr = testenv.Addr(port)
	conf := filepath.Join(tb.TempDir(), "sentinel.conf")
	text := fmt.Sprintf(`port %d
bind 127.0.0.1
dir %s
sentinel monitor %s 127.0.0.1 %d 1
sentinel down-after-milliseconds %s 1000
sentinel failover-timeout %s 10000
sentinel parallel-syncs %s 1
`, port, filepath.Dir(conf), sentinelMaster, s.Master.Port, sentinelMaster, sentinelMaster, sentinelMaster)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		tb.Fatal(err)
	}
	s.sentinel = testenv.Start(tb, exec.Command(bin, conf))
	testenv.WaitTCP(tb, s.SentinelAddr, 10*time.Second, s.sentinel)
	s.waitReplicaLinked(tb)
	return s
}

// waitReplicaLinked waits until the replica has synced with the master and
// the sentinel has discovered it, so that a failover has somewhere to go.
func (s *sentinelSetup) waitReplicaLinked(tb testing.TB) {
	tb.Helper()
	rc := s.Replica.Client()
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.SentinelAddr, DisableIdentity: true})
	defer sc.Close()
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		info, _ := rc.Info(ctx, "replication").Result()
		replicas, _ := sc.Replicas(ctx, sentinelMaster).Result()
		if strings.Contains(info, "master_link_status:up") && len(replicas) == 1 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("replica not linked or not seen by the sentinel; sentinel output:\n%s", s.sentinel.Output())
}

// masterAddr asks the sentinel which server is the master now.
func (s *sentinelSetup) masterAddr(tb testing.TB) string {
	tb.Helper()
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.SentinelAddr, DisableIdentity: true})
	defer sc.Close()
	a, err := sc.GetMasterAddrByName(context.Background(), sentinelMaster).Result()
	if err != nil || len(a) != 2 {
		tb.Fatalf("SENTINEL get-master-addr-by-name: %v %v", a, err)
	}
	return a[0] + ":" + a[1]
}

// redisGatewayConfig is a gateway in front of upstreamURL with the given
// [session] keys (secrets are added), for the provider at issuer.
func redisGatewayConfig(issuer, clientID, clientSecret, upstreamURL, sessionKeys string) string {
	return tomlConfig{Provider: oidcProvider(issuer, clientID, clientSecret), Session: sessionKeys,
		Upstream: upstreamURL, Routes: `
[[routes]]
path = "/public/**"
public = true

[[routes]]
path = "/**"
`}.String()
}

// redisSession are the [session] keys of a Redis store at url.
func redisSession(url string) string { return "store = \"redis\"\nredis_url = \"" + url + "\"\n" }

// sessionCookie returns the gateway's session cookie that c holds for gw.
func sessionCookie(tb testing.TB, c *http.Client, gw *gateway) *http.Cookie {
	tb.Helper()
	req, _ := http.NewRequest("GET", gw.URL+"/", nil)
	for _, ck := range c.Jar.Cookies(req.URL) {
		if ck.Name == "portcullis" {
			return ck
		}
	}
	tb.Fatalf("no session cookie for %s", gw.URL)
	return nil
}

// withCookie performs a request to url carrying only ck, without following
// redirects; html makes it a browser navigation. It returns status and body.
func withCookie(tb testing.TB, method, url string, ck *http.Cookie, html bool) (int, string, http.Header) {
	tb.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if ck != nil {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	if html {
		req.Header.Set("Accept", "text/html")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	c := &http.Client{Timeout: 20 * time.Second, Transport: clientTransport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	_, _ = io.Copy(b, resp.Body)
	return resp.StatusCode, b.String(), resp.Header
}

// redisLoggedIn starts a Redis (persistent when persist), an oidctest
// provider, an upstream and a gateway with the redis store, and logs alice
// in; it returns all of them, her browser and her session cookie.
func redisLoggedIn(t *testing.T, persist bool) (*redisServer, *oidctest.Provider, *upstream, *gateway, *http.Client, *http.Cookie) {
	t.Helper()
	rs := startRedis(t, persist)
	p := oidctest.New(t, oidctest.Options{})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, redisSession(rs.URL())))
	c := browser(t)
	loginThrough(t, c, gw, "alice")
	return rs, p, up, gw, c, sessionCookie(t, c, gw)
}
