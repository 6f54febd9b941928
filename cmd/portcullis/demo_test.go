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
	term := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo"}, func(string) (string, bool) { return "", false }, term, term)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(term.String(), "password:") || !strings.Contains(term.String(), "demo provider and upstream started") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no banner and logs after 30s:\n%s", term)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo: %v", err)
	}
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
	term := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo"}, func(string) (string, bool) { return "", false }, term, term)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(term.String(), "password:") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no banner after 30s:\n%s", term)
		}
		time.Sleep(20 * time.Millisecond)
	}
	entries, err := os.ReadDir(tmp)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("while the demo runs, %s holds %s", tmp, e.Name())
	}
}
