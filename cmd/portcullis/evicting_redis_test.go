package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestServeWarnsOfEvictingRedis: a Redis that evicts keys (maxmemory with
// allkeys-lru) drops the index sets and logout markers first, and a
// back-channel logout or `sessions revoke --sub` then ends nothing while it
// reports success. Only /readyz said so, which a gateway run without a
// readiness probe (systemd, a container without one) never shows: serve
// started on such a Redis without a word. It logs an error at start now.
func TestServeWarnsOfEvictingRedis(t *testing.T) {
	addr, _ := testenv.StartRedis(t, "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru")
	redisTOML := fmt.Sprintf("store = \"redis\"\nredis_url = \"redis://%s/0\"\n", addr)
	f := newFixtureWith(t, nil, nil, func(c *testConfig) { c.session = redisTOML })
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(f.logs.String(), "maxmemory-policy allkeys-lru") {
		if time.Now().After(deadline) {
			t.Fatalf("no error about the evicting Redis at start; logs:\n%s", f.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if line := lineWith(f.logs.String(), "maxmemory-policy allkeys-lru"); !strings.Contains(line, "level=ERROR") {
		t.Errorf("the line is not an error: %s", line)
	}
}

// lineWith returns the first line of logs that contains s.
func lineWith(logs, s string) string {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
