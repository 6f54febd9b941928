package proxy

import (
	"bufio"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
)

// An event stream that goes quiet (no heartbeat: it writes only when
// something happens) was checked only as data arrived, so after a
// revocation or the session's end it stayed open, at the client and at
// the application, until the application wrote again: the application
// went on holding the subscription of a signed-out user, and a WebSocket
// of the same identity was closed within the recheck interval. Over
// HTTP/2 the stream is one of many on the connection and nothing else
// ends it.

// silentStream is an upstream that sends one event and then nothing until
// the request ends, which it reports on ended.
func silentStream(ended chan<- struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: hello\n\n")
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done()
		ended <- struct{}{}
	}
}

// openSilentStreamHTTP2 GETs /app/events from f's gateway over HTTP/2 with
// the header k: v, reads the first event and returns the rest of the
// stream and the client (its connection stays open).
func openSilentStreamHTTP2(t *testing.T, f *fixture, k, v string) (*bufio.Reader, *http.Client, string) {
	t.Helper()
	addr := serveHTTP2(t, f)
	c := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	t.Cleanup(c.CloseIdleConnections)
	req, _ := http.NewRequest("GET", "https://"+addr+"/app/events", nil)
	req.Host = "gw.test"
	req.Header.Set(k, v)
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Fatalf("stream: %v %v", resp, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "data: hello\n" {
		t.Fatalf("first event = %q, %v", line, err)
	}
	return br, c, addr
}

func TestSilentStreamEndsWhenTokenRevoked(t *testing.T) {
	ended := make(chan struct{}, 4)
	f := newFixtureWith(t, silentStream(ended), func(c *Config) { c.UpgradeRecheck = 50 * time.Millisecond })
	f.prov.bearers["sse"] = &portcullis.Identity{Subject: "svc", Expiry: f.clock.Now().Add(time.Hour)}
	f.prov.bearers["other"] = &portcullis.Identity{Subject: "svc2", Expiry: f.clock.Now().Add(time.Hour)}
	br, c, addr := openSilentStreamHTTP2(t, f, "Authorization", "Bearer sse")
	before := f.prov.verifies.Load()
	f.clock.Advance(11 * time.Second) // a lookup is due: the token is still valid
	// The timer's lookup, not a fixed sleep, which a loaded machine may
	// pass before the timer fired, checking nothing.
	for deadline := time.Now().Add(5 * time.Second); f.prov.verifies.Load() == before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no lookup of the quiet stream's token within 5 s of its being due")
		}
	}
	if waitEnded(ended, 200*time.Millisecond) {
		t.Fatal("the stream of a valid token was ended")
	}
	revokeEndsSilentStream(t, f, br, ended)
	// Only that stream ends: the connection serves the next request.
	req, _ := http.NewRequest("GET", "https://"+addr+"/public/x", nil)
	req.Host = "gw.test"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Proto, "HTTP/2") {
		t.Errorf("next request on the connection: %s %d", resp.Proto, resp.StatusCode)
	}
}

func TestSilentStreamEndsAtSessionEnd(t *testing.T) {
	ended := make(chan struct{}, 4)
	f := newFixtureWith(t, silentStream(ended), func(c *Config) { c.UpgradeRecheck = 50 * time.Millisecond })
	s := f.session()
	s.ExpiresAt = f.clock.Now().Add(time.Minute)
	var cookie []string
	for _, c := range f.cookies(t, s) {
		cookie = append(cookie, c.String())
	}
	br, _, _ := openSilentStreamHTTP2(t, f, "Cookie", strings.Join(cookie, "; "))
	f.clock.Advance(2 * time.Minute)
	if !streamEndsWithin(br, 5*time.Second) {
		t.Fatal("the quiet event stream outlived its session")
	}
	if !waitEnded(ended, 5*time.Second) {
		t.Fatal("the application's request went on past the session's end")
	}
}

// TestSilentStreamFromHTTP2UpstreamEnds: the same with an https upstream
// that answers over HTTP/2, whose answer body the timer closes from
// another goroutine than the reading one.
func TestSilentStreamFromHTTP2UpstreamEnds(t *testing.T) {
	ended := make(chan struct{}, 4)
	up := httptest.NewUnstartedServer(silentStream(ended))
	up.EnableHTTP2 = true
	up.StartTLS()
	t.Cleanup(up.Close)
	var upProto atomic.Value
	up.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upProto.Store(r.Proto)
		silentStream(ended)(w, r)
	})
	f := newFixture(t, func(c *Config) {
		c.UpgradeRecheck = 50 * time.Millisecond
		c.Upstreams = []Upstream{{Name: "app", URL: mustURL(t, up.URL), TLSSkipVerify: true}}
	})
	f.prov.bearers["sse"] = &portcullis.Identity{Subject: "svc", Expiry: f.clock.Now().Add(time.Hour)}
	br, _, _ := openSilentStreamHTTP2(t, f, "Authorization", "Bearer sse")
	if p, _ := upProto.Load().(string); p != "HTTP/2.0" {
		t.Fatalf("the upstream was reached over %q", p)
	}
	revokeEndsSilentStream(t, f, br, ended)
}

// revokeEndsSilentStream revokes the bearer token "sse" and fails t unless
// its quiet stream br, and the application's request (ended), end once a
// lookup is due.
func revokeEndsSilentStream(t *testing.T, f *fixture, br *bufio.Reader, ended <-chan struct{}) {
	t.Helper()
	f.prov.mu.Lock()
	delete(f.prov.bearers, "sse")
	f.prov.mu.Unlock()
	f.clock.Advance(11 * time.Second)
	if !streamEndsWithin(br, 5*time.Second) {
		t.Fatal("the quiet event stream outlived the revocation of its bearer token")
	}
	if !waitEnded(ended, 5*time.Second) {
		t.Fatal("the application's request went on after the revocation")
	}
}
