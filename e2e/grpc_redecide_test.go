package e2e

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestGRPCStreamEndsWithItsDecision: a gRPC server stream held open through
// the gateway (h2c on both sides, a real grpc-go client and server) is
// decided again like any long answer: it is broken off within the 10 s
// recheck once its bearer token expires, and once a reload makes its method
// need a scope the token lacks. The client sees the stream reset, never an
// OK; the connection's other calls are unaffected.
func TestGRPCStreamEndsWithItsDecision(t *testing.T) {
	t.Parallel()
	app := startGRPCApp(t, nil)
	p := oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	cfg := tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: "h2c://" + app, Routes: grpcRoutes}.String()
	gw := startGateway(t, a, cfg)
	// Accepted for the 30 s leeway past exp: it ends 5 s from now.
	expiring := p.AccessToken("alice", map[string]any{"scope": "grpc:read grpc:admin", "exp": time.Now().Add(-25 * time.Second).Unix()})
	lasting := p.AccessToken("bob", map[string]any{"scope": "grpc:read grpc:admin"})
	ended := holdWatch(t, a.Listen, expiring)
	removed := holdWatch(t, a.Listen, lasting)
	wantEnded(t, "the expired token's stream", ended, time.Now().Add(5*time.Second))

	gw.rewrite(t, a, strings.Replace(cfg, `"grpc:admin"`, `"grpc:root"`, 1))
	gw.signal(t, syscall.SIGHUP)
	gw.waitOutput(t, `msg="config reloaded"`, 1)
	wantEnded(t, "the stream a reload refuses", removed, time.Now())
	if got := check(t, dialGRPC(t, a.Listen, insecure.NewCredentials(), lasting), ""); got.code != codes.OK {
		t.Errorf("a new Check with the lasting token: %v %q", got.code, got.msg)
	}
}

// holdWatch opens Watch("hold") through the gateway at addr with token,
// reads its first message and returns what ends the stream.
func holdWatch(t *testing.T, addr, token string) <-chan error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	s, err := dialGRPC(t, addr, insecure.NewCredentials(), token).Watch(ctx, &healthpb.HealthCheckRequest{Service: "hold"})
	if err == nil {
		_, err = s.Recv()
	}
	if err != nil {
		t.Fatalf("the first message of the held stream: %v", err)
	}
	end := make(chan error, 1)
	go func() {
		_, err := s.Recv()
		end <- err
	}()
	return end
}

// wantEnded waits for end and checks it came within the recheck interval
// (and slack) of from, with another code than OK.
func wantEnded(t *testing.T, what string, end <-chan error, from time.Time) {
	t.Helper()
	select {
	case err := <-end:
		took := time.Since(from)
		t.Logf("%s: %v %q after %v", what, status.Code(err), status.Convert(err).Message(), took.Round(time.Second))
		if status.Code(err) == codes.OK || took > 13*time.Second {
			t.Errorf("%s: ended with %v after %v, want a reset within the 10 s recheck", what, err, took)
		}
	case <-time.After(25 * time.Second):
		t.Errorf("%s: still open 25 s on", what)
	}
}
