package cache

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable clock; tests never sleep.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Unix(1_800_000_000, 0).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func strSize(k, v string) int { return len(k) + len(v) }

func TestBounds(t *testing.T) {
	ovh := Overhead[string, string]()
	tests := []struct {
		name       string
		maxEntries int
		maxBytes   int64
		keepLive   bool
		run        func(t *testing.T, c *Cache[string, string])
	}{
		{name: "entries bound evicts", maxEntries: 3, maxBytes: 1 << 20, run: func(t *testing.T, c *Cache[string, string]) {
			for i := range 10 {
				if !c.Set("k"+strconv.Itoa(i), "v") {
					t.Fatalf("Set %d refused", i)
				}
				if c.Len() > 3 {
					t.Fatalf("after %d sets Len = %d > 3", i+1, c.Len())
				}
			}
			if _, ok := c.Get("k9"); !ok {
				t.Error("the newest entry is gone")
			}
		}},
		{name: "bytes bound evicts", maxEntries: 100, maxBytes: 4 * (ovh + 10), run: func(t *testing.T, c *Cache[string, string]) {
			for i := range 20 {
				c.Set(fmt.Sprintf("k%04d", i), "value") // 5+5 bytes + overhead
				if c.Bytes() > 4*(ovh+10) {
					t.Fatalf("Bytes = %d over the bound %d", c.Bytes(), 4*(ovh+10))
				}
			}
			if c.Len() != 4 {
				t.Errorf("Len = %d, want 4 entries of equal size to fill the bytes bound", c.Len())
			}
		}},
		{name: "big value makes room", maxEntries: 100, maxBytes: 4 * (ovh + 10), run: func(t *testing.T, c *Cache[string, string]) {
			for i := range 4 {
				c.Set(fmt.Sprintf("k%04d", i), "value")
			}
			if !c.Set("big", strings.Repeat("x", 20)) {
				t.Fatal("a value within the bound was refused")
			}
			if c.Bytes() > 4*(ovh+10) || c.Len() != 3 {
				t.Errorf("Len %d Bytes %d: want 3 entries within %d", c.Len(), c.Bytes(), 4*(ovh+10))
			}
		}},
		{name: "oversized entry refused", maxEntries: 100, maxBytes: 100 + ovh, run: func(t *testing.T, c *Cache[string, string]) {
			c.Set("small", "v")
			if c.Set("huge", strings.Repeat("x", 200)) {
				t.Fatal("an entry larger than the whole cache was stored")
			}
			if _, ok := c.Get("small"); !ok {
				t.Error("refusing an oversized entry evicted others")
			}
			if c.Set("small", strings.Repeat("x", 200)) {
				t.Fatal("an oversized replacement was stored")
			}
			if _, ok := c.Get("small"); ok {
				t.Error("a refused replacement left the older value in place")
			}
		}},
		{name: "replace counts bytes once", maxEntries: 10, maxBytes: 1 << 20, run: func(t *testing.T, c *Cache[string, string]) {
			c.Set("k", strings.Repeat("x", 100))
			c.Set("k", "y")
			if c.Len() != 1 || c.Bytes() != ovh+2 {
				t.Errorf("Len %d Bytes %d, want 1 and %d", c.Len(), c.Bytes(), ovh+2)
			}
			c.Delete("k")
			if c.Len() != 0 || c.Bytes() != 0 {
				t.Errorf("after Delete: Len %d Bytes %d", c.Len(), c.Bytes())
			}
		}},
		{name: "referenced entries survive a flood", maxEntries: 100, maxBytes: 1 << 20, run: func(t *testing.T, c *Cache[string, string]) {
			c.Set("hot", "v")
			for i := range 10_000 {
				if _, ok := c.Get("hot"); !ok {
					t.Fatalf("hot entry evicted after %d flood entries", i)
				}
				c.Set("flood"+strconv.Itoa(i), "v")
			}
		}},
		{name: "keep live refuses when full", maxEntries: 2, maxBytes: 1 << 20, keepLive: true, run: func(t *testing.T, c *Cache[string, string]) {
			c.Set("a", "v")
			c.Set("b", "v")
			if c.Add("c", "v", time.Time{}) || c.Set("c", "v") {
				t.Fatal("a full KeepLive cache evicted a live entry")
			}
			for _, k := range []string{"a", "b"} {
				if _, ok := c.Get(k); !ok {
					t.Errorf("%s forgotten", k)
				}
			}
		}},
		{name: "large cache is sharded within bounds", maxEntries: 10_000, maxBytes: 10_000 * (ovh + 16), run: func(t *testing.T, c *Cache[string, string]) {
			if len(c.shards) != maxShards {
				t.Errorf("%d shards, want %d", len(c.shards), maxShards)
			}
			for i := range 50_000 {
				c.Set(fmt.Sprintf("key%011d", i), "") // 14-byte keys
			}
			if c.Len() > 10_000 || c.Bytes() > 10_000*(ovh+16) {
				t.Errorf("Len %d Bytes %d over the bounds", c.Len(), c.Bytes())
			}
			if c.Len() < 9_000 {
				t.Errorf("Len %d: shards should fill nearly to the bound", c.Len())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, New(Options[string, string]{MaxEntries: tt.maxEntries, MaxBytes: tt.maxBytes,
				Size: strSize, KeepLive: tt.keepLive}))
		})
	}
}

