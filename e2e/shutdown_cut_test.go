package e2e

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestShutdownLogsTheRequestsItCuts sends SIGTERM under steady load while
// a WebSocket is open and an upstream answer is slower than
// shutdown_timeout: both are cut when the timeout ends, and yet, as every
// request the clients saw answered, each has its access-log line once the
// process has exited 0, and the last line is `shut down`. The slow one
// reached the upstream: an access log without it hides a request the app
// acted on.
func TestShutdownLogsTheRequestsItCuts(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	up := newUpstreamFunc(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/app/slow":
			arrived <- struct{}{}
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		default:
			echoWebSocket(w, r)
		}
	})
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), tomlConfig{Server: "shutdown_delay = \"0s\"\nshutdown_timeout = \"1s\"\n",
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: up.URL,
		Routes: demoRoutes + "\n[[routes]]\npath = \"/**\"\n"}.String())
	c := browser(t)
	loginThrough(t, c, gw, "alice")
	conn, br := dialWebSocket(t, gw, sessionCookie(t, c, gw))
	go func() {
		req, _ := http.NewRequest("GET", gw.URL+"/app/slow", nil)
		req.Header.Set("Authorization", "Bearer "+p.AccessToken("alice", nil))
		if resp, err := plainClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatalf("the slow request never reached the upstream; output:\n%s", gw.Proc.Output())
	}

	var served atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second, Transport: clientTransport}
			for {
				resp, err := client.Get(gw.URL + "/public/load")
				if err != nil {
					return // the listener closed
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					served.Add(1)
				}
			}
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); served.Load() < 20; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests served in 10 s", served.Load())
		}
	}
	gw.signal(t, syscall.SIGTERM)
	if d, ok := closedWithin(t, br, 5*time.Second); !ok {
		t.Errorf("the WebSocket was still open %v after SIGTERM, want closed at the 1 s timeout", d)
	}
	conn.Close()
	exitErr := gw.waitExit(t, 10*time.Second)
	wg.Wait()
	if exitErr != nil {
		t.Errorf("exit: %v, want 0", exitErr)
	}
	out := gw.Proc.Output()
	if n := strings.Count(out, "path=/public/load "); int64(n) != served.Load() {
		t.Errorf("%d access-log lines of /public/load, the clients were answered %d times", n, served.Load())
	}
	for _, path := range []string{"/app/ws", "/app/slow"} {
		if !strings.Contains(out, "path="+path+" ") {
			t.Errorf("no access-log line of %s, cut at the shutdown timeout; output:\n%s", path, tail(out, 8))
		}
	}
	if last := tail(out, 1); !strings.Contains(last, `msg="shut down"`) {
		t.Errorf("the last log line is %q, want `shut down`", last)
	}
}

// tail is the last n lines of out.
func tail(out string, n int) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestShutdownSecondSignal: a second signal (SIGINT after SIGTERM) during
// shutdown_delay cuts the delay short, and the listener closes; a third
// during the drain changes nothing: the request in flight is answered in
// full and the process exits 0 after it.
func TestShutdownSecondSignal(t *testing.T) {
	t.Parallel()
	// The request is held until the third signal was sent, so that the
	// signal lands in the drain on a loaded machine too (a fixed wait could
	// end first: the process would be gone).
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	up := newUpstreamFunc(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		io.WriteString(w, "slow done")
	})
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), tomlConfig{Server: "shutdown_delay = \"20s\"\nshutdown_timeout = \"5s\"\n",
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: up.URL, Routes: "[[routes]]\npath = \"/**\"\n"}.String())
	res := getInBackground(gw.URL+"/slow", p.AccessToken("alice", nil))
	<-arrived
	sent := time.Now()
	gw.signal(t, syscall.SIGTERM)
	gw.waitOutput(t, "shutting down", 1)
	gw.signal(t, syscall.SIGINT)
	gw.waitOutput(t, "cutting the shutdown delay short", 1)
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	for {
		if _, err := apiGet(fresh, gw.URL+"/x", ""); err != nil {
			break
		}
		if time.Since(sent) > 10*time.Second {
			t.Fatalf("the listener still accepts %v after the second signal, want closed at once", time.Since(sent))
		}
		time.Sleep(10 * time.Millisecond)
	}
	gw.signal(t, syscall.SIGTERM)
	close(release)
	select {
	case r := <-res:
		if r.err != nil || r.status != 200 || r.body != "slow done" {
			t.Errorf("the request in flight at a signal during the drain: %d %q %v, want 200", r.status, r.body, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request in flight was never answered")
	}
	if err := gw.waitExit(t, 10*time.Second); err != nil {
		t.Errorf("exit: %v, want 0", err)
	}
	if last := tail(gw.Proc.Output(), 1); !strings.Contains(last, `msg="shut down"`) {
		t.Errorf("the last log line is %q, want `shut down`", last)
	}
}

// TestShutdownDuringSignInCallback: SIGTERM arrives while a sign-in's
// callback waits on the provider's token endpoint. The callback finishes
// during the drain (its redirect and session cookie), the process exits 0,
// and the gateway started in its place (a rolling update, the same
// secrets) serves the session without another sign-in.
func TestShutdownDuringSignInCallback(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{SlowDelay: 1500 * time.Millisecond})
	a := pickAddrs(t)
	cfg := tomlConfig{Server: "shutdown_delay = \"0s\"\nshutdown_timeout = \"5s\"\n",
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: up.URL, Routes: "[[routes]]\npath = \"/**\"\n"}.String()
	gw := startGateway(t, a, cfg)
	c := browser(t)
	callback := pausedLogin(t, c, gw, "/app/home")
	p.SetFaults(oidctest.FaultSlow)
	tokens := p.Requests("/token")
	type result struct {
		status   int
		location string
		err      error
	}
	res := make(chan result, 1)
	go func() {
		once := *c
		once.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := once.Get(callback)
		if err != nil {
			res <- result{err: err}
			return
		}
		resp.Body.Close()
		res <- result{resp.StatusCode, resp.Header.Get("Location"), nil}
	}()
	for deadline := time.Now().Add(10 * time.Second); p.Requests("/token") == tokens; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the callback never reached the token endpoint; output:\n%s", gw.Proc.Output())
		}
	}
	gw.signal(t, syscall.SIGTERM)
	r := <-res
	if r.err != nil || r.status != http.StatusFound || r.location != "/app/home" {
		t.Fatalf("the callback in flight at SIGTERM: %d to %q, %v; want 302 to /app/home", r.status, r.location, r.err)
	}
	if err := gw.waitExit(t, 10*time.Second); err != nil {
		t.Errorf("exit: %v, want 0", err)
	}
	p.SetFaults(0)
	authorizations := p.Requests("/authorize")
	next := startGateway(t, a, cfg)
	if status, body, _ := get(t, c, next.URL+"/app/home"); status != 200 || p.Requests("/authorize") != authorizations {
		t.Errorf("the session signed in during the drain, on the next gateway: %d (%d sign-ins), want 200 and none\n%s",
			status, p.Requests("/authorize")-authorizations, body)
	}
}
