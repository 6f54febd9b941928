package proxy

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
)

// eventStream is an upstream that sends a server-sent event every 20 ms
// until the request ends, and a long poll (/poll) that answers when the
// test closes release.
func eventStream(release <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/poll") {
			select {
			case <-release:
				_, _ = io.WriteString(w, "data: late\n\n")
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for {
			if _, err := io.WriteString(w, "data: tick\n\n"); err != nil {
				return
			}
			_ = rc.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// openStream GETs path through the fixture's gateway with the request
// header k: v and checks that events arrive.
func openStream(t *testing.T, f *fixture, path, k, v string) *bufio.Reader {
	t.Helper()
	srv := serveGateway(t, f)
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	req.Host = "gw.test"
	req.Header.Set(k, v)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %v %v", resp, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "data: tick\n" {
		t.Fatalf("first event = %q, %v", line, err)
	}
	return br
}

// streamEndsWithin reports whether the gateway ends the stream within d.
func streamEndsWithin(br *bufio.Reader, d time.Duration) bool {
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for {
			if _, err := br.ReadString('\n'); err != nil {
				return
			}
		}
	}()
	return waitEnded(ended, d)
}

// waitEnded reports whether ended is closed or receives within d.
func waitEnded(ended <-chan struct{}, d time.Duration) bool {
	select {
	case <-ended:
		return true
	case <-time.After(d):
		return false
	}
}

// A server-sent event stream or a long download is one answer that lasts
// as long as the application writes; only upgraded connections were
// watched, so the stream of a revoked bearer token or an ended session went
// on for as long as the application kept writing, where a WebSocket of the
// same identity was closed (docs/requests.md).

// TestStreamEndsWhenTokenRevoked: the provider stopped accepting the bearer
// token that opened an event stream; the gateway kept forwarding events.
func TestStreamEndsWhenTokenRevoked(t *testing.T) {
	f := newFixtureWith(t, eventStream(nil))
	f.prov.bearers["sse"] = &portcullis.Identity{Subject: "svc", Expiry: f.clock.Now().Add(time.Hour)}
	br := openStream(t, f, "/app/events", "Authorization", "Bearer sse")
	f.clock.Advance(11 * time.Second) // a recheck is due: the token is still valid
	for i := 0; i < 3; i++ {
		if line, err := br.ReadString('\n'); err != nil {
			t.Fatalf("the stream of a valid token ended: %q, %v", line, err)
		}
	}
	f.prov.mu.Lock()
	delete(f.prov.bearers, "sse")
	f.prov.mu.Unlock()
	f.clock.Advance(11 * time.Second)
	if !streamEndsWithin(br, 5*time.Second) {
		t.Fatal("the event stream outlived the revocation of its bearer token")
	}
}

// TestStreamEndsAtSessionEnd: an event stream of a session went on past the
// session's lifetime.
func TestStreamEndsAtSessionEnd(t *testing.T) {
	f := newFixtureWith(t, eventStream(nil))
	s := f.session()
	s.ExpiresAt = f.clock.Now().Add(time.Minute)
	var cookie []string
	for _, c := range f.cookies(t, s) {
		cookie = append(cookie, c.String())
	}
	br := openStream(t, f, "/app/events", "Cookie", strings.Join(cookie, "; "))
	f.clock.Advance(2 * time.Minute)
	if !streamEndsWithin(br, 5*time.Second) {
		t.Fatal("the event stream outlived its session")
	}
}

// TestLongPollEndsWhenTokenRevoked: the answer to a request that the
// application held back (a long poll) while its token was revoked is not
// given: a 401, as for a new request with that token.
func TestLongPollEndsWhenTokenRevoked(t *testing.T) {
	release := make(chan struct{})
	var atApp atomic.Int32
	f := newFixtureWith(t, counted(&atApp, eventStream(release)))
	f.prov.bearers["poll"] = &portcullis.Identity{Subject: "svc", Expiry: f.clock.Now().Add(time.Hour)}
	done := startLongPoll(t, f, &atApp)
	f.prov.mu.Lock()
	delete(f.prov.bearers, "poll")
	f.prov.mu.Unlock()
	f.clock.Advance(11 * time.Second)
	close(release)
	wantLongPollRefused(t, done, http.StatusUnauthorized)
}

// TestStreamEndLoggedOnce: a stream broken off because its identity ended
// was logged twice, the second time at warn by the reverse proxy as a read
// error of the upstream's answer ("httputil: ReverseProxy read error during
// body copy", upstream=...): every sign-out during a stream blamed the
// application. It is logged once, as the identity's end.
func TestStreamEndLoggedOnce(t *testing.T) {
	var logs syncBuffer
	f := newFixtureWith(t, eventStream(nil), withDebugLog(&logs))
	f.prov.bearers["sse"] = &portcullis.Identity{Subject: "svc", Expiry: f.clock.Now().Add(time.Hour)}
	br := openStream(t, f, "/app/events", "Authorization", "Bearer sse")
	f.prov.mu.Lock()
	delete(f.prov.bearers, "sse")
	f.prov.mu.Unlock()
	f.clock.Advance(11 * time.Second)
	if !streamEndsWithin(br, 5*time.Second) {
		t.Fatal("the event stream outlived the revocation of its bearer token")
	}
	deadline := time.Now().Add(10 * time.Second) // the request's log line follows the stream's end
	for !strings.Contains(logs.String(), "msg=request ") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	out := logs.String()
	if !strings.Contains(out, "forwarded answer ended") {
		t.Fatalf("the end of the stream is not logged:\n%s", out)
	}
	// Which of the user's answers ended, and why: its request line was
	// written when it began.
	if want := `msg="proxy: forwarded answer ended" sub=svc host=gw.test path=/app/events reason="the session or token was revoked"`; !strings.Contains(out, want) {
		t.Errorf("the end line lacks %s:\n%s", want, out)
	}
	if strings.Contains(out, "level=WARN") {
		t.Errorf("the end of the stream is logged as the upstream's failure:\n%s", out)
	}
}

// counted is h counting the requests that reach it in n.
func counted(n *atomic.Int32, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}
}

