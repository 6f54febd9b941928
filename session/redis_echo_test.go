package session

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// TestRedisErrorsNeverQuoteThePassword: Redis answers a command it does
// not know with "unknown command 'X', with args beginning with: …", the
// arguments quoted; a real redis-server with HELLO and AUTH renamed away
// (rename-command, which hardened and managed setups use) quoted the
// password go-redis signed in with, and the gateway put that error in
// its log and in `portcullis check`. A Redis proxy that echoes does the
// same. Whatever path a call takes (a command, a pipeline, the
// autopipeliner, the error RedisRefusal reads), its error holds no run of
// the password.
func TestRedisErrorsNeverQuoteThePassword(t *testing.T) {
	const password = "Zq3vN8sLw0PbT1xYk5Hd7Gm2Rc9Ue4Af"
	addr, _ := testenv.StartRedis(t, "--rename-command", "HELLO", "", "--rename-command", "AUTH", "")
	clock := newTestClock()
	store, err := NewRedisStore(RedisConfig{URL: "redis://" + addr, Username: "gateway", Password: password}, testCookieConfig(t, clock))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	errs := map[string]error{"ping": store.Ping(ctx)}
	errs["save"] = store.Save(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "https://gw.example.com/", nil), testSession(t, clock.Now(), 1, 10))
	_, errs["pipeline"] = store.client.Pipelined(ctx, func(p redis.Pipeliner) error { p.Get(ctx, "k"); return nil })
	errs["autopipeline"] = store.checks.Get(ctx, "k").Err()
	for name, err := range errs {
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if strings.Contains(err.Error(), password[:8]) || strings.Contains(err.Error(), password[20:]) {
			t.Errorf("%s: the error quotes the password: %v", name, err)
		}
		if !strings.Contains(err.Error(), "unknown command") {
			t.Errorf("%s: the rest of Redis's answer is lost: %v", name, err)
		}
		if RedisRefusal(err) != "ERR" {
			t.Errorf("%s: RedisRefusal = %q, want ERR", name, RedisRefusal(err))
		}
	}
}
