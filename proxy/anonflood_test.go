// The flood is too slow under the race detector, which also distorts the
// heap it measures; scripts/norace.sh runs it without it.

//go:build !race

package proxy

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// anonymousKinds are the requests a client without any credential can send,
// each made distinct by n and padded with pad (about 1 KB) in every value it
// chooses: the target, the query, the Host, the method, a bearer token, a
// session or login-state cookie, a return URL, a forward-auth URI, a
// logout token. The gateway refuses or redirects all of them, except the
// public route, which it forwards.
func anonymousKinds(f *fixture, n, pad string) []func() *http.Request {
	req := func(method, target string) *http.Request {
		r := httptest.NewRequest(method, target, nil)
		r.RemoteAddr = "192.0.2.7:5555"
		r.Host = "gw.test"
		return r
	}
	q := "?q=" + pad + n
	return []func() *http.Request{
		func() *http.Request { // a navigation: a login redirect and a state cookie
			r := req("GET", "/app/"+pad+n+q)
			r.Header.Set("Accept", "text/html")
			return r
		},
		func() *http.Request {
			r := req("GET", "/app/x"+q)
			r.Host = "h" + n + "." + strings.Repeat("abcdefghi.", 100) + "test"
			return r
		},
		func() *http.Request { return req("M"+n+strings.ToUpper(pad), "/app/x") },
		func() *http.Request {
			r := req("GET", "/api/x")
			r.Header.Set("Authorization", "Bearer "+pad+n)
			return r
		},
		func() *http.Request {
			r := req("GET", "/app/x")
			r.AddCookie(&http.Cookie{Name: "portcullis", Value: pad + n})
			r.AddCookie(&http.Cookie{Name: "portcullis_1", Value: pad + n})
			return r
		},
		func() *http.Request { return req("GET", "/oauth2/start?rd=/"+pad[:900]+n) },
		func() *http.Request {
			r := req("GET", "/oauth2/callback?code="+pad+n+"&state=s"+n)
			r.AddCookie(&http.Cookie{Name: "portcullis_login_x" + n, Value: pad + n})
			return r
		},
		func() *http.Request {
			return req("GET", "/oauth2/callback?error=e"+n+"&error_description="+pad+"&state=s"+n)
		},
		func() *http.Request { return req("GET", "/oauth2/sign_out?rd=/"+pad[:900]+n) },
		func() *http.Request {
			r := req("GET", "/oauth2/auth")
			r.RemoteAddr = "10.0.0.1:5555"
			r.Header.Set("X-Forwarded-Host", "gw.test")
			r.Header.Set("X-Forwarded-Uri", "/app/"+pad+n)
			return r
		},
		func() *http.Request {
			r := req("GET", "/oauth2/userinfo")
			r.Header.Set("Authorization", "Bearer "+pad+n)
			return r
		},
		func() *http.Request {
			r := httptest.NewRequest("POST", "/oauth2/backchannel_logout", strings.NewReader("logout_token="+pad+n))
			r.Host, r.RemoteAddr = "gw.test", "192.0.2.7:5555"
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		},
		func() *http.Request { return req("GET", "/public/"+pad+n+q) },
	}
}

// TestAnonymousFloodHoldsNothing: a client without credentials can make
// the gateway keep nothing of what it sends. 26,000 requests of every kind
// above (2,000 each), each with about 1 KB of its own in every value it
// chooses, must leave the live heap within 1 MiB of where it was (it grows
// by some 20 KiB), no goroutine behind and no metric series added: a
// structure that kept one value of one kind per request (a map of refused
// tokens, hosts or states, a series per method) would hold 2 MB or more.
func TestAnonymousFloodHoldsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("floods the handler")
	}
	quiet := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(quiet.Close)
	reg := prometheus.NewRegistry()
	f := newFixture(t, func(c *Config) {
		c.Upstreams = []Upstream{{Name: "app", URL: mustURL(t, quiet.URL)}}
		c.Metrics = reg
	})
	pad := strings.Repeat("p", 1000)
	statuses := map[int]int{}
	send := func(from, to int) {
		for i := from; i < to; i++ {
			for _, mk := range anonymousKinds(f, strconv.Itoa(i), pad) {
				rec := httptest.NewRecorder()
				f.h.ServeHTTP(rec, mk())
				statuses[rec.Code]++
			}
		}
	}
	send(0, 20) // warm every path once: what it builds on first use stays
	goroutines, series := runtime.NumGoroutine(), seriesCount(t, reg)
	grown := heapGrowth(f, func() { send(20, 2_020) })
	t.Logf("heap grew %d KiB; statuses %v; %d series", grown>>10, statuses, series)
	if n := seriesCount(t, reg); n != series {
		t.Errorf("the flood made %d new metric series (%d before): a client's values became labels", n-series, series)
	}
	if statuses[http.StatusOK]+statuses[http.StatusFound]+statuses[http.StatusUnauthorized] == 0 {
		t.Fatalf("the flood reached no path: %v", statuses)
	}
	if grown > 1<<20 {
		t.Errorf("26,000 anonymous requests left %d KiB on the heap, over 1 MiB", grown>>10)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines+5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines+5 {
		t.Errorf("%d goroutines after the flood, %d before", n, goroutines)
	}
}

// seriesCount is how many series reg's metrics have.
func seriesCount(t *testing.T, reg *prometheus.Registry) int {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range families {
		n += len(mf.GetMetric())
	}
	return n
}
