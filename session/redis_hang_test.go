package session

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// hang stops the redis-server p (SIGSTOP: connections stay open, nothing
// is answered) until the test ends or the returned function resumes it.
func hang(t *testing.T, p *testenv.Process) (resume func()) {
	t.Helper()
	pid := p.Cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	resume = func() { once.Do(func() { _ = syscall.Kill(pid, syscall.SIGCONT) }) }
	t.Cleanup(resume)
	return resume
}

// timed runs f and returns how long it took and its error.
func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

// TestRedisHungCallsAreBounded: a Redis that stops answering (not one
// that refuses connections). A request's session check (the autopipelined
// GETRANGE) took 3 s alone and up to 8 s for 256 at once: the pipeliner
// does not heed a command's context and runs its batches one after
// another, each waiting out the read timeout and go-redis's retry of it.
// go-redis also ignored every caller's deadline (ContextTimeoutEnabled was
// off): /readyz's 1 s and a refresh's bounds cut nothing short. Each call
// now gives up after redisCallTimeout (1 s), or the caller's deadline if
// sooner (an autopipelined check after the batch ahead of it and its own:
// 2 s), and Redis serves at once when it answers again.
func TestRedisHungCallsAreBounded(t *testing.T) {
	clock := newTestClock()
	store, raw, p, _ := newTestRedisStore(t, clock)
	cs := saveCookies(t, store, nil, testSession(t, clock.Now(), 5, 300))
	if _, err := store.Load(requestWith(cs)); err != nil {
		t.Fatal(err)
	}
	// Another replica, which has not opened the session yet (its Load GETs it).
	cold, err := NewRedisStore(RedisConfig{URL: "redis://" + raw.Options().Addr}, store.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cold.Close()
	resume := hang(t, p)
	// redisCallTimeout for a call, twice that for an autopipelined check
	// (the batch ahead of it, then its own), and a shared machine's margin.
	const bound, checkBound = 3 * time.Second, 4 * time.Second

	var mu sync.Mutex
	var worst time.Duration
	var wg sync.WaitGroup
	for range 256 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			took, err := timed(func() error { _, err := store.Load(requestWith(cs)); return err })
			if err == nil || errors.Is(err, ErrNoSession) {
				t.Errorf("Load while Redis hangs = %v, want a store error", err)
			}
			mu.Lock()
			worst = max(worst, took)
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("the slowest of 256 while Redis hangs: %v", worst)
	if worst > checkBound {
		t.Errorf("256 session checks while Redis hangs: the slowest took %v, want < %v", worst, checkBound)
	}

	ctx := context.Background()
	calls := map[string]func() error{
		"cold Load (GET)": func() error { _, err := cold.Load(requestWith(cs)); return err },
		"Lock":            func() error { _, _, err := store.Lock(ctx, "s", time.Minute); return err },
		"FirstUse":        func() error { _, err := store.FirstUse(ctx, "k", time.Minute); return err },
		"Save": func() error {
			return store.Save(httptest.NewRecorder(), requestWith(nil), testSession(t, clock.Now(), 1, 10))
		},
		"Delete":          func() error { return store.Delete(httptest.NewRecorder(), requestWith(cs)) },
		"DeleteBySubject": func() error { _, err := store.DeleteBySubject(ctx, "", "user-1"); return err },
	}
	for name, call := range calls {
		if took, err := timed(call); err == nil || took > bound {
			t.Errorf("%s while Redis hangs: %v after %v, want an error within %v", name, err, took, bound)
		}
	}
	// A caller's shorter deadline is heeded (readyz gives Ping 1 s).
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if took, err := timed(func() error { return store.Ping(short) }); err == nil || took > 800*time.Millisecond {
		t.Errorf("Ping with a 200 ms deadline while Redis hangs: %v after %v", err, took)
	}

	resume()
	if took, err := timed(func() error { _, err := store.Load(requestWith(cs)); return err }); err != nil || took > bound {
		t.Errorf("the first Load after Redis answers again: %v after %v", err, took)
	}
}
