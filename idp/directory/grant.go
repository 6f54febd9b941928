package directory

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"

	"github.com/portcullis/portcullis/internal/panicerr"
)

// grantCache holds the service account's access token and makes the grant
// (RFC 7523) within the context of the read that needs it. x/oauth2/jwt
// sends its request without a context, and its ReuseTokenSource holds a
// mutex through the grant: with the token endpoint stalling, every read
// waited for the HTTP client's timeout, one grant after another, far past
// the read's own bound (15 s at sign-in, 5 s at groups_refresh, which a
// request waits on). Here one grant is in flight at a time, and a read
// waiting for it gives up when its own context ends.
type grantCache struct {
	conf *jwt.Config
	hc   *http.Client

	mu     sync.Mutex
	tok    *oauth2.Token
	flight *grantFlight
}

// grantFlight is a grant in flight; done is closed once tok, err and
// cutShort are set.
type grantFlight struct {
	done     chan struct{}
	tok      *oauth2.Token
	err      error
	cutShort bool // the context of the read that made it ended
}

// token returns a valid access token, making a grant when none is held.
func (c *grantCache) token(ctx context.Context) (*oauth2.Token, error) {
	for {
		c.mu.Lock()
		if c.tok.Valid() {
			tok := c.tok
			c.mu.Unlock()
			return tok, nil
		}
		f := c.flight
		if f == nil {
			f = &grantFlight{done: make(chan struct{})}
			c.flight = f
			c.mu.Unlock()
			c.grant(ctx, f)
			return f.tok, f.err
		}
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the service-account grant: %w", ctx.Err())
		case <-f.done:
		}
		// A grant that ended with its own read's context says nothing of
		// the endpoint: a read that still has time makes its own.
		if !f.cutShort {
			return f.tok, f.err
		}
	}
}

// grant makes f's grant with ctx bound to its request, and records it.
// It is recorded whatever happens, a panic included: a flight left
// recorded and never done made every later read, every user's, wait for
// it until its own bound, until the process restarted. The panic is the
// grant's error (panicerr), as for the shared JWKS fetch: the server of
// the request that made it would recover it, but not the flight.
func (c *grantCache) grant(ctx context.Context, f *grantFlight) {
	defer c.record(f)
	defer panicerr.Recover(&f.err, "the service-account grant")
	hc := *c.hc
	hc.Transport = ctxTransport{ctx: ctx, base: c.hc.Transport}
	f.tok, f.err = c.conf.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, &hc)).Token()
	if f.err != nil && ctx.Err() != nil {
		// x/oauth2/jwt formats the cause with %v: keep the context's
		// error findable (an outage, not the endpoint's refusal).
		f.err, f.cutShort = fmt.Errorf("%w: %v", ctx.Err(), f.err), true
	}
}

// record ends the flight f: its token is kept when it has one, and the
// reads waiting for it go on.
func (c *grantCache) record(f *grantFlight) {
	c.mu.Lock()
	if f.err == nil {
		c.tok = f.tok
	}
	c.flight = nil
	c.mu.Unlock()
	close(f.done)
}

// ctxTransport sends each request with ctx, which x/oauth2/jwt leaves out.
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req.WithContext(t.ctx))
}
