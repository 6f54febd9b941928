package session

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestRedisClientGoneIsNoStoreError: every Redis call a request makes, made
// after its client hung up (the request's context canceled), fails with
// context.Canceled and counts in the duration histogram but not in
// portcullis_session_store_errors_total: Redis did not fail, and the alert
// on that counter would fire for every impatient browser.
func TestRedisClientGoneIsNoStoreError(t *testing.T) {
	clock := newTestClock()
	reg := prometheus.NewPedanticRegistry()
	store, _, _, _ := newTestRedisStore(t, clock, StoreOptions{Metrics: reg})
	cs := saveCookies(t, store, nil, testSession(t, clock.Now(), 0, 10))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := requestWith(cs).WithContext(ctx)

	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s after the client hung up = %v, want context.Canceled", what, err)
		}
	}
	// Load may answer from its cache: no error, and none counted either.
	if _, err := store.Load(r); err != nil {
		check("Load", err)
	}
	check("Save", store.Save(httptest.NewRecorder(), r, testSession(t, clock.Now(), 0, 10)))
	_, _, err := store.Lock(ctx, "id", time.Second)
	check("Lock", err)
	_, err = store.FirstUse(ctx, "state", time.Minute)
	check("FirstUse", err)
	_, err = store.Used(ctx, "state")
	check("Used", err)
	check("Delete", store.Delete(httptest.NewRecorder(), r))
	for _, op := range opNames {
		if n := counterValue(t, reg, "portcullis_session_store_errors_total", op); n != 0 {
			t.Errorf("%s errors = %v after a client hung up, want 0", op, n)
		}
	}
}

// TestRedisOwnDeadlineIsStoreError: a call the gateway's own bound cut
// short (redisCallTimeout, Redis hung) is a store error, counted, though
// its error is a context's too: only a client that hung up is left out.
func TestRedisOwnDeadlineIsStoreError(t *testing.T) {
	clock := newTestClock()
	reg := prometheus.NewPedanticRegistry()
	store, _, p, _ := newTestRedisStore(t, clock, StoreOptions{Metrics: reg})
	hang(t, p)
	if _, _, err := store.Lock(context.Background(), "id", time.Second); err == nil {
		t.Fatal("Lock while Redis hangs succeeded")
	}
	if n := counterValue(t, reg, "portcullis_session_store_errors_total", "save"); n != 1 {
		t.Errorf("save errors = %v after a call Redis left unanswered, want 1", n)
	}
}
