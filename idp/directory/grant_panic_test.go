package directory

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// panicOnToken is a transport that panics on the grant's request once
// armed, as a bug deep in a library reading a hostile answer (or an egress
// proxy's) would.
type panicOnToken struct {
	armed *atomic.Bool
	base  http.RoundTripper
}

func (t panicOnToken) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.armed.Load() && strings.HasSuffix(req.URL.Path, "/token") {
		panic("a library's bug on the token endpoint's answer")
	}
	return t.base.RoundTrip(req)
}

// TestGoogleGrantPanicLeavesNoGrantInFlight: the service-account grant is
// one flight that every read waits for. A panic in it (recovered by the
// server of the request that made it) left that flight recorded and never
// done: every later read, every user's, waited for it until its own bound
// and failed, until the process restarted. The panic is the grant's error
// now, as for the shared JWKS fetch and introspection (panicerr), and the
// next read makes a grant of its own.
func TestGoogleGrantPanicLeavesNoGrantInFlight(t *testing.T) {
	g := oidctest.NewGoogle(t, oidctest.GoogleOptions{})
	g.SetMemberships("ann@acme.com", "sre@acme.com")
	armed := new(atomic.Bool)
	armed.Store(true)
	src, err := NewGoogle(GoogleConfig{CredentialsJSON: g.ServiceAccountKey(), AdminEmail: "admin@acme.com", BaseURL: g.URL,
		HTTPClient: &http.Client{Transport: panicOnToken{armed: armed, base: http.DefaultTransport}}})
	if err != nil {
		t.Fatal(err)
	}
	readGroups := func() (got []string, panicked any, err error) {
		defer func() { panicked = recover() }() // as net/http would
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		got, err = src.Groups(ctx, User{Email: "ann@acme.com"})
		return got, nil, err
	}
	if _, p, err := readGroups(); err == nil && p == nil {
		t.Fatal("the read whose grant panicked succeeded")
	}
	armed.Store(false)
	got, p, err := readGroups()
	if p != nil || err != nil || len(got) != 1 {
		t.Fatalf("the next read: %v, %v, panic %v; want sre@acme.com: a panicked grant is no grant in flight", got, err, p)
	}
}
