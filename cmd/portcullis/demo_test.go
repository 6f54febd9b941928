package main

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemoGatewayURLFirst: on a terminal (stdout and stderr on one screen)
// the first URL of `portcullis demo` is the gateway's, not a log line's.
func TestDemoGatewayURLFirst(t *testing.T) {
	term, stop := startDemoUntil(t, "password:", "demo provider and upstream started")
	stop()
	out := term.String()
	first := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "http://") {
			first = l
			break
		}
	}
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+/$`).MatchString(first) || !strings.HasPrefix(out, first+"\n") {
		t.Errorf("first line with a URL is %q, want the gateway URL on the first line; output:\n%s", first, out)
	}
}

// TestDemoLeavesNoSecretsOnDisk: the generated configuration, which holds
// the demo's client and session secrets, is gone while the demo runs, so a
// demo that is killed (SIGKILL, a closed terminal) leaves no secret behind.
func TestDemoLeavesNoSecretsOnDisk(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	_, stop := startDemoUntil(t, "password:")
	entries, err := os.ReadDir(tmp)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("while the demo runs, %s holds %s", tmp, e.Name())
	}
}

// startDemoUntil runs `portcullis demo` with stdout and stderr on one
// terminal until the terminal shows every one of want; stop ends the demo
// and fails the test if it returned an error.
func startDemoUntil(t *testing.T, want ...string) (term *syncBuffer, stop func()) {
	t.Helper()
	term = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo"}, func(string) (string, bool) { return "", false }, term, term)
	}()
	stop = func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("demo: %v", err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, w := range want {
		for !strings.Contains(term.String(), w) {
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("no %q after 30s:\n%s", w, term)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return term, stop
}
