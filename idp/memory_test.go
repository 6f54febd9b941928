// The floods are too slow under the race detector, which also distorts the
// heap they measure; scripts/test.sh runs them without it.

//go:build !race

package idp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestBearerCacheMemoryBounded floods the verified-bearer cache through
// VerifyBearer with 8,000 distinct opaque tokens whose introspection
// answers carry a 16 KB claim each. The live heap must stay within twice
// the cache's byte bound; bounded by entries alone (10,000) the same flood
// held 130 MiB.
func TestBearerCacheMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a cache")
	}
	clk := newClock()
	blob := strings.Repeat("b", 16<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"active": true, "sub": r.PostFormValue("token"),
			"aud": "client", "exp": clk.Now().Add(time.Hour).Unix(), "blob": blob})
	}))
	defer srv.Close()
	c := introspectionClient(t, srv.URL, nil, clk.Now)
	before := testenv.HeapAfterGC()
	for i := range 8_000 {
		if _, err := c.VerifyBearer(context.Background(), fmt.Sprintf("opaque-%08d", i)); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	grown := testenv.HeapAfterGC() - before
	runtime.KeepAlive(c)
	t.Logf("heap grew %d MiB", grown>>20)
	if grown > 2*bearerCacheBytes {
		t.Errorf("the bearer cache holds %d MiB after the flood, over %d MiB", grown>>20, 2*bearerCacheBytes>>20)
	}
}

// TestJTIMemoryBounded floods the logout-token replay memory through
// VerifyLogoutToken and MarkLogoutTokenUsed (what a logout that took
// effect calls) with 3,000 tokens whose jti is 11 KB (tokens are
// limited to 16 KB). The memory keeps digests only, so it stays within
// twice its byte bound plus 8 MiB of measurement slack (keyed on the jti
// itself it held 35 MiB), and a replayed token is still refused.
func TestJTIMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a cache")
	}
	p, c, _ := setup(t, oidctest.Options{Alg: "ES256"}, nil)
	pad := strings.Repeat("j", 11<<10)
	var last string
	before := testenv.HeapAfterGC()
	for i := range 3_000 {
		last = p.LogoutToken("alice", "", map[string]any{"jti": fmt.Sprintf("%s%06d", pad, i)})
		if _, _, err := c.VerifyLogoutToken(context.Background(), last); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		if err := c.MarkLogoutTokenUsed(context.Background(), last); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	grown := testenv.HeapAfterGC() - before
	runtime.KeepAlive(c)
	t.Logf("heap grew %d MiB", grown>>20)
	if ceiling := int64(2*jtiCacheBytes + 8<<20); grown > ceiling {
		t.Errorf("the jti memory holds %d MiB after the flood, over %d MiB", grown>>20, ceiling>>20)
	}
	if _, _, err := c.VerifyLogoutToken(context.Background(), last); err == nil {
		t.Error("a replayed logout token was accepted after the flood")
	}
}

// TestRefusedCacheMemoryBounded floods the refused-token memory through
// VerifyBearer with 12,000 distinct 16 KB opaque tokens that introspection
// refuses. It keeps digests only, so it stays within twice its byte bound
// plus 8 MiB of measurement slack, and the newest refusal is remembered.
func TestRefusedCacheMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a cache")
	}
	clk := newClock()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"active": false})
	}))
	defer srv.Close()
	c := introspectionClient(t, srv.URL, nil, clk.Now)
	pad := strings.Repeat("t", maxTokenLen-16)
	var last string
	before := testenv.HeapAfterGC()
	for i := range 12_000 {
		last = fmt.Sprintf("%s%08d", pad, i)
		if _, err := c.VerifyBearer(context.Background(), last); err == nil {
			t.Fatalf("token %d accepted", i)
		}
	}
	grown := testenv.HeapAfterGC() - before
	runtime.KeepAlive(c)
	t.Logf("heap grew %d MiB", grown>>20)
	if ceiling := int64(2*refusedCacheBytes + 8<<20); grown > ceiling {
		t.Errorf("the refused-token memory holds %d MiB after the flood, over %d MiB", grown>>20, ceiling>>20)
	}
	n := calls.Load()
	if _, err := c.VerifyBearer(context.Background(), last); err == nil || calls.Load() != n {
		t.Errorf("the newest refused token: err %v, %d more calls", err, calls.Load()-n)
	}
}
