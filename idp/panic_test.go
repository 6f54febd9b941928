package idp

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// panicOn is a transport that panics on a request whose path ends in
// suffix once armed, as a bug deep in a library reading a hostile answer
// would: the call runs in a goroutine of its own (the shared JWKS fetch),
// where no server recovers it, and a panic there ended the process, every
// user's requests with it.
type panicOn struct {
	suffix string
	armed  *atomic.Bool
	base   http.RoundTripper
}

func (t panicOn) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.armed.Load() && strings.HasSuffix(req.URL.Path, t.suffix) {
		panic("a library's bug on the provider's answer")
	}
	return t.base.RoundTrip(req)
}

// TestSharedFetchPanicIsAnError: a panic in the JWKS fetch that a token
// with an unknown kid starts is that fetch's error (the token refused),
// not the end of the gateway.
func TestSharedFetchPanicIsAnError(t *testing.T) {
	armed := new(atomic.Bool)
	p, c, _ := setup(t, oidctest.Options{JWTAccessTokens: true}, func(cfg *Config) {
		cfg.HTTPClient = &http.Client{Transport: panicOn{suffix: "/jwks", armed: armed, base: http.DefaultTransport}}
	})
	armed.Store(true)
	_, err := c.VerifyBearer(context.Background(), p.AccessToken("alice", nil))
	if err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("VerifyBearer with the JWKS fetch panicking: %v, want an error naming the panic", err)
	}
}

// TestSharedIntrospectionPanicIsAnError: the same of the introspection
// call that an opaque token starts, shared by every request with it.
func TestSharedIntrospectionPanicIsAnError(t *testing.T) {
	armed := new(atomic.Bool)
	_, c, _ := setup(t, oidctest.Options{}, func(cfg *Config) {
		cfg.HTTPClient = &http.Client{Transport: panicOn{suffix: "/introspect", armed: armed, base: http.DefaultTransport}}
	})
	armed.Store(true)
	_, err := c.VerifyBearer(context.Background(), "an-opaque-token")
	if err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("VerifyBearer with introspection panicking: %v, want an error naming the panic", err)
	}
}

// TestDiscoveryPanicIsAnError: the same of provider discovery, which the
// gateway runs in a goroutine of its own at start (retrying until the
// provider answers) and on a reload: a panic reading the provider's
// metadata ended the process, at every restart, instead of leaving the
// gateway unready (or the reload rejected) until the provider answered
// well. The next discovery succeeds.
func TestDiscoveryPanicIsAnError(t *testing.T) {
	p := oidctest.New(t, oidctest.Options{})
	armed := new(atomic.Bool)
	armed.Store(true)
	c, err := New(Config{Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: redirectURL,
		HTTPClient: &http.Client{Transport: panicOn{suffix: "/openid-configuration", armed: armed, base: http.DefaultTransport}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Discover(context.Background()); err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("Discover with the provider's metadata read panicking: %v, want an error naming the panic", err)
	}
	if c.Ready() {
		t.Fatal("ready after a discovery that panicked")
	}
	armed.Store(false)
	if err := c.Discover(context.Background()); err != nil || !c.Ready() {
		t.Fatalf("the next discovery: %v, ready %v", err, c.Ready())
	}
}
