package proxy

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portcullis/portcullis/session"
)

// healthProbeStore counts every call that reaches the session store.
type healthProbeStore struct {
	session.Store
	calls *atomic.Int32
}

func (s healthProbeStore) Load(r *http.Request) (*session.Session, error) {
	s.calls.Add(1)
	return s.Store.Load(r)
}

func (s healthProbeStore) Owns(name string) bool {
	s.calls.Add(1)
	return s.Store.Owns(name)
}

func TestHealthOnServingPort(t *testing.T) {
	var storeCalls atomic.Int32
	var shuttingDown atomic.Bool
	f := newFixture(t, func(c *Config) {
		c.Sessions = healthProbeStore{Store: failingStore{c.Sessions}, calls: &storeCalls}
		c.ShuttingDown = shuttingDown.Load
	})
	// The provider has no metadata and the store is down: health is about
	// this process only.
	f.prov.notReady = true
	cookies := f.cookies(t, f.session())
	tests := []struct {
		name       string
		method     string
		target     string
		opts       []reqOption
		shutdown   bool
		wantStatus int
		wantBody   string
		wantInBody string
	}{
		{name: "GET", method: "GET", target: "/oauth2/healthz", wantStatus: 200, wantBody: "ok\n"},
		{name: "HEAD", method: "HEAD", target: "/oauth2/healthz", wantStatus: 200},
		{name: "with a cookie and a browser Accept", method: "GET", target: "/oauth2/healthz",
			opts: []reqOption{browser(), withCookies(cookies)}, wantStatus: 200, wantBody: "ok\n"},
		{name: "any Host (load balancers probe by IP)", method: "GET", target: "http://10.1.2.3:4180/oauth2/healthz",
			wantStatus: 200, wantBody: "ok\n"},
		{name: "POST", method: "POST", target: "/oauth2/healthz", wantStatus: 405},
		{name: "shutting down", method: "GET", target: "/oauth2/healthz", shutdown: true, wantStatus: 503,
			wantInBody: `"error":"shutting_down"`},
		{name: "not under the prefix is a route", method: "GET", target: "/healthz", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shuttingDown.Store(tt.shutdown)
			storeCalls.Store(0)
			resp := f.do(t, tt.method, tt.target, nil, tt.opts...)
			body := readBody(t, resp)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantBody != "" && body != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
			if !strings.Contains(body, tt.wantInBody) {
				t.Errorf("body = %q, want it to contain %q", body, tt.wantInBody)
			}
			if resp.StatusCode == 200 {
				if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", cc)
				}
				if n := storeCalls.Load(); n != 0 {
					t.Errorf("the session store was asked %d time(s)", n)
				}
			}
			if f.up.count() != 0 {
				t.Error("the request reached the upstream")
			}
		})
	}
}
