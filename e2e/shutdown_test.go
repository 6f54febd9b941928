package e2e

import (
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestShutdownDelay sends SIGTERM to the binary with shutdown_delay = 1s:
// /readyz (ops port) and {prefix}/healthz (serving port) answer 503 at once,
// while new connections to the serving port are still accepted and served
// for the delay; then the listener closes and the process exits 0 within
// delay + shutdown_timeout.
func TestShutdownDelay(t *testing.T) {
	t.Parallel()
	const delay, timeout = time.Second, 2 * time.Second
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	gw := startGateway(t, a, tomlConfig{
		Server:   "shutdown_delay = \"1s\"\nshutdown_timeout = \"2s\"\n",
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream: up.URL,
		Routes:   "[[routes]]\npath = \"/public/**\"\npublic = true\n",
	}.String())
	// A new connection for every request: a load balancer that has not yet
	// seen the pod leave opens new connections too.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	if status, err := apiGet(fresh, gw.URL+"/oauth2/healthz", ""); err != nil || status != 200 {
		t.Fatalf("healthz before SIGTERM: %d %v", status, err)
	}

	sent := time.Now()
	gw.signal(t, syscall.SIGTERM)
	exited := gw.Proc.Exited()

	// /readyz turns 503 at once, while the serving port still serves (the
	// requests below, all sent after it did). The signal is delivered
	// asynchronously, and a loaded machine polls late: the test checks
	// that order, not a time since the signal.
	var notReadyAfter time.Duration
	for {
		status, err := apiGet(fresh, gw.OpsURL+"/readyz", "")
		if err != nil {
			t.Fatalf("/readyz: %v (the ops listener must stay up during the delay)", err)
		}
		if status == http.StatusServiceUnavailable {
			notReadyAfter = time.Since(sent)
			break
		}
		if time.Since(sent) > delay+timeout {
			t.Fatalf("/readyz still %d %v after SIGTERM", status, time.Since(sent))
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("/readyz 503 %v after SIGTERM", notReadyAfter)
	if status, err := apiGet(fresh, gw.URL+"/oauth2/healthz", ""); err != nil || status != 503 {
		t.Errorf("{prefix}/healthz during the delay: %d %v, want 503", status, err)
	}

	// The serving port keeps serving new connections until the delay ends.
	served := 0
	var lastOK, refusedAt time.Duration
	for refusedAt == 0 {
		resp, err := fresh.Get(gw.URL + "/public/x")
		at := time.Since(sent)
		switch {
		case err != nil:
			refusedAt = at
		case resp.StatusCode != 200:
			resp.Body.Close()
			t.Fatalf("request %v after SIGTERM: status %d, want 200", at, resp.StatusCode)
		default:
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			served++
			lastOK = at
		}
		if at > delay+timeout+2*time.Second {
			t.Fatalf("the listener was still open %v after SIGTERM", at)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("%d requests served after SIGTERM, the last %v after it; first refused at %v", served, lastOK, refusedAt)
	// Order, not a time: readiness turned before the listener closed, and
	// no connection was refused before the delay (a refusal is observed
	// after it happened, so a loaded machine only makes refusedAt later).
	if served == 0 {
		t.Errorf("no request served after /readyz answered 503: not ready only once the listener closed")
	}
	if refusedAt < delay {
		t.Errorf("connections refused %v after SIGTERM, before the %v delay", refusedAt, delay)
	}

	select {
	case <-exited:
		if err := gw.Proc.ExitErr(); err != nil {
			t.Errorf("exit: %v; output:\n%s", err, gw.Proc.Output())
		}
		if took := time.Since(sent); took > delay+timeout+time.Second {
			t.Errorf("exited %v after SIGTERM, want within delay+timeout %v", took, delay+timeout)
		}
	case <-time.After(delay + timeout + 5*time.Second):
		t.Fatalf("the gateway did not exit; output:\n%s", gw.Proc.Output())
	}
}
