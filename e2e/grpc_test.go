package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// grpcApp is a real grpc-go service, the standard health service: Check is
// a unary call, Watch a server-streaming one. Both answer with trailing
// metadata and echo the identity the gateway sent as header metadata; the
// service "fail" answers FAILED_PRECONDITION with a message; Watch of
// "hold" sends one message and keeps the stream open.
type grpcApp struct {
	healthpb.UnimplementedHealthServer
}

func (grpcApp) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	echoIdentity(ctx)
	_ = grpc.SetTrailer(ctx, metadata.Pairs("x-app-trailer", "check"))
	if req.GetService() == "fail" {
		return nil, status.Error(codes.FailedPrecondition, "not ready: ü")
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func (grpcApp) Watch(req *healthpb.HealthCheckRequest, s grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	echoIdentity(s.Context())
	if req.GetService() == "hold" { // one message, then the stream stays open
		if err := s.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}); err != nil {
			return err
		}
		<-s.Context().Done()
		return nil
	}
	for range 3 {
		if err := s.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}); err != nil {
			return err
		}
	}
	s.SetTrailer(metadata.Pairs("x-app-trailer", "watch"))
	return nil
}

// echoApp's bidirectional call answers each message at once with its
// payload.
type echoApp struct {
	testgrpc.UnimplementedTestServiceServer
}

