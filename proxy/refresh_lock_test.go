package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/session"
)

// rotatingProvider is one provider behind two replicas' fake providers: it
// redeems each refresh token once (rt-0 gives at-1 and rt-1) and refuses a
// spent one with invalid_grant, as providers that rotate refresh tokens do.
type rotatingProvider struct {
	mu    sync.Mutex
	spent map[string]bool
	calls atomic.Int32
}

func (p *rotatingProvider) refresh(now func() time.Time, id portcullis.Identity) func(string) (*idp.Tokens, *portcullis.Identity, error) {
	return func(rt string) (*idp.Tokens, *portcullis.Identity, error) {
		p.calls.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		if rt != "rt-0" || p.spent[rt] {
			return nil, nil, idp.ErrInvalidGrant
		}
		p.spent[rt] = true
		return &idp.Tokens{AccessToken: "at-1", RefreshToken: "rt-1", Expiry: now().Add(time.Hour)}, &id, nil
	}
}

// twoReplicas builds two handlers (replicas) on the Redis at addrA and
// addrB (one server, perhaps reached through a stallProxy) behind one
// rotating provider, and a session near its access token's expiry. opts
// apply to both replicas.
func twoReplicas(t *testing.T, addrA, addrB string, expiresIn time.Duration, opts ...fixtureOption) (fa, fb *fixture, prov *rotatingProvider, cookies []*http.Cookie) {
	var stA *session.RedisStore
	fa = newFixture(t, append(opts, func(c *Config) {
		stA = redisStoreAt(t, addrA, c.Now)
		c.Sessions = stA
		c.Headers.AccessToken = "X-Forwarded-Access-Token"
	})...)
	fb = newFixture(t, append(opts, func(c *Config) {
		c.Sessions = redisStoreAt(t, addrB, c.Now)
		c.Headers.AccessToken = "X-Forwarded-Access-Token"
	})...)
	prov = &rotatingProvider{spent: map[string]bool{}}
	s := fa.session()
	s.Expiry = fa.clock.Now().Add(expiresIn)
	return fa, fb, prov, saveToStore(t, stA, s)
}

// stallProxy forwards TCP connections to a Redis server and, while stalled,
// holds what clients send (Redis slow or unreachable for one replica), then
// delivers it, also for connections the client has closed meanwhile. It
// keeps what it delivered, so that a test can wait for a replica's step.
type stallProxy struct {
	ln      net.Listener
	target  string
	stalled atomic.Bool
	mu      sync.Mutex
	sent    []byte
}

// awaitingLock reports whether a replica behind p has tried the refresh
// lock (SET portcullis:lock:... NX) and sent a command after it: it did
// not get the lock and polls the session, or got it and went on.
func (p *stallProxy) awaitingLock() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, after, ok := strings.Cut(string(p.sent), "portcullis:lock:")
	return ok && strings.Contains(after, "\r\n*")
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

