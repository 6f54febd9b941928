package proxy

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
)

// busyProvider answers every bearer token as idp.Client does when its
// introspection calls in flight are at their cap.
type busyProvider struct{ *fakeProvider }

func (busyProvider) VerifyBearer(context.Context, string) (*portcullis.Identity, error) {
	return nil, fmt.Errorf("idp: introspection: %w", idp.ErrBusy)
}

// TestIntrospectionBusyIs503: a bearer request refused because
// introspection is at its cap gets 503 with Retry-After, through the one
// error mapping, and reaches no upstream.
func TestIntrospectionBusyIs503(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Provider = busyProvider{c.Provider.(*fakeProvider)} })
	for _, target := range []string{"/app/x", "/api/x"} {
		resp := f.do(t, "GET", target, nil, withHeader("Authorization", "Bearer opaque-token"))
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
			t.Errorf("%s: status %d Retry-After %q body %s, want 503 with Retry-After",
				target, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	if n := f.up.count(); n != 0 {
		t.Errorf("upstream saw %d requests", n)
	}
}
