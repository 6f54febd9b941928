package session

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// logRecorder is go-redis's logger for a test: it keeps every line.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) Printf(_ context.Context, format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, v...))
}

// TestRedisClusterErrorsNeverQuoteThePassword is
// TestRedisErrorsNeverQuoteThePassword for a Cluster client, on a real
// single-node Redis Cluster with HELLO and AUTH renamed away: its errors
// quoted the password as the standalone client's did. go-redis also logs
// some errors of the nodes' own clients itself (the command table's
// read): none of its lines may quote it either.
func TestRedisClusterErrorsNeverQuoteThePassword(t *testing.T) {
	const password = "Zq3vN8sLw0PbT1xYk5Hd7Gm2Rc9Ue4Af"
	// The bus port is chosen too: by default it is the port + 10000,
	// which may be taken or past 65535.
	addr, _ := testenv.StartRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", t.TempDir()+"/nodes.conf",
		"--cluster-port", strconv.Itoa(testenv.FreePort(t)), "--rename-command", "HELLO", "", "--rename-command", "AUTH", "")
	raw := redis.NewClient(&redis.Options{Addr: addr})
	defer raw.Close()
	if err := raw.Do(context.Background(), "CLUSTER", "ADDSLOTSRANGE", "0", "16383").Err(); err != nil {
		t.Fatal(err)
	}
	rec := &logRecorder{}
	redis.SetLogger(rec)
	defer redis.SetLogger(discardRedisLog{})
	clock := newTestClock()
	store, err := NewRedisStore(RedisConfig{ClusterAddrs: []string{addr}, Password: password}, testCookieConfig(t, clock))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	err = store.Save(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "https://gw.example.com/", nil), testSession(t, clock.Now(), 1, 10))
	if err == nil || strings.Contains(err.Error(), password[:8]) || strings.Contains(err.Error(), password[20:]) {
		t.Errorf("save: the error quotes the password, or there is none: %v", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, l := range rec.lines {
		if strings.Contains(l, password[:8]) || strings.Contains(l, password[20:]) {
			t.Errorf("go-redis logged the password: %s", l)
		}
	}
}

type discardRedisLog struct{}

func (discardRedisLog) Printf(context.Context, string, ...any) {}
