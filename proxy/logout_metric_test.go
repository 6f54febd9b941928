package proxy

import (
	"net/http"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/portcullis/portcullis/session"
	"github.com/prometheus/client_golang/prometheus"
)

// logoutsCounted sums portcullis_logouts_total over the series whose
// labels include every pair of want.
func logoutsCounted(t *testing.T, reg *prometheus.Registry, want map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range families {
		if mf.GetName() != "portcullis_logouts_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := 0
			for _, l := range m.GetLabel() {
				if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
					match++
				}
			}
			if match == len(want) {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// redisMetricsFixture is a fixture with a real Redis store (st) and its
// own metrics registry (reg); stop stops redis-server.
func redisMetricsFixture(t *testing.T) (f *fixture, st *session.RedisStore, reg *prometheus.Registry, stop func()) {
	reg = prometheus.NewRegistry()
	f = newFixture(t, func(c *Config) {
		addr, p := testenv.StartRedis(t)
		st, stop = redisStoreAt(t, addr, c.Now), p.Stop
		c.Sessions, c.Metrics = st, reg
	})
	return f, st, reg, stop
}

// TestSignOutStoreFailureCounted: a sign-out while Redis is down (503,
// the cookie cleared, the session left in Redis) was not counted in
// logouts_total at all, so a dashboard of sign-outs showed none during an
// outage. It counts as kind="sign_out" with result="store_failed"; a
// sign-out the store carried out has result="ended".
func TestSignOutStoreFailureCounted(t *testing.T) {
	f, st, reg, stop := redisMetricsFixture(t)
	ok := saveToStore(t, st, f.session())
	if resp := f.do(t, "GET", "/oauth2/sign_out", nil, withCookies(ok)); resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	cookies := saveToStore(t, st, f.session())
	stop()
	if resp := f.do(t, "GET", "/oauth2/sign_out", nil, withCookies(cookies)); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("sign-out with Redis down: %d, want 503", resp.StatusCode)
	}
	if n := logoutsCounted(t, reg, map[string]string{"kind": "sign_out"}); n != 2 {
		t.Errorf("logouts_total{kind=\"sign_out\"} = %v, want 2 (one ended, one the store could not end)", n)
	}
	for result, want := range map[string]float64{"ended": 1, "store_failed": 1} {
		if n := logoutsCounted(t, reg, map[string]string{"kind": "sign_out", "result": result}); n != want {
			t.Errorf("logouts_total{kind=\"sign_out\",result=%q} = %v, want %v", result, n, want)
		}
	}
}

// TestStartStoreFailureCounted: a start of the gateway's own origin ends
// the browser's session as a sign-out does; one the store could not carry
// out (Redis down: the cookie cleared, the session left in Redis) was not
// counted, where such a sign-out is (TestSignOutStoreFailureCounted). It
// counts as kind="replaced" with result="store_failed". Found by review JA.
func TestStartStoreFailureCounted(t *testing.T) {
	f, st, reg, stop := redisMetricsFixture(t)
	cookies := saveToStore(t, st, f.session())
	stop()
	f.do(t, "GET", "/oauth2/start?rd=%2Fapp%2Fx", nil, withCookies(cookies), browser())
	if n := logoutsCounted(t, reg, map[string]string{"kind": "replaced", "result": "store_failed"}); n != 1 {
		t.Errorf("logouts_total{kind=\"replaced\",result=\"store_failed\"} = %v after a start with Redis down, want 1", n)
	}
}