func (echoApp) FullDuplexCall(s grpc.BidiStreamingServer[testgrpc.StreamingOutputCallRequest, testgrpc.StreamingOutputCallResponse]) error {
	for {
		req, err := s.Recv()
		if err != nil {
			return nil // the client's side ended
		}
		if err := s.Send(&testgrpc.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

// echoIdentity sends the X-Forwarded-User the app received back as header
// metadata.
func echoIdentity(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	_ = grpc.SetHeader(ctx, metadata.Pairs("x-seen-user", firstMD(md, "x-forwarded-user")))
}

func firstMD(md metadata.MD, k string) string {
	if v := md.Get(k); len(v) > 0 {
		return v[0]
	}
	return ""
}

// startGRPCApp serves grpcApp on a free port, over TLS with kp when given,
// else in cleartext HTTP/2 (h2c, prior knowledge, as grpc-go speaks it).
func startGRPCApp(tb testing.TB, kp *keyPair) string {
	tb.Helper()
	var opts []grpc.ServerOption
	if kp != nil {
		cert, err := tls.X509KeyPair(kp.certPEM, kp.keyPEM)
		if err != nil {
			tb.Fatal(err)
		}
		opts = append(opts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(s, grpcApp{})
	testgrpc.RegisterTestServiceServer(s, echoApp{})
	go func() { _ = s.Serve(ln) }()
	tb.Cleanup(s.Stop)
	return ln.Addr().String()
}

// bearerCreds puts a bearer token on every call. It allows cleartext: the
// h2c test sends it to a gateway on loopback, as a TLS-terminating load
// balancer in front does.
type bearerCreds string

func (b bearerCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	if b == "" {
		return nil, nil
	}
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearerCreds) RequireTransportSecurity() bool { return false }

// grpcRoutes give Watch to the scope grpc:admin and the rest of the
// service to grpc:read: a route per method decides before the service's.
const grpcRoutes = `
[[routes]]
path = "/grpc.health.v1.Health/Watch"
methods = ["POST"]
require_scopes = ["grpc:admin"]

[[routes]]
path = "/grpc.health.v1.Health/**"
methods = ["POST"]
require_scopes = ["grpc:read"]
`

// grpcCall is what a grpc-go client saw of one call.
type grpcCall struct {
	code            codes.Code
	msg             string
	header, trailer metadata.MD
	received        int // stream messages
}

func dialGRPC(tb testing.TB, addr string, creds credentials.TransportCredentials, token string) healthpb.HealthClient {
	tb.Helper()
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(creds), grpc.WithPerRPCCredentials(bearerCreds(token)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cc.Close() })
	return healthpb.NewHealthClient(cc)
}

func check(tb testing.TB, c healthpb.HealthClient, service string) grpcCall {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var r grpcCall
	_, err := c.Check(ctx, &healthpb.HealthCheckRequest{Service: service}, grpc.Header(&r.header), grpc.Trailer(&r.trailer))
	st := status.Convert(err)
	r.code, r.msg = st.Code(), st.Message()
	return r
}

func watch(tb testing.TB, c healthpb.HealthClient) grpcCall {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var r grpcCall
	s, err := c.Watch(ctx, &healthpb.HealthCheckRequest{})
	for err == nil {
		if _, err = s.Recv(); err == nil {
			r.received++
		}
	}
	if s != nil {
		r.header, _ = s.Header()
		r.trailer = s.Trailer()
	}
	if st := status.Convert(err); err.Error() != "EOF" {
		r.code, r.msg = st.Code(), st.Message()
	}
	return r
}

// TestGRPCOverTLS puts a grpc-go service behind the gateway, TLS on both
// sides (tls_cert_file on the listener, an https upstream with
// tls_ca_file), and calls it with a grpc-go client and bearer tokens.
func TestGRPCOverTLS(t *testing.T) {
	t.Parallel()
	gwKP, appKP := newKeyPair(t, "gateway"), newKeyPair(t, "app")
	dir := t.TempDir()
	for name, data := range map[string][]byte{"gw.crt": gwKP.certPEM, "gw.key": gwKP.keyPEM, "app-ca.crt": appKP.certPEM} {
		writeFile(t, filepath.Join(dir, name), data)
	}
	app := startGRPCApp(t, &appKP)
	p := oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	startGateway(t, a, tomlConfig{
		PublicURL: "https://{{LISTEN}}",
		Server:    "tls_cert_file = \"" + filepath.Join(dir, "gw.crt") + "\"\ntls_key_file = \"" + filepath.Join(dir, "gw.key") + "\"\n",
		Provider:  oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream:  "https://" + app,
		Extra:     "tls_ca_file = \"" + filepath.Join(dir, "app-ca.crt") + "\"\n",
		Routes:    grpcRoutes,
	}.String())
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(gwKP.certPEM)
	creds := credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	assertGRPCDecisions(t, a.Listen, creds, p)
}

// TestGRPCOverH2C is TestGRPCOverTLS in cleartext HTTP/2 on both sides, as
// behind a TLS-terminating load balancer or ingress-nginx's GRPC backend:
// the listener accepts h2c with prior knowledge and an h2c:// upstream is
// spoken to in h2c.
func TestGRPCOverH2C(t *testing.T) {
	t.Parallel()
	_, listen, p := h2cGateway(t, grpcRoutes)
	assertGRPCDecisions(t, listen, insecure.NewCredentials(), p)
}

// h2cGateway starts the gRPC test app in cleartext and the gateway with
// routes in front of it, speaking h2c on both sides: the app's address,
// the gateway's and the gateway's provider.
func h2cGateway(t *testing.T, routes string) (app, listen string, p *oidctest.Provider) {
	t.Helper()
	app = startGRPCApp(t, nil)
	p = oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	startGateway(t, a, tomlConfig{
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream: "h2c://" + app,
		Routes:   routes,
	}.String())
	return app, a.Listen, p
}

// assertGRPCDecisions makes the calls of the gRPC tests through the gateway
// at addr and checks what the grpc-go client saw.
func assertGRPCDecisions(t *testing.T, addr string, creds credentials.TransportCredentials, p *oidctest.Provider) {
	t.Helper()
	token := func(scope string) string { return p.AccessToken("alice", map[string]any{"scope": scope}) }
	reader := dialGRPC(t, addr, creds, token("grpc:read"))
	admin := dialGRPC(t, addr, creds, token("grpc:read grpc:admin"))

	got := check(t, reader, "")
	if got.code != codes.OK || firstMD(got.trailer, "x-app-trailer") != "check" || firstMD(got.header, "x-seen-user") != "alice" {
		t.Errorf("Check with grpc:read: %v %q, header %v, trailer %v", got.code, got.msg, got.header, got.trailer)
	}
	got = check(t, reader, "fail")
	if got.code != codes.FailedPrecondition || got.msg != "not ready: ü" || firstMD(got.trailer, "x-app-trailer") != "check" {
		t.Errorf("Check of a failing service: %v %q, trailer %v; want the app's FailedPrecondition, message and trailer", got.code, got.msg, got.trailer)
	}
	got = watch(t, admin)
	if got.code != codes.OK || got.received != 3 || firstMD(got.trailer, "x-app-trailer") != "watch" {
		t.Errorf("Watch with grpc:admin: %v %q, %d messages, trailer %v", got.code, got.msg, got.received, got.trailer)
	}

	// A message of an open stream reaches the client as it is sent.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	held, err := admin.Watch(ctx, &healthpb.HealthCheckRequest{Service: "hold"})
	if err == nil {
		_, err = held.Recv()
	}
	if err != nil {
		t.Errorf("the first message of an open stream: %v", err)
	}
	cancel()

	for _, c := range []struct {
		name   string
		client healthpb.HealthClient
		call   func(healthpb.HealthClient) grpcCall
		want   codes.Code
	}{
		{"Watch without grpc:admin", reader, func(c healthpb.HealthClient) grpcCall { return watch(t, c) }, codes.PermissionDenied},
		{"Check without a token", dialGRPC(t, addr, creds, ""), func(c healthpb.HealthClient) grpcCall { return check(t, c, "") }, codes.Unauthenticated},
		{"Check with an invalid token", dialGRPC(t, addr, creds, token("grpc:read")+"x"), func(c healthpb.HealthClient) grpcCall { return check(t, c, "") }, codes.Unauthenticated},
		{"Check without grpc:read", dialGRPC(t, addr, creds, token("other")), func(c healthpb.HealthClient) grpcCall { return check(t, c, "") }, codes.PermissionDenied},
	} {
		got := c.call(c.client)
		t.Logf("%s: %v %q", c.name, got.code, got.msg)
		if got.code != c.want || got.received != 0 || len(got.trailer["x-app-trailer"]) != 0 {
			t.Errorf("%s: %v %q, %d messages, trailer %v; want %v, nothing from the app", c.name, got.code, got.msg, got.received, got.trailer, c.want)
		}
	}
}

// TestGRPCBidirectionalWaitsForTheRequestBody pins the documented limit of
// bidirectional calls: the gateway reads a request body of up to 64 KiB
// before it contacts the upstream, so a call whose client waits for the
// answer to its first message before it sends more gets none; once the
// client ends its side the call is served. Straight to the app the same
// call is answered at once.
func TestGRPCBidirectionalWaitsForTheRequestBody(t *testing.T) {
	t.Parallel()
	app, listen, _ := h2cGateway(t, "[[routes]]\npath = \"/grpc.testing.TestService/**\"\nmethods = [\"POST\"]\npublic = true\n")
	// wait bounds the call: the documented limit's call gets no answer
	// within it, and the others, answered at once, get a bound that a
	// loaded CI machine's -race run does not reach.
	chat := func(addr string, closeFirst bool, wait time.Duration) error {
		cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		s, err := testgrpc.NewTestServiceClient(cc).FullDuplexCall(ctx)
		if err != nil {
			return err
		}
		if err := s.Send(&testgrpc.StreamingOutputCallRequest{Payload: &testgrpc.Payload{Body: []byte("hello")}}); err != nil {
			return err
		}
		if closeFirst {
			_ = s.CloseSend()
		}
		resp, err := s.Recv()
		if err == nil && string(resp.GetPayload().GetBody()) != "hello" {
			t.Errorf("echo: %q", resp.GetPayload().GetBody())
		}
		return err
	}
	if err := chat(app, false, 30*time.Second); err != nil {
		t.Fatalf("straight to the app: %v", err)
	}
	if err := chat(listen, false, 3*time.Second); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("through the gateway, waiting for the first answer: %v, want DeadlineExceeded (the documented limit)", err)
	}
	if err := chat(listen, true, 30*time.Second); err != nil {
		t.Errorf("through the gateway, the client's side ended first: %v", err)
	}
}