func (p *stallProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *stallProxy) pipe(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	go io.Copy(c, up) //nolint:errcheck // replies: up closes when we are done
	chunks := make(chan []byte, 64)
	go func() {
		defer close(chunks)
		for {
			b := make([]byte, 32<<10)
			n, err := c.Read(b)
			if n > 0 {
				chunks <- b[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	for b := range chunks {
		for p.stalled.Load() {
			time.Sleep(5 * time.Millisecond)
		}
		if _, err := up.Write(b); err != nil {
			return
		}
		p.mu.Lock()
		p.sent = append(p.sent, b...)
		p.mu.Unlock()
	}
	time.Sleep(100 * time.Millisecond) // let Redis read the last commands before EOF
}

// reachedProvider waits until started is closed: the request of replica
// who, held there by the test, reached the provider. A request answered
// without reaching it (on done) fails the test at once, and so does a
// minute of neither; waiting on started alone, the test waited for ever.
func reachedProvider(t *testing.T, who string, started <-chan struct{}, done <-chan *http.Response) {
	t.Helper()
	select {
	case <-started:
	case resp := <-done:
		t.Fatalf("replica %s answered %d (Location %q) without asking the provider", who, resp.StatusCode, resp.Header.Get("Location"))
	case <-time.After(time.Minute):
		t.Fatalf("replica %s did not ask the provider in a minute", who)
	}
}

// TestRefreshLockOutlivesASlowSave: Redis slow for the replica that holds
// the refresh lock. Its refresh at the provider succeeded (rt-0 spent, rt-1
// issued) but its save does not reach Redis before the lock's TTL. The lock
// lived 5 s, the provider's bound, and not the save's (10 s more): another
// replica then took the lock, read the session with the spent rt-0, was
// refused (invalid_grant) and signed the user out, whose refresh had
// succeeded. The lock now lives as long as its holder may still save.
func TestRefreshLockOutlivesASlowSave(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the refresh lock's TTL")
	}
	addr := startRedisServer(t)
	slow, seen := newStallProxy(t, addr), newStallProxy(t, addr)
	fa, fb, prov, cookies := twoReplicas(t, slow.ln.Addr().String(), seen.ln.Addr().String(), 10*time.Second)
	started, answer := make(chan struct{}), make(chan struct{})
	var once sync.Once
	refresh := prov.refresh(fa.clock.Now, fa.prov.identity)
	fa.prov.refreshFn = func(rt string) (*idp.Tokens, *portcullis.Identity, error) {
		once.Do(func() { close(started) })
		<-answer
		return refresh(rt)
	}
	fb.prov.refreshFn = prov.refresh(fb.clock.Now, fb.prov.identity)

	doneA := make(chan *http.Response, 1)
	go func() { doneA <- fa.do(t, "GET", "/app/x", nil, withCookies(cookies)) }()
	reachedProvider(t, "A", started, doneA) // A holds the lock and asks the provider
	lockedAt := time.Now()
	time.Sleep(4500 * time.Millisecond) // the provider answers late, within refreshTimeout
	slow.stalled.Store(true)            // and Redis is slow for A from then on
	close(answer)
	time.Sleep(time.Until(lockedAt.Add(5500 * time.Millisecond))) // past the old lock TTL

	doneB := make(chan *http.Response, 1)
	go func() { doneB <- fb.do(t, "GET", "/app/x", nil, withCookies(cookies)) }()
	// B tried the lock while A's save is held: a fixed wait could let the
	// save through before B came, and B would find the refreshed session.
	waitUntil(t, "B's attempt at the lock", seen.awaitingLock)
	slow.stalled.Store(false) // A's save reaches Redis
	respB, respA := <-doneB, <-doneA

	if n := prov.calls.Load(); n != 1 {
		t.Errorf("%d refreshes at the provider, want 1: the lock expired while its holder was saving", n)
	}
	if respA.StatusCode != http.StatusOK {
		t.Errorf("replica A: %d", respA.StatusCode)
	}
	if respB.StatusCode != http.StatusOK {
		t.Errorf("replica B: %d (Location %q): the user was signed out although the refresh succeeded", respB.StatusCode, respB.Header.Get("Location"))
	}
	s, err := fb.cfg.Sessions.Load(withCookiesRequest(cookies))
	if err != nil {
		t.Fatalf("session after the refresh: %v", err)
	}
	if full, err := fb.cfg.Sessions.Full(withCookiesRequest(cookies), s); err != nil || full.RefreshToken != "rt-1" {
		t.Errorf("stored session: %v; want the refreshed one (rt-1)", err)
	}
}

// gateRefresh makes f's refreshes at prov wait: started is closed when one
// reaches the provider, which answers once answer is closed.
func gateRefresh(f *fixture, prov *rotatingProvider) (started, answer chan struct{}) {
	started, answer = make(chan struct{}), make(chan struct{})
	refresh := prov.refresh(f.clock.Now, f.prov.identity)
	f.prov.refreshFn = func(rt string) (*idp.Tokens, *portcullis.Identity, error) {
		close(started)
		<-answer
		return refresh(rt)
	}
	return started, answer
}

// TestRefreshRefusedAfterAnotherReplicaRotated: the lock of a session was
// lost while its holder (A) refreshed it (a Redis failover that did not
// replicate it, or a TTL that ran out), so another replica (B) refreshed
// the same refresh token at the same time. A's refresh succeeded and was
// saved; B's was refused as a reuse. B took the refusal for a revocation and
// deleted the session: the user was signed out, and the refresh token A
// had just saved was revoked. A refusal of a refresh token that the stored
// session no longer holds now yields the stored session instead.
func TestRefreshRefusedAfterAnotherReplicaRotated(t *testing.T) {
	addr := startRedisServer(t)
	fa, fb, prov, cookies := twoReplicas(t, addr, addr, 10*time.Second)
	startedA, answerA := gateRefresh(fa, prov)
	startedB, answerB := gateRefresh(fb, prov)
	raw := redis.NewClient(&redis.Options{Addr: addr})
	defer raw.Close()
	ctx := context.Background()

	doneA := make(chan *http.Response, 1)
	go func() { doneA <- fa.do(t, "GET", "/app/x", nil, withCookies(cookies)) }()
	reachedProvider(t, "A", startedA, doneA)
	locks, err := raw.Keys(ctx, "portcullis:lock:*").Result()
	if err != nil || len(locks) != 1 {
		t.Fatalf("locks while A refreshes: %q, %v", locks, err)
	}
	raw.Del(ctx, locks[0]) // lost

	doneB := make(chan *http.Response, 1)
	go func() { doneB <- fb.do(t, "GET", "/app/x", nil, withCookies(cookies)) }()
	reachedProvider(t, "B", startedB, doneB) // B holds the lock now and presents rt-0 too
	close(answerA)
	if resp := <-doneA; resp.StatusCode != http.StatusOK {
		t.Fatalf("replica A: %d", resp.StatusCode)
	}
	if n := raw.Exists(ctx, locks[0]).Val(); n != 1 {
		t.Error("A's unlock released the lock B holds")
	}
	close(answerB) // rt-0 is spent: invalid_grant
	respB := <-doneB

	if respB.StatusCode != http.StatusOK {
		t.Errorf("replica B: %d (Location %q): a refusal of a refresh token another replica had already rotated signed the user out",
			respB.StatusCode, respB.Header.Get("Location"))
	} else if at := fb.up.last(t).Header.Get("X-Forwarded-Access-Token"); at != "at-1" {
		t.Errorf("replica B forwarded access token %q, want at-1", at)
	}
	s, err := fb.cfg.Sessions.Load(withCookiesRequest(cookies))
	if err != nil {
		t.Fatalf("session after the refresh: %v", err)
	}
	if full, err := fb.cfg.Sessions.Full(withCookiesRequest(cookies), s); err != nil || full.RefreshToken != "rt-1" {
		t.Errorf("stored session: %v; want the refreshed one (rt-1)", err)
	}
	if len(fa.prov.revoked)+len(fb.prov.revoked) != 0 {
		t.Errorf("revoked %q %q", fa.prov.revoked, fb.prov.revoked)
	}
}

// TestRotatedElsewhereLogSubBounded: the line a replica logs when it uses
// another replica's refresh instead of a refusal names the user as every
// other line does (docs/operations.md "Log fields"): cut, its controls
// replaced. It wrote the subject whole, which user_claim may take from a
// claim the user sets.
func TestRotatedElsewhereLogSubBounded(t *testing.T) {
	var logs syncBuffer
	addr := startRedisServer(t)
	fa, fb, prov, _ := twoReplicas(t, addr, addr, 10*time.Second, withDebugLog(&logs))
	sub := "\u009b2J" + strings.Repeat("s", 5000)
	fa.prov.identity.Subject, fb.prov.identity.Subject = sub, sub
	s := fa.session()
	s.Expiry = fa.clock.Now().Add(10 * time.Second)
	cookies := saveToStore(t, fa.cfg.Sessions, s)

	startedA, answerA := gateRefresh(fa, prov)
	startedB, answerB := gateRefresh(fb, prov)
	raw := redis.NewClient(&redis.Options{Addr: addr})
	defer raw.Close()
	doneA := make(chan *http.Response, 1)
	go func() { doneA <- fa.do(t, "GET", "/app/x", nil, withCookies(cookies)) }()
	reachedProvider(t, "A", startedA, doneA)
	raw.Del(context.Background(), raw.Keys(context.Background(), "portcullis:lock:*").Val()...) // lost
	doneB := make(chan *http.Response, 1)
	go func() { doneB <- fb.do(t, "GET", "/app/x", nil, withCookies(cookies)) }()
	reachedProvider(t, "B", startedB, doneB)
	close(answerA)
	<-doneA
	close(answerB)
	if resp := <-doneB; resp.StatusCode != http.StatusOK {
		t.Fatalf("replica B: %d", resp.StatusCode)
	}

	const msg = "proxy: a refresh token refused after another replica had refreshed the session; using its result"
	lines := logLines(logs.String(), msg)
	if len(lines) != 1 {
		t.Fatalf("%d such lines:\n%.3000s", len(lines), logs.String())
	}
	if n := len(lines[0]); n > maxLogLineBytes || strings.Contains(lines[0], "\u009b") || strings.Contains(lines[0], `\u009b`) ||
		!strings.Contains(lines[0], "…") {
		t.Errorf("a line of %d bytes, want at most %d, cut with … and no C1: %.300s", n, maxLogLineBytes, lines[0])
	}
}

// TestRefreshAwaitWithRedisDownIsA503: replica A refreshes an expired
// session; replica B, which waits for A's result, loses Redis meanwhile. B
// gave up after its 5 s as if the provider had failed: a browser was sent
// to sign in again (302) with the session intact, an API client got 401.
// An unreachable store is a 503 (docs/security.md, fail closed).
func TestRefreshAwaitWithRedisDownIsA503(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the refresh timeout")
	}
	addr := startRedisServer(t)
	down := newStallProxy(t, addr)
	fa, fb, prov, cookies := twoReplicas(t, addr, down.ln.Addr().String(), -time.Second)
	started, answer := make(chan struct{}), make(chan struct{})
	refresh := prov.refresh(fa.clock.Now, fa.prov.identity)
	fa.prov.refreshFn = func(rt string) (*idp.Tokens, *portcullis.Identity, error) {
		close(started)
		<-answer
		return refresh(rt)
	}
	fb.prov.refreshFn = prov.refresh(fb.clock.Now, fb.prov.identity)
	doneA := make(chan *http.Response, 1)
	go func() { doneA <- fa.do(t, "GET", "/app/x", nil, withCookies(cookies)) }()
	reachedProvider(t, "A", started, doneA)
	doneB := make(chan *http.Response, 1)
	go func() { doneB <- fb.do(t, "GET", "/app/x", nil, withCookies(cookies), browser()) }()
	// B waits on A's lock: it was refused it and polls. Stalled sooner,
	// B would fail at its Load or its lock, not while waiting.
	waitUntil(t, "B's attempt at the lock", down.awaitingLock)
	begun := time.Now() // after B's refresh began
	down.stalled.Store(true)
	respB := <-doneB
	took := time.Since(begun)
	close(answer)
	<-doneA
	down.stalled.Store(false)
	if respB.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("Redis down while waiting for another replica's refresh: %d (Location %q), want 503", respB.StatusCode, respB.Header.Get("Location"))
	}
	// No poll starts after refreshTimeout, and each gives up on a Redis
	// that does not answer after 1 s (session.redisCallTimeout): it took
	// up to ~4 s (the read timeout and go-redis's retry of it), and the
	// request was held 7 s and more after its first poll.
	t.Logf("B held %v after its first poll", took)
	if took > refreshTimeout+1500*time.Millisecond {
		t.Errorf("the request was held %v", took)
	}
}
