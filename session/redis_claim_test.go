package session

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// replyDropper forwards connections to a Redis server; when armed, it
// closes the next connection that gets a reply instead of passing the
// reply on: Redis carried out the command, the client sees its connection
// fail and go-redis sends the command again on another one.
type replyDropper struct {
	ln     net.Listener
	target string
	armed  atomic.Bool
}

func newReplyDropper(t *testing.T, target string) *replyDropper {
	d := &replyDropper{target: target}
	d.ln = serveTCP(t, d.pipe)
	return d
}

func (d *replyDropper) pipe(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", d.target)
	if err != nil {
		return
	}
	defer up.Close()
	go io.Copy(up, c) //nolint:errcheck // ends when either side closes
	b := make([]byte, 32<<10)
	for {
		n, err := up.Read(b)
		if n > 0 && d.armed.CompareAndSwap(true, false) {
			return // the reply is lost with the connection
		}
		if n > 0 {
			if _, werr := c.Write(b[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestRedisClaimSurvivesARetry: Redis takes a lock (or a login state's
// first use) but the reply is lost with the connection, and go-redis sends
// the command again (MaxRetries). A SET NX then answered that the key was
// taken: the replica waited on its own lock until the refresh's 5 s ran
// out (its user sent to sign in again, or a 503), and a user's own sign-in
// was refused as a replayed callback. The retry now finds its own token.
func TestRedisClaimSurvivesARetry(t *testing.T) {
	clock := newTestClock()
	_, port := startRedis(t, 0)
	d := newReplyDropper(t, testenv.Addr(port))
	store, err := NewRedisStore(RedisConfig{URL: "redis://" + d.ln.Addr().String() + "/0"}, testCookieConfig(t, clock))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	// The scripts loaded, a connection pooled: the armed drop hits the claim's own reply.
	if _, ok, err := store.Lock(ctx, "warm-up", time.Second); err != nil || !ok {
		t.Fatalf("warm-up Lock = %v, %v", ok, err)
	}

	d.armed.Store(true)
	unlock, ok, err := store.Lock(ctx, "session-1", time.Minute)
	if d.armed.Load() {
		t.Fatal("no reply was dropped")
	}
	if err != nil || !ok {
		t.Errorf("Lock whose first reply was lost = acquired %v, %v; want acquired", ok, err)
	} else {
		unlock()
	}
	if _, ok, _ := store.Lock(ctx, "session-1", time.Minute); !ok {
		t.Error("the lock was left held")
	}

	d.armed.Store(true)
	first, err := store.FirstUse(ctx, "login-state-1", time.Minute)
	if d.armed.Load() {
		t.Fatal("no reply was dropped")
	}
	if err != nil || !first {
		t.Errorf("FirstUse whose first reply was lost = %v, %v; want a first use", first, err)
	}
	if first, err := store.FirstUse(ctx, "login-state-1", time.Minute); err != nil || first {
		t.Errorf("the second use = %v, %v; want refused", first, err)
	}
}
