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
