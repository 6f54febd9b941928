package main

import (
	"bufio"
	"context"
	"log"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// hostileText is what a peer may put into a library's complaint: a line
// break that would start a forged line, a C1 control (U+009B, an 8-bit CSI
// to terminals) that the JSON handler writes as it is, and 20 KB, past
// what Docker's log driver keeps in one line.
var hostileText = "a\nlevel=ERROR msg=forged \u009b2J " + strings.Repeat("x", 20000)

// checkBoundedLines fails unless out holds a line containing want and
// every line is at most 2 KiB, cut with …, without a C1 control.
func checkBoundedLines(t *testing.T, out, want string) {
	t.Helper()
	if !strings.Contains(out, want) {
		t.Fatalf("no line with %q:\n%.2000s", want, out)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if len(l) > 2048 || !strings.Contains(l, "…") || strings.Contains(l, "\u009b") {
			t.Errorf("a line of %d bytes, want at most 2048, cut with …, no C1: %.300s", len(l), l)
		}
	}
}

// TestLibraryLogsBounded: go-redis's own complaints quote what Redis or a
// Sentinel answered, Go's standard logger whatever a library hands it,
// and net/http's server log what a client sent; each is cut and its
// controls shown as U+FFFD, as every other line's err is. A Sentinel (no
// real one answers like this) replies to every command with a 20 KB error.
func TestLibraryLogsBounded(t *testing.T) {
	sentinel := hostileSentinel(t, "ERR \u009b2J "+strings.Repeat("x", 20000))
	var logs syncBuffer
	h := slog.NewJSONHandler(&logs, nil)
	restore := libraryLogs(h)
	defer restore()

	rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: []string{sentinel},
		MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = rdb.Ping(ctx).Err()
	checkBoundedLines(t, logs.String(), "sentinel: GetMasterAddrByName")

	mark := len(logs.String())
	log.Print(hostileText)
	checkBoundedLines(t, logs.String()[mark:], "msg=forged")

	mark = len(logs.String())
	_, _ = serverErrorLog{h}.Write([]byte("http: panic serving 1.2.3.4: " + hostileText + "\n"))
	checkBoundedLines(t, logs.String()[mark:], "panic serving")
}

// hostileSentinel listens on a free port and answers every RESP command
// with the error text why; it returns its address.
func hostileSentinel(t *testing.T, why string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go answerWithError(c, why)
		}
	}()
	return ln.Addr().String()
}

// answerWithError reads RESP arrays of bulk strings from c and answers
// each with the error why.
func answerWithError(c net.Conn, why string) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		head, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(head, "*") {
			return
		}
		n, _ := strconv.Atoi(strings.TrimSpace(head[1:]))
		for range 2 * n { // each argument: its $length line, then its bytes
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
		}
		if _, err := c.Write([]byte("-" + why + "\r\n")); err != nil {
			return
		}
	}
}

// TestSessionsCLIRedisErrorBounded: `portcullis sessions` prints what Redis
// or a Sentinel answered on standard error, in go-redis's own lines and in
// the error it exits with; both are cut and a C1 control shown as U+FFFD,
// as the gateway's log does, so a Sentinel cannot write 20 KB or terminal
// escapes to the operator's terminal.
func TestSessionsCLIRedisErrorBounded(t *testing.T) {
	sentinel := hostileSentinel(t, "ERR \u009b2J "+strings.Repeat("x", 20000))
	path := sessionsConfigFile(t, "store = \"redis\"\nredis_sentinel_addrs = [\""+sentinel+"\"]\nredis_sentinel_master = \"m\"")
	_, stderr, code := sessionsRun(t, "list", "--config", path)
	if code != 1 {
		t.Errorf("exit code %d, want 1; stderr:\n%.2000s", code, stderr)
	}
	checkBoundedLines(t, stderr, "sentinel: GetMasterAddrByName")
	if !strings.Contains(stderr, "portcullis: session: redis list") {
		t.Errorf("no error line on standard error:\n%.2000s", stderr)
	}
}