// startLongPoll sends a bearer request ("Bearer poll") for /app/poll
// through f's gateway, whose application holds it back, and returns, once
// the application has it (atApp counts the requests there), where its
// answer (nil on a transport error) arrives.
func startLongPoll(t *testing.T, f *fixture, atApp *atomic.Int32) <-chan *http.Response {
	t.Helper()
	return startLongPollWith(t, f, atApp, "Authorization", "Bearer poll")
}

// startLongPollWith is startLongPoll with the credential in the header
// name (a bearer token, or a session's Cookie).
func startLongPollWith(t *testing.T, f *fixture, atApp *atomic.Int32, name, value string) <-chan *http.Response {
	t.Helper()
	srv := serveGateway(t, f)
	req, _ := http.NewRequest("GET", srv.URL+"/app/poll", nil)
	req.Host = "gw.test"
	req.Header.Set(name, value)
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	waitUntil(t, "the long poll at the application", func() bool { return atApp.Load() == 1 })
	return done
}

// wantLongPollRefused waits for a long poll's answer: status, without the
// application's late answer.
func wantLongPollRefused(t *testing.T, done <-chan *http.Response, status int) {
	t.Helper()
	select {
	case resp := <-done:
		if resp == nil {
			return
		}
		body := readBody(t, resp)
		resp.Body.Close()
		if resp.StatusCode != status || strings.Contains(body, "late") {
			t.Fatalf("long poll: status %d %q, want %d without the answer", resp.StatusCode, body, status)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer to the long poll")
	}
}

// TestSlowRecheckLetsStreamFlow: the next lookup was due a recheck interval
// after the last one began, so a lookup that took that long (a provider or
// Redis that answers at its timeout, 10 s) was followed at once by another
// on the next read: during such an outage an event stream got one read
// per lookup. The interval now runs from the lookup's end.
func TestSlowRecheckLetsStreamFlow(t *testing.T) {
	f := newFixtureWith(t, eventStream(nil))
	f.prov.bearers["sse"] = &portcullis.Identity{Subject: "svc", Expiry: f.clock.Now().Add(time.Hour)}
	br := openStream(t, f, "/app/events", "Authorization", "Bearer sse")
	f.prov.mu.Lock()
	f.prov.onVerify = func() { f.clock.Advance(11 * time.Second) } // each lookup takes 11 s
	f.prov.mu.Unlock()
	before := f.prov.verifies.Load()
	f.clock.Advance(11 * time.Second) // a recheck is due
	for i := 0; i < 20; i++ {
		if line, err := br.ReadString('\n'); err != nil {
			t.Fatalf("the stream of a valid token ended: %q, %v", line, err)
		}
	}
	if n := f.prov.verifies.Load() - before; n != 1 {
		t.Errorf("%d lookups for ten events after one interval, want 1", n)
	}
}
