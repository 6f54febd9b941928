package e2e

import (
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestHangupWhileExiting: a SIGHUP that reaches serve after `shut down`,
// while it still flushes its spans (up to 5 s) and closes its store, is
// caught as one while it starts or serves is: the process exits 0. Once
// run had stopped catching the signal, a hangup then ended the process
// ("signal: hangup") with the spans unsent.
func TestHangupWhileExiting(t *testing.T) {
	t.Parallel()
	// A collector that takes connections and never answers: the flush at
	// exit waits for its bound.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		var conns []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-accepted })
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	gw := startGatewayEnv(t, pickAddrs(t), tomlConfig{Server: "shutdown_delay = \"0s\"\n",
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: up.URL, Routes: demoRoutes}.String(),
		[]string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + ln.Addr().String(), "OTEL_TRACES_EXPORTER=otlp"})
	gw.waitReady(t)
	if resp, err := plainClient.Get(gw.URL + "/public/x"); err == nil { // a span to flush
		resp.Body.Close()
	}
	gw.signal(t, syscall.SIGTERM)
	gw.waitOutput(t, `msg="shut down"`, 1)
	gw.signal(t, syscall.SIGHUP)
	if err := gw.waitExit(t, 20*time.Second); err != nil {
		t.Errorf("a SIGHUP after `shut down`: exit %v, want 0; output:\n%s", err, tail(gw.Proc.Output(), 4))
	}
}