func TestExpiry(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, c *Cache[string, string], clk *clock)
	}{
		{name: "TTL", run: func(t *testing.T, c *Cache[string, string], clk *clock) {
			c.Set("k", "v")
			clk.Advance(time.Minute - time.Nanosecond)
			if _, ok := c.Get("k"); !ok {
				t.Fatal("gone before its TTL")
			}
			clk.Advance(time.Nanosecond)
			if _, ok := c.Get("k"); ok {
				t.Fatal("found at its TTL")
			}
			if c.Len() != 0 || c.Bytes() != 0 {
				t.Errorf("an expired entry that was looked up still holds memory: Len %d Bytes %d", c.Len(), c.Bytes())
			}
		}},
		{name: "own expiry", run: func(t *testing.T, c *Cache[string, string], clk *clock) {
			c.SetUntil("short", "v", clk.Now().Add(time.Second))
			c.SetUntil("forever", "v", time.Time{})
			clk.Advance(time.Hour)
			if _, ok := c.Get("short"); ok {
				t.Error("short entry outlived its expiry")
			}
			if _, ok := c.Get("forever"); !ok {
				t.Error("entry without expiry expired")
			}
		}},
		{name: "add once until expiry", run: func(t *testing.T, c *Cache[string, string], clk *clock) {
			until := clk.Now().Add(time.Minute)
			if !c.Add("jti", "", until) {
				t.Fatal("first Add refused")
			}
			if c.Add("jti", "", until) {
				t.Fatal("second Add accepted: a replay")
			}
			clk.Advance(time.Minute)
			if !c.Add("jti", "", clk.Now().Add(time.Minute)) {
				t.Fatal("Add after expiry refused")
			}
		}},
		{name: "expired entries go first", run: func(t *testing.T, c *Cache[string, string], clk *clock) {
			c.SetUntil("old", "v", clk.Now().Add(time.Second))
			c.SetUntil("a", "v", time.Time{})
			c.SetUntil("b", "v", time.Time{})
			clk.Advance(time.Second)
			c.Set("c", "v")
			for _, k := range []string{"a", "b", "c"} {
				if _, ok := c.Get(k); !ok {
					t.Errorf("%s evicted while an expired entry was there", k)
				}
			}
		}},
		{name: "keep live evicts expired", run: func(t *testing.T, c *Cache[string, string], clk *clock) {
			kl := New(Options[string, string]{MaxEntries: 2, MaxBytes: 1 << 20, Now: clk.Now, KeepLive: true})
			kl.Add("a", "", clk.Now().Add(time.Second))
			kl.Add("b", "", clk.Now().Add(time.Hour))
			clk.Advance(time.Second)
			if !kl.Add("c", "", clk.Now().Add(time.Hour)) {
				t.Fatal("a KeepLive cache refused although one entry had expired")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			tt.run(t, New(Options[string, string]{MaxEntries: 3, MaxBytes: 1 << 20, TTL: time.Minute,
				Now: clk.Now, Size: strSize}), clk)
		})
	}
}

func TestNewRefusesUnbounded(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New accepted a cache without a bytes bound")
		}
	}()
	New(Options[string, int]{MaxEntries: 10})
}

// TestConcurrent exercises every operation from many goroutines (run it
// with -race) and checks the bounds hold throughout.
func TestConcurrent(t *testing.T) {
	ovh := Overhead[string, string]()
	c := New(Options[string, string]{MaxEntries: 2048, MaxBytes: 1024 * (ovh + 20), TTL: time.Minute, Size: strSize})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5000 {
				k := "k" + strconv.Itoa((i*7+g)%3000)
				switch i % 4 {
				case 0:
					c.Set(k, "0123456789")
				case 3:
					c.Delete(k)
				default:
					c.Get(k)
				}
			}
		}()
	}
	wg.Wait()
	if c.Len() > 2048 || c.Bytes() > 1024*(ovh+20) {
		t.Errorf("Len %d Bytes %d over the bounds", c.Len(), c.Bytes())
	}
}

func TestHitDoesNotAllocate(t *testing.T) {
	type key struct {
		p    *int
		host string
	}
	c := New(Options[key, *int]{MaxEntries: 10_000, MaxBytes: 1 << 24})
	p := new(int)
	k := key{p, "app.example.com"}
	c.Set(k, p)
	if n := testing.AllocsPerRun(1000, func() { c.Get(k) }); n != 0 {
		t.Errorf("a hit allocates %v times", n)
	}
	s := New(Options[string, *int]{MaxEntries: 10_000, MaxBytes: 1 << 24})
	s.Set("sealed-cookie-value", p)
	if n := testing.AllocsPerRun(1000, func() { s.Get("sealed-cookie-value") }); n != 0 {
		t.Errorf("a string-keyed hit allocates %v times", n)
	}
}

func benchCache(b *testing.B) (*Cache[[32]byte, *int], [][32]byte) {
	c := New(Options[[32]byte, *int]{MaxEntries: 10_000, MaxBytes: 1 << 24})
	keys := make([][32]byte, 1024)
	v := new(int)
	for i := range keys {
		keys[i][0], keys[i][1] = byte(i), byte(i>>8)
		c.Set(keys[i], v)
	}
	return c, keys
}

func BenchmarkGetHit(b *testing.B) {
	c, keys := benchCache(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := c.Get(keys[i&1023]); !ok {
			b.Fatal("miss")
		}
		i++
	}
}

func BenchmarkGetHitParallel(b *testing.B) {
	c, keys := benchCache(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := c.Get(keys[i&1023]); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
}

func BenchmarkSetEvict(b *testing.B) {
	c := New(Options[int, int]{MaxEntries: 10_000, MaxBytes: 1 << 24})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Set(i, i)
		i++
	}
}
