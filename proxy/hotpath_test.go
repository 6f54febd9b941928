package proxy

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/session"
)

// hotPathStore is a cookie or Redis store (on the redis-server at addr)
// with the fixture's clock and the given options.
func hotPathStore(t *testing.T, addr string, c *Config, opts session.StoreOptions) session.Store {
	t.Helper()
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(i*37 + 11) // redisStoreAt's: its stores are other replicas
	}
	cc := session.CookieConfig{Name: "portcullis", Secrets: [][]byte{secret}, Lifetime: 12 * time.Hour, Now: c.Now}
	if addr == "" {
		st, err := session.NewCookieStore(cc, opts)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st, err := session.NewRedisStore(session.RedisConfig{URL: "redis://" + addr + "/0"}, cc, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestRepeatedRequestsSignOnce: requests with one session, under every
// store and access-token setting, sign one assertion and derive the
// identity's header values once: the upstream sees the same assertion
// each time and the identity-values cache holds one entry. A store that
// does not keep access tokens (StoreOptions.KeepAccessToken) hands back a
// fresh read of the session for its token on every request; keyed by that
// read, every request signed an assertion. A change of the stored session
// (another replica's refresh) still reaches the upstream at once.
func TestRepeatedRequestsSignOnce(t *testing.T) {
	addr := startRedisServer(t)
	for _, store := range []string{"cookie", "redis"} {
		for _, keep := range []bool{true, false} {
			for _, header := range []string{"Authorization", "X-Forwarded-Access-Token"} {
				t.Run(fmt.Sprintf("%s/keep=%v/%s", store, keep, header), func(t *testing.T) {
					repeatedRequests(t, map[string]string{"redis": addr}[store], keep, header)
				})
			}
		}
	}
}

func repeatedRequests(t *testing.T, addr string, keep bool, header string) {
	f := newFixture(t, func(c *Config) {
		c.Headers.AccessToken = header
		c.Sessions = hotPathStore(t, addr, c, session.StoreOptions{KeepAccessToken: keep, KeepClaims: []string{"tenant"}})
	})
	s := f.session()
	s.Identity.Claims = map[string]any{"tenant": "t1", "locale": "de"}
	cookies := saveToStore(t, f.cfg.Sessions, s)
	want := "at-0"
	if header == "Authorization" {
		want = "Bearer at-0"
	}
	assertions := map[string]bool{}
	for i := range 5 {
		if resp := f.do(t, "GET", "/app/x", nil, withCookies(cookies)); resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
		got := f.up.last(t).Header
		if got.Get(header) != want || got.Get("X-Forwarded-Tenant") != "t1" {
			t.Fatalf("request %d: %s %q, tenant %q", i, header, got.Get(header), got.Get("X-Forwarded-Tenant"))
		}
		assertions[got.Get("X-Portcullis-Jwt-Assertion")] = true
	}
	if len(assertions) != 1 || f.h.idCache.c.Len() != 1 {
		t.Errorf("5 requests with one session: %d assertions signed, %d cached values; want 1 and 1",
			len(assertions), f.h.idCache.c.Len())
	}
	if addr == "" {
		return
	}
	// Another replica refreshes the session: the next request carries its token.
	r := withCookiesRequest(cookies)
	cur, err := f.cfg.Sessions.Load(r)
	if err == nil {
		cur, err = f.cfg.Sessions.Full(r, cur)
	}
	if err != nil {
		t.Fatal(err)
	}
	ns := cur.Clone()
	ns.AccessToken = "at-2"
	if err := redisStoreAt(t, addr, f.clock.Now).Save(nil, nil, ns); err != nil {
		t.Fatal(err)
	}
	f.do(t, "GET", "/app/x", nil, withCookies(cookies))
	if got := f.up.last(t).Header.Get(header); got != want[:len(want)-1]+"2" {
		t.Errorf("after another replica's refresh: %s %q, want the new token", header, got)
	}
}

// TestBearerAccessTokenHeaderCached: a bearer request's access-token
// header comes from the identity's cached values, built once, and never
// carries another token than the request's.
func TestBearerAccessTokenHeaderCached(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Headers.AccessToken = "Authorization" })
	id := &portcullis.Identity{Subject: "svc"}
	v := f.h.identityValues(id, "tok-1", "gw.test", time.Time{})
	hdr := http.Header{"Authorization": nil, "X-Forwarded-User": nil, "X-Portcullis-Jwt-Assertion": nil}
	if n := testing.AllocsPerRun(100, func() { f.h.names.setIdentity(hdr, v, "tok-1") }); n != 0 {
		t.Errorf("setIdentity for a bearer request: %v allocations, want 0", n)
	}
	if got := hdr.Get("Authorization"); got != "Bearer tok-1" {
		t.Errorf("Authorization %q", got)
	}
	f.h.names.setIdentity(hdr, v, "tok-2")
	if got := hdr.Get("Authorization"); got != "Bearer tok-2" {
		t.Errorf("values cached for another token: Authorization %q, want the request's", got)
	}
}
