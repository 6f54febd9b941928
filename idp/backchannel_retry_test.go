package idp

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// closingServer is a real HTTP server that reads each request and, when
// drop says so for the request's connection and its number on it (1 = the
// first), closes the connection without answering: what a server whose
// idle timeout fires as a kept-alive connection's next request arrives
// does. Answered requests echo their form's n. drop is also given the
// request's number on the server (1 = the first).
type closingServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // "conn/number on it: n" of every request read
}

type connKey struct{}

func newClosingServer(t *testing.T, drop func(onConn, total int) bool) *closingServer {
	s := &closingServer{}
	var conns atomic.Int32
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := r.Context().Value(connKey{}).(*[2]int32)
		c[1]++
		n := r.PostFormValue("n")
		s.mu.Lock()
		s.seen = append(s.seen, fmt.Sprintf("%d/%d: %s", c[0], c[1], n))
		total := len(s.seen)
		s.mu.Unlock()
		if drop(int(c[1]), total) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close()
			return
		}
		io.WriteString(w, n)
	}))
	s.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, &[2]int32{conns.Add(1), 0})
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *closingServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// post sends form n=v through a back-channel client of its own transport.
func post(c *http.Client, u, v string) (string, error) {
	resp, err := c.PostForm(u, url.Values{"n": {v}})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func retryClient() *http.Client {
	return BackChannelClient(&http.Client{Timeout: 10 * time.Second,
		Transport: http.DefaultTransport.(*http.Transport).Clone()})
}

// TestBackChannelRetriesAClosedKeptAliveConnection: a token request (a
// POST) sent on a kept-alive connection that the server closes before
// answering is sent again on a new connection, body and all. Before, the
// call failed with "EOF" (Go retries only idempotent requests), and a
// refresh that failed so after the access token expired ended the session.
func TestBackChannelRetriesAClosedKeptAliveConnection(t *testing.T) {
	s := newClosingServer(t, func(onConn, _ int) bool { return onConn == 2 })
	c := retryClient()
	for _, v := range []string{"first", "second"} {
		got, err := post(c, s.URL, v)
		if err != nil || got != v {
			t.Fatalf("POST n=%s: %q, %v", v, got, err)
		}
	}
	want := []string{"1/1: first", "1/2: second", "2/1: second"}
	if got := s.requests(); strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("the server read %q, want %q", got, want)
	}
}

// TestBackChannelRetriesOnceOnlyOnAReusedConnection: a server that closes
// every connection without answering gets a fresh connection's request
// once (no retry: that is a failing server, not a race) and a reused
// connection's twice, never more; a body that cannot be sent again is not.
func TestBackChannelRetriesOnceOnlyOnAReusedConnection(t *testing.T) {
	t.Run("fresh connection", func(t *testing.T) {
		s := newClosingServer(t, func(int, int) bool { return true })
		if _, err := post(retryClient(), s.URL, "x"); err == nil {
			t.Fatal("a server that never answers: no error")
		}
		if got := s.requests(); len(got) != 1 {
			t.Errorf("the server read %q, want one request", got)
		}
	})
	t.Run("reused connection", func(t *testing.T) {
		s := newClosingServer(t, func(_, total int) bool { return total > 1 })
		c := retryClient()
		if got, err := post(c, s.URL, "first"); err != nil || got != "first" {
			t.Fatalf("first POST: %q, %v", got, err)
		}
		if _, err := post(c, s.URL, "second"); err == nil {
			t.Fatal("a server that no longer answers: no error")
		}
		want := []string{"1/1: first", "1/2: second", "2/1: second"}
		if got := s.requests(); strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("the server read %q, want %q", got, want)
		}
	})
	t.Run("body not rewindable", func(t *testing.T) {
		s := newClosingServer(t, func(onConn, _ int) bool { return onConn == 2 })
		c := retryClient()
		if got, err := post(c, s.URL, "first"); err != nil || got != "first" {
			t.Fatalf("first POST: %q, %v", got, err)
		}
		req, err := http.NewRequest(http.MethodPost, s.URL, io.NopCloser(strings.NewReader("n=second")))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			t.Fatal("a body that cannot be sent again was sent again")
		}
		if got := s.requests(); len(got) != 2 {
			t.Errorf("the server read %q, want two requests", got)
		}
	})
}

// TestBackChannelRetriesPastAServersIdleTimeout: the race itself, with a
// real server's idle timeout (net/http's IdleTimeout, as Node's
// keepAliveTimeout) and calls spaced by about that timeout, so that some
// are written as the server closes the connection: without the retry
// three to thirteen of the sixty failed here ("EOF", "connection reset by
// peer"), with it none may (a new connection's first request is not under
// the idle timeout).
func TestBackChannelRetriesPastAServersIdleTimeout(t *testing.T) {
	t.Parallel()
	const idle = 50 * time.Millisecond
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.PostFormValue("n"))
	}))
	s.Config.IdleTimeout = idle
	s.Start()
	t.Cleanup(s.Close)
	c := retryClient()
	for i := range 60 {
		v := fmt.Sprint(i)
		if got, err := post(c, s.URL, v); err != nil || got != v {
			t.Errorf("POST %d: %q, %v", i, got, err)
		}
		time.Sleep(idle - time.Duration(i%10)*idle/100) // 0-9% short of it
	}
}

// TestBackChannelRetryIsOnANewConnection: the second try of a call whose
// kept-alive connection closed unanswered goes out on a new connection, as
// docs/security.md says. The transport gave it the next idle connection,
// which a server closing idle connections after one timeout (opened by
// one burst of calls, idle since) has closed as well: the retry failed
// the same way.
func TestBackChannelRetryIsOnANewConnection(t *testing.T) {
	var burst sync.WaitGroup
	burst.Add(2)
	s := newClosingServer(t, func(onConn, total int) bool {
		if total <= 2 { // the burst: two calls at once, two connections
			burst.Done()
			burst.Wait()
		}
		return onConn == 2
	})
	c := retryClient()
	var wg sync.WaitGroup
	for _, v := range []string{"a", "b"} {
		wg.Go(func() {
			if got, err := post(c, s.URL, v); err != nil || got != v {
				t.Errorf("POST n=%s: %q, %v", v, got, err)
			}
		})
	}
	wg.Wait()
	if got, err := post(c, s.URL, "c"); err != nil || got != "c" {
		t.Fatalf("POST after the burst, both idle connections closed: %q, %v (the server read %q)", got, err, s.requests())
	}
}
