package proxy

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
)

// An upload or a client stream (a request body longer than preReadLimit,
// which streams to the application) was never checked against its
// identity: only the answer was, and an upload's answer comes when the body
// has ended. After a sign-out or revocation the client could go on sending
// for as long as it liked, and the application acted on all of it.

// countingUpstream reads the request body, counting its bytes in got, and
// answers 200 once it ends.
func countingUpstream(got *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 4096)
		for {
			n, err := r.Body.Read(buf)
			got.Add(int64(n))
			if err != nil {
				break
			}
		}
		_, _ = io.WriteString(w, "stored")
	}
}

// streamUpload starts a PUT of url through the gateway (Host gw.test, the
// Authorization header auth unless empty) whose body is sent as the test
// asks: send(n) writes n more chunks of 16 KiB in the background. done
// gets the answer, nil if the request failed.
func streamUpload(t *testing.T, url, auth string) (send func(n int), done chan *http.Response) {
	t.Helper()
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.CloseWithError(io.ErrClosedPipe) })
	req, _ := http.NewRequest("PUT", url, pr)
	req.Host = "gw.test"
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	done = make(chan *http.Response, 1)
	go func() {
		resp, _ := http.DefaultClient.Do(req)
		done <- resp
	}()
	chunk := bytes.Repeat([]byte("x"), 16<<10)
	return func(n int) {
		go func() {
			for i := 0; i < n; i++ {
				if _, err := pw.Write(chunk); err != nil {
					return
				}
			}
		}()
	}, done
}

func TestUploadEndsWhenTokenRevoked(t *testing.T) {
	var got atomic.Int64
	up := httptest.NewServer(countingUpstream(&got)) // the stub upstream reads bodies in full first
	t.Cleanup(up.Close)
	f := newFixture(t, func(c *Config) { c.Upstreams = []Upstream{{Name: "app", URL: mustURL(t, up.URL)}} })
	f.prov.bearers["up"] = &portcullis.Identity{Subject: "svc", Expiry: f.clock.Now().Add(time.Hour)}
	srv := serveGateway(t, f)
	send, done := streamUpload(t, srv.URL+"/app/upload", "Bearer up")
	send(6) // 96 KiB: past preReadLimit, the rest streams
	deadline := time.Now().Add(5 * time.Second)
	for got.Load() < 96<<10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got.Load() < 96<<10 {
		t.Fatalf("the upstream got %d bytes of the upload", got.Load())
	}
	f.prov.mu.Lock()
	delete(f.prov.bearers, "up")
	f.prov.mu.Unlock()
	f.clock.Advance(11 * time.Second)
	send(64) // another MiB, after the revocation
	select {
	case resp := <-done:
		if resp == nil {
			break
		}
		body := readBody(t, resp)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("upload after the revocation: %d %q, want 401", resp.StatusCode, body)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the upload went on after its token was revoked: the upstream got %d bytes", got.Load())
	}
	if n := got.Load(); n > 96<<10+64<<10 {
		t.Errorf("the upstream got %d bytes, %d after the revocation", n, n-96<<10)
	}
}

// TestUploadOfSessionEndsAtSessionEnd: the same for a session's upload,
// which its session's lifetime ends.
func TestUploadOfSessionEndsAtSessionEnd(t *testing.T) {
	var got atomic.Int64
	up := httptest.NewServer(countingUpstream(&got))
	t.Cleanup(up.Close)
	f := newFixture(t, func(c *Config) { c.Upstreams = []Upstream{{Name: "app", URL: mustURL(t, up.URL)}} })
	s := f.session()
	s.ExpiresAt = f.clock.Now().Add(5 * time.Second)
	srv := serveGateway(t, f)
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.CloseWithError(io.ErrClosedPipe) })
	req, _ := http.NewRequest("POST", srv.URL+"/app/upload", pr)
	req.Host = "gw.test"
	for _, c := range f.cookies(t, s) {
		req.AddCookie(c)
	}
	done := make(chan *http.Response, 1)
	go func() {
		resp, _ := http.DefaultClient.Do(req)
		done <- resp
	}()
	chunk := bytes.Repeat([]byte("x"), 16<<10)
	go func() {
		for i := 0; i < 6; i++ {
			_, _ = pw.Write(chunk)
		}
		for got.Load() < 96<<10 {
			time.Sleep(10 * time.Millisecond)
		}
		f.clock.Advance(6 * time.Second) // past the session's end
		for {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
	}()
	select {
	case resp := <-done:
		if resp != nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("upload past the session's end: %d, want 401", resp.StatusCode)
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the upload outlived its session: the upstream got %d bytes", got.Load())
	}
}

// TestSlowBodyRefusedWhenTokenRevoked: a body of up to 64 KiB is read in
// full before the upstream is contacted, for up to 30 s, and it was not
// watched: a request decided before a revocation, whose client held its
// body back, reached the application after it, as many as the client
// had started. A decision a recheck interval old is now checked again
// before the upstream is contacted.
func TestSlowBodyRefusedWhenTokenRevoked(t *testing.T) {
	var got atomic.Int64
	up := httptest.NewServer(countingUpstream(&got))
	t.Cleanup(up.Close)
	answered := &answeredVerifies{}
	f := newFixture(t, func(c *Config) {
		c.Upstreams = []Upstream{{Name: "app", URL: mustURL(t, up.URL)}}
		answered.fakeProvider = c.Provider.(*fakeProvider)
		c.Provider = answered
	})
	f.prov.bearers["slow"] = &portcullis.Identity{Subject: "svc", Expiry: f.clock.Now().Add(time.Hour)}
	srv := serveGateway(t, f)
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.CloseWithError(io.ErrClosedPipe) })
	req, _ := http.NewRequest("PUT", srv.URL+"/app/upload", pr)
	req.Host = "gw.test"
	req.Header.Set("Authorization", "Bearer slow")
	done := make(chan *http.Response, 1)
	go func() {
		resp, _ := http.DefaultClient.Do(req)
		done <- resp
	}()
	chunk := bytes.Repeat([]byte("x"), 8<<10)
	if _, err := pw.Write(chunk); err != nil {
		t.Fatal(err)
	}
	// The gateway has admitted the request and is reading its body.
	waitUntil(t, "the token's verification", func() bool { return answered.n.Load() == 1 })
	f.prov.mu.Lock()
	delete(f.prov.bearers, "slow")
	f.prov.mu.Unlock()
	f.clock.Advance(11 * time.Second)
	go func() {
		_, _ = pw.Write(chunk)
		_ = pw.Close()
	}()
	select {
	case resp := <-done:
		if resp == nil {
			t.Fatal("no answer")
		}
		body := readBody(t, resp)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("a body sent after the revocation: %d %q, want 401", resp.StatusCode, body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer")
	}
	if n := got.Load(); n != 0 {
		t.Errorf("the upstream got the request, %d bytes of body, after its token was revoked", n)
	}
}

// answeredVerifies counts the bearer tokens its provider has answered for:
// a test that revokes a token once the gateway has admitted the request
// waits for the answer, not just for the question.
type answeredVerifies struct {
	*fakeProvider
	n atomic.Int32
}

func (a *answeredVerifies) VerifyBearer(ctx context.Context, token string) (*portcullis.Identity, error) {
	id, err := a.fakeProvider.VerifyBearer(ctx, token)
	a.n.Add(1)
	return id, err
}
