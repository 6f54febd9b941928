package idp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/cache"
	"github.com/portcullis/portcullis/internal/panicerr"
)

// Introspection must not turn random tokens into provider calls (docs/security.md):
// one call per token at a time, refused tokens remembered briefly, and a cap
// on calls in flight beyond which requests are refused at once.
const (
	// maxIntrospectionsInFlight caps concurrent introspection calls.
	maxIntrospectionsInFlight = 32
	// refusedTokenTTL is how long a token introspection refused is refused
	// without asking again.
	refusedTokenTTL = 30 * time.Second
	// introspectionTimeout bounds a shared call, which outlives the request
	// that started it when that request goes away.
	introspectionTimeout = 10 * time.Second
)

// ErrBusy means the token was not checked because as many introspection
// calls as allowed are already in flight. It wraps ErrUnavailable, so it is
// answered 503; the proxy adds Retry-After.
var ErrBusy = fmt.Errorf("%w: too many introspection calls in flight", ErrUnavailable)

// introspector shares, limits and remembers the refusals of introspection calls.
type introspector struct {
	flights singleflight.Group
	slots   chan struct{} // one per call in flight
	refused *cache.Cache[[32]byte, struct{}]
}

func newIntrospector(now func() time.Time) introspector {
	return introspector{slots: make(chan struct{}, maxIntrospectionsInFlight), refused: newRefusedCache(now)}
}

// introspectShared introspects token (key is its SHA-256) at most once at a
// time: concurrent callers for one token share the call, a token refused in
// the last refusedTokenTTL is refused without a call, and with every slot
// taken the answer is ErrBusy at once, never a queue. A shared call
// caches a valid result in c.bearers before it completes, so a caller
// arriving just after it finds the cache, not a new call.
func (c *Client) introspectShared(ctx context.Context, token string, key [32]byte) (*portcullis.Identity, error) {
	if _, ok := c.intro.refused.Get(key); ok {
		return nil, fmt.Errorf("%w: introspection refused this token recently", ErrInvalidToken)
	}
	ch := c.intro.flights.DoChan(string(key[:]), func() (_ any, err error) {
		defer panicerr.Recover(&err, "idp: introspection")
		select {
		case c.intro.slots <- struct{}{}:
		default:
			return nil, ErrBusy
		}
		defer func() { <-c.intro.slots }()
		// The call is shared: one caller going away must not fail the others.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), introspectionTimeout)
		defer cancel()
		now := c.now()
		id, err := c.introspect(cctx, token)
		switch {
		case err == nil:
			until := id.Expiry
			if limit := now.Add(maxIntrospectionCache); limit.Before(until) {
				until = limit
			}
			c.bearers.SetUntil(key, id, until)
		case errors.Is(err, ErrInvalidToken):
			c.intro.refused.Set(key, struct{}{})
		}
		return id, err
	})
	select {
	case r := <-ch:
		id, _ := r.Val.(*portcullis.Identity)
		return id, r.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: introspection: %v", ErrUnavailable, ctx.Err())
	}
}
